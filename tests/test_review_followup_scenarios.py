"""Bad-review follow-up 中差评处理 (processes/review_followup.bpmn): one test per path.

Paths: the buyer agrees to revise (resolved), the buyer refuses (unresolved), the buyer is not reached
(unresolved), the 48-hour deadline passes (escalation to the supervisor, the call still open), and the
call made just in time (no escalation).
"""
from __future__ import annotations

START = {"order_no": "R-1", "buyer": "小李", "rating": "差评", "review_text": "衣服有色差，和图片不一样",
         "phone": "13900000000", "reviewed_on": "2026-11-01"}
MAIN_PATH = ["Task_cs_call_buyer", "Task_supervisor_weekly_meeting"]


def start(scenario, **overrides):
    return scenario.start("review_followup", {**START, **overrides}, as_role="aftersales_cs")["id"]


def call(scenario, instance_id, contacted=True, revised=True, attempts=1, reason="灯光导致色差，买家误会",
         category="not_as_described"):
    scenario.complete(instance_id, "Task_cs_call_buyer", {
        "call_attempts": attempts, "contacted": contacted, "reason": reason, "reason_category": category,
        "buyer_revised": revised, "reply_text": "已解释色差原因并致歉", "shared_in_group": True})


def weekly_meeting(scenario, instance_id):
    scenario.complete(instance_id, "Task_supervisor_weekly_meeting",
                      {"meeting_date": "2026-11-06", "improvement": "详情页补充实物图"})


def assert_closed(scenario, instance_id, outcome, reason, escalated=False):
    instance = scenario.instance(instance_id)
    data = instance["data"]
    assert instance["status"] == "completed"
    assert data["outcome"] == outcome
    assert data["reason"] == reason
    assert data["reported_at_meeting"] is True and data["meeting_date"] == "2026-11-06"
    assert data["order_no"] == "R-1" and data["rating"] in ("中评", "差评")
    assert data.get("escalated", False) is escalated
    assert scenario.event_types(instance_id)[-1] == "instance_completed"


def test_buyer_agrees_to_revise_the_review(scenario):
    instance_id = start(scenario)
    assert scenario.open_elements(instance_id) == ["Task_cs_call_buyer"]
    task = scenario.task(instance_id, "Task_cs_call_buyer")
    assert task["role"] == "aftersales_cs" and task["due_at"].startswith("2026-11-04T09:00")  # 48 h
    call(scenario, instance_id)
    assert scenario.open_elements(instance_id) == ["Task_supervisor_weekly_meeting"]
    assert scenario.data(instance_id)["outcome"] == "resolved"  # known before the meeting
    weekly_meeting(scenario, instance_id)
    assert_closed(scenario, instance_id, "resolved", "灯光导致色差，买家误会")
    data = scenario.data(instance_id)
    assert data["contacted"] is True and data["buyer_revised"] is True
    assert data["reason_category"] == "not_as_described" and data["shared_in_group"] is True
    assert scenario.path(instance_id) == MAIN_PATH
    taken = [e["data"]["flows"] for e in scenario.history(instance_id)
             if e["type"] == "gateway_taken" and e["element_id"] == "Gateway_buyer_revised"]
    assert taken == [["Flow_buyer_revised"]]


def test_buyer_refuses_to_revise(scenario):
    instance_id = start(scenario, rating="中评", review_text="发货太慢")
    call(scenario, instance_id, revised=False, reason="快递延误三天", category="logistics")
    weekly_meeting(scenario, instance_id)
    assert_closed(scenario, instance_id, "unresolved", "快递延误三天")
    assert scenario.data(instance_id)["rating"] == "中评"
    assert scenario.path(instance_id) == MAIN_PATH
    taken = [e["data"]["flows"] for e in scenario.history(instance_id)
             if e["type"] == "gateway_taken" and e["element_id"] == "Gateway_buyer_revised"]
    assert taken == [["Flow_not_revised"]]


def test_buyer_not_reached(scenario):
    instance_id = start(scenario)
    # "revised" ticked by mistake without reaching the buyer still counts as unresolved
    call(scenario, instance_id, contacted=False, revised=True, attempts=3, reason="按评价内容判断：色差",
         category="not_as_described")
    weekly_meeting(scenario, instance_id)
    assert_closed(scenario, instance_id, "unresolved", "按评价内容判断：色差")
    assert scenario.data(instance_id)["call_attempts"] == 3 and scenario.data(instance_id)["contacted"] is False
    assert scenario.path(instance_id) == MAIN_PATH


def test_no_call_within_48_hours_escalates_to_supervisor(scenario):
    scenario.user("supervisor")
    instance_id = start(scenario)
    scenario.advance(hours=47)  # (other deployed processes' timers may fire: count only this instance)
    assert scenario.open_elements(instance_id) == ["Task_cs_call_buyer"]
    scenario.advance(hours=1, minutes=1)
    assert scenario.open_elements(instance_id) == ["Task_cs_call_buyer", "Task_supervisor_escalation"]
    escalation = scenario.task(instance_id, "Task_supervisor_escalation")
    assert escalation["role"] == "supervisor"
    scenario.complete(instance_id, "Task_supervisor_escalation",
                      {"escalation_action": "urged", "escalation_note": "今天下班前必须回访"})
    assert scenario.open_elements(instance_id) == ["Task_cs_call_buyer"]  # non-interrupting: still the agent's
    call(scenario, instance_id, revised=True)
    weekly_meeting(scenario, instance_id)
    assert_closed(scenario, instance_id, "resolved", "灯光导致色差，买家误会", escalated=True)
    assert scenario.data(instance_id)["escalation_action"] == "urged"
    assert scenario.path(instance_id) == ["Task_supervisor_escalation"] + MAIN_PATH
    fired = [e for e in scenario.history(instance_id) if e["type"] == "timer_fired"]
    assert [e["element_id"] for e in fired] == ["Boundary_call_48h"]


def test_call_just_in_time_does_not_escalate(scenario):
    instance_id = start(scenario)
    scenario.advance(hours=47, minutes=59)
    call(scenario, instance_id)
    scenario.advance(hours=1)  # the boundary timer went with the task
    assert scenario.open_elements(instance_id) == ["Task_supervisor_weekly_meeting"]
    weekly_meeting(scenario, instance_id)
    assert_closed(scenario, instance_id, "resolved", "灯光导致色差，买家误会")
    history = scenario.history(instance_id)
    assert "Task_supervisor_escalation" not in [e["element_id"] for e in history]
    assert [e["element_id"] for e in history if e["type"] == "timer_cancelled"] == ["Boundary_call_48h"]


def test_escalation_handled_after_the_case_is_closed(scenario):
    """The supervisor answers the escalation only after the weekly meeting: the instance waits for it."""
    scenario.user("supervisor")
    instance_id = start(scenario)
    scenario.advance(hours=49)
    call(scenario, instance_id, contacted=True, revised=False, reason="尺码偏小", category="size")
    weekly_meeting(scenario, instance_id)
    assert scenario.instance(instance_id)["status"] == "running"
    assert scenario.open_elements(instance_id) == ["Task_supervisor_escalation"]
    scenario.complete(instance_id, "Task_supervisor_escalation", {"escalation_action": "supervisor_calls"})
    assert_closed(scenario, instance_id, "unresolved", "尺码偏小", escalated=True)
    assert scenario.data(instance_id)["reason_category"] == "size"
    assert scenario.path(instance_id) == MAIN_PATH + ["Task_supervisor_escalation"]
