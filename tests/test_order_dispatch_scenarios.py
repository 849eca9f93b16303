"""Scenario tests for the dispatch procedure 商品发货 (process ``order_dispatch``), one per path.

The frozen test clock starts 2026-11-02 09:00 UTC = 17:00 Beijing time, after that day's 14:00 batch:
an order confirmed then waits for 2026-11-03 14:00 Beijing (06:00 UTC, 21 hours later). The day's
dispatch cut-off is 18:00 Beijing (10:00 UTC).
"""
from __future__ import annotations


from engine.connectors import stock

ORDER_NO = "D-1001"
LINES = [{"sku": "TS-RED", "qty": 2, "size": "M"}, {"sku": "CAP-01", "qty": 1, "size": "F"}]
ORDER = {"order_no": ORDER_NO, "buyer": "小李", "lines": LINES, "address": "上海市徐汇区漕溪北路1号",
         "phone": "13800000001", "buyer_notes": "发申通，送小礼物"}
CONFIRM = {"address": ORDER["address"], "phone": ORDER["phone"], "order_note": "蔡蔡 送小礼物一份，发申通 2026.11.02",
           "order_flag": "gray", "courier": "申通"}
PRINT = {"outbound_note_no": "CK-0001", "invoice_no": "FP-0001"}
PICK = {"picker": "仓管老王"}
PACK = {"packages": 1, "ledger_filled": True}
HANDOVER = {"waybill_no": "STO-778899", "courier": "申通", "parcels_checked": 1, "region": "上海"}
TO_BATCH = 21  # hours from the clock start (17:00 Beijing) to the next 14:00 Beijing batch
SUB_TASKS = ["Task_warehouse_pick", "Task_warehouse_scan", "Task_warehouse_pack"]


# -- helpers ---------------------------------------------------------------------------------------

def balances(scenario, skus=("TS-RED", "CAP-01")) -> dict:
    with scenario.database.session() as session:
        return stock.balances(session, list(skus))


def book_stock(scenario, qty: int = 10) -> None:
    with scenario.database.session() as session:
        stock.receive_lines(session, [{"sku": "TS-RED", "qty": qty}, {"sku": "CAP-01", "qty": qty}], "PO-SEED")
        session.commit()


def start(scenario, **changes) -> int:
    return scenario.start("order_dispatch", {**ORDER, **changes}, as_role="presales_cs")["id"]


def confirmed(scenario) -> int:
    """A started and confirmed order, waiting for the next 14:00 batch."""
    iid = start(scenario)
    scenario.complete(iid, "Task_presales_confirm_order", CONFIRM)
    assert scenario.open_elements(iid) == []
    return iid


def at_print(scenario) -> int:
    """An order whose 14:00 batch has come: the print task is open."""
    iid = confirmed(scenario)
    scenario.advance(hours=TO_BATCH)
    assert scenario.open_elements(iid) == ["Task_clerk_print"]
    return iid


def printed(scenario) -> int:
    """Printed and handed to the warehouse: picking is open."""
    iid = at_print(scenario)
    scenario.complete(iid, "Task_clerk_print", PRINT)
    assert scenario.open_elements(iid) == ["Task_warehouse_pick"]
    return iid


def packed(scenario) -> int:
    """Picked, scanned, packed: the courier handover is open."""
    iid = printed(scenario)
    scenario.complete(iid, "Task_warehouse_pick", PICK)
    scenario.complete(iid, "Task_warehouse_scan", {"scan_matches": True})
    scenario.complete(iid, "Task_warehouse_pack", PACK)
    assert scenario.open_elements(iid) == ["Task_stock_handover"]
    return iid


def shipped(scenario) -> int:
    """Handed to the courier and booked out of stock: waiting in transit."""
    book_stock(scenario)
    iid = packed(scenario)
    scenario.complete(iid, "Task_stock_handover", HANDOVER)
    assert scenario.open_elements(iid) == []
    assert scenario.instance(iid)["status"] == "running"
    return iid


def signed(scenario) -> int:
    iid = shipped(scenario)
    scenario.message("parcel_signed", {"order_no": ORDER_NO}, {"signed_by": "本人"})
    assert scenario.open_elements(iid) == []
    return iid


def events(scenario, iid, kind, element_id=None) -> list[dict]:
    return [e for e in scenario.history(iid) if e["type"] == kind
            and (element_id is None or e.get("element_id") == element_id)]


def gateway_targets(scenario, iid, gateway) -> list[list[str]]:
    return [e["data"]["targets"] for e in events(scenario, iid, "gateway_taken", gateway)]


def correlated(scenario, iid) -> list[str]:
    return [e["data"]["name"] for e in events(scenario, iid, "message_correlated")]


def fired(scenario, iid) -> list[str]:
    return [e["element_id"] for e in events(scenario, iid, "timer_fired")]


def assert_refund_requested(scenario, iid, goods_received: bool) -> None:
    """Shipped -> hand over to aftersales: the message refund_requested started a refund for the order (the
    refund side is tested in tests/test_process_links.py)."""
    [sent] = events(scenario, iid, "message_sent")
    assert sent["data"]["name"] == "refund_requested" and sent["data"]["status"] == "started"
    payload = sent["data"]["payload"]
    assert payload["order_no"] == ORDER_NO and payload["buyer"] == ORDER["buyer"]
    assert payload["goods_received"] is goods_received and payload["waybill_no"] == HANDOVER["waybill_no"]
    [refund_id] = sent["data"]["instance_ids"]
    refund = scenario.instance(refund_id)
    assert refund["process_id"] == "refund" and refund["business_key"] == ORDER_NO
    assert scenario.open_elements(refund_id) == ["Task_aftersales_complete_application"]


def finished(scenario, iid) -> dict:
    instance = scenario.instance(iid)
    assert instance["status"] == "completed", instance
    return instance["data"]


# -- the whole way: delivered -------------------------------------------------------------------------

def test_paid_order_waits_for_the_14_00_batch_and_is_delivered_after_the_call(scenario):
    book_stock(scenario)
    iid = start(scenario)
    assert scenario.open_elements(iid) == ["Task_presales_confirm_order"]
    scenario.complete(iid, "Task_presales_confirm_order", CONFIRM)
    data = scenario.data(iid)
    assert data["batch_at"] == "2026-11-03T14:00:00+08:00"
    # nothing for the clerk before 14:00 Beijing time (other processes' timers may fire meanwhile)
    scenario.advance(hours=TO_BATCH - 1)
    assert scenario.open_elements(iid) == [] and fired(scenario, iid) == []
    scenario.advance(hours=1)
    assert scenario.open_elements(iid) == ["Task_clerk_print"]
    scenario.complete(iid, "Task_clerk_print", PRINT)
    assert scenario.data(iid)["sla_at"] == "2026-11-03T18:00:00+08:00"
    scenario.complete(iid, "Task_warehouse_pick", PICK)
    scenario.complete(iid, "Task_warehouse_scan", {"scan_matches": True})
    scenario.complete(iid, "Task_warehouse_pack", PACK)
    handover = scenario.task(iid, "Task_stock_handover")
    assert handover["due_at"].startswith("2026-11-03T10:00:00")  # the 18:00 Beijing cut-off
    scenario.complete(iid, "Task_stock_handover", HANDOVER)
    assert balances(scenario) == {"TS-RED": 8, "CAP-01": 9}
    scenario.message("parcel_signed", {"order_no": ORDER_NO}, {"signed_by": "本人"})
    scenario.advance(days=3)
    assert scenario.open_elements(iid) == ["Task_presales_followup"]
    scenario.complete(iid, "Task_presales_followup", {"buyer_confirmed": True, "call_note": "买家满意，已引导确认收货"})
    data = finished(scenario, iid)
    assert data["outcome"] == "delivered"
    assert data["waybill_no"] == "STO-778899"
    assert data["buyer_confirmed"] is True
    assert scenario.path(iid) == ["Task_presales_confirm_order", "Task_clerk_print", *SUB_TASKS,
                                  "Task_stock_handover", "Task_presales_followup"]
    assert fired(scenario, iid) == ["Timer_daily_batch", "Timer_followup_3d"]
    assert gateway_targets(scenario, iid, "Gateway_wait_batch") == [["Timer_daily_batch"]]
    assert gateway_targets(scenario, iid, "Gateway_after_signed") == [["Timer_followup_3d"]]
    assert gateway_targets(scenario, iid, "Gateway_wait_transit") == [["Event_parcel_signed"]]
    assert correlated(scenario, iid) == ["parcel_signed"]
    assert gateway_targets(scenario, iid, "Gateway_scan_matches") == [["Task_warehouse_pack"]]
    assert gateway_targets(scenario, iid, "Gateway_buyer_confirmed") == [["Gateway_join_delivered"]]


# -- after signing: the 3-day follow-up -----------------------------------------------------------------

def test_follow_up_call_buyer_not_satisfied_goes_to_aftersales(scenario):
    iid = signed(scenario)
    scenario.advance(days=3)
    scenario.complete(iid, "Task_presales_followup", {"buyer_confirmed": False, "call_note": "买家说尺码偏小"})
    assert scenario.open_elements(iid) == ["Task_aftersales_feedback"]
    assert scenario.task(iid, "Task_aftersales_feedback")["role"] == "aftersales_cs"
    scenario.complete(iid, "Task_aftersales_feedback", {"aftersales_action": "exchange", "aftersales_note": "换大一码"})
    data = finished(scenario, iid)
    assert data["outcome"] == "handed_to_aftersales"
    assert data["buyer_confirmed"] is False
    assert data["waybill_no"] == "STO-778899"
    assert gateway_targets(scenario, iid, "Gateway_buyer_confirmed") == [["Task_aftersales_feedback"]]
    assert scenario.path(iid)[-2:] == ["Task_presales_followup", "Task_aftersales_feedback"]
    assert fired(scenario, iid)[-1] == "Timer_followup_3d"


def test_buyer_confirms_receipt_within_three_days_no_call(scenario):
    iid = signed(scenario)
    scenario.advance(days=2)
    scenario.message("receipt_confirmed", {"order_no": ORDER_NO})
    data = finished(scenario, iid)
    assert data["outcome"] == "delivered"
    assert data["buyer_confirmed"] is True
    assert data["waybill_no"] == "STO-778899"
    assert "Task_presales_followup" not in scenario.path(iid)
    assert correlated(scenario, iid) == ["parcel_signed", "receipt_confirmed"]
    assert gateway_targets(scenario, iid, "Gateway_after_signed") == [["Event_receipt_confirmed"]]
    assert "timer_cancelled" in scenario.event_types(iid)
    assert fired(scenario, iid) == ["Timer_daily_batch"]


# -- scanning --------------------------------------------------------------------------------------------

def test_scan_mismatch_goes_back_to_picking_with_the_difference(scenario):
    book_stock(scenario)
    iid = printed(scenario)
    scenario.complete(iid, "Task_warehouse_pick", PICK)
    scenario.complete(iid, "Task_warehouse_scan", {"scan_matches": False, "scan_difference": "TS-RED 配成了L码"})
    assert scenario.open_elements(iid) == ["Task_warehouse_pick"]
    assert scenario.data(iid)["scan_difference"] == "TS-RED 配成了L码"
    scenario.complete(iid, "Task_warehouse_pick", {"picker": "仓管老王", "picking_note": "已换M码"})
    scenario.complete(iid, "Task_warehouse_scan", {"scan_matches": True})
    scenario.complete(iid, "Task_warehouse_pack", PACK)
    scenario.complete(iid, "Task_stock_handover", HANDOVER)
    assert balances(scenario) == {"TS-RED": 8, "CAP-01": 9}
    assert scenario.path(iid) == ["Task_presales_confirm_order", "Task_clerk_print", "Task_warehouse_pick",
                                  "Task_warehouse_scan", "Task_warehouse_pick", "Task_warehouse_scan",
                                  "Task_warehouse_pack", "Task_stock_handover"]
    assert gateway_targets(scenario, iid, "Gateway_scan_matches") == [["Gateway_join_pick"], ["Task_warehouse_pack"]]
    assert scenario.data(iid)["scan_matches"] is True


# -- not printed: changed or cancelled in place ------------------------------------------------------

NEW = {"address": "北京市朝阳区建国路88号", "lines": [{"sku": "TS-RED", "qty": 1, "size": "L"}]}


def test_change_while_waiting_for_the_batch_is_made_in_place(scenario):
    book_stock(scenario)
    iid = confirmed(scenario)
    scenario.advance(hours=3)
    reply = scenario.message("order_changed", {"order_no": ORDER_NO}, NEW)
    assert reply["status"] == "delivered"
    data = scenario.data(iid)
    assert data["address"] == NEW["address"] and data["lines"] == NEW["lines"]
    assert data["changes_in_place"] == 1 and data["batch_at"] == "2026-11-03T14:00:00+08:00"
    assert scenario.open_elements(iid) == []          # still waiting for the same batch
    scenario.advance(hours=TO_BATCH - 3)
    assert scenario.open_elements(iid) == ["Task_clerk_print"]
    scenario.complete(iid, "Task_clerk_print", PRINT)
    scenario.complete(iid, "Task_warehouse_pick", PICK)
    scenario.complete(iid, "Task_warehouse_scan", {"scan_matches": True})
    scenario.complete(iid, "Task_warehouse_pack", PACK)
    scenario.complete(iid, "Task_stock_handover", HANDOVER)
    assert balances(scenario) == {"TS-RED": 9, "CAP-01": 10}   # the changed lines were shipped
    assert gateway_targets(scenario, iid, "Gateway_wait_batch") == [["Event_changed_unprinted"],
                                                                     ["Timer_daily_batch"]]
    assert correlated(scenario, iid) == ["order_changed"]
    assert "Task_clerk_reprint" not in scenario.path(iid)


def test_address_corrected_at_confirmation_is_printed(scenario):
    iid = start(scenario)
    scenario.complete(iid, "Task_presales_confirm_order", {**CONFIRM, "address": "上海市徐汇区漕溪北路1号501室",
                                                           "phone": "13800000002"})
    scenario.advance(hours=TO_BATCH)
    assert scenario.open_elements(iid) == ["Task_clerk_print"]
    data = scenario.data(iid)
    assert data["address"] == "上海市徐汇区漕溪北路1号501室" and data["phone"] == "13800000002"


def test_cancel_while_waiting_for_the_batch_is_made_in_place(scenario):
    iid = confirmed(scenario)
    scenario.message("order_cancelled", {"order_no": ORDER_NO}, {"cancel_reason": "买家拍错了"})
    data = finished(scenario, iid)
    assert data["outcome"] == "cancelled" and data["cancelled_stage"] == "not_printed"
    assert data["waybill_no"] == ""
    assert gateway_targets(scenario, iid, "Gateway_wait_batch") == [["Event_cancelled_unprinted"]]
    assert correlated(scenario, iid) == ["order_cancelled"]
    assert "timer_cancelled" in scenario.event_types(iid)
    assert scenario.path(iid) == ["Task_presales_confirm_order"]
    scenario.advance(hours=TO_BATCH)
    assert fired(scenario, iid) == []


def test_cancel_sent_during_confirmation_is_kept_and_cancels_before_printing(scenario):
    iid = start(scenario)
    reply = scenario.message("order_cancelled", {"order_no": ORDER_NO})
    assert reply["status"] == "kept"
    scenario.complete(iid, "Task_presales_confirm_order", CONFIRM)
    data = finished(scenario, iid)
    assert data["outcome"] == "cancelled" and data["cancelled_stage"] == "not_printed"
    assert data["waybill_no"] == ""
    delivered = events(scenario, iid, "message_correlated")
    assert [e["data"]["name"] for e in delivered] == ["order_cancelled"] and "kept_since" in delivered[0]["data"]


def test_change_while_the_clerk_prints_is_made_in_place(scenario):
    iid = at_print(scenario)
    scenario.message("order_changed", {"order_no": ORDER_NO}, NEW)
    assert scenario.open_elements(iid) == ["Task_clerk_print"]
    assert scenario.data(iid)["address"] == NEW["address"]
    assert scenario.data(iid)["changes_in_place"] == 1
    scenario.complete(iid, "Task_clerk_print", PRINT)
    assert scenario.open_elements(iid) == ["Task_warehouse_pick"]
    assert scenario.data(iid)["lines"] == NEW["lines"]
    assert "task_cancelled" in scenario.event_types(iid)
    assert [e["element_id"] for e in events(scenario, iid, "task_created")].count("Task_clerk_print") == 2
    assert correlated(scenario, iid) == ["order_changed"]
    assert "Task_clerk_reprint" not in scenario.open_elements(iid)


def test_cancel_while_the_clerk_prints_is_made_in_place(scenario):
    iid = at_print(scenario)
    scenario.message("order_cancelled", {"order_no": ORDER_NO})
    data = finished(scenario, iid)
    assert data["outcome"] == "cancelled" and data["cancelled_stage"] == "not_printed"
    assert data["waybill_no"] == ""
    assert scenario.path(iid) == ["Task_presales_confirm_order"]
    assert "task_cancelled" in scenario.event_types(iid)
    assert correlated(scenario, iid) == ["order_cancelled"]


# -- printed, not shipped: retrieve the documents, reprint or void ---------------------------------------

def test_change_after_printing_retrieves_the_documents_and_reprints(scenario):
    book_stock(scenario)
    iid = printed(scenario)
    scenario.complete(iid, "Task_warehouse_pick", PICK)
    scenario.message("order_changed", {"order_no": ORDER_NO}, NEW)
    assert scenario.open_elements(iid) == ["Task_clerk_reprint"]
    reprint = scenario.task(iid, "Task_clerk_reprint")
    assert reprint["role"] == "order_clerk"
    scenario.complete(iid, "Task_clerk_reprint", {"retrieval_note": "取回出库单、物流单，已配货品归位",
                                                  "outbound_note_no": "CK-0002"})
    assert scenario.open_elements(iid) == ["Task_warehouse_pick"]
    scenario.complete(iid, "Task_warehouse_pick", PICK)
    scenario.complete(iid, "Task_warehouse_scan", {"scan_matches": True})
    scenario.complete(iid, "Task_warehouse_pack", PACK)
    scenario.complete(iid, "Task_stock_handover", HANDOVER)
    data = scenario.data(iid)
    assert data["outbound_note_no"] == "CK-0002" and data["address"] == NEW["address"]
    assert data["changes_in_place"] == 0
    assert balances(scenario) == {"TS-RED": 9, "CAP-01": 10}
    assert scenario.path(iid) == ["Task_presales_confirm_order", "Task_clerk_print", "Task_warehouse_pick",
                                  "Task_clerk_reprint", *SUB_TASKS, "Task_stock_handover"]
    assert correlated(scenario, iid) == ["order_changed"]


def test_cancel_after_printing_retrieves_the_documents_and_voids_them(scenario):
    book_stock(scenario)
    iid = printed(scenario)
    scenario.complete(iid, "Task_warehouse_pick", PICK)
    scenario.message("order_cancelled", {"order_no": ORDER_NO})
    assert scenario.open_elements(iid) == ["Task_clerk_void"]
    scenario.complete(iid, "Task_clerk_void", {"retrieval_note": "出库单、物流单、发票已作废", "goods_restocked": True})
    data = finished(scenario, iid)
    assert data["outcome"] == "cancelled" and data["cancelled_stage"] == "printed"
    assert data["waybill_no"] == ""
    assert balances(scenario) == {"TS-RED": 10, "CAP-01": 10}   # nothing left the books
    assert scenario.path(iid) == ["Task_presales_confirm_order", "Task_clerk_print", "Task_warehouse_pick",
                                  "Task_clerk_void"]
    assert "timer_cancelled" in scenario.event_types(iid)       # the cut-off timer went with the subprocess


def test_change_before_courier_handover_reprints_and_picks_again(scenario):
    book_stock(scenario)
    iid = packed(scenario)
    scenario.message("order_changed", {"order_no": ORDER_NO}, NEW)
    assert scenario.open_elements(iid) == ["Task_clerk_reprint"]
    scenario.complete(iid, "Task_clerk_reprint", {"retrieval_note": "取回单据，包裹拆回", "outbound_note_no": "CK-0003"})
    assert scenario.open_elements(iid) == ["Task_warehouse_pick"]
    scenario.complete(iid, "Task_warehouse_pick", PICK)
    scenario.complete(iid, "Task_warehouse_scan", {"scan_matches": True})
    scenario.complete(iid, "Task_warehouse_pack", PACK)
    scenario.complete(iid, "Task_stock_handover", HANDOVER)
    assert balances(scenario) == {"TS-RED": 9, "CAP-01": 10}
    assert scenario.path(iid).count("Task_warehouse_pick") == 2
    assert scenario.path(iid)[:6] == ["Task_presales_confirm_order", "Task_clerk_print", *SUB_TASKS,
                                      "Task_clerk_reprint"]


def test_cancel_before_courier_handover_voids_the_documents(scenario):
    book_stock(scenario)
    iid = packed(scenario)
    scenario.message("order_cancelled", {"order_no": ORDER_NO})
    assert scenario.open_elements(iid) == ["Task_clerk_void"]
    scenario.complete(iid, "Task_clerk_void", {"retrieval_note": "包裹拆回，单据作废", "goods_restocked": True})
    data = finished(scenario, iid)
    assert data["outcome"] == "cancelled" and data["cancelled_stage"] == "printed"
    assert data["waybill_no"] == ""
    assert balances(scenario) == {"TS-RED": 10, "CAP-01": 10}
    assert scenario.path(iid)[-2:] == ["Task_warehouse_pack", "Task_clerk_void"]


# -- shipped: hand over to aftersales ----------------------------------------------------------------------

def test_change_after_shipping_is_handed_to_aftersales(scenario):
    iid = shipped(scenario)
    scenario.message("order_changed", {"order_no": ORDER_NO}, {"address": "北京市朝阳区建国路88号"})
    assert scenario.open_elements(iid) == ["Task_aftersales_shipped_change"]
    scenario.complete(iid, "Task_aftersales_shipped_change", {"aftersales_action": "intercept",
                                                              "aftersales_note": "联系申通改派"})
    data = finished(scenario, iid)
    assert data["outcome"] == "handed_to_aftersales"
    assert data["waybill_no"] == "STO-778899"
    assert balances(scenario) == {"TS-RED": 8, "CAP-01": 9}
    assert gateway_targets(scenario, iid, "Gateway_wait_transit") == [["Event_changed_shipped"]]
    assert_refund_requested(scenario, iid, goods_received=False)


def test_cancel_after_shipping_is_handed_to_aftersales(scenario):
    iid = shipped(scenario)
    scenario.message("order_cancelled", {"order_no": ORDER_NO})
    assert scenario.task(iid, "Task_aftersales_shipped_change")["role"] == "aftersales_cs"
    scenario.complete(iid, "Task_aftersales_shipped_change", {"aftersales_action": "refuse_delivery",
                                                              "aftersales_note": "买家拒收，退回后退款"})
    data = finished(scenario, iid)
    assert data["outcome"] == "handed_to_aftersales"
    assert data["waybill_no"] == "STO-778899"
    assert gateway_targets(scenario, iid, "Gateway_wait_transit") == [["Event_cancelled_shipped"]]
    assert correlated(scenario, iid) == ["order_cancelled"]
    assert_refund_requested(scenario, iid, goods_received=False)


def test_return_after_receipt_requests_a_refund_of_received_goods(scenario):
    iid = shipped(scenario)
    scenario.message("order_cancelled", {"order_no": ORDER_NO})
    scenario.complete(iid, "Task_aftersales_shipped_change", {"aftersales_action": "return_after_receipt",
                                                              "aftersales_note": "已无法拦截，收货后退货退款"})
    assert finished(scenario, iid)["outcome"] == "handed_to_aftersales"
    assert_refund_requested(scenario, iid, goods_received=True)


# -- SLA: not shipped by the day's cut-off -------------------------------------------------------------------

def test_cutoff_while_still_in_the_warehouse_notifies_the_buyer(scenario):
    book_stock(scenario)
    iid = printed(scenario)
    scenario.advance(hours=4)                                   # 18:00 Beijing, still picking
    assert fired(scenario, iid)[-1] == "Boundary_sub_cutoff"
    assert scenario.open_elements(iid) == ["Task_aftersales_notify_delay", "Task_warehouse_pick"]
    scenario.complete(iid, "Task_aftersales_notify_delay", {"notice_note": "旺旺告知明天发货，买家同意",
                                                            "promised_ship_date": "2026-11-04"})
    scenario.complete(iid, "Task_warehouse_pick", PICK)
    scenario.complete(iid, "Task_warehouse_scan", {"scan_matches": True})
    scenario.complete(iid, "Task_warehouse_pack", PACK)
    # the handover now has the next day's cut-off: no second notice for the same day
    assert scenario.task(iid, "Task_stock_handover")["due_at"].startswith("2026-11-04T10:00:00")
    assert scenario.data(iid)["sla_at"] == "2026-11-04T18:00:00+08:00"
    scenario.complete(iid, "Task_stock_handover", HANDOVER)
    scenario.message("parcel_signed", {"order_no": ORDER_NO})
    scenario.message("receipt_confirmed", {"order_no": ORDER_NO})
    data = finished(scenario, iid)
    assert data["outcome"] == "delivered" and data["waybill_no"] == "STO-778899"
    assert scenario.path(iid).count("Task_aftersales_notify_delay") == 1
    assert fired(scenario, iid) == ["Timer_daily_batch", "Boundary_sub_cutoff"]


def test_cutoff_at_the_courier_handover_notifies_the_buyer(scenario):
    book_stock(scenario)
    iid = packed(scenario)
    assert scenario.task(iid, "Task_stock_handover")["due_at"].startswith("2026-11-03T10:00:00")
    scenario.advance(hours=4)
    assert fired(scenario, iid)[-1] == "Boundary_handover_cutoff"
    assert scenario.open_elements(iid) == ["Task_aftersales_notify_delay", "Task_stock_handover"]
    scenario.complete(iid, "Task_aftersales_notify_delay", {"notice_note": "电话告知快递已走，明早发出"})
    scenario.advance(hours=14)
    scenario.complete(iid, "Task_stock_handover", HANDOVER)
    scenario.message("parcel_signed", {"order_no": ORDER_NO})
    scenario.advance(days=3)
    scenario.complete(iid, "Task_presales_followup", {"buyer_confirmed": True, "call_note": "满意"})
    data = finished(scenario, iid)
    assert data["outcome"] == "delivered" and data["waybill_no"] == "STO-778899"
    assert balances(scenario) == {"TS-RED": 8, "CAP-01": 9}
    assert fired(scenario, iid) == ["Timer_daily_batch", "Boundary_handover_cutoff", "Timer_followup_3d"]


def test_cutoff_notice_still_open_when_the_order_is_cancelled(scenario):
    iid = printed(scenario)
    scenario.advance(hours=4)
    scenario.message("order_cancelled", {"order_no": ORDER_NO})
    assert scenario.open_elements(iid) == ["Task_aftersales_notify_delay", "Task_clerk_void"]
    scenario.complete(iid, "Task_clerk_void", {"retrieval_note": "单据作废", "goods_restocked": True})
    assert scenario.instance(iid)["status"] == "running"
    scenario.complete(iid, "Task_aftersales_notify_delay", {"notice_note": "买家已取消，无需发货"})
    data = finished(scenario, iid)
    assert data["outcome"] == "cancelled" and data["cancelled_stage"] == "printed"
    assert data["waybill_no"] == ""


# -- contract-only clients: only the data contract names of docs/procedures.md ----------------------------------
# A client that knows only the contract starts with the contract's start fields, completes the two decision
# tasks with scan_matches / buyer_confirmed and every other task with {}; the handover keeps the generated
# waybill number WB-<order_no> when none is entered.

CONTRACT_ORDER = {"order_no": ORDER_NO, "buyer": "小李", "lines": LINES, "address": "上海市徐汇区漕溪北路1号",
                  "phone": "13800000001", "buyer_notes": "发申通"}


def contract_start(scenario, **changes) -> int:
    return scenario.start("order_dispatch", {**CONTRACT_ORDER, **changes}, as_role="presales_cs")["id"]


def contract_packed(scenario) -> int:
    """Started with contract fields only, every task done with {} or its contract decision: handover open."""
    iid = contract_start(scenario)
    scenario.complete(iid, "Task_presales_confirm_order", {})
    scenario.advance(hours=TO_BATCH)
    assert scenario.open_elements(iid) == ["Task_clerk_print"]
    scenario.complete(iid, "Task_clerk_print", {})
    scenario.complete(iid, "Task_warehouse_pick", {})
    scenario.complete(iid, "Task_warehouse_scan", {"scan_matches": True})
    scenario.complete(iid, "Task_warehouse_pack", {})
    assert scenario.open_elements(iid) == ["Task_stock_handover"]
    return iid


def test_contract_only_main_path_is_delivered(scenario):
    book_stock(scenario)
    iid = contract_packed(scenario)
    data = scenario.data(iid)
    # the start data survived the empty confirmation; the flag defaults to gray
    assert data["address"] == CONTRACT_ORDER["address"] and data["phone"] == CONTRACT_ORDER["phone"]
    assert data["order_flag"] == "gray"
    scenario.complete(iid, "Task_stock_handover", {})
    assert balances(scenario) == {"TS-RED": 8, "CAP-01": 9}
    assert scenario.data(iid)["waybill_no"] == f"WB-{ORDER_NO}"
    scenario.message("parcel_signed", {"order_no": ORDER_NO})
    scenario.advance(days=3)
    assert scenario.open_elements(iid) == ["Task_presales_followup"]
    scenario.complete(iid, "Task_presales_followup", {"buyer_confirmed": True})
    data = finished(scenario, iid)
    assert data["outcome"] == "delivered"
    assert data["waybill_no"] == f"WB-{ORDER_NO}"
    assert data["buyer_confirmed"] is True
    assert scenario.path(iid) == ["Task_presales_confirm_order", "Task_clerk_print", *SUB_TASKS,
                                  "Task_stock_handover", "Task_presales_followup"]


def test_contract_only_waybill_entered_at_handover_is_kept(scenario):
    book_stock(scenario)
    iid = contract_packed(scenario)
    scenario.complete(iid, "Task_stock_handover", {"waybill_no": "STO-123"})
    scenario.message("parcel_signed", {"order_no": ORDER_NO})
    scenario.advance(days=3)
    scenario.complete(iid, "Task_presales_followup", {"buyer_confirmed": True})
    data = finished(scenario, iid)
    assert data["outcome"] == "delivered" and data["waybill_no"] == "STO-123"
    assert balances(scenario) == {"TS-RED": 8, "CAP-01": 9}


def test_contract_only_scan_mismatch_loops_back_to_picking(scenario):
    book_stock(scenario)
    iid = contract_start(scenario)
    scenario.complete(iid, "Task_presales_confirm_order", {})
    scenario.advance(hours=TO_BATCH)
    scenario.complete(iid, "Task_clerk_print", {})
    scenario.complete(iid, "Task_warehouse_pick", {})
    scenario.complete(iid, "Task_warehouse_scan", {"scan_matches": False})
    assert scenario.open_elements(iid) == ["Task_warehouse_pick"]
    scenario.complete(iid, "Task_warehouse_pick", {})
    scenario.complete(iid, "Task_warehouse_scan", {"scan_matches": True})
    scenario.complete(iid, "Task_warehouse_pack", {})
    scenario.complete(iid, "Task_stock_handover", {})
    assert balances(scenario) == {"TS-RED": 8, "CAP-01": 9}
    scenario.message("parcel_signed", {"order_no": ORDER_NO})
    scenario.advance(days=3)
    scenario.complete(iid, "Task_presales_followup", {"buyer_confirmed": True})
    data = finished(scenario, iid)
    assert data["outcome"] == "delivered" and data["waybill_no"] == f"WB-{ORDER_NO}"
    assert gateway_targets(scenario, iid, "Gateway_scan_matches") == [["Gateway_join_pick"], ["Task_warehouse_pack"]]


def test_contract_only_buyer_not_confirmed_is_handed_to_aftersales(scenario):
    book_stock(scenario)
    iid = contract_packed(scenario)
    scenario.complete(iid, "Task_stock_handover", {})
    scenario.message("parcel_signed", {"order_no": ORDER_NO})
    scenario.advance(days=3)
    scenario.complete(iid, "Task_presales_followup", {"buyer_confirmed": False})
    assert scenario.open_elements(iid) == ["Task_aftersales_feedback"]
    scenario.complete(iid, "Task_aftersales_feedback", {})
    data = finished(scenario, iid)
    assert data["outcome"] == "handed_to_aftersales"
    assert data["buyer_confirmed"] is False and data["aftersales_action"] == "other"
    assert data["waybill_no"] == f"WB-{ORDER_NO}"
    assert balances(scenario) == {"TS-RED": 8, "CAP-01": 9}


def test_contract_only_cancel_before_printing(scenario):
    book_stock(scenario)
    iid = contract_start(scenario)
    scenario.complete(iid, "Task_presales_confirm_order", {})
    scenario.message("order_cancelled", {"order_no": ORDER_NO})
    data = finished(scenario, iid)
    assert data["outcome"] == "cancelled" and data["waybill_no"] == ""
    assert balances(scenario) == {"TS-RED": 10, "CAP-01": 10}


def test_contract_only_cancel_before_handover_voids(scenario):
    book_stock(scenario)
    iid = contract_packed(scenario)
    scenario.message("order_cancelled", {"order_no": ORDER_NO})
    assert scenario.open_elements(iid) == ["Task_clerk_void"]
    scenario.complete(iid, "Task_clerk_void", {})
    data = finished(scenario, iid)
    assert data["outcome"] == "cancelled" and data["waybill_no"] == ""
    assert data["goods_restocked"] is True
    assert balances(scenario) == {"TS-RED": 10, "CAP-01": 10}


def test_contract_only_cancel_after_shipping_is_handed_to_aftersales(scenario):
    book_stock(scenario)
    iid = contract_packed(scenario)
    scenario.complete(iid, "Task_stock_handover", {})
    scenario.message("order_cancelled", {"order_no": ORDER_NO})
    scenario.complete(iid, "Task_aftersales_shipped_change", {})
    data = finished(scenario, iid)
    assert data["outcome"] == "handed_to_aftersales" and data["aftersales_action"] == "intercept"
    assert data["waybill_no"] == f"WB-{ORDER_NO}"
    assert balances(scenario) == {"TS-RED": 8, "CAP-01": 9}
    [sent] = events(scenario, iid, "message_sent")
    assert sent["data"]["name"] == "refund_requested" and sent["data"]["status"] == "started"
    assert sent["data"]["payload"]["goods_received"] is False


def test_contract_only_forms_still_require_the_contract_fields(scenario):
    bad = {k: v for k, v in CONTRACT_ORDER.items() if k != "phone"}
    scenario.start("order_dispatch", bad, as_role="presales_cs", expect=422)
    without_notes = {k: v for k, v in CONTRACT_ORDER.items() if k != "buyer_notes"}
    iid = contract_start(scenario)
    scenario.complete(iid, "Task_presales_confirm_order", {})
    scenario.advance(hours=TO_BATCH)
    scenario.complete(iid, "Task_clerk_print", {})
    scenario.complete(iid, "Task_warehouse_pick", {})
    scenario.complete(iid, "Task_warehouse_scan", {}, expect=422)        # scan_matches is the decision
    assert scenario.open_elements(iid) == ["Task_warehouse_scan"]
    scenario.complete(iid, "Task_warehouse_scan", {"scan_matches": True})
    assert scenario.open_elements(iid) == ["Task_warehouse_pack"]
    other = scenario.start("order_dispatch", {**without_notes, "order_no": "D-1002"}, as_role="presales_cs")["id"]
    assert scenario.open_elements(other) == ["Task_presales_confirm_order"]


def test_contract_only_order_with_no_stock_on_the_books_still_ships(scenario):
    """Nothing was ever received for these SKUs: the shipment is booked anyway (negative balance,
    reported as a shortfall for the next stocktake) instead of stopping the order."""
    iid = contract_packed(scenario)
    scenario.complete(iid, "Task_stock_handover", {})
    assert balances(scenario) == {"TS-RED": -2, "CAP-01": -1}
    assert scenario.instance(iid)["status"] == "running"
    scenario.message("parcel_signed", {"order_no": ORDER_NO})
    scenario.advance(days=3)
    scenario.complete(iid, "Task_presales_followup", {"buyer_confirmed": True})
    assert finished(scenario, iid)["outcome"] == "delivered"
