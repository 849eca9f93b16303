"""Scenario tests of the refund procedure (docs/procedures.md §3, process ``refund``): one test per path.

Every test walks the process through the public REST API with one user per role (the ``scenario``
driver claims each task as a member of the task's role), then asserts

* the contract outcome exactly: ``outcome``, ``refund_amount`` and ``shipping_reimbursed`` (money comes back as
  JSON numbers, compared here as two-place decimals);
* the history: the tasks completed in order and by whom (``path``), every gateway flow taken, timers fired,
  messages correlated, and ``instance_completed`` as the last event;
* the instance status.
"""
from __future__ import annotations

import io
from decimal import Decimal
from itertools import count

import pytest

PROCESS = "refund"

# The role whose member must complete each user task (lanes of processes/refund.bpmn).
ROLE_OF = {
    "Task_supervisor_approve_refund_only": "supervisor",
    "Task_aftersales_negotiate": "aftersales_cs",
    "Task_aftersales_late_return": "aftersales_cs",
    "Task_aftersales_offer_exchange": "aftersales_cs",
    "Task_aftersales_check_quality": "aftersales_cs",
    "Task_supervisor_approve_return": "supervisor",
    "Task_aftersales_send_return_address": "aftersales_cs",
    "Task_aftersales_remind_buyer": "aftersales_cs",
    "Task_warehouse_inspect": "warehouse",
    "Task_supervisor_urge_inspection": "supervisor",
    "Task_supervisor_damage_decision": "supervisor",
    "Task_finance_refund": "finance",
}

# Gateway flows of the recurring stretches of the process. Every application passes the join of the two start
# events (the plain start and the message start refund_requested) first: Flow_to_goods_received.
APPLIED = ["Flow_to_goods_received"]
NOT_RECEIVED = APPLIED + ["Flow_goods_not_received", "Flow_to_refund_only_approval"]
RECEIVED_WITHIN_7_DAYS = APPLIED + ["Flow_goods_received", "Flow_within_seven_days", "Flow_to_offer_exchange"]
RECEIVED_OVER_7_DAYS = APPLIED + ["Flow_goods_received", "Flow_over_seven_days"]
SEVEN_DAY_RETURN = ["Flow_no_exchange", "Flow_no_quality_issue", "Flow_to_return_approval"]
QUALITY_RETURN = ["Flow_no_exchange", "Flow_quality_issue", "Flow_to_return_approval"]
RETURN_APPROVED = ["Flow_return_approved", "Flow_to_wait_parcel"]
PARCEL_ARRIVES = ["Flow_wait_to_parcel_message"]
NO_PARCEL_REMINDER = ["Flow_wait_to_timer", "Flow_to_wait_parcel"]
INSPECTION_OK = ["Flow_inspection_ok", "Flow_to_finance_refund"]

RECEIVED_PREFIX_PATH = ["Task_aftersales_offer_exchange", "Task_supervisor_approve_return",
                        "Task_aftersales_send_return_address"]

_order_numbers = count(1)


# -- helpers ---------------------------------------------------------------------------------------

def application(**overrides) -> dict:
    """A refund application (start form data); each one gets its own order number."""
    data = {
        "order_no": f"RF-{next(_order_numbers):04d}", "buyer": "小李", "amount": "100.00", "shipping_fee": "12.00",
        "free_shipping": False, "goods_received": True, "quality_issue": False, "days_since_signed": 3,
        "reason": "尺码不合适",
    }
    data.update(overrides)
    return data


def start(scenario, **overrides) -> tuple[int, dict]:
    """The buyer's application arrives (entered through the API by after-sales, who handle applications)."""
    data = application(**overrides)
    started = scenario.start(PROCESS, data, as_role="aftersales_cs")
    assert started["status"] == "running"
    assert started["process_id"] == PROCESS
    return started["id"], data


def evidence(scenario, *names: str) -> list[dict]:
    """The buyer's photos/videos, uploaded by after-sales for the application they enter next (evidence is a
    file field: its value references the attachments, issue 14)."""
    heads = {"jpg": b"\xff\xd8\xff\xe0" + bytes(64), "mp4": b"\x00\x00\x00\x18ftypmp42" + bytes(64)}
    files = [(io.BytesIO(heads[name.rsplit(".", 1)[1]]), name) for name in names]
    response = scenario.client.post("/api/v1/attachments", data={"file": files}, content_type="multipart/form-data",
                                    headers=scenario.headers("aftersales_cs"))
    assert response.status_code == 201, response.get_json()
    return [{"attachment_id": a["id"]} for a in response.get_json()]


def money(value) -> Decimal:
    """A money value of the API: a JSON number (not a string, not a bool), as a two-place Decimal."""
    assert isinstance(value, (int, float)) and not isinstance(value, bool), f"not a JSON number: {value!r}"
    return Decimal(str(value)).quantize(Decimal("0.01"))


def assert_outcome(scenario, instance_id: int, outcome: str, refund_amount: str, shipping_reimbursed: str) -> dict:
    data = scenario.data(instance_id)
    assert data["outcome"] == outcome
    assert money(data["refund_amount"]) == Decimal(refund_amount)
    assert money(data["shipping_reimbursed"]) == Decimal(shipping_reimbursed)
    return data


def assert_completed(scenario, instance_id: int, messages_sent: int = 0) -> None:
    """Completed, with ``instance_completed`` last, right after the messages thrown in the last step."""
    instance = scenario.instance(instance_id)
    assert instance["status"] == "completed"
    assert instance["ended_at"] is not None
    assert instance["open_tasks"] == []
    assert scenario.open_tasks(instance_id) == []
    events = scenario.event_types(instance_id)
    assert events[0] == "instance_started"
    assert events[len(events) - 1 - messages_sent:] == ["message_sent"] * messages_sent + ["instance_completed"]
    assert events.count("instance_completed") == 1
    assert events.count("message_sent") == messages_sent


def assert_path(scenario, instance_id: int, expected: list[str]) -> None:
    """The tasks completed, in order, each by the user of the task's role."""
    assert scenario.path(instance_id) == expected
    completed = [e for e in scenario.history(instance_id) if e["type"] == "task_completed"]
    assert [e["actor"] for e in completed] == [scenario.user(ROLE_OF[e["element_id"]]) for e in completed]


def flows(scenario, instance_id: int) -> list[str]:
    """Every sequence flow chosen at a gateway, in order."""
    taken = []
    for event in scenario.history(instance_id):
        if event["type"] == "gateway_taken":
            taken.extend(event["data"]["flows"])
    return taken


def events_of(scenario, instance_id: int, type_: str) -> list[dict]:
    return [e for e in scenario.history(instance_id) if e["type"] == type_]


def advance(scenario, instance_id: int, **delta: float) -> int:
    """Move the test clock and run one worker tick; returns how many timers of *this* instance fired (other
    processes deployed beside refund have timer start events of their own)."""
    before = len(events_of(scenario, instance_id, "timer_fired"))
    scenario.advance(**delta)
    return len(events_of(scenario, instance_id, "timer_fired")) - before


def assert_no_timers_or_messages(scenario, instance_id: int) -> None:
    assert events_of(scenario, instance_id, "timer_fired") == []
    assert events_of(scenario, instance_id, "message_correlated") == []


def parcel(scenario, order_no: str, tracking_no: str, message_id: str) -> dict:
    """The courier/platform reports the returned parcel (message ``return_parcel_received``)."""
    return scenario.message("return_parcel_received", {"order_no": order_no}, {"tracking_no": tracking_no},
                            message_id)


def through_return_address(scenario, instance_id: int, real_reason: str = "买大了") -> None:
    """A received, no-reason (七天无理由) return from the exchange offer to the return address being sent."""
    scenario.complete(instance_id, "Task_aftersales_offer_exchange",
                      {"real_reason": real_reason, "exchange_instead": False})
    scenario.complete(instance_id, "Task_supervisor_approve_return", {"approved": True, "approval_comment": "同意"})
    scenario.complete(instance_id, "Task_aftersales_send_return_address",
                      {"return_address": "杭州市余杭区仓库 1 号 售后组收", "order_flag": "purple",
                       "return_instructions": "请在包裹内附订单号"})
    assert scenario.open_elements(instance_id) == []          # waiting for the parcel or the 7 days


# -- not received: 不退货仅退款 -------------------------------------------------------------------------

def test_not_received_approved_refunded(scenario):
    instance_id, _ = start(scenario, goods_received=False, days_since_signed=0, amount="88.50", reason="未收到货")
    assert scenario.open_elements(instance_id) == ["Task_supervisor_approve_refund_only"]
    scenario.complete(instance_id, "Task_supervisor_approve_refund_only", {"approved": True})
    assert scenario.open_elements(instance_id) == ["Task_finance_refund"]
    scenario.complete(instance_id, "Task_finance_refund", {"payment_ref": "ALI-20261102-1"})

    assert_outcome(scenario, instance_id, "refunded", "88.50", "0.00")
    assert_path(scenario, instance_id, ["Task_supervisor_approve_refund_only", "Task_finance_refund"])
    assert flows(scenario, instance_id) == NOT_RECEIVED + ["Flow_refund_only_approved", "Flow_to_finance_refund"]
    assert_no_timers_or_messages(scenario, instance_id)
    assert_completed(scenario, instance_id)


def test_not_received_rejected_buyer_accepts_withdrawn(scenario):
    instance_id, _ = start(scenario, goods_received=False, days_since_signed=0, reason="未收到货")
    scenario.complete(instance_id, "Task_supervisor_approve_refund_only",
                      {"approved": False, "approval_comment": "物流显示已到驿站，请买家先去取件"})
    assert scenario.open_elements(instance_id) == ["Task_aftersales_negotiate"]
    assert scenario.data(instance_id)["approval_comment"] == "物流显示已到驿站，请买家先去取件"
    scenario.complete(instance_id, "Task_aftersales_negotiate",
                      {"buyer_accepts": True, "negotiation_note": "买家已取到件，撤销申请"})

    assert_outcome(scenario, instance_id, "withdrawn", "0.00", "0.00")
    assert_path(scenario, instance_id, ["Task_supervisor_approve_refund_only", "Task_aftersales_negotiate"])
    assert flows(scenario, instance_id) == NOT_RECEIVED + ["Flow_refund_only_rejected", "Flow_buyer_accepts"]
    assert_no_timers_or_messages(scenario, instance_id)
    assert_completed(scenario, instance_id)


def test_not_received_rejected_buyer_escalates_approved_after_two_escalations(scenario):
    instance_id, _ = start(scenario, goods_received=False, days_since_signed=0, amount="59.90", reason="未收到货")
    # round 1: rejected, the buyer insists
    scenario.complete(instance_id, "Task_supervisor_approve_refund_only",
                      {"approved": False, "approval_comment": "物流在途"})
    scenario.complete(instance_id, "Task_aftersales_negotiate",
                      {"buyer_accepts": False, "negotiation_note": "买家坚持退款，称快递丢件"})
    assert scenario.open_elements(instance_id) == ["Task_supervisor_approve_refund_only"]
    # round 2: rejected again, the buyer escalates again
    scenario.complete(instance_id, "Task_supervisor_approve_refund_only",
                      {"approved": False, "approval_comment": "请快递先查件"})
    scenario.complete(instance_id, "Task_aftersales_negotiate",
                      {"buyer_accepts": False, "negotiation_note": "快递确认丢件"})
    # round 3: approved
    scenario.complete(instance_id, "Task_supervisor_approve_refund_only", {"approved": True})
    scenario.complete(instance_id, "Task_finance_refund", {"payment_ref": "ALI-2"})

    assert_outcome(scenario, instance_id, "refunded", "59.90", "0.00")
    assert_path(scenario, instance_id, [
        "Task_supervisor_approve_refund_only", "Task_aftersales_negotiate",
        "Task_supervisor_approve_refund_only", "Task_aftersales_negotiate",
        "Task_supervisor_approve_refund_only", "Task_finance_refund"])
    escalation = ["Flow_refund_only_rejected", "Flow_buyer_escalates", "Flow_to_refund_only_approval"]
    assert flows(scenario, instance_id) == (NOT_RECEIVED + escalation + escalation
                                            + ["Flow_refund_only_approved", "Flow_to_finance_refund"])
    assert_no_timers_or_messages(scenario, instance_id)
    assert_completed(scenario, instance_id)


# -- received: 退货并退款 ---------------------------------------------------------------------------

def test_within_seven_days_no_quality_issue_not_free_shipping_refund_minus_shipping(scenario):
    instance_id, data = start(scenario, amount="100.00", shipping_fee="12.00", free_shipping=False,
                              days_since_signed=3)
    assert scenario.open_elements(instance_id) == ["Task_aftersales_offer_exchange"]
    through_return_address(scenario, instance_id, real_reason="颜色和图片不符")
    # the amount was computed before the supervisor approved it
    assert money(scenario.data(instance_id)["refund_amount"]) == Decimal("88.00")
    assert parcel(scenario, data["order_no"], "SF100200300", "parcel-1")["status"] == "delivered"
    scenario.complete(instance_id, "Task_warehouse_inspect",
                      {"tracking_no": "SF100200300", "inspection_ok": True, "return_register_ref": "TH-1"})
    scenario.complete(instance_id, "Task_finance_refund", {"payment_ref": "ALI-3", "refund_slip_no": "HC-3"})

    final = assert_outcome(scenario, instance_id, "refunded", "88.00", "0.00")
    assert final["return_reason_summary"] == "颜色和图片不符"
    assert final["return_reason_category"] == "seven_day"
    assert final["order_flag"] == "purple"
    assert_path(scenario, instance_id, RECEIVED_PREFIX_PATH + ["Task_warehouse_inspect", "Task_finance_refund"])
    assert flows(scenario, instance_id) == (RECEIVED_WITHIN_7_DAYS + SEVEN_DAY_RETURN + RETURN_APPROVED
                                           + PARCEL_ARRIVES + INSPECTION_OK)
    assert len(events_of(scenario, instance_id, "message_correlated")) == 1
    assert events_of(scenario, instance_id, "timer_fired") == []
    assert_completed(scenario, instance_id)


def test_within_seven_days_free_shipping_refund_full_amount(scenario):
    # day 7 itself is still inside the 七天无理由 window
    instance_id, data = start(scenario, amount="129.00", shipping_fee="10.00", free_shipping=True,
                              days_since_signed=7)
    assert scenario.open_elements(instance_id) == ["Task_aftersales_offer_exchange"]
    through_return_address(scenario, instance_id)
    parcel(scenario, data["order_no"], "YT555", "parcel-free-1")
    scenario.complete(instance_id, "Task_warehouse_inspect", {"tracking_no": "YT555", "inspection_ok": True})
    scenario.complete(instance_id, "Task_finance_refund", {"payment_ref": "ALI-4"})

    assert_outcome(scenario, instance_id, "refunded", "129.00", "0.00")
    assert_path(scenario, instance_id, RECEIVED_PREFIX_PATH + ["Task_warehouse_inspect", "Task_finance_refund"])
    assert flows(scenario, instance_id) == (RECEIVED_WITHIN_7_DAYS + SEVEN_DAY_RETURN + RETURN_APPROVED
                                           + PARCEL_ARRIVES + INSPECTION_OK)
    assert_completed(scenario, instance_id)


def test_over_seven_days_refused_rejected(scenario):
    instance_id, _ = start(scenario, days_since_signed=15)
    assert scenario.open_elements(instance_id) == ["Task_aftersales_late_return"]
    scenario.complete(instance_id, "Task_aftersales_late_return",
                      {"accept_return": False, "accept_return_reason": "签收已15天且已好评", "buyer_has_reviewed": True})

    final = assert_outcome(scenario, instance_id, "rejected", "0.00", "0.00")
    assert final["accept_return_reason"] == "签收已15天且已好评"
    assert_path(scenario, instance_id, ["Task_aftersales_late_return"])
    assert flows(scenario, instance_id) == RECEIVED_OVER_7_DAYS + ["Flow_late_return_refused"]
    assert_no_timers_or_messages(scenario, instance_id)
    assert_completed(scenario, instance_id)


def test_over_seven_days_accepted_refunded(scenario):
    # 8 days: the first day outside the window
    instance_id, data = start(scenario, days_since_signed=8, amount="45.00", shipping_fee="6.00")
    assert scenario.open_elements(instance_id) == ["Task_aftersales_late_return"]
    scenario.complete(instance_id, "Task_aftersales_late_return",
                      {"accept_return": True, "accept_return_reason": "老客户，未评价，灵活处理"})
    assert scenario.open_elements(instance_id) == ["Task_aftersales_offer_exchange"]
    through_return_address(scenario, instance_id)
    parcel(scenario, data["order_no"], "ZTO-8", "parcel-late-1")
    scenario.complete(instance_id, "Task_warehouse_inspect", {"tracking_no": "ZTO-8", "inspection_ok": True})
    scenario.complete(instance_id, "Task_finance_refund", {"payment_ref": "ALI-5"})

    assert_outcome(scenario, instance_id, "refunded", "39.00", "0.00")
    assert_path(scenario, instance_id, ["Task_aftersales_late_return"] + RECEIVED_PREFIX_PATH
                + ["Task_warehouse_inspect", "Task_finance_refund"])
    assert flows(scenario, instance_id) == (RECEIVED_OVER_7_DAYS
                                           + ["Flow_late_return_accepted", "Flow_to_offer_exchange"]
                                           + SEVEN_DAY_RETURN + RETURN_APPROVED + PARCEL_ARRIVES + INSPECTION_OK)
    assert_completed(scenario, instance_id)


def test_exchange_instead_exchanged(scenario):
    instance_id, data = start(scenario)
    scenario.complete(instance_id, "Task_aftersales_offer_exchange",
                      {"real_reason": "尺码偏小", "exchange_instead": True, "exchange_note": "换大一码，无差价"})

    final = assert_outcome(scenario, instance_id, "exchanged", "0.00", "0.00")
    assert final["exchange_note"] == "换大一码，无差价"
    assert_path(scenario, instance_id, ["Task_aftersales_offer_exchange"])
    assert flows(scenario, instance_id) == RECEIVED_WITHIN_7_DAYS + ["Flow_exchange_accepted"]
    assert_no_timers_or_messages(scenario, instance_id)
    assert_completed(scenario, instance_id, messages_sent=1)
    # the exchange procedure was requested (Throw_exchange_requested) and started (tests/test_process_links.py
    # follows the exchange instance itself)
    [sent] = events_of(scenario, instance_id, "message_sent")
    assert sent["data"]["name"] == "exchange_requested" and sent["data"]["status"] == "started"
    assert sent["data"]["payload"]["order_no"] == data["order_no"]
    assert len(sent["data"]["instance_ids"]) == 1
    assert scenario.instance(sent["data"]["instance_ids"][0])["process_id"] == "exchange"


def test_quality_issue_full_refund_and_return_shipping_reimbursed(scenario):
    instance_id, data = start(scenario, quality_issue=True, amount="199.00", shipping_fee="15.00",
                              free_shipping=False, reason="开线",
                              evidence=evidence(scenario, "IMG_0012.jpg", "IMG_0013.jpg"))
    scenario.complete(instance_id, "Task_aftersales_offer_exchange", {"real_reason": "袖口开线", "exchange_instead": False})
    assert scenario.open_elements(instance_id) == ["Task_aftersales_check_quality"]
    scenario.complete(instance_id, "Task_aftersales_check_quality", {
        "evidence": data["evidence"], "quality_note": "袖口开线 3cm", "alipay_account": "li@example.com",
        "return_shipping_paid": "14.50"})
    approval = scenario.data(instance_id)
    assert money(approval["refund_amount"]) == Decimal("199.00")
    assert money(approval["shipping_reimbursed"]) == Decimal("14.50")
    scenario.complete(instance_id, "Task_supervisor_approve_return", {"approved": True})
    scenario.complete(instance_id, "Task_aftersales_send_return_address",
                      {"return_address": "杭州市余杭区仓库 1 号", "order_flag": "purple"})
    parcel(scenario, data["order_no"], "SF-Q-1", "parcel-quality-1")
    scenario.complete(instance_id, "Task_warehouse_inspect", {"tracking_no": "SF-Q-1", "inspection_ok": True})
    scenario.complete(instance_id, "Task_finance_refund", {"payment_ref": "ALI-6"})

    final = assert_outcome(scenario, instance_id, "refunded", "199.00", "14.50")
    assert money(final["return_shipping_paid"]) == Decimal("14.50")
    assert final["alipay_account"] == "li@example.com"
    assert final["return_reason_category"] == "quality"
    assert_path(scenario, instance_id, [
        "Task_aftersales_offer_exchange", "Task_aftersales_check_quality", "Task_supervisor_approve_return",
        "Task_aftersales_send_return_address", "Task_warehouse_inspect", "Task_finance_refund"])
    assert flows(scenario, instance_id) == (RECEIVED_WITHIN_7_DAYS + QUALITY_RETURN + RETURN_APPROVED
                                           + PARCEL_ARRIVES + INSPECTION_OK)
    assert_completed(scenario, instance_id)


def test_supervisor_rejects_return_rejected(scenario):
    instance_id, _ = start(scenario)
    scenario.complete(instance_id, "Task_aftersales_offer_exchange", {"real_reason": "不喜欢", "exchange_instead": False})
    scenario.complete(instance_id, "Task_supervisor_approve_return",
                      {"approved": False, "approval_comment": "吊牌已剪，不符合退货条件"})

    final = assert_outcome(scenario, instance_id, "rejected", "0.00", "0.00")
    assert final["approval_comment"] == "吊牌已剪，不符合退货条件"
    assert_path(scenario, instance_id, ["Task_aftersales_offer_exchange", "Task_supervisor_approve_return"])
    assert flows(scenario, instance_id) == RECEIVED_WITHIN_7_DAYS + SEVEN_DAY_RETURN + ["Flow_return_rejected"]
    assert_no_timers_or_messages(scenario, instance_id)
    assert_completed(scenario, instance_id)


# -- waiting for the returned parcel --------------------------------------------------------------------

def test_no_parcel_within_seven_days_reminders_then_parcel_arrives(scenario):
    instance_id, data = start(scenario)
    through_return_address(scenario, instance_id)            # at 2026-11-02 09:00

    assert advance(scenario, instance_id, days=6, hours=23) == 0  # not yet 7 days
    assert scenario.open_elements(instance_id) == []
    assert advance(scenario, instance_id, hours=1) == 1  # 7 days: first reminder
    assert scenario.open_elements(instance_id) == ["Task_aftersales_remind_buyer"]
    scenario.complete(instance_id, "Task_aftersales_remind_buyer", {"reminder_note": "旺旺提醒，买家说明天寄"})
    assert scenario.open_elements(instance_id) == []

    assert advance(scenario, instance_id, days=6) == 0
    assert advance(scenario, instance_id, days=1) == 1  # another 7 days: reminded again
    assert scenario.open_elements(instance_id) == ["Task_aftersales_remind_buyer"]
    scenario.complete(instance_id, "Task_aftersales_remind_buyer", {"reminder_note": "电话提醒，已寄出"})

    scenario.clock.advance(days=2)
    assert parcel(scenario, data["order_no"], "SF-LATE-9", "parcel-remind-1")["status"] == "delivered"
    assert scenario.open_elements(instance_id) == ["Task_warehouse_inspect"]
    assert advance(scenario, instance_id, hours=20) == 0  # the third reminder timer went with the parcel
    assert scenario.open_elements(instance_id) == ["Task_warehouse_inspect"]
    scenario.complete(instance_id, "Task_warehouse_inspect", {"tracking_no": "SF-LATE-9", "inspection_ok": True})
    scenario.complete(instance_id, "Task_finance_refund", {"payment_ref": "ALI-7"})

    final = assert_outcome(scenario, instance_id, "refunded", "88.00", "0.00")
    assert final["reminder_note"] == "电话提醒，已寄出"
    assert_path(scenario, instance_id, RECEIVED_PREFIX_PATH + [
        "Task_aftersales_remind_buyer", "Task_aftersales_remind_buyer", "Task_warehouse_inspect",
        "Task_finance_refund"])
    assert flows(scenario, instance_id) == (RECEIVED_WITHIN_7_DAYS + SEVEN_DAY_RETURN + RETURN_APPROVED
                                           + NO_PARCEL_REMINDER + NO_PARCEL_REMINDER + PARCEL_ARRIVES
                                           + INSPECTION_OK)
    fired = events_of(scenario, instance_id, "timer_fired")
    assert [e["data"]["due_at"] for e in fired] == ["2026-11-09T09:00:00", "2026-11-16T09:00:00"]
    # the engine waits on the event-based gateway; the timer fired is the one of that gateway
    assert {e["element_id"] for e in fired} == {"Timer_parcel_seven_days"}
    # the parcel (11-18) took the third reminder timer (due 11-23) with it; the inspection (11-19 05:00) took
    # its 24h deadline (due 11-19 09:00)
    cancelled = events_of(scenario, instance_id, "timer_cancelled")
    assert [e["data"]["due_at"] for e in cancelled] == ["2026-11-23T09:00:00", "2026-11-19T09:00:00"]
    assert cancelled[1]["element_id"] == "Boundary_inspection_24h"
    correlated = events_of(scenario, instance_id, "message_correlated")
    assert [e["data"]["message_id"] for e in correlated] == ["parcel-remind-1"]
    assert_completed(scenario, instance_id)


def test_parcel_message_delivers_tracking_no_once(scenario):
    instance_id, data = start(scenario)
    other_id, _ = start(scenario)
    through_return_address(scenario, instance_id)
    through_return_address(scenario, other_id)

    first = parcel(scenario, data["order_no"], "JD-0001", "courier-evt-77")
    assert first["status"] == "delivered"
    assert first["instance_ids"] == [instance_id]
    # the courier retries the same event: not delivered again
    again = parcel(scenario, data["order_no"], "JD-0001", "courier-evt-77")
    assert again["status"] == "duplicate"
    assert again["instance_ids"] == [instance_id]
    # correlated by order_no: the other instance still waits
    assert scenario.open_elements(other_id) == []

    # the warehouse sees the tracking number in the instance data
    inspect = scenario.task(instance_id, "Task_warehouse_inspect")
    assert inspect["role"] == "warehouse"
    seen = scenario.client.get(f"/api/v1/instances/{instance_id}", headers=scenario.headers("warehouse"))
    assert seen.status_code == 200
    assert seen.get_json()["data"]["tracking_no"] == "JD-0001"
    assert [t["element_id"] for t in seen.get_json()["open_tasks"]] == ["Task_warehouse_inspect"]
    assert len([t for t in scenario.open_tasks(instance_id) if t["element_id"] == "Task_warehouse_inspect"]) == 1

    scenario.complete(instance_id, "Task_warehouse_inspect", {"tracking_no": "JD-0001", "inspection_ok": True})
    scenario.complete(instance_id, "Task_finance_refund", {"payment_ref": "ALI-8"})

    final = assert_outcome(scenario, instance_id, "refunded", "88.00", "0.00")
    assert final["tracking_no"] == "JD-0001"
    correlated = events_of(scenario, instance_id, "message_correlated")
    assert len(correlated) == 1
    assert correlated[0]["data"]["name"] == "return_parcel_received"
    assert correlated[0]["data"]["message_id"] == "courier-evt-77"
    assert correlated[0]["data"]["data"] == {"tracking_no": "JD-0001"}
    assert_path(scenario, instance_id, RECEIVED_PREFIX_PATH + ["Task_warehouse_inspect", "Task_finance_refund"])
    assert flows(scenario, instance_id) == (RECEIVED_WITHIN_7_DAYS + SEVEN_DAY_RETURN + RETURN_APPROVED
                                           + PARCEL_ARRIVES + INSPECTION_OK)
    assert_completed(scenario, instance_id)
    assert scenario.instance(other_id)["status"] == "running"
    assert "tracking_no" not in scenario.data(other_id)


def test_parcel_message_before_waiting_is_kept_then_delivered(scenario):
    instance_id, data = start(scenario)
    scenario.complete(instance_id, "Task_aftersales_offer_exchange", {"real_reason": "买错了", "exchange_instead": False})
    # the buyer ships at once; the parcel is reported while the supervisor has not approved yet
    kept = parcel(scenario, data["order_no"], "EMS-42", "early-parcel")
    assert kept["status"] == "kept"
    assert kept["instance_ids"] == []
    assert "tracking_no" not in scenario.data(instance_id)
    scenario.clock.advance(hours=3)
    scenario.complete(instance_id, "Task_supervisor_approve_return", {"approved": True})
    scenario.complete(instance_id, "Task_aftersales_send_return_address",
                      {"return_address": "杭州市余杭区仓库 1 号", "order_flag": "purple"})
    # the instance started waiting and got the kept message at once
    assert scenario.open_elements(instance_id) == ["Task_warehouse_inspect"]
    assert scenario.data(instance_id)["tracking_no"] == "EMS-42"
    listed = scenario.client.get("/api/v1/messages?name=return_parcel_received", headers=scenario.headers("admin"))
    assert [(m["message_id"], m["status"], m["instance_ids"]) for m in listed.get_json()] == [
        ("early-parcel", "delivered", [instance_id])]
    scenario.complete(instance_id, "Task_warehouse_inspect", {"tracking_no": "EMS-42", "inspection_ok": True})
    scenario.complete(instance_id, "Task_finance_refund", {"payment_ref": "ALI-9"})

    assert_outcome(scenario, instance_id, "refunded", "88.00", "0.00")
    correlated = events_of(scenario, instance_id, "message_correlated")
    assert len(correlated) == 1
    assert correlated[0]["data"]["message_id"] == "early-parcel"
    assert correlated[0]["data"]["kept_since"] == "2026-11-02T09:00:00"
    assert correlated[0]["at"] == "2026-11-02T12:00:00+00:00"
    assert events_of(scenario, instance_id, "timer_fired") == []
    assert_path(scenario, instance_id, RECEIVED_PREFIX_PATH + ["Task_warehouse_inspect", "Task_finance_refund"])
    assert flows(scenario, instance_id) == (RECEIVED_WITHIN_7_DAYS + SEVEN_DAY_RETURN + RETURN_APPROVED
                                           + PARCEL_ARRIVES + INSPECTION_OK)
    assert_completed(scenario, instance_id)


# -- inspection --------------------------------------------------------------------------------------

def test_inspection_ok_refunded(scenario):
    instance_id, data = start(scenario, amount="60.00", shipping_fee="8.00")
    through_return_address(scenario, instance_id)
    scenario.clock.advance(days=2)
    parcel(scenario, data["order_no"], "STO-1", "parcel-ok-1")
    inspect = scenario.task(instance_id, "Task_warehouse_inspect")
    assert inspect["due_at"] == "2026-11-05T09:00:00+00:00"        # 24 hours after arrival
    scenario.clock.advance(hours=5)
    scenario.complete(instance_id, "Task_warehouse_inspect",
                      {"tracking_no": "STO-1", "inspection_ok": True, "inspection_note": "完好，已入库",
                       "return_register_ref": "TH-2026-0042"})
    assert scenario.open_elements(instance_id) == ["Task_finance_refund"]
    scenario.complete(instance_id, "Task_finance_refund", {"payment_ref": "ALI-10"})
    assert advance(scenario, instance_id, hours=24) == 0  # the 24h escalation went with the inspection

    final = assert_outcome(scenario, instance_id, "refunded", "52.00", "0.00")
    assert final["inspection_ok"] is True
    assert final["return_register_ref"] == "TH-2026-0042"
    assert final["payment_ref"] == "ALI-10"
    assert_path(scenario, instance_id, RECEIVED_PREFIX_PATH + ["Task_warehouse_inspect", "Task_finance_refund"])
    assert flows(scenario, instance_id) == (RECEIVED_WITHIN_7_DAYS + SEVEN_DAY_RETURN + RETURN_APPROVED
                                           + PARCEL_ARRIVES + INSPECTION_OK)
    assert events_of(scenario, instance_id, "timer_fired") == []
    assert [e["element_id"] for e in events_of(scenario, instance_id, "timer_cancelled")] == [
        "Timer_parcel_seven_days", "Boundary_inspection_24h"]
    assert_completed(scenario, instance_id)


@pytest.mark.parametrize("supervisor_urges_first", [True, False], ids=["urged", "refunded-before-urging"])
def test_inspection_overdue_escalates_to_supervisor(scenario, supervisor_urges_first):
    instance_id, data = start(scenario)
    through_return_address(scenario, instance_id)
    scenario.clock.advance(days=1)
    parcel(scenario, data["order_no"], "SF-SLOW", "parcel-slow-1")      # arrives 2026-11-03 09:00
    due_task = scenario.task(instance_id, "Task_warehouse_inspect")
    assert due_task["due_at"] == "2026-11-04T09:00:00+00:00"                    # the 24h mark

    assert advance(scenario, instance_id, hours=23, minutes=59) == 0
    assert scenario.open_elements(instance_id) == ["Task_warehouse_inspect"]
    assert scenario.task(instance_id, "Task_warehouse_inspect")["due_at"] == "2026-11-04T09:00:00+00:00"
    assert advance(scenario, instance_id, minutes=1) == 1  # 24 hours after arrival
    assert scenario.open_elements(instance_id) == ["Task_supervisor_urge_inspection", "Task_warehouse_inspect"]
    escalation = scenario.task(instance_id, "Task_supervisor_urge_inspection")
    assert escalation["role"] == "supervisor"
    inspection = scenario.task(instance_id, "Task_warehouse_inspect")
    assert inspection["status"] == "open"                                  # non-interrupting: still the warehouse's
    assert inspection["id"] == due_task["id"]
    fired = events_of(scenario, instance_id, "timer_fired")
    assert [(e["element_id"], e["data"]["due_at"]) for e in fired] == [("Boundary_inspection_24h",
                                                                        "2026-11-04T09:00:00")]

    expected_path = RECEIVED_PREFIX_PATH
    if supervisor_urges_first:
        scenario.complete(instance_id, "Task_supervisor_urge_inspection")
        expected_path = expected_path + ["Task_supervisor_urge_inspection"]
        assert scenario.open_elements(instance_id) == ["Task_warehouse_inspect"]
    scenario.clock.advance(hours=2)
    scenario.complete(instance_id, "Task_warehouse_inspect", {"tracking_no": "SF-SLOW", "inspection_ok": True})
    scenario.complete(instance_id, "Task_finance_refund", {"payment_ref": "ALI-11"})

    assert_outcome(scenario, instance_id, "refunded", "88.00", "0.00")
    assert_path(scenario, instance_id, expected_path + ["Task_warehouse_inspect", "Task_finance_refund"])
    assert flows(scenario, instance_id) == (RECEIVED_WITHIN_7_DAYS + SEVEN_DAY_RETURN + RETURN_APPROVED
                                           + PARCEL_ARRIVES + INSPECTION_OK)
    cancelled = [e["element_id"] for e in events_of(scenario, instance_id, "task_cancelled")]
    # an escalation still open when the refund is paid ends with the instance (terminate end)
    assert cancelled == ([] if supervisor_urges_first else ["Task_supervisor_urge_inspection"])
    assert_completed(scenario, instance_id)


def test_inspection_task_stays_due_at_the_24h_mark_after_the_escalation(scenario):
    instance_id, data = start(scenario)
    through_return_address(scenario, instance_id)
    parcel(scenario, data["order_no"], "SF-OVERDUE", "parcel-overdue-1")    # arrives 2026-11-02 09:00
    assert scenario.task(instance_id, "Task_warehouse_inspect")["due_at"] == "2026-11-03T09:00:00+00:00"
    assert advance(scenario, instance_id, hours=25) == 1
    assert scenario.open_elements(instance_id) == ["Task_supervisor_urge_inspection", "Task_warehouse_inspect"]
    overdue = scenario.client.get(f"/api/v1/tasks?scope=all&instance_id={instance_id}&overdue=true",
                                  headers=scenario.headers("admin")).get_json()
    assert scenario.task(instance_id, "Task_warehouse_inspect")["due_at"] == "2026-11-03T09:00:00+00:00"
    assert [t["element_id"] for t in overdue] == ["Task_warehouse_inspect"]


@pytest.mark.parametrize("partial, expected", [("30.00", "30.00"), ("150.00", "100.00")],
                         ids=["partial", "capped-at-amount"])
def test_damaged_goods_partial_refund_granted(scenario, partial, expected):
    # evidence as the data contract writes it: a text (a file name), no upload
    instance_id, data = start(scenario, quality_issue=True, amount="100.00", evidence="VID_1.mp4")
    scenario.complete(instance_id, "Task_aftersales_offer_exchange", {"real_reason": "起球", "exchange_instead": False})
    scenario.complete(instance_id, "Task_aftersales_check_quality",
                      {"evidence": "VID_1.mp4", "alipay_account": "buyer@example.com", "return_shipping_paid": "10.00"})
    assert scenario.data(instance_id)["evidence"] == "VID_1.mp4"
    scenario.complete(instance_id, "Task_supervisor_approve_return", {"approved": True})
    scenario.complete(instance_id, "Task_aftersales_send_return_address",
                      {"return_address": "杭州市余杭区仓库 1 号", "order_flag": "purple"})
    parcel(scenario, data["order_no"], "YD-9", f"parcel-damaged-{partial}")
    scenario.complete(instance_id, "Task_warehouse_inspect",
                      {"tracking_no": "YD-9", "inspection_ok": False, "inspection_note": "有明显穿着痕迹和污渍"})
    assert scenario.open_elements(instance_id) == ["Task_supervisor_damage_decision"]
    assert scenario.data(instance_id)["inspection_note"] == "有明显穿着痕迹和污渍"
    scenario.complete(instance_id, "Task_supervisor_damage_decision",
                      {"approved": True, "partial_refund_amount": partial, "decision_comment": "协商部分退款"})
    scenario.complete(instance_id, "Task_finance_refund", {"payment_ref": "ALI-12"})

    assert_outcome(scenario, instance_id, "refunded", expected, "0.00")
    assert_path(scenario, instance_id, [
        "Task_aftersales_offer_exchange", "Task_aftersales_check_quality", "Task_supervisor_approve_return",
        "Task_aftersales_send_return_address", "Task_warehouse_inspect", "Task_supervisor_damage_decision",
        "Task_finance_refund"])
    assert flows(scenario, instance_id) == (RECEIVED_WITHIN_7_DAYS + QUALITY_RETURN + RETURN_APPROVED
                                           + PARCEL_ARRIVES
                                           + ["Flow_goods_damaged", "Flow_partial_refund_granted",
                                              "Flow_to_finance_refund"])
    assert_completed(scenario, instance_id)


@pytest.mark.parametrize("inspected_late", [False, True], ids=["in-time", "after-escalation"])
def test_damaged_goods_refund_refused_rejected(scenario, inspected_late):
    instance_id, data = start(scenario)
    through_return_address(scenario, instance_id)
    parcel(scenario, data["order_no"], "HT-3", "parcel-damaged-refused")
    if inspected_late:
        assert advance(scenario, instance_id, hours=30) == 1
        assert scenario.open_elements(instance_id) == ["Task_supervisor_urge_inspection", "Task_warehouse_inspect"]
    scenario.complete(instance_id, "Task_warehouse_inspect",
                      {"tracking_no": "HT-3", "inspection_ok": False, "inspection_note": "商品已洗过，无法二次销售"})
    scenario.complete(instance_id, "Task_supervisor_damage_decision",
                      {"approved": False, "partial_refund_amount": "0", "decision_comment": "买家人为损坏，拒绝退款"})

    final = assert_outcome(scenario, instance_id, "rejected", "0.00", "0.00")
    assert final["decision_comment"] == "买家人为损坏，拒绝退款"
    assert_path(scenario, instance_id, RECEIVED_PREFIX_PATH + ["Task_warehouse_inspect",
                                                              "Task_supervisor_damage_decision"])
    assert flows(scenario, instance_id) == (RECEIVED_WITHIN_7_DAYS + SEVEN_DAY_RETURN + RETURN_APPROVED
                                           + PARCEL_ARRIVES + ["Flow_goods_damaged", "Flow_partial_refund_refused"])
    fired = [e["element_id"] for e in events_of(scenario, instance_id, "timer_fired")]
    cancelled = [e["element_id"] for e in events_of(scenario, instance_id, "task_cancelled")]
    if inspected_late:
        # the escalation nobody worked on ends with the refusal (terminate end)
        assert (fired, cancelled) == (["Boundary_inspection_24h"], ["Task_supervisor_urge_inspection"])
    else:
        assert (fired, cancelled) == ([], [])
    assert_completed(scenario, instance_id)


# -- form errors and permissions -------------------------------------------------------------------------

def test_start_form_missing_required_field_is_422_and_starts_nothing(scenario):
    data = application()
    del data["goods_received"]
    data["amount"] = "-5"
    response = scenario.client.post("/api/v1/instances", json={"process_id": PROCESS, "data": data},
                                    headers=scenario.headers("aftersales_cs"))
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] and body["message"]
    assert set(body["details"]) == {"goods_received", "amount"}
    assert all(isinstance(m, list) and m for m in body["details"].values())
    listed = scenario.client.get("/api/v1/instances?process_id=refund", headers=scenario.headers("admin"))
    assert listed.status_code == 200 and listed.get_json() == []


def test_task_form_missing_required_field_is_422_and_changes_nothing(scenario):
    instance_id, _ = start(scenario, goods_received=False, days_since_signed=0)
    task = scenario.task(instance_id, "Task_supervisor_approve_refund_only")
    headers = scenario.headers("supervisor")
    assert scenario.client.post(f"/api/v1/tasks/{task['id']}/claim", headers=headers).status_code == 200
    data_before = scenario.data(instance_id)
    history_before = scenario.history(instance_id)

    response = scenario.client.post(f"/api/v1/tasks/{task['id']}/complete",
                                    json={"data": {"approval_comment": "忘了选同意与否"}}, headers=headers)
    assert response.status_code == 422
    body = response.get_json()
    assert list(body["details"]) == ["approved"]
    assert body["details"]["approved"]

    assert scenario.data(instance_id) == data_before
    assert scenario.history(instance_id) == history_before
    still = scenario.task(instance_id, "Task_supervisor_approve_refund_only")
    assert (still["id"], still["status"], still["assignee"]) == (task["id"], "claimed", scenario.user("supervisor"))
    assert scenario.instance(instance_id)["status"] == "running"

    # corrected, the same task completes (by the supervisor who claimed it) and the path goes on
    scenario.complete(instance_id, "Task_supervisor_approve_refund_only", {"approved": True},
                      as_user=scenario.user("supervisor"))
    scenario.complete(instance_id, "Task_finance_refund", {"payment_ref": "ALI-13"})
    assert_outcome(scenario, instance_id, "refunded", "100.00", "0.00")
    assert_path(scenario, instance_id, ["Task_supervisor_approve_refund_only", "Task_finance_refund"])
    assert flows(scenario, instance_id) == NOT_RECEIVED + ["Flow_refund_only_approved", "Flow_to_finance_refund"]
    assert_completed(scenario, instance_id)


def test_non_member_of_the_role_gets_403(scenario):
    instance_id, _ = start(scenario, goods_received=False, days_since_signed=0)
    task = scenario.task(instance_id, "Task_supervisor_approve_refund_only")
    for outsider in ("aftersales_cs", "finance", "warehouse"):
        claimed = scenario.client.post(f"/api/v1/tasks/{task['id']}/claim", headers=scenario.headers(outsider))
        assert claimed.status_code == 403, outsider
        assert claimed.get_json()["error"]
        completed = scenario.client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"approved": True}},
                                         headers=scenario.headers(outsider))
        assert completed.status_code == 403, outsider
    untouched = scenario.task(instance_id, "Task_supervisor_approve_refund_only")
    assert (untouched["status"], untouched["assignee"]) == ("open", None)
    assert "task_claimed" not in scenario.event_types(instance_id)
    assert "approved" not in scenario.data(instance_id)

    scenario.complete(instance_id, "Task_supervisor_approve_refund_only", {"approved": True})
    # finance's task: the supervisor who approved is not a finance member either
    refund_task = scenario.task(instance_id, "Task_finance_refund")
    denied = scenario.client.post(f"/api/v1/tasks/{refund_task['id']}/claim", headers=scenario.headers("supervisor"))
    assert denied.status_code == 403
    scenario.complete(instance_id, "Task_finance_refund", {"payment_ref": "ALI-14"})
    assert_outcome(scenario, instance_id, "refunded", "100.00", "0.00")
    assert_path(scenario, instance_id, ["Task_supervisor_approve_refund_only", "Task_finance_refund"])
    assert_completed(scenario, instance_id)


# -- contract-only clients -------------------------------------------------------------------------------
# A client that knows only the data contract of docs/procedures.md §3: the start fields, and at each task only the
# contract decision that belongs to that step (or nothing). Every other form field is optional.

CONTRACT_START = ("order_no", "buyer", "amount", "shipping_fee", "free_shipping", "goods_received", "quality_issue",
                  "days_since_signed", "reason")


def contract_start(scenario, **overrides) -> tuple[int, dict]:
    data = application(**overrides)
    assert set(data) == set(CONTRACT_START)
    return start(scenario, **overrides)


def contract_return_until_parcel(scenario, instance_id: int, order_no: str, quality: bool = False) -> None:
    """Received goods: no exchange, (quality: shipping paid back), approved, address sent, parcel arrives."""
    scenario.complete(instance_id, "Task_aftersales_offer_exchange", {"exchange_instead": False})
    if quality:
        scenario.complete(instance_id, "Task_aftersales_check_quality", {"return_shipping_paid": "10.00"})
    scenario.complete(instance_id, "Task_supervisor_approve_return", {"approved": True})
    scenario.complete(instance_id, "Task_aftersales_send_return_address", {})
    assert scenario.open_elements(instance_id) == []
    parcel(scenario, order_no, "SF-C-1", f"contract-parcel-{order_no}")
    assert scenario.open_elements(instance_id) == ["Task_warehouse_inspect"]


def test_contract_only_not_received_approved_refunded(scenario):
    instance_id, _ = contract_start(scenario, goods_received=False, days_since_signed=0, amount="88.50")
    scenario.complete(instance_id, "Task_supervisor_approve_refund_only", {"approved": True})
    scenario.complete(instance_id, "Task_finance_refund", {})
    assert_outcome(scenario, instance_id, "refunded", "88.50", "0.00")
    assert_completed(scenario, instance_id)


@pytest.mark.parametrize("buyer_accepts", [True, False], ids=["withdrawn", "escalated-then-approved"])
def test_contract_only_not_received_rejected_negotiation(scenario, buyer_accepts):
    instance_id, _ = contract_start(scenario, goods_received=False, days_since_signed=0)
    scenario.complete(instance_id, "Task_supervisor_approve_refund_only",
                      {"approved": False, "approval_comment": "物流在途"})  # a rejection says why (issue 14)
    scenario.complete(instance_id, "Task_aftersales_negotiate", {"buyer_accepts": buyer_accepts})
    if buyer_accepts:
        assert_outcome(scenario, instance_id, "withdrawn", "0.00", "0.00")
    else:
        scenario.complete(instance_id, "Task_supervisor_approve_refund_only", {"approved": True})
        scenario.complete(instance_id, "Task_finance_refund", {})
        assert_outcome(scenario, instance_id, "refunded", "100.00", "0.00")
    assert_completed(scenario, instance_id)


@pytest.mark.parametrize("free_shipping, expected", [(False, "88.00"), (True, "100.00")],
                         ids=["minus-shipping", "free-shipping"])
def test_contract_only_seven_day_return_refunded(scenario, free_shipping, expected):
    instance_id, data = contract_start(scenario, free_shipping=free_shipping)
    contract_return_until_parcel(scenario, instance_id, data["order_no"])
    scenario.complete(instance_id, "Task_warehouse_inspect", {"inspection_ok": True})
    scenario.complete(instance_id, "Task_finance_refund", {})
    final = assert_outcome(scenario, instance_id, "refunded", expected, "0.00")
    assert final["tracking_no"] == "SF-C-1"      # from the message, kept by the inspection form
    assert final["return_reason_summary"] == "尺码不合适"
    assert flows(scenario, instance_id) == (RECEIVED_WITHIN_7_DAYS + SEVEN_DAY_RETURN + RETURN_APPROVED
                                           + PARCEL_ARRIVES + INSPECTION_OK)
    assert_completed(scenario, instance_id)


def test_contract_only_quality_return_full_refund_and_shipping_reimbursed(scenario):
    instance_id, data = contract_start(scenario, quality_issue=True, amount="100.00")
    contract_return_until_parcel(scenario, instance_id, data["order_no"], quality=True)
    scenario.complete(instance_id, "Task_warehouse_inspect", {"inspection_ok": True})
    scenario.complete(instance_id, "Task_finance_refund", {})
    assert_outcome(scenario, instance_id, "refunded", "100.00", "10.00")
    assert flows(scenario, instance_id) == (RECEIVED_WITHIN_7_DAYS + QUALITY_RETURN + RETURN_APPROVED
                                           + PARCEL_ARRIVES + INSPECTION_OK)
    assert_completed(scenario, instance_id)


@pytest.mark.parametrize("accept_return", [True, False], ids=["accepted", "refused"])
def test_contract_only_over_seven_days(scenario, accept_return):
    instance_id, data = contract_start(scenario, days_since_signed=12)
    scenario.complete(instance_id, "Task_aftersales_late_return", {"accept_return": accept_return})
    if accept_return:
        contract_return_until_parcel(scenario, instance_id, data["order_no"])
        scenario.complete(instance_id, "Task_warehouse_inspect", {"inspection_ok": True})
        scenario.complete(instance_id, "Task_finance_refund", {})
        assert_outcome(scenario, instance_id, "refunded", "88.00", "0.00")
    else:
        assert_outcome(scenario, instance_id, "rejected", "0.00", "0.00")
    assert_completed(scenario, instance_id)


def test_contract_only_exchange_instead_exchanged(scenario):
    instance_id, _ = contract_start(scenario)
    scenario.complete(instance_id, "Task_aftersales_offer_exchange", {"exchange_instead": True})
    assert_outcome(scenario, instance_id, "exchanged", "0.00", "0.00")
    assert_completed(scenario, instance_id, messages_sent=1)


def test_contract_only_supervisor_rejects_return(scenario):
    instance_id, _ = contract_start(scenario)
    scenario.complete(instance_id, "Task_aftersales_offer_exchange", {"exchange_instead": False})
    scenario.complete(instance_id, "Task_supervisor_approve_return",
                      {"approved": False, "approval_comment": "吊牌已剪"})  # a rejection says why (issue 14)
    assert_outcome(scenario, instance_id, "rejected", "0.00", "0.00")
    assert_completed(scenario, instance_id)


def test_contract_only_no_parcel_reminder_then_parcel(scenario):
    instance_id, data = contract_start(scenario)
    scenario.complete(instance_id, "Task_aftersales_offer_exchange", {"exchange_instead": False})
    scenario.complete(instance_id, "Task_supervisor_approve_return", {"approved": True})
    scenario.complete(instance_id, "Task_aftersales_send_return_address", {})
    assert advance(scenario, instance_id, days=7, hours=1) == 1
    assert scenario.open_elements(instance_id) == ["Task_aftersales_remind_buyer"]
    scenario.complete(instance_id, "Task_aftersales_remind_buyer", {})
    assert scenario.open_elements(instance_id) == []
    parcel(scenario, data["order_no"], "SF-C-2", "contract-parcel-late")
    scenario.complete(instance_id, "Task_warehouse_inspect", {"inspection_ok": True})
    scenario.complete(instance_id, "Task_finance_refund", {})
    final = assert_outcome(scenario, instance_id, "refunded", "88.00", "0.00")
    assert final["tracking_no"] == "SF-C-2"
    assert_completed(scenario, instance_id)


def test_contract_only_inspection_overdue_escalation(scenario):
    instance_id, data = contract_start(scenario)
    contract_return_until_parcel(scenario, instance_id, data["order_no"])
    assert advance(scenario, instance_id, hours=25) == 1
    assert scenario.open_elements(instance_id) == ["Task_supervisor_urge_inspection", "Task_warehouse_inspect"]
    scenario.complete(instance_id, "Task_supervisor_urge_inspection", {})
    scenario.complete(instance_id, "Task_warehouse_inspect", {"inspection_ok": True})
    scenario.complete(instance_id, "Task_finance_refund", {})
    assert_outcome(scenario, instance_id, "refunded", "88.00", "0.00")
    assert_completed(scenario, instance_id)


@pytest.mark.parametrize("quality, expected", [(False, "88.00"), (True, "100.00")], ids=["seven-day", "quality"])
def test_contract_only_damaged_goods_partial_refund_defaults_to_computed_amount(scenario, quality, expected):
    instance_id, data = contract_start(scenario, quality_issue=quality)
    contract_return_until_parcel(scenario, instance_id, data["order_no"], quality=quality)
    scenario.complete(instance_id, "Task_warehouse_inspect", {"inspection_ok": False})
    scenario.complete(instance_id, "Task_supervisor_damage_decision", {"approved": True})
    scenario.complete(instance_id, "Task_finance_refund", {})
    assert_outcome(scenario, instance_id, "refunded", expected, "0.00")
    assert flows(scenario, instance_id)[-3:] == ["Flow_goods_damaged", "Flow_partial_refund_granted",
                                                 "Flow_to_finance_refund"]
    assert_completed(scenario, instance_id)


def test_contract_only_damaged_goods_refused(scenario):
    instance_id, data = contract_start(scenario)
    contract_return_until_parcel(scenario, instance_id, data["order_no"])
    scenario.complete(instance_id, "Task_warehouse_inspect", {"inspection_ok": False})
    scenario.complete(instance_id, "Task_supervisor_damage_decision", {"approved": False})
    assert_outcome(scenario, instance_id, "rejected", "0.00", "0.00")
    assert_completed(scenario, instance_id)


def test_contract_only_missing_contract_decision_is_still_422(scenario):
    instance_id, _ = contract_start(scenario)
    reply = scenario.complete(instance_id, "Task_aftersales_offer_exchange", {}, expect=422)
    assert list(reply["details"]) == ["exchange_instead"]
    assert scenario.open_elements(instance_id) == ["Task_aftersales_offer_exchange"]
