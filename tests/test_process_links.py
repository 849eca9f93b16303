"""Scenario tests of the links between processes, through the public REST API.

* refund -> exchange: a refund whose buyer takes an exchange (``exchange_instead``) throws the message
  ``exchange_requested``; the engine starts the exchange process at its message start event with the payload as
  start data. The exchange's first task (补全换货申请) completes what the refund does not know.
* order_dispatch -> refund: a shipped order that the buyer cancels or changes is handed to after-sales and throws
  ``refund_requested``; the engine starts a refund at its message start event. The refund's first task
  (补全退款申请) completes what dispatch does not know (amount paid, shipping) - the engine does not apply the
  start form to a message start.
* The plain start events (start forms) still start only their own path.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from engine.connectors import stock

ORDER_NO = "D-7001"
LINES = [{"sku": "TS-RED", "qty": 2, "size": "M"}]
ORDER = {"order_no": ORDER_NO, "buyer": "小李", "lines": LINES, "address": "上海市徐汇区漕溪北路1号",
         "phone": "13800000001", "buyer_notes": "发申通"}
CONFIRM = {"address": ORDER["address"], "phone": ORDER["phone"], "order_note": "蔡蔡 发申通 2026.11.02",
           "order_flag": "gray", "courier": "申通"}
HANDOVER = {"waybill_no": "STO-5566", "courier": "申通", "parcels_checked": 1, "region": "上海"}
TO_BATCH = 21  # hours from the test clock's start (17:00 Beijing) to the next 14:00 Beijing batch

REFUND = {"order_no": "RF-7001", "buyer": "小王", "amount": "159.00", "shipping_fee": "10.00",
          "free_shipping": False, "goods_received": True, "quality_issue": False, "days_since_signed": 2,
          "reason": "尺码不合适"}
EXCHANGE_LINES = [{"sku": "TS-BLUE-M", "qty": 1, "size": "M"}]


# -- helpers ---------------------------------------------------------------------------------------

def instances_of(scenario, process_id: str) -> list[dict]:
    response = scenario.client.get(f"/api/v1/instances?process_id={process_id}", headers=scenario.headers("admin"))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def only_instance_of(scenario, process_id: str) -> dict:
    found = instances_of(scenario, process_id)
    assert len(found) == 1, found
    return scenario.instance(found[0]["id"])


def events(scenario, iid: int, kind: str) -> list[dict]:
    return [e for e in scenario.history(iid) if e["type"] == kind]


def flows(scenario, iid: int) -> list[str]:
    return [f for e in events(scenario, iid, "gateway_taken") for f in e["data"]["flows"]]


def money(value) -> Decimal:
    assert isinstance(value, (int, float)) and not isinstance(value, bool), value
    return Decimal(str(value)).quantize(Decimal("0.01"))


def finished(scenario, iid: int) -> dict:
    instance = scenario.instance(iid)
    assert instance["status"] == "completed", instance
    assert scenario.open_tasks(iid) == []
    return instance["data"]


def assert_started_by(scenario, iid: int, sender: int, name: str) -> dict:
    """``iid`` was started by message ``name`` thrown by instance ``sender``; returns the sender's event."""
    [sent] = events(scenario, sender, "message_sent")
    assert sent["data"]["name"] == name
    assert sent["data"]["status"] == "started"
    assert sent["data"]["instance_ids"] == [iid]
    started = scenario.history(iid)[0]
    assert started["type"] == "instance_started" and started["actor"] == "system"
    assert started["data"]["data"] == sent["data"]["payload"]
    return sent


def shipped_order(scenario) -> int:
    """An order confirmed, printed, picked, packed and handed to the courier: waiting in transit."""
    with scenario.database.session() as session:
        stock.receive_lines(session, [{"sku": "TS-RED", "qty": 10}], "PO-SEED")
        session.commit()
    iid = scenario.start("order_dispatch", ORDER, as_role="presales_cs")["id"]
    scenario.complete(iid, "Task_presales_confirm_order", CONFIRM)
    scenario.advance(hours=TO_BATCH)
    scenario.complete(iid, "Task_clerk_print", {"outbound_note_no": "CK-7001", "invoice_no": "FP-7001"})
    scenario.complete(iid, "Task_warehouse_pick", {"picker": "仓管老王"})
    scenario.complete(iid, "Task_warehouse_scan", {"scan_matches": True})
    scenario.complete(iid, "Task_warehouse_pack", {"packages": 1, "ledger_filled": True})
    scenario.complete(iid, "Task_stock_handover", HANDOVER)
    assert scenario.open_elements(iid) == [] and scenario.instance(iid)["status"] == "running"
    return iid


def hand_over(scenario, message: str, action: str, note: str, data: dict | None = None) -> tuple[int, int]:
    """The buyer cancels/changes the shipped order, after-sales records the handling: (dispatch id, refund id)."""
    dispatch = shipped_order(scenario)
    assert instances_of(scenario, "refund") == []
    scenario.message(message, {"order_no": ORDER_NO}, data or {})
    scenario.complete(dispatch, "Task_aftersales_shipped_change", {"aftersales_action": action, "aftersales_note": note})
    assert finished(scenario, dispatch)["outcome"] == "handed_to_aftersales"
    refund = only_instance_of(scenario, "refund")
    assert refund["status"] == "running"
    assert_started_by(scenario, refund["id"], dispatch, "refund_requested")
    return dispatch, refund["id"]


def completed_application(**changes) -> dict:
    """What after-sales enters in 补全退款申请 for the cancelled order D-7001."""
    return {"order_no": ORDER_NO, "buyer": "小李", "amount": "198.00", "shipping_fee": "12.00", "free_shipping": False,
            "goods_received": False, "quality_issue": False, "days_since_signed": 0,
            "reason": "已发货后买家取消订单，拒收退回", **changes}


def exchange_request(order_no: str, **changes) -> dict:
    """What after-sales enters in 补全换货申请."""
    return {"order_no": order_no, "buyer": "小王", "address": "杭州市西湖区文三路100号", "lines": EXCHANGE_LINES,
            "days_since_signed": 2, "quality_issue": False, "reason": "尺码不合适", "new_size": "L", **changes}


# -- refund -> exchange --------------------------------------------------------------------------------

def test_refund_exchanged_starts_an_exchange_with_the_refund_data(scenario):
    refund = scenario.start("refund", REFUND, as_role="aftersales_cs")["id"]
    assert instances_of(scenario, "exchange") == []
    scenario.complete(refund, "Task_aftersales_offer_exchange",
                      {"real_reason": "M码偏小", "exchange_instead": True, "exchange_note": "换L码"})

    refund_data = finished(scenario, refund)
    assert refund_data["outcome"] == "exchanged"
    assert money(refund_data["refund_amount"]) == 0 and money(refund_data["shipping_reimbursed"]) == 0

    exchange = only_instance_of(scenario, "exchange")
    assert exchange["status"] == "running" and exchange["started_by"] == "system"
    sent = assert_started_by(scenario, exchange["id"], refund, "exchange_requested")
    assert sent["data"]["payload"] == {
        "order_no": "RF-7001", "buyer": "小王", "days_since_signed": 2, "quality_issue": False,
        "reason": "尺码不合适", "real_reason": "M码偏小", "amount": 159, "requested_via": "refund"}
    data = exchange["data"]
    assert {k: data[k] for k in ("order_no", "buyer", "days_since_signed", "quality_issue", "reason",
                                 "real_reason", "requested_via")} == {
        "order_no": "RF-7001", "buyer": "小王", "days_since_signed": 2, "quality_issue": False,
        "reason": "尺码不合适", "real_reason": "M码偏小", "requested_via": "refund"}
    assert money(data["amount"]) == Decimal("159.00")
    assert exchange["business_key"] == "RF-7001"
    # only the message start's path runs: its first task completes the start data, nothing of the plain path
    assert scenario.open_elements(exchange["id"]) == ["Task_aftersales_complete_request"]
    assert scenario.task(exchange["id"], "Task_aftersales_complete_request")["role"] == "aftersales_cs"
    assert "address" not in data and "lines" not in data


def test_exchange_started_by_the_refund_goes_through_to_exchanged(scenario):
    with scenario.database.session() as session:
        stock.receive_lines(session, [{"sku": "TS-BLUE-M", "qty": 3}, {"sku": "TS-BLUE-L", "qty": 3}], "PO-SEED")
        session.commit()
    refund = scenario.start("refund", REFUND, as_role="aftersales_cs")["id"]
    scenario.complete(refund, "Task_aftersales_offer_exchange", {"real_reason": "M码偏小", "exchange_instead": True})
    iid = only_instance_of(scenario, "exchange")["id"]

    scenario.complete(iid, "Task_aftersales_complete_request", exchange_request("RF-7001"))
    assert scenario.open_elements(iid) == ["Task_aftersales_check_resale"]
    scenario.complete(iid, "Task_aftersales_check_resale", {"resaleable": True, "resale_note": "吊牌完好"})
    scenario.complete(iid, "Task_aftersales_record_exchange", {
        "real_reason": "M码偏小", "replacement_lines": [{"sku": "TS-BLUE-L", "qty": 1, "size": "L"}],
        "price_difference": "0.00", "shipping_paid_by": "buyer", "order_flag": "blue"})
    scenario.complete(iid, "Task_aftersales_send_address",
                      {"exchange_address": "广州市白云区仓库路8号 售后组收", "receipt_extended_days": 10})
    reply = scenario.message("exchange_parcel_received", {"order_no": "RF-7001"}, {"tracking_no": "YT-9"})
    assert reply["status"] == "delivered" and reply["instance_ids"] == [iid]
    scenario.complete(iid, "Task_warehouse_inspect", {"returned_ok": True, "inspection_note": "完好"})
    scenario.complete(iid, "Task_warehouse_ship_replacement", {"exchange_waybill_no": "SF-9", "courier": "顺丰"})

    data = finished(scenario, iid)
    assert data["outcome"] == "exchanged" and data["exchange_waybill_no"] == "SF-9"
    assert data["address"] == "杭州市西湖区文三路100号" and data["lines"] == EXCHANGE_LINES
    assert scenario.path(iid) == ["Task_aftersales_complete_request", "Task_aftersales_check_resale",
                                  "Task_aftersales_record_exchange", "Task_aftersales_send_address",
                                  "Task_warehouse_inspect", "Task_warehouse_ship_replacement"]
    assert flows(scenario, iid)[:2] == ["Flow_to_seven_days", "Flow_within_seven_days"]
    with scenario.database.session() as session:
        assert stock.balances(session, ["TS-BLUE-M", "TS-BLUE-L"]) == {"TS-BLUE-M": 4, "TS-BLUE-L": 2}


def test_exchange_completion_form_requires_what_the_refund_did_not_know(scenario):
    refund = scenario.start("refund", {**REFUND, "quality_issue": True}, as_role="aftersales_cs")["id"]
    scenario.complete(refund, "Task_aftersales_offer_exchange", {"real_reason": "开线", "exchange_instead": True})
    iid = only_instance_of(scenario, "exchange")["id"]
    request = exchange_request("RF-7001", quality_issue=True)
    request.pop("address")
    request.pop("lines")
    reply = scenario.complete(iid, "Task_aftersales_complete_request", request, expect=422)
    assert {"address", "lines"} <= set(reply["details"])
    assert scenario.open_elements(iid) == ["Task_aftersales_complete_request"]
    assert events(scenario, iid, "task_completed") == []
    # completed: the quality path of the exchange, as if started by hand
    scenario.complete(iid, "Task_aftersales_complete_request", exchange_request("RF-7001", quality_issue=True))
    assert scenario.open_elements(iid) == ["Task_aftersales_quality_evidence"]


# -- order_dispatch -> refund ------------------------------------------------------------------------------

def test_shipped_order_cancelled_starts_a_refund_that_goes_through_to_refunded(scenario):
    dispatch, refund = hand_over(scenario, "order_cancelled", "refuse_delivery", "买家取消，拒收退回")

    sent = events(scenario, dispatch, "message_sent")[0]["data"]
    assert sent["payload"] == {
        "order_no": ORDER_NO, "buyer": "小李", "goods_received": False, "quality_issue": False,
        "days_since_signed": 0, "reason": "买家取消，拒收退回", "lines": LINES, "address": ORDER["address"],
        "phone": ORDER["phone"], "waybill_no": "STO-5566", "aftersales_action": "refuse_delivery",
        "requested_via": "order_dispatch"}
    instance = scenario.instance(refund)
    assert instance["business_key"] == ORDER_NO
    assert {k: instance["data"][k] for k in sent["payload"]} == sent["payload"]
    assert "amount" not in instance["data"]  # not known to dispatch
    # the start form is not applied to a message start: the first task completes the contract's start fields
    assert scenario.open_elements(refund) == ["Task_aftersales_complete_application"]
    task = scenario.task(refund, "Task_aftersales_complete_application")
    assert task["role"] == "aftersales_cs"

    scenario.complete(refund, "Task_aftersales_complete_application", completed_application())
    assert scenario.open_elements(refund) == ["Task_supervisor_approve_refund_only"]
    scenario.complete(refund, "Task_supervisor_approve_refund_only", {"approved": True})
    scenario.complete(refund, "Task_finance_refund", {"payment_ref": "ALIPAY-7001"})

    data = finished(scenario, refund)
    assert data["outcome"] == "refunded"
    assert money(data["refund_amount"]) == Decimal("198.00") and money(data["shipping_reimbursed"]) == 0
    assert scenario.path(refund) == ["Task_aftersales_complete_application", "Task_supervisor_approve_refund_only",
                                     "Task_finance_refund"]
    assert flows(scenario, refund) == ["Flow_to_goods_received", "Flow_goods_not_received",
                                       "Flow_to_refund_only_approval", "Flow_refund_only_approved",
                                       "Flow_to_finance_refund"]


def test_refund_completion_form_requires_the_amount_dispatch_does_not_know(scenario):
    _, refund = hand_over(scenario, "order_cancelled", "intercept", "拦截快递，退回后退款")
    application = completed_application()
    del application["amount"], application["shipping_fee"], application["free_shipping"]
    reply = scenario.complete(refund, "Task_aftersales_complete_application", application, expect=422)
    assert {"amount", "shipping_fee", "free_shipping"} <= set(reply["details"])
    assert scenario.open_elements(refund) == ["Task_aftersales_complete_application"]
    assert events(scenario, refund, "task_completed") == []


def test_shipped_order_changed_to_exchange_runs_dispatch_refund_exchange(scenario):
    """The buyer changes the shipped order and wants another size once it arrives: dispatch hands over to
    after-sales (refund, goods received), the refund offers the exchange, the exchange starts."""
    dispatch, refund = hand_over(scenario, "order_changed", "exchange_after_receipt", "买家要改尺码，收货后换货",
                                 {"lines": [{"sku": "TS-RED", "qty": 2, "size": "L"}]})
    data = scenario.data(refund)
    assert data["goods_received"] is True and data["aftersales_action"] == "exchange_after_receipt"
    assert data["lines"] == [{"sku": "TS-RED", "qty": 2, "size": "L"}]  # the changed lines came with the message
    scenario.complete(refund, "Task_aftersales_complete_application",
                      completed_application(goods_received=True, days_since_signed=1, reason="尺码不合适，要换L码"))
    assert scenario.open_elements(refund) == ["Task_aftersales_offer_exchange"]
    scenario.complete(refund, "Task_aftersales_offer_exchange", {"real_reason": "M码偏小", "exchange_instead": True})
    assert finished(scenario, refund)["outcome"] == "exchanged"

    exchange = only_instance_of(scenario, "exchange")
    assert_started_by(scenario, exchange["id"], refund, "exchange_requested")
    assert exchange["data"]["order_no"] == ORDER_NO and exchange["data"]["reason"] == "尺码不合适，要换L码"
    assert exchange["data"]["days_since_signed"] == 1
    assert scenario.open_elements(exchange["id"]) == ["Task_aftersales_complete_request"]
    assert [len(instances_of(scenario, p)) for p in ("order_dispatch", "refund", "exchange")] == [1, 1, 1]


def test_refund_started_by_an_outside_message_with_little_data(scenario):
    """Another system may send refund_requested too: whatever it lacks, after-sales completes."""
    reply = scenario.message("refund_requested", {"order_no": "EXT-1"}, {"buyer": "小张"})
    assert reply["status"] == "started"
    refund = only_instance_of(scenario, "refund")
    assert reply["instance_ids"] == [refund["id"]]
    assert refund["data"] == {"order_no": "EXT-1", "buyer": "小张"}
    scenario.complete(refund["id"], "Task_aftersales_complete_application", completed_application(
        order_no="EXT-1", buyer="小张", goods_received=True, days_since_signed=12, reason="不想要了"))
    scenario.complete(refund["id"], "Task_aftersales_late_return",
                      {"accept_return": False, "accept_return_reason": "签收超过七天且已好评"})
    data = finished(scenario, refund["id"])
    assert data["outcome"] == "rejected" and money(data["refund_amount"]) == 0


# -- the plain starts still start only their own path ----------------------------------------------------------

@pytest.mark.parametrize("goods_received, first_task", [
    (False, "Task_supervisor_approve_refund_only"),
    (True, "Task_aftersales_offer_exchange"),
])
def test_plain_refund_start_still_works(scenario, goods_received, first_task):
    refund = scenario.start("refund", {**REFUND, "goods_received": goods_received}, as_role="aftersales_cs")["id"]
    assert scenario.open_elements(refund) == [first_task]
    assert flows(scenario, refund)[0] == "Flow_to_goods_received"
    assert events(scenario, refund, "message_sent") == []
    assert [i["process_id"] for i in scenario.client.get(
        "/api/v1/instances", headers=scenario.headers("admin")).get_json()] == ["refund"]
    # the start form is still checked for a plain start
    bad = {k: v for k, v in REFUND.items() if k != "amount"}
    scenario.start("refund", bad, as_role="aftersales_cs", expect=422)


def test_plain_exchange_start_still_works(scenario):
    iid = scenario.start("exchange", exchange_request("X-7001"), as_role="aftersales_cs")["id"]
    assert scenario.open_elements(iid) == ["Task_aftersales_check_resale"]
    assert flows(scenario, iid)[:2] == ["Flow_to_seven_days", "Flow_within_seven_days"]
    bad = exchange_request("X-7002")
    del bad["lines"]
    scenario.start("exchange", bad, as_role="aftersales_cs", expect=422)
    assert len(instances_of(scenario, "exchange")) == 1


def test_plain_dispatch_cancel_before_shipping_starts_no_refund(scenario):
    iid = scenario.start("order_dispatch", ORDER, as_role="presales_cs")["id"]
    scenario.complete(iid, "Task_presales_confirm_order", CONFIRM)
    scenario.message("order_cancelled", {"order_no": ORDER_NO})
    data = finished(scenario, iid)
    assert data["outcome"] == "cancelled"
    assert events(scenario, iid, "message_sent") == []
    assert instances_of(scenario, "refund") == []


# -- contract-only clients ---------------------------------------------------------------------------------

def test_contract_only_refund_exchange_instead_runs_the_exchange_to_exchanged(scenario):
    """Only contract names: the refund's start fields and exchange_instead, then the exchange's start fields
    (completion task) and its decisions; every other task gets {}."""
    with scenario.database.session() as session:
        stock.receive_lines(session, [{"sku": "TS-BLUE-M", "qty": 3}], "PO-SEED")
        session.commit()
    refund = scenario.start("refund", REFUND, as_role="aftersales_cs")["id"]
    scenario.complete(refund, "Task_aftersales_offer_exchange", {"exchange_instead": True})
    refund_data = finished(scenario, refund)
    assert refund_data["outcome"] == "exchanged" and money(refund_data["refund_amount"]) == 0
    iid = only_instance_of(scenario, "exchange")["id"]
    assert_started_by(scenario, iid, refund, "exchange_requested")

    scenario.complete(iid, "Task_aftersales_complete_request", exchange_request("RF-7001"))
    scenario.complete(iid, "Task_aftersales_check_resale", {"resaleable": True})
    scenario.complete(iid, "Task_aftersales_record_exchange", {})
    scenario.complete(iid, "Task_aftersales_send_address", {})
    reply = scenario.message("exchange_parcel_received", {"order_no": "RF-7001"}, {"tracking_no": "YT-10"})
    assert reply["status"] == "delivered" and reply["instance_ids"] == [iid]
    scenario.complete(iid, "Task_warehouse_inspect", {"returned_ok": True})
    scenario.complete(iid, "Task_warehouse_ship_replacement", {})
    data = finished(scenario, iid)
    assert data["outcome"] == "exchanged" and data["tracking_no"] == "YT-10"
    assert data["replacement_lines"] == [{"sku": "TS-BLUE-M", "qty": 1, "size": "L"}]
    assert money(data["difference_refunded"]) == 0 and money(data["shipping_reimbursed"]) == 0


def test_contract_only_dispatch_handover_refund_to_refunded(scenario):
    _, refund = hand_over(scenario, "order_cancelled", "refuse_delivery", "买家取消，拒收退回")
    scenario.complete(refund, "Task_aftersales_complete_application", completed_application())
    scenario.complete(refund, "Task_supervisor_approve_refund_only", {"approved": True})
    scenario.complete(refund, "Task_finance_refund", {})
    data = finished(scenario, refund)
    assert data["outcome"] == "refunded"
    assert money(data["refund_amount"]) == Decimal("198.00") and money(data["shipping_reimbursed"]) == 0
