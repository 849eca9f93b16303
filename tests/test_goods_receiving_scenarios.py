"""Scenario tests of goods receiving (docs/procedures.md §1, process ``goods_receiving``): one test per path.

Each test walks a purchase order through the public REST API (one user per role), then asserts the
contract outcome exactly (``accepted_lines``, ``settled_amount``, ``outcome``), the stock ledger balances
(engine/connectors/stock.py), the tasks completed in order and by whom, every gateway flow taken, timers
fired and messages correlated.
"""
from __future__ import annotations

from decimal import Decimal
from itertools import count

from engine.connectors import stock

PROCESS = "goods_receiving"
TEE, JACKET = "TS-001-RED-M", "JK-002-BLK-L"

ROLE_OF = {
    "Task_warehouse_check": "warehouse",
    "Task_warehouse_damage_report": "warehouse",
    "Task_purchasing_decide": "purchasing",
    "Task_warehouse_sign_shelve": "warehouse",
    "Task_warehouse_return_goods": "warehouse",
    "Task_stock_accounts_verify": "stock_accounts",
    "Task_finance_settle": "finance",
}

# gateway flows of recurring stretches
CHECK = ["Flow_to_check"]
ALL_MATCH = ["Flow_all_match", "Flow_to_accepted_lines"]
NOT_ALL_MATCH = ["Flow_not_all_match", "Flow_to_decide"]
ACCEPT_REST = ["Flow_accept_rest", "Flow_to_accepted_lines"]
SCAN_OK = ["Flow_scan_ok"]
RECEIVED_TAIL = ["Task_warehouse_sign_shelve", "Task_stock_accounts_verify", "Task_finance_settle"]

_po_numbers = count(1)


# -- helpers -------------------------------------------------------------------------------------------------

def purchase_order(**overrides) -> dict:
    data = {
        "po_no": f"PO-2026-{next(_po_numbers):04d}", "supplier": "广州衣美服饰有限公司",
        "lines": [
            {"sku": TEE, "name": "纯棉T恤", "colour": "红", "size": "M", "qty": 10, "unit_price": "25.50"},
            {"sku": JACKET, "name": "夹克", "colour": "黑", "size": "L", "qty": 4, "unit_price": "120.00"},
        ],
        "delivery_method": "供应商送货", "settlement_method": "月结",
    }
    data.update(overrides)
    return data


def start(scenario, **overrides) -> tuple[int, dict]:
    data = purchase_order(**overrides)
    started = scenario.start(PROCESS, data, as_role="purchasing")
    assert started["status"] == "running" and started["process_id"] == PROCESS
    assert scenario.open_elements(started["id"]) == ["Task_warehouse_check"]
    return started["id"], data


def check(scenario, instance_id, tee: int, jacket: int, all_match: bool, tee_intact: bool = True) -> None:
    scenario.complete(instance_id, "Task_warehouse_check", {
        "delivery_note_no": "DN-1",
        "checked_lines": [{"sku": TEE, "counted_qty": tee, "packaging_intact": tee_intact},
                          {"sku": JACKET, "counted_qty": jacket, "packaging_intact": True}],
        "all_match": all_match})


def report_damage(scenario, instance_id, damage: list[dict]) -> None:
    scenario.complete(instance_id, "Task_warehouse_damage_report", {
        "damage_report_no": "CS-1", "damage_report": damage, "damage_note": "外箱压坏"})
    assert scenario.open_elements(instance_id) == ["Task_purchasing_decide"]


def decide(scenario, instance_id, resolution: str) -> None:
    scenario.complete(instance_id, "Task_purchasing_decide",
                      {"resolution": resolution, "resolution_note": "已与供应商电话确认"})


def receive_and_settle(scenario, instance_id) -> None:
    """Sign and shelve, verify (scan matches), settle."""
    assert scenario.open_elements(instance_id) == ["Task_warehouse_sign_shelve"]
    scenario.complete(instance_id, "Task_warehouse_sign_shelve",
                      {"receipt_signed_by": "仓管老王", "shelf_locations": "A-01-03, A-01-04"})
    assert scenario.open_elements(instance_id) == ["Task_stock_accounts_verify"]
    scenario.complete(instance_id, "Task_stock_accounts_verify",
                      {"scan_matches": True, "carton_labels": 2, "receipt_no": "RK-0001"})
    assert scenario.open_elements(instance_id) == ["Task_finance_settle"]
    scenario.complete(instance_id, "Task_finance_settle", {"settlement_ref": "JS-0001"})


def money(value) -> Decimal:
    assert isinstance(value, (int, float)) and not isinstance(value, bool), f"not a JSON number: {value!r}"
    return Decimal(str(value)).quantize(Decimal("0.01"))


def balances(scenario) -> dict[str, int]:
    with scenario.database.session() as session:
        return stock.balances(session)


def ledger(scenario) -> list[tuple]:
    with scenario.database.session() as session:
        return [(m.sku, m.qty, m.reason, m.reference, m.instance_id) for m in stock.movements(session)]


def assert_outcome(scenario, instance_id, outcome: str, accepted: list[tuple[str, int]], settled: str) -> dict:
    data = scenario.data(instance_id)
    assert data["outcome"] == outcome
    assert data["accepted_lines"] == [{"sku": sku, "qty": qty} for sku, qty in accepted]
    assert money(data["settled_amount"]) == Decimal(settled)
    return data


def assert_path(scenario, instance_id, expected: list[str]) -> None:
    assert scenario.path(instance_id) == expected
    completed = [e for e in scenario.history(instance_id) if e["type"] == "task_completed"]
    assert [e["actor"] for e in completed] == [scenario.user(ROLE_OF[e["element_id"]]) for e in completed]


def flows(scenario, instance_id) -> list[str]:
    taken = []
    for event in scenario.history(instance_id):
        if event["type"] == "gateway_taken":
            taken.extend(event["data"]["flows"])
    return taken


def events_of(scenario, instance_id, type_: str) -> list[dict]:
    return [e for e in scenario.history(instance_id) if e["type"] == type_]


def assert_completed(scenario, instance_id) -> None:
    instance = scenario.instance(instance_id)
    assert instance["status"] == "completed" and instance["ended_at"] is not None
    assert scenario.open_tasks(instance_id) == []
    events = scenario.event_types(instance_id)
    assert events[0] == "instance_started" and events[-1] == "instance_completed"


# -- paths -------------------------------------------------------------------------------------------------------

def test_all_match_received_booked_and_settled(scenario):
    with scenario.database.session() as session:       # stock already on the books before this PO
        stock.receive_lines(session, [{"sku": TEE, "qty": 5}], "OPENING")
        session.commit()
    instance_id, data = start(scenario)
    check(scenario, instance_id, tee=10, jacket=4, all_match=True)
    receive_and_settle(scenario, instance_id)

    result = assert_outcome(scenario, instance_id, "received", [(TEE, 10), (JACKET, 4)], "735.00")
    assert result["stock_booking"] == {"booked": 14, "movements": 2, "balances": {TEE: 15, JACKET: 4}}
    assert balances(scenario) == {TEE: 15, JACKET: 4}
    assert ledger(scenario)[1:] == [(TEE, 10, "receipt", data["po_no"], instance_id),
                                    (JACKET, 4, "receipt", data["po_no"], instance_id)]
    assert_path(scenario, instance_id, ["Task_warehouse_check"] + RECEIVED_TAIL)
    assert flows(scenario, instance_id) == CHECK + ALL_MATCH + SCAN_OK
    assert events_of(scenario, instance_id, "timer_fired") == []
    assert events_of(scenario, instance_id, "message_correlated") == []
    assert_completed(scenario, instance_id)


def test_damage_reported_purchasing_accepts_the_rest(scenario):
    instance_id, _ = start(scenario)
    check(scenario, instance_id, tee=10, jacket=3, all_match=False, tee_intact=False)
    report_damage(scenario, instance_id, [
        {"sku": TEE, "qty_damaged": 2, "qty_missing": 0, "photos": "IMG-101,IMG-102"},
        {"sku": JACKET, "qty_damaged": 0, "qty_missing": 1}])
    decide(scenario, instance_id, "accept_rest")
    receive_and_settle(scenario, instance_id)

    # accepted = counted - damaged: T恤 10 - 2, 夹克 3 (one missing); 8 x 25.50 + 3 x 120.00
    assert_outcome(scenario, instance_id, "received", [(TEE, 8), (JACKET, 3)], "564.00")
    assert balances(scenario) == {TEE: 8, JACKET: 3}
    assert_path(scenario, instance_id, ["Task_warehouse_check", "Task_warehouse_damage_report",
                                        "Task_purchasing_decide"] + RECEIVED_TAIL)
    assert flows(scenario, instance_id) == CHECK + NOT_ALL_MATCH + ACCEPT_REST + SCAN_OK
    assert_completed(scenario, instance_id)


def test_accept_rest_never_accepts_more_than_ordered(scenario):
    instance_id, _ = start(scenario)
    check(scenario, instance_id, tee=12, jacket=4, all_match=False)       # two T恤 too many
    report_damage(scenario, instance_id, [{"sku": TEE, "qty_damaged": 1, "qty_missing": 0}])
    decide(scenario, instance_id, "accept_rest")
    receive_and_settle(scenario, instance_id)

    assert_outcome(scenario, instance_id, "received", [(TEE, 10), (JACKET, 4)], "735.00")
    assert balances(scenario) == {TEE: 10, JACKET: 4}
    assert flows(scenario, instance_id) == CHECK + NOT_ALL_MATCH + ACCEPT_REST + SCAN_OK
    assert_completed(scenario, instance_id)


def test_purchasing_returns_the_delivery_to_the_supplier(scenario):
    instance_id, _ = start(scenario)
    check(scenario, instance_id, tee=10, jacket=4, all_match=False, tee_intact=False)
    report_damage(scenario, instance_id, [{"sku": TEE, "qty_damaged": 10, "qty_missing": 0, "photos": "IMG-9"}])
    decide(scenario, instance_id, "return_to_supplier")
    assert scenario.open_elements(instance_id) == ["Task_warehouse_return_goods"]
    scenario.complete(instance_id, "Task_warehouse_return_goods",
                      {"returned_on": "2026-11-03", "return_waybill_no": "SF-RT-1"})

    data = assert_outcome(scenario, instance_id, "returned_to_supplier", [], "0.00")
    assert "stock_booking" not in data
    assert balances(scenario) == {} and ledger(scenario) == []
    assert_path(scenario, instance_id, ["Task_warehouse_check", "Task_warehouse_damage_report",
                                        "Task_purchasing_decide", "Task_warehouse_return_goods"])
    assert flows(scenario, instance_id) == CHECK + NOT_ALL_MATCH + ["Flow_return_to_supplier"]
    assert_completed(scenario, instance_id)


def test_wait_for_redelivery_message_then_all_match(scenario):
    instance_id, data = start(scenario)
    check(scenario, instance_id, tee=6, jacket=4, all_match=False)
    report_damage(scenario, instance_id, [{"sku": TEE, "qty_damaged": 0, "qty_missing": 4}])
    decide(scenario, instance_id, "wait_redelivery")
    assert scenario.open_elements(instance_id) == []                     # waiting for the supplier
    scenario.clock.advance(days=2)
    scenario.message("goods_redelivered", {"po_no": data["po_no"]}, {"delivery_note_no": "DN-2"}, "redeliver-1")
    assert scenario.open_elements(instance_id) == ["Task_warehouse_check"]
    assert scenario.data(instance_id)["delivery_note_no"] == "DN-2"
    check(scenario, instance_id, tee=10, jacket=4, all_match=True)      # everything on hand now
    receive_and_settle(scenario, instance_id)

    assert_outcome(scenario, instance_id, "received", [(TEE, 10), (JACKET, 4)], "735.00")
    assert balances(scenario) == {TEE: 10, JACKET: 4}
    assert_path(scenario, instance_id, ["Task_warehouse_check", "Task_warehouse_damage_report",
                                        "Task_purchasing_decide", "Task_warehouse_check"] + RECEIVED_TAIL)
    assert flows(scenario, instance_id) == (CHECK + NOT_ALL_MATCH + ["Flow_wait_redelivery", "Flow_wait_to_redelivered"]
                                            + CHECK + ALL_MATCH + SCAN_OK)
    correlated = events_of(scenario, instance_id, "message_correlated")
    assert [(e["data"]["name"], e["data"]["data"]) for e in correlated] == [
        ("goods_redelivered", {"delivery_note_no": "DN-2"})]
    assert events_of(scenario, instance_id, "timer_fired") == []
    assert [e["type"] for e in events_of(scenario, instance_id, "timer_cancelled")] == ["timer_cancelled"]
    assert_completed(scenario, instance_id)


def test_redelivery_late_seven_days_purchasing_decides_again(scenario):
    instance_id, _ = start(scenario)
    check(scenario, instance_id, tee=10, jacket=2, all_match=False)
    report_damage(scenario, instance_id, [{"sku": JACKET, "qty_damaged": 0, "qty_missing": 2}])
    decide(scenario, instance_id, "wait_redelivery")
    scenario.advance(days=6, hours=23)                                  # not yet 7 days
    assert scenario.open_elements(instance_id) == []
    assert events_of(scenario, instance_id, "timer_fired") == []
    scenario.advance(hours=1)                                           # 7 days: back to purchasing
    assert scenario.open_elements(instance_id) == ["Task_purchasing_decide"]
    decide(scenario, instance_id, "accept_rest")                        # supplier will not re-deliver
    receive_and_settle(scenario, instance_id)

    assert_outcome(scenario, instance_id, "received", [(TEE, 10), (JACKET, 2)], "495.00")
    assert balances(scenario) == {TEE: 10, JACKET: 2}
    assert_path(scenario, instance_id, ["Task_warehouse_check", "Task_warehouse_damage_report",
                                        "Task_purchasing_decide", "Task_purchasing_decide"] + RECEIVED_TAIL)
    assert flows(scenario, instance_id) == (CHECK + NOT_ALL_MATCH + ["Flow_wait_redelivery", "Flow_wait_to_timer"]
                                            + ["Flow_to_decide"] + ACCEPT_REST + SCAN_OK)
    fired = events_of(scenario, instance_id, "timer_fired")
    assert [e["data"]["due_at"] for e in fired] == ["2026-11-09T09:00:00"]     # 7 days after the decision
    # the engine waits on the event-based gateway: the timer fired is the one of that gateway
    assert {e["element_id"] for e in fired} <= {"Gateway_wait_redelivery", "Timer_redelivery_7d"}
    assert events_of(scenario, instance_id, "message_correlated") == []
    assert_completed(scenario, instance_id)


def test_scan_mismatch_sends_the_goods_back_to_the_check(scenario):
    instance_id, data = start(scenario)
    check(scenario, instance_id, tee=10, jacket=4, all_match=True)
    scenario.complete(instance_id, "Task_warehouse_sign_shelve",
                      {"receipt_signed_by": "仓管老王", "shelf_locations": "A-01-03"})
    scenario.complete(instance_id, "Task_stock_accounts_verify",
                      {"scan_matches": False, "carton_labels": 0, "verification_note": "夹克扫描只有3件"})
    assert scenario.open_elements(instance_id) == ["Task_warehouse_check"]
    assert balances(scenario) == {}                                     # nothing booked before verification
    check(scenario, instance_id, tee=10, jacket=3, all_match=True)     # recount: 3 jackets
    receive_and_settle(scenario, instance_id)

    assert_outcome(scenario, instance_id, "received", [(TEE, 10), (JACKET, 3)], "615.00")
    assert balances(scenario) == {TEE: 10, JACKET: 3}
    assert [m for m in ledger(scenario) if m[2] == "receipt"] == [(TEE, 10, "receipt", data["po_no"], instance_id),
                                                                 (JACKET, 3, "receipt", data["po_no"], instance_id)]
    assert_path(scenario, instance_id, ["Task_warehouse_check", "Task_warehouse_sign_shelve",
                                        "Task_stock_accounts_verify", "Task_warehouse_check"] + RECEIVED_TAIL)
    assert flows(scenario, instance_id) == (CHECK + ALL_MATCH + ["Flow_scan_mismatch"] + CHECK + ALL_MATCH + SCAN_OK)
    assert_completed(scenario, instance_id)


def test_start_form_refuses_an_order_without_lines(scenario):
    scenario.start(PROCESS, purchase_order(lines=[]), as_role="purchasing", expect=422)
    scenario.start(PROCESS, purchase_order(delivery_method=""), as_role="purchasing", expect=422)


# -- contract-only clients ------------------------------------------------------------------------------------
# A client that knows only the data contract of docs/procedures.md §1: the contract start fields, then at each task
# only that step's contract decision (all_match, resolution) or {}. Without checked_lines the ordered
# quantities count as arrived; without a damage report nothing is deducted.

CONTRACT_START = ("po_no", "supplier", "lines", "delivery_method", "settlement_method")


def contract_start(scenario) -> tuple[int, dict]:
    data = {k: v for k, v in purchase_order().items() if k in CONTRACT_START}
    assert set(data) == set(CONTRACT_START)
    started = scenario.start(PROCESS, data, as_role="purchasing")
    assert started["status"] == "running"
    assert scenario.open_elements(started["id"]) == ["Task_warehouse_check"]
    return started["id"], data


def contract_receive_and_settle(scenario, instance_id) -> None:
    for element_id in RECEIVED_TAIL:
        assert scenario.open_elements(instance_id) == [element_id]
        scenario.complete(instance_id, element_id, {})


def test_contract_only_all_match_received(scenario):
    instance_id, data = contract_start(scenario)
    scenario.complete(instance_id, "Task_warehouse_check", {"all_match": True})
    contract_receive_and_settle(scenario, instance_id)

    # 10 x 25.50 + 4 x 120.00
    result = assert_outcome(scenario, instance_id, "received", [(TEE, 10), (JACKET, 4)], "735.00")
    assert result["stock_booking"]["booked"] == 14
    assert balances(scenario) == {TEE: 10, JACKET: 4}
    assert ledger(scenario) == [(TEE, 10, "receipt", data["po_no"], instance_id),
                                (JACKET, 4, "receipt", data["po_no"], instance_id)]
    assert_path(scenario, instance_id, ["Task_warehouse_check"] + RECEIVED_TAIL)
    assert flows(scenario, instance_id) == CHECK + ALL_MATCH + SCAN_OK
    assert_completed(scenario, instance_id)


def test_contract_only_not_all_match_accept_rest_accepts_the_ordered_quantities(scenario):
    instance_id, data = contract_start(scenario)
    scenario.complete(instance_id, "Task_warehouse_check", {"all_match": False})
    assert scenario.open_elements(instance_id) == ["Task_warehouse_damage_report"]
    scenario.complete(instance_id, "Task_warehouse_damage_report", {})
    assert scenario.open_elements(instance_id) == ["Task_purchasing_decide"]
    scenario.complete(instance_id, "Task_purchasing_decide", {"resolution": "accept_rest"})
    contract_receive_and_settle(scenario, instance_id)

    assert_outcome(scenario, instance_id, "received", [(TEE, 10), (JACKET, 4)], "735.00")
    assert balances(scenario) == {TEE: 10, JACKET: 4}
    assert ledger(scenario) == [(TEE, 10, "receipt", data["po_no"], instance_id),
                                (JACKET, 4, "receipt", data["po_no"], instance_id)]
    assert flows(scenario, instance_id) == CHECK + NOT_ALL_MATCH + ACCEPT_REST + SCAN_OK
    assert_completed(scenario, instance_id)


def test_contract_only_return_to_supplier(scenario):
    instance_id, _ = contract_start(scenario)
    scenario.complete(instance_id, "Task_warehouse_check", {"all_match": False})
    scenario.complete(instance_id, "Task_warehouse_damage_report", {})
    scenario.complete(instance_id, "Task_purchasing_decide", {"resolution": "return_to_supplier"})
    assert scenario.open_elements(instance_id) == ["Task_warehouse_return_goods"]
    scenario.complete(instance_id, "Task_warehouse_return_goods", {})

    data = assert_outcome(scenario, instance_id, "returned_to_supplier", [], "0.00")
    assert "stock_booking" not in data
    assert balances(scenario) == {} and ledger(scenario) == []
    assert flows(scenario, instance_id) == CHECK + NOT_ALL_MATCH + ["Flow_return_to_supplier"]
    assert_completed(scenario, instance_id)


def test_contract_only_wait_redelivery_then_all_match(scenario):
    instance_id, data = contract_start(scenario)
    scenario.complete(instance_id, "Task_warehouse_check", {"all_match": False})
    scenario.complete(instance_id, "Task_warehouse_damage_report", {})
    scenario.complete(instance_id, "Task_purchasing_decide", {"resolution": "wait_redelivery"})
    assert scenario.open_elements(instance_id) == []
    scenario.message("goods_redelivered", {"po_no": data["po_no"]})
    assert scenario.open_elements(instance_id) == ["Task_warehouse_check"]
    scenario.complete(instance_id, "Task_warehouse_check", {"all_match": True})
    contract_receive_and_settle(scenario, instance_id)

    assert_outcome(scenario, instance_id, "received", [(TEE, 10), (JACKET, 4)], "735.00")
    assert balances(scenario) == {TEE: 10, JACKET: 4}
    assert ledger(scenario) == [(TEE, 10, "receipt", data["po_no"], instance_id),
                                (JACKET, 4, "receipt", data["po_no"], instance_id)]
    assert flows(scenario, instance_id) == (CHECK + NOT_ALL_MATCH + ["Flow_wait_redelivery", "Flow_wait_to_redelivered"]
                                            + CHECK + ALL_MATCH + SCAN_OK)
    assert_completed(scenario, instance_id)


def test_contract_only_redelivery_late_then_return_to_supplier(scenario):
    instance_id, _ = contract_start(scenario)
    scenario.complete(instance_id, "Task_warehouse_check", {"all_match": False})
    scenario.complete(instance_id, "Task_warehouse_damage_report", {})
    scenario.complete(instance_id, "Task_purchasing_decide", {"resolution": "wait_redelivery"})
    scenario.advance(days=7)
    assert scenario.open_elements(instance_id) == ["Task_purchasing_decide"]
    scenario.complete(instance_id, "Task_purchasing_decide", {"resolution": "return_to_supplier"})
    scenario.complete(instance_id, "Task_warehouse_return_goods", {})

    assert_outcome(scenario, instance_id, "returned_to_supplier", [], "0.00")
    assert balances(scenario) == {}
    assert_completed(scenario, instance_id)


def test_contract_only_counted_lines_without_damage_report_accept_what_was_counted(scenario):
    instance_id, _ = contract_start(scenario)
    scenario.complete(instance_id, "Task_warehouse_check", {
        "all_match": False,
        "checked_lines": [{"sku": TEE, "counted_qty": 7, "packaging_intact": True},
                          {"sku": JACKET, "counted_qty": 4, "packaging_intact": True}]})
    scenario.complete(instance_id, "Task_warehouse_damage_report", {})
    scenario.complete(instance_id, "Task_purchasing_decide", {"resolution": "accept_rest"})
    contract_receive_and_settle(scenario, instance_id)

    # 7 x 25.50 + 4 x 120.00
    assert_outcome(scenario, instance_id, "received", [(TEE, 7), (JACKET, 4)], "658.50")
    assert balances(scenario) == {TEE: 7, JACKET: 4}
    assert_completed(scenario, instance_id)


def test_contract_decisions_stay_required(scenario):
    instance_id, _ = contract_start(scenario)
    scenario.complete(instance_id, "Task_warehouse_check", {}, expect=422)
    scenario.complete(instance_id, "Task_warehouse_check", {"all_match": False})
    scenario.complete(instance_id, "Task_warehouse_damage_report", {})
    scenario.complete(instance_id, "Task_purchasing_decide", {}, expect=422)
    scenario.complete(instance_id, "Task_purchasing_decide", {"resolution": "cancel"}, expect=422)
    assert scenario.open_elements(instance_id) == ["Task_purchasing_decide"]
    for missing in CONTRACT_START:
        data = {k: v for k, v in purchase_order().items() if k in CONTRACT_START and k != missing}
        scenario.start(PROCESS, data, as_role="purchasing", expect=422)
