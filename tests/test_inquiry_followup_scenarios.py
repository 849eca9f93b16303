"""Scenario tests for inquiry reply 询盘跟进 (process ``inquiry_followup``), one per path, through the REST API.

The ``scenario`` fixture here overrides the shared one: it deploys only this process and its
forms, so these tests neither depend on nor wait for the other processes of ``processes/``.
"""
from __future__ import annotations

import pytest


PROCESS = "inquiry_followup"
START = {
    "inquiry_no": "XP-2026-017", "buyer": "Mr. Brown, Oakline Trading Ltd.", "buyer_email": "brown@oakline.example",
    "email_subject": "Inquiry: cotton T-shirts 5000 pcs", "content": "Please quote FOB Shanghai for 5000 pcs.",
    "channel": "email",
}
REPLY = {"buyer_background": "UK importer of garments, 20 staff, buys from Asia since 2015",
         "buyer_country": "UK", "buyer_grade": "A",
         "reply_summary": "Quoted three quantity tiers, company profile and contacts attached",
         "quotation_sent": True, "quotation_ref": "QT-2026-017.pdf", "e_sample_sent": True, "crm_recorded": True}
CORRELATION = {"inquiry_no": "XP-2026-017"}


@pytest.fixture
def scenario(scenario_only):
    """Only this file's process(es) deployed: other processes' start timers stay out of the counts."""
    return scenario_only(PROCESS)


# -- helpers ------------------------------------------------------------------------------------

def events(scenario, instance_id, type_):
    return [e for e in scenario.history(instance_id) if e["type"] == type_]


def flows_taken(scenario, instance_id, gateway):
    return [flow for e in events(scenario, instance_id, "gateway_taken") if e["element_id"] == gateway
            for flow in e["data"]["flows"]]


def start_and_reply(scenario):
    """Register the e-mail, look the buyer up and reply within the 12 hours."""
    instance_id = scenario.start(PROCESS, START, as_role="presales_cs")["id"]
    assert scenario.open_elements(instance_id) == ["Task_reply_inquiry"]
    assert scenario.task(instance_id, "Task_reply_inquiry")["due_at"].startswith("2026-11-02T21:00")
    assert scenario.advance(hours=1) == 0
    scenario.complete(instance_id, "Task_reply_inquiry", REPLY)
    assert scenario.open_elements(instance_id) == []  # waiting for the buyer or the half-month timer
    data = scenario.data(instance_id)
    assert data["followups"] == 0 and "outcome" not in data
    assert data["quotation_sent"] is True and data["buyer_grade"] == "A"
    assert [e["element_id"] for e in events(scenario, instance_id, "timer_cancelled")] == ["Boundary_reply_12h"]
    return instance_id


def finished(scenario, instance_id, outcome, followups):
    instance = scenario.instance(instance_id)
    assert instance["status"] == "completed"
    assert instance["data"]["outcome"] == outcome
    assert instance["data"]["followups"] == followups
    assert scenario.event_types(instance_id)[-1] == "instance_completed"
    return instance["data"]


def follow_up(scenario, instance_id, result, channel="email", wait=None):
    assert scenario.advance(**(wait or {"days": 15})) == 1
    assert scenario.open_elements(instance_id) == ["Task_followup_buyer"]
    scenario.complete(instance_id, "Task_followup_buyer", {
        "followup_channel": channel, "followup_result": result, "followup_note": "通知新品与广交会参展"})


# -- paths ----------------------------------------------------------------------------------------

def test_buyer_replies_and_orders(scenario):
    instance_id = start_and_reply(scenario)
    reply = scenario.message("buyer_replied", CORRELATION, {"reply_content": "We accept tier 2, please send PI."})
    assert reply["status"] == "delivered" and reply["instance_ids"] == [instance_id]
    assert scenario.open_elements(instance_id) == ["Task_handle_buyer_reply"]
    assert scenario.data(instance_id)["reply_content"] == "We accept tier 2, please send PI."
    scenario.complete(instance_id, "Task_handle_buyer_reply", {
        "followup_result": "ordered", "followup_note": "已发形式发票", "sample_sent": "none"})
    finished(scenario, instance_id, "ordered", 0)
    assert scenario.path(instance_id) == ["Task_reply_inquiry", "Task_handle_buyer_reply"]
    correlated = events(scenario, instance_id, "message_correlated")
    assert [e["data"]["name"] for e in correlated] == ["buyer_replied"]
    assert flows_taken(scenario, instance_id, "Gateway_outcome") == ["Flow_ordered"]
    assert events(scenario, instance_id, "timer_fired") == []


def test_buyer_replies_and_declines(scenario):
    instance_id = start_and_reply(scenario)
    scenario.message("buyer_replied", CORRELATION, {"reply_content": "Price too high, we pass."})
    scenario.complete(instance_id, "Task_handle_buyer_reply", {"followup_result": "declined",
                                                               "followup_note": "买家嫌价格高"})
    finished(scenario, instance_id, "declined", 0)
    assert flows_taken(scenario, instance_id, "Gateway_continue") == ["Flow_to_outcome"]
    assert flows_taken(scenario, instance_id, "Gateway_outcome") == ["Flow_declined"]


def test_reply_overdue_after_12_hours_escalates_to_supervisor(scenario):
    instance_id = scenario.start(PROCESS, START, as_role="presales_cs")["id"]
    assert scenario.advance(hours=11, minutes=59) == 0
    assert scenario.advance(minutes=1) == 1
    assert scenario.open_elements(instance_id) == ["Task_reply_inquiry", "Task_supervisor_escalation"]
    fired = events(scenario, instance_id, "timer_fired")
    assert [e["element_id"] for e in fired] == ["Boundary_reply_12h"]
    assert fired[0]["data"]["due_at"].startswith("2026-11-02T21:00")
    # non-interrupting: the staff member still looks the buyer up and replies, the manager follows it up
    scenario.complete(instance_id, "Task_supervisor_escalation", {"escalation_note": "业务员请假，已安排代回复"})
    assert scenario.open_elements(instance_id) == ["Task_reply_inquiry"]
    scenario.complete(instance_id, "Task_reply_inquiry", REPLY)
    assert scenario.data(instance_id)["followups"] == 0
    follow_up(scenario, instance_id, "declined")
    data = finished(scenario, instance_id, "declined", 1)
    assert data["escalation_note"] == "业务员请假，已安排代回复"
    assert scenario.path(instance_id) == ["Task_supervisor_escalation", "Task_reply_inquiry", "Task_followup_buyer"]


def test_outcome_shows_while_the_escalation_is_still_open(scenario):
    instance_id = scenario.start(PROCESS, START, as_role="presales_cs")["id"]
    assert scenario.advance(hours=12) == 1
    scenario.complete(instance_id, "Task_reply_inquiry", REPLY)
    scenario.message("buyer_replied", CORRELATION, {"reply_content": "OK, order 5000 pcs."})
    scenario.complete(instance_id, "Task_handle_buyer_reply", {"followup_result": "ordered", "followup_note": "下单"})
    assert scenario.open_elements(instance_id) == ["Task_supervisor_escalation"]
    assert scenario.data(instance_id).get("outcome") == "ordered"


def test_escalation_closed_after_the_outcome_keeps_the_outcome(scenario):
    instance_id = scenario.start(PROCESS, START, as_role="presales_cs")["id"]
    assert scenario.advance(hours=12) == 1
    scenario.complete(instance_id, "Task_reply_inquiry", REPLY)
    scenario.message("buyer_replied", CORRELATION, {"reply_content": "OK, order 5000 pcs."})
    scenario.complete(instance_id, "Task_handle_buyer_reply", {"followup_result": "ordered", "followup_note": "下单"})
    assert scenario.instance(instance_id)["status"] == "running"  # the manager has not closed the escalation yet
    scenario.complete(instance_id, "Task_supervisor_escalation", {"escalation_note": "已提醒业务员按时回复"})
    data = finished(scenario, instance_id, "ordered", 0)
    assert data["reply_content"] == "OK, order 5000 pcs." and data["buyer_grade"] == "A"
    assert scenario.path(instance_id)[-1] == "Task_supervisor_escalation"


def test_half_monthly_follow_ups_until_no_reply(scenario):
    instance_id = start_and_reply(scenario)
    assert scenario.advance(days=14, hours=23) == 0  # not yet half a month since the reply
    follow_up(scenario, instance_id, "continue", wait={"hours": 1})
    assert scenario.data(instance_id)["followups"] == 1
    assert scenario.open_elements(instance_id) == []
    follow_up(scenario, instance_id, "continue", channel="phone")
    follow_up(scenario, instance_id, "no_reply", channel="fax")
    finished(scenario, instance_id, "no_reply", 3)
    assert [e["element_id"] for e in events(scenario, instance_id, "timer_fired")] == ["Timer_half_month"] * 3
    assert flows_taken(scenario, instance_id, "Gateway_continue") == ["Flow_continue", "Flow_continue",
                                                                      "Flow_to_outcome"]
    assert flows_taken(scenario, instance_id, "Gateway_outcome") == ["Flow_no_reply"]


def test_follow_up_buyer_declines(scenario):
    instance_id = start_and_reply(scenario)
    follow_up(scenario, instance_id, "declined")
    finished(scenario, instance_id, "declined", 1)
    assert scenario.path(instance_id)[-1] == "Task_followup_buyer"
    assert flows_taken(scenario, instance_id, "Gateway_outcome") == ["Flow_declined"]


def test_buyer_reply_restarts_the_half_month_then_orders_at_follow_up(scenario):
    instance_id = start_and_reply(scenario)
    scenario.advance(days=10)
    scenario.message("buyer_replied", CORRELATION, {"reply_content": "Can you send a physical sample?"})
    scenario.complete(instance_id, "Task_handle_buyer_reply", {
        "followup_result": "continue", "sample_sent": "physical_freight_collect", "followup_note": "样品到付寄出"})
    assert scenario.data(instance_id)["sample_sent"] == "physical_freight_collect"
    assert scenario.advance(days=14) == 0  # 24 days after the reply, 14 after the buyer's message
    assert scenario.open_elements(instance_id) == []
    assert scenario.advance(days=1) == 1
    scenario.complete(instance_id, "Task_followup_buyer", {
        "followup_channel": "phone", "followup_result": "ordered", "followup_note": "样品满意，电话下单"})
    finished(scenario, instance_id, "ordered", 1)
    assert scenario.path(instance_id)[-2:] == ["Task_handle_buyer_reply", "Task_followup_buyer"]
    assert flows_taken(scenario, instance_id, "Gateway_outcome") == ["Flow_ordered"]


def test_buyer_reply_before_our_reply_is_kept_and_delivered(scenario):
    instance_id = scenario.start(PROCESS, START, as_role="presales_cs")["id"]
    early = scenario.message("buyer_replied", CORRELATION, {"reply_content": "Any news? We need it urgently."})
    assert early["status"] == "kept"
    scenario.complete(instance_id, "Task_reply_inquiry", REPLY)
    assert scenario.open_elements(instance_id) == ["Task_handle_buyer_reply"]
    correlated = events(scenario, instance_id, "message_correlated")
    assert len(correlated) == 1 and correlated[0]["data"]["kept_since"]
    scenario.complete(instance_id, "Task_handle_buyer_reply", {"followup_result": "declined",
                                                               "followup_note": "买家已另找供应商"})
    finished(scenario, instance_id, "declined", 0)
