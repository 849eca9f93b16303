"""Scenario tests for the exchange procedure 换货 (process ``exchange``), one per path.

Other processes deployed beside it have timers of their own, so the tests read this instance's
history (``timer_fired``) rather than the number of timers ``advance`` fired.
"""
from __future__ import annotations

from engine.connectors import stock

ORDER_NO = "X-2001"
RETURNED = [{"sku": "TS-RED-M", "qty": 1, "size": "M"}]
REPLACEMENT = [{"sku": "TS-RED-L", "qty": 1, "size": "L"}]
REQUEST = {"order_no": ORDER_NO, "buyer": "小周", "address": "杭州市西湖区文三路100号", "lines": RETURNED,
           "days_since_signed": 3, "quality_issue": False, "reason": "尺码偏小", "new_size": "L"}
RECORD = {"real_reason": "M码偏小，换L码", "replacement_lines": REPLACEMENT, "price_difference": "0.00",
          "shipping_paid_by": "buyer", "order_flag": "blue"}
ADDRESS = {"exchange_address": "广州市白云区仓库路8号 售后组收", "receipt_extended_days": 10}
SHIP = {"exchange_waybill_no": "SF-EX-001", "courier": "顺丰"}


# -- helpers ---------------------------------------------------------------------------------------

def balances(scenario) -> dict:
    with scenario.database.session() as session:
        return stock.balances(session, ["TS-RED-M", "TS-RED-L"])


def book_stock(scenario) -> None:
    with scenario.database.session() as session:
        stock.receive_lines(session, [{"sku": "TS-RED-M", "qty": 5}, {"sku": "TS-RED-L", "qty": 5}], "PO-SEED")
        session.commit()


def start(scenario, **changes) -> int:
    return scenario.start("exchange", {**REQUEST, **changes}, as_role="aftersales_cs")["id"]


def waiting_for_return(scenario, record=None, **changes) -> int:
    """An accepted exchange (non-quality unless changed) waiting for the buyer's parcel."""
    iid = start(scenario, **changes)
    if changes.get("quality_issue"):
        scenario.complete(iid, "Task_aftersales_quality_evidence", {
            "evidence": "IMG-001,IMG-002", "quality_problem": "袖口开线", "alipay_account": "zhou@example.com"})
    else:
        scenario.complete(iid, "Task_aftersales_check_resale", {"resaleable": True, "resale_note": "吊牌完好，未穿"})
    return recorded(scenario, iid, record)


def recorded(scenario, iid, record=None) -> int:
    scenario.complete(iid, "Task_aftersales_record_exchange", record or RECORD)
    scenario.complete(iid, "Task_aftersales_send_address", ADDRESS)
    assert scenario.open_elements(iid) == []
    return iid


def parcel_arrives(scenario, iid) -> None:
    reply = scenario.message("exchange_parcel_received", {"order_no": ORDER_NO}, {"tracking_no": "YT-778"})
    assert reply["status"] == "delivered"
    assert scenario.open_elements(iid) == ["Task_warehouse_inspect"]


def events(scenario, iid, kind, element_id=None) -> list[dict]:
    return [e for e in scenario.history(iid) if e["type"] == kind
            and (element_id is None or e.get("element_id") == element_id)]


def gateway_targets(scenario, iid, gateway) -> list[list[str]]:
    return [e["data"]["targets"] for e in events(scenario, iid, "gateway_taken", gateway)]


def correlated(scenario, iid) -> list[str]:
    return [e["data"]["name"] for e in events(scenario, iid, "message_correlated")]


def fired(scenario, iid) -> list[str]:
    return [e["element_id"] for e in events(scenario, iid, "timer_fired")]


def finished(scenario, iid) -> dict:
    instance = scenario.instance(iid)
    assert instance["status"] == "completed", instance
    return instance["data"]


def assert_nothing_paid(data) -> None:
    assert data["difference_refunded"] == 0 and data["shipping_reimbursed"] == 0


# -- exchanged ---------------------------------------------------------------------------------------------

def test_size_exchange_within_seven_days(scenario):
    book_stock(scenario)
    iid = start(scenario)
    assert scenario.open_elements(iid) == ["Task_aftersales_check_resale"]
    assert scenario.task(iid, "Task_aftersales_check_resale")["role"] == "aftersales_cs"
    scenario.complete(iid, "Task_aftersales_check_resale", {"resaleable": True, "resale_note": "吊牌完好，未穿"})
    recorded(scenario, iid)
    assert scenario.data(iid)["order_flag"] == "blue"
    parcel_arrives(scenario, iid)
    assert scenario.data(iid)["tracking_no"] == "YT-778"
    scenario.complete(iid, "Task_warehouse_inspect", {"returned_ok": True, "inspection_note": "完好"})
    assert scenario.task(iid, "Task_warehouse_ship_replacement")["role"] == "warehouse"
    scenario.complete(iid, "Task_warehouse_ship_replacement", SHIP)
    data = finished(scenario, iid)
    assert data["outcome"] == "exchanged"
    assert data["exchange_waybill_no"] == "SF-EX-001"
    assert_nothing_paid(data)
    assert balances(scenario) == {"TS-RED-M": 6, "TS-RED-L": 4}   # returned M back on the books, L out
    assert scenario.path(iid) == ["Task_aftersales_check_resale", "Task_aftersales_record_exchange",
                                  "Task_aftersales_send_address", "Task_warehouse_inspect",
                                  "Task_warehouse_ship_replacement"]
    assert gateway_targets(scenario, iid, "Gateway_over_seven_days") == [["Gateway_join_accepted"]]
    assert gateway_targets(scenario, iid, "Gateway_inspection") == [["Service_stock_receive_return"]]
    assert gateway_targets(scenario, iid, "Gateway_settlement") == [["Gateway_join_exchanged"]]
    assert correlated(scenario, iid) == ["exchange_parcel_received"]


def test_cheaper_replacement_difference_paid_back_by_finance(scenario):
    book_stock(scenario)
    iid = waiting_for_return(scenario, record={**RECORD, "price_difference": "-20.00"})
    assert scenario.data(iid)["difference_refunded"] == 20
    parcel_arrives(scenario, iid)
    scenario.complete(iid, "Task_warehouse_inspect", {"returned_ok": True, "inspection_note": "完好"})
    scenario.complete(iid, "Task_warehouse_ship_replacement", SHIP)
    assert scenario.open_elements(iid) == []
    scenario.message("replacement_signed", {"order_no": ORDER_NO})
    assert scenario.task(iid, "Task_finance_settle")["role"] == "finance"
    scenario.complete(iid, "Task_finance_settle", {"shipping_reimbursed": "0.00", "payment_ref": "ALI-20"})
    data = finished(scenario, iid)
    assert data["outcome"] == "exchanged" and data["exchange_waybill_no"] == "SF-EX-001"
    assert data["difference_refunded"] == 20 and data["shipping_reimbursed"] == 0
    assert gateway_targets(scenario, iid, "Gateway_settlement") == [["Gateway_wait_replacement"]]
    assert correlated(scenario, iid) == ["exchange_parcel_received", "replacement_signed"]


def test_quality_exchange_shipping_paid_back_after_the_buyer_signs(scenario):
    book_stock(scenario)
    iid = start(scenario, quality_issue=True, reason="袖口开线", evidence="IMG-001")
    assert scenario.open_elements(iid) == ["Task_aftersales_quality_evidence"]
    scenario.complete(iid, "Task_aftersales_quality_evidence", {
        "evidence": "IMG-001,IMG-002", "quality_problem": "袖口开线", "alipay_account": "zhou@example.com"})
    recorded(scenario, iid, {**RECORD, "replacement_lines": [{"sku": "TS-RED-M", "qty": 1, "size": "M"}],
                             "shipping_paid_by": "shop"})
    parcel_arrives(scenario, iid)
    scenario.complete(iid, "Task_warehouse_inspect", {"returned_ok": True, "inspection_note": "确有开线"})
    scenario.complete(iid, "Task_warehouse_ship_replacement", SHIP)
    assert balances(scenario) == {"TS-RED-M": 4, "TS-RED-L": 5}   # the defective one stays off the books
    scenario.message("replacement_signed", {"order_no": ORDER_NO})
    scenario.complete(iid, "Task_finance_settle", {"shipping_reimbursed": "12.00", "payment_ref": "ALI-12"})
    data = finished(scenario, iid)
    assert data["outcome"] == "exchanged" and data["exchange_waybill_no"] == "SF-EX-001"
    assert data["shipping_reimbursed"] == 12 and data["difference_refunded"] == 0
    assert gateway_targets(scenario, iid, "Gateway_quality_issue") == [["Task_aftersales_quality_evidence"]]
    assert gateway_targets(scenario, iid, "Gateway_inspection") == [["Gateway_join_ship"]]
    assert gateway_targets(scenario, iid, "Gateway_wait_replacement") == [["Event_replacement_signed"]]
    assert "Task_aftersales_check_resale" not in scenario.path(iid)


def test_quality_exchange_paid_back_ten_days_after_shipping_without_signature(scenario):
    book_stock(scenario)
    iid = waiting_for_return(scenario, quality_issue=True,
                             record={**RECORD, "shipping_paid_by": "shop"})
    parcel_arrives(scenario, iid)
    scenario.complete(iid, "Task_warehouse_inspect", {"returned_ok": True, "inspection_note": "确有开线"})
    scenario.complete(iid, "Task_warehouse_ship_replacement", SHIP)
    scenario.advance(days=9)
    assert scenario.open_elements(iid) == []
    scenario.advance(days=1)
    assert fired(scenario, iid) == ["Timer_replacement_ten_days"]
    assert gateway_targets(scenario, iid, "Gateway_wait_replacement") == [["Timer_replacement_ten_days"]]
    scenario.complete(iid, "Task_finance_settle", {"shipping_reimbursed": "10.00", "payment_ref": "ALI-10"})
    data = finished(scenario, iid)
    assert data["outcome"] == "exchanged" and data["shipping_reimbursed"] == 10
    assert data["difference_refunded"] == 0 and data["exchange_waybill_no"] == "SF-EX-001"


def test_over_seven_days_accepted_goes_on(scenario):
    book_stock(scenario)
    iid = start(scenario, days_since_signed=9)
    assert scenario.open_elements(iid) == ["Task_aftersales_late_exchange"]
    scenario.complete(iid, "Task_aftersales_late_exchange", {"accept_exchange": True,
                                                             "decision_reason": "老顾客，未评价，灵活处理"})
    assert scenario.open_elements(iid) == ["Task_aftersales_check_resale"]
    scenario.complete(iid, "Task_aftersales_check_resale", {"resaleable": True, "resale_note": "未穿"})
    recorded(scenario, iid)
    parcel_arrives(scenario, iid)
    scenario.complete(iid, "Task_warehouse_inspect", {"returned_ok": True, "inspection_note": "完好"})
    scenario.complete(iid, "Task_warehouse_ship_replacement", SHIP)
    data = finished(scenario, iid)
    assert data["outcome"] == "exchanged" and data["accept_exchange"] is True
    assert gateway_targets(scenario, iid, "Gateway_over_seven_days") == [["Task_aftersales_late_exchange"]]
    assert gateway_targets(scenario, iid, "Gateway_accept_late") == [["Gateway_join_accepted"]]


# -- rejected / withdrawn ---------------------------------------------------------------------------------

def test_over_seven_days_refused(scenario):
    iid = start(scenario, days_since_signed=12)
    scenario.complete(iid, "Task_aftersales_late_exchange", {"accept_exchange": False,
                                                             "decision_reason": "超过七天且已好评"})
    data = finished(scenario, iid)
    assert data["outcome"] == "rejected" and data["exchange_waybill_no"] == ""
    assert_nothing_paid(data)
    assert scenario.path(iid) == ["Task_aftersales_late_exchange"]
    assert gateway_targets(scenario, iid, "Gateway_accept_late") == [["Script_rejected_late"]]


def test_not_resaleable_refused(scenario):
    iid = start(scenario)
    scenario.complete(iid, "Task_aftersales_check_resale", {"resaleable": False, "resale_note": "已水洗，吊牌剪掉"})
    data = finished(scenario, iid)
    assert data["outcome"] == "rejected" and data["exchange_waybill_no"] == ""
    assert_nothing_paid(data)
    assert gateway_targets(scenario, iid, "Gateway_resaleable") == [["Script_rejected_resale"]]


def test_parcel_late_buyer_reminded_then_it_arrives(scenario):
    book_stock(scenario)
    iid = waiting_for_return(scenario)
    scenario.advance(days=7)
    assert scenario.open_elements(iid) == ["Task_aftersales_remind_buyer"]
    scenario.complete(iid, "Task_aftersales_remind_buyer", {"buyer_still_exchanging": True,
                                                            "reminder_note": "买家说明天寄"})
    assert scenario.open_elements(iid) == []
    parcel_arrives(scenario, iid)
    scenario.complete(iid, "Task_warehouse_inspect", {"returned_ok": True, "inspection_note": "完好"})
    scenario.complete(iid, "Task_warehouse_ship_replacement", SHIP)
    data = finished(scenario, iid)
    assert data["outcome"] == "exchanged"
    assert fired(scenario, iid) == ["Timer_return_seven_days"]
    assert gateway_targets(scenario, iid, "Gateway_wait_return") == [["Timer_return_seven_days"],
                                                                      ["Event_exchange_parcel_received"]]
    assert gateway_targets(scenario, iid, "Gateway_still_exchanging") == [["Gateway_join_wait_return"]]


def test_buyer_gives_up_after_reminder(scenario):
    iid = waiting_for_return(scenario)
    scenario.advance(days=7)
    scenario.complete(iid, "Task_aftersales_remind_buyer", {"buyer_still_exchanging": False,
                                                            "reminder_note": "买家不换了"})
    data = finished(scenario, iid)
    assert data["outcome"] == "withdrawn" and data["exchange_waybill_no"] == ""
    assert_nothing_paid(data)
    assert gateway_targets(scenario, iid, "Gateway_still_exchanging") == [["Script_withdrawn"]]
    assert fired(scenario, iid) == ["Timer_return_seven_days"]


# -- the warehouse ----------------------------------------------------------------------------------------

def test_damaged_return_supervisor_exchanges_anyway(scenario):
    book_stock(scenario)
    iid = waiting_for_return(scenario)
    parcel_arrives(scenario, iid)
    scenario.complete(iid, "Task_warehouse_inspect", {"returned_ok": False, "inspection_note": "有污渍"})
    assert scenario.task(iid, "Task_supervisor_damage")["role"] == "supervisor"
    scenario.complete(iid, "Task_supervisor_damage", {"approved": True, "decision_comment": "可清洗，照换"})
    scenario.complete(iid, "Task_warehouse_ship_replacement", SHIP)
    data = finished(scenario, iid)
    assert data["outcome"] == "exchanged" and data["exchange_waybill_no"] == "SF-EX-001"
    assert balances(scenario) == {"TS-RED-M": 5, "TS-RED-L": 4}   # the damaged one is not booked back
    assert gateway_targets(scenario, iid, "Gateway_damage_approved") == [["Gateway_join_ship"]]


def test_damaged_return_supervisor_refuses(scenario):
    iid = waiting_for_return(scenario)
    parcel_arrives(scenario, iid)
    scenario.complete(iid, "Task_warehouse_inspect", {"returned_ok": False, "inspection_note": "已穿着，破损"})
    scenario.complete(iid, "Task_supervisor_damage", {"approved": False, "decision_comment": "人为损坏，退回买家"})
    data = finished(scenario, iid)
    assert data["outcome"] == "rejected" and data["exchange_waybill_no"] == ""
    assert_nothing_paid(data)
    assert gateway_targets(scenario, iid, "Gateway_inspection") == [["Task_supervisor_damage"]]
    assert gateway_targets(scenario, iid, "Gateway_damage_approved") == [["Script_rejected_damaged"]]


def test_return_not_handled_within_24_hours_supervisor_urges(scenario):
    book_stock(scenario)
    iid = waiting_for_return(scenario)
    parcel_arrives(scenario, iid)
    inspect = scenario.task(iid, "Task_warehouse_inspect")
    assert inspect["due_at"].startswith("2026-11-03T09:00:00")
    scenario.advance(hours=24)
    assert fired(scenario, iid) == ["Boundary_inspect_24h"]
    assert scenario.open_elements(iid) == ["Task_supervisor_urge", "Task_warehouse_inspect"]
    scenario.complete(iid, "Task_supervisor_urge")
    scenario.complete(iid, "Task_warehouse_inspect", {"returned_ok": True, "inspection_note": "完好"})
    scenario.complete(iid, "Task_warehouse_ship_replacement", SHIP)
    data = finished(scenario, iid)
    assert data["outcome"] == "exchanged"
    assert "Task_supervisor_urge" in scenario.path(iid)


# -- contract-only clients -------------------------------------------------------------------------------
# A client that knows only the data contract (process documentation of processes/exchange.bpmn): the start
# fields, and at each task only the decision of that step (or nothing). The other form fields are optional;
# what the record form leaves empty is derived by Script_settlement.

def contract_waiting_for_return(scenario, **changes) -> int:
    iid = start(scenario, **changes)
    if changes.get("days_since_signed", 3) > 7:
        scenario.complete(iid, "Task_aftersales_late_exchange", {"accept_exchange": True})
    if changes.get("quality_issue"):
        scenario.complete(iid, "Task_aftersales_quality_evidence", {})
    else:
        scenario.complete(iid, "Task_aftersales_check_resale", {"resaleable": True})
    scenario.complete(iid, "Task_aftersales_record_exchange", {})
    scenario.complete(iid, "Task_aftersales_send_address", {})
    assert scenario.open_elements(iid) == []
    return iid


def test_contract_only_size_exchange(scenario):
    book_stock(scenario)
    iid = contract_waiting_for_return(scenario)
    data = scenario.data(iid)
    assert data["replacement_lines"] == [{"sku": "TS-RED-M", "qty": 1, "size": "L"}]   # returned lines, new size
    assert data["price_difference"] == 0 and data["shipping_paid_by"] == "buyer" and data["order_flag"] == "blue"
    assert data["receipt_extended_days"] == 10
    parcel_arrives(scenario, iid)
    scenario.complete(iid, "Task_warehouse_inspect", {"returned_ok": True})
    scenario.complete(iid, "Task_warehouse_ship_replacement", {})
    data = finished(scenario, iid)
    assert data["outcome"] == "exchanged" and data["tracking_no"] == "YT-778"
    assert_nothing_paid(data)
    assert balances(scenario) == {"TS-RED-M": 5, "TS-RED-L": 5}   # one M back, one (size L) M sent
    assert gateway_targets(scenario, iid, "Gateway_settlement") == [["Gateway_join_exchanged"]]


def test_contract_only_quality_exchange_settled_by_finance(scenario):
    book_stock(scenario)
    iid = contract_waiting_for_return(scenario, quality_issue=True)
    assert scenario.data(iid)["shipping_paid_by"] == "shop"
    parcel_arrives(scenario, iid)
    scenario.complete(iid, "Task_warehouse_inspect", {"returned_ok": True})
    scenario.complete(iid, "Task_warehouse_ship_replacement", {})
    scenario.message("replacement_signed", {"order_no": ORDER_NO})
    scenario.complete(iid, "Task_finance_settle", {})
    data = finished(scenario, iid)
    assert data["outcome"] == "exchanged"
    assert_nothing_paid(data)
    assert gateway_targets(scenario, iid, "Gateway_wait_replacement") == [["Event_replacement_signed"]]


def test_contract_only_over_seven_days_accepted_and_refused(scenario):
    book_stock(scenario)
    iid = contract_waiting_for_return(scenario, days_since_signed=9)
    parcel_arrives(scenario, iid)
    scenario.complete(iid, "Task_warehouse_inspect", {"returned_ok": True})
    scenario.complete(iid, "Task_warehouse_ship_replacement", {})
    assert finished(scenario, iid)["outcome"] == "exchanged"

    refused = start(scenario, order_no="X-2002", days_since_signed=12)
    scenario.complete(refused, "Task_aftersales_late_exchange", {"accept_exchange": False})
    data = finished(scenario, refused)
    assert data["outcome"] == "rejected" and data["exchange_waybill_no"] == ""
    assert_nothing_paid(data)


def test_contract_only_not_resaleable_refused(scenario):
    iid = start(scenario)
    scenario.complete(iid, "Task_aftersales_check_resale", {"resaleable": False})
    data = finished(scenario, iid)
    assert data["outcome"] == "rejected"
    assert_nothing_paid(data)


def test_contract_only_reminder_buyer_continues_or_gives_up(scenario):
    book_stock(scenario)
    iid = contract_waiting_for_return(scenario)
    scenario.advance(days=7)
    scenario.complete(iid, "Task_aftersales_remind_buyer", {"buyer_still_exchanging": True})
    assert scenario.open_elements(iid) == []
    parcel_arrives(scenario, iid)
    scenario.complete(iid, "Task_warehouse_inspect", {"returned_ok": True})
    scenario.complete(iid, "Task_warehouse_ship_replacement", {})
    assert finished(scenario, iid)["outcome"] == "exchanged"

    gave_up = contract_waiting_for_return(scenario, order_no="X-2003")
    scenario.advance(days=7)
    scenario.complete(gave_up, "Task_aftersales_remind_buyer", {"buyer_still_exchanging": False})
    data = finished(scenario, gave_up)
    assert data["outcome"] == "withdrawn"
    assert_nothing_paid(data)


def test_contract_only_damaged_return(scenario):
    book_stock(scenario)
    iid = contract_waiting_for_return(scenario)
    parcel_arrives(scenario, iid)
    scenario.complete(iid, "Task_warehouse_inspect", {"returned_ok": False})
    scenario.complete(iid, "Task_supervisor_damage", {"approved": True})
    scenario.complete(iid, "Task_warehouse_ship_replacement", {})
    assert finished(scenario, iid)["outcome"] == "exchanged"

    refused = contract_waiting_for_return(scenario, order_no="X-2004")
    assert scenario.message("exchange_parcel_received", {"order_no": "X-2004"},
                            {"tracking_no": "YT-779"})["status"] == "delivered"
    scenario.complete(refused, "Task_warehouse_inspect", {"returned_ok": False})
    scenario.complete(refused, "Task_supervisor_damage", {"approved": False})
    data = finished(scenario, refused)
    assert data["outcome"] == "rejected" and data["exchange_waybill_no"] == ""
    assert_nothing_paid(data)


def test_contract_only_missing_decision_is_still_422(scenario):
    iid = start(scenario)
    reply = scenario.complete(iid, "Task_aftersales_check_resale", {}, expect=422)
    assert list(reply["details"]) == ["resaleable"]
    assert scenario.open_elements(iid) == ["Task_aftersales_check_resale"]
