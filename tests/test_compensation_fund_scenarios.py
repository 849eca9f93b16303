"""Scenario tests of the after-sales compensation fund (compensation_fund, 售后赔偿金).

The fund revolves: finance advances 500, each compensation paid is booked with its vouchers and
lowers the balance, a use larger than the balance is refused, and when less than 10% of the advance
is left (or a use was refused) the report and vouchers go to finance, whose audit releases the next
advance (approve) or goes to the department manager (reject).
"""
from __future__ import annotations

from decimal import Decimal

import pytest


PROCESSES = ("compensation_fund",)


@pytest.fixture
def scenario(scenario_only):
    """Only this file's process(es) deployed: other processes' start timers stay out of the counts."""
    return scenario_only(*PROCESSES)


START = {"fund_holder": "售后小李", "advance_amount": "500.00", "note": "首笔"}


def gateway_flows(scenario, instance_id: int, gateway: str) -> list[list[str]]:
    return [e["data"]["flows"] for e in scenario.history(instance_id)
            if e["type"] == "gateway_taken" and e["element_id"] == gateway]


def open_fund(scenario, advance_ref: str = "FK-001") -> int:
    """Apply for the fund (as after-sales) and let finance pay the first advance."""
    iid = scenario.start("compensation_fund", START, as_role="aftersales_cs")["id"]
    assert scenario.open_elements(iid) == ["Task_finance_advance"]
    assert scenario.task(iid, "Task_finance_advance")["role"] == "finance"
    scenario.complete(iid, "Task_finance_advance", {"advance_ref": advance_ref})
    assert scenario.open_elements(iid) == ["Task_aftersales_record_use"]
    return iid


def use(scenario, iid: int, order_no: str, amount: str, use_type: str = "damaged", vouchers=None) -> dict:
    scenario.complete(iid, "Task_aftersales_record_use", {
        "use_order_no": order_no, "use_type": use_type, "use_amount": amount,
        "use_voucher_refs": vouchers or [f"photos/{order_no}.jpg"], "use_note": f"{order_no} 赔偿"})
    return scenario.data(iid)


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_fund_used_until_exhausted_then_audited_and_advanced_again(scenario):
    iid = open_fund(scenario)
    data = scenario.data(iid)
    assert money(data["balance"]) == Decimal("500.00") and data["round_no"] == 1 and data["outcome"] == "active"
    assert money(data["report_threshold"]) == Decimal("50.00")

    data = use(scenario, iid, "A1", "200.00", "damaged")
    assert money(data["balance"]) == Decimal("300.00")
    data = use(scenario, iid, "A2", "150.00", "wrong_item")
    assert money(data["balance"]) == Decimal("150.00")
    assert scenario.open_elements(iid) == ["Task_aftersales_record_use"]  # not used up: next use
    data = use(scenario, iid, "A3", "120.00", "shipping_difference", ["chat/A3.png", "alipay/A3.png"])
    assert money(data["balance"]) == Decimal("30.00")  # below 10% of 500: used up
    assert scenario.open_elements(iid) == ["Task_aftersales_report"]
    assert [(u["order_no"], u["type"], money(u["amount"]), money(u["balance_after"])) for u in data["uses"]] == [
        ("A1", "damaged", Decimal("200.00"), Decimal("300.00")),
        ("A2", "wrong_item", Decimal("150.00"), Decimal("150.00")),
        ("A3", "shipping_difference", Decimal("120.00"), Decimal("30.00"))]
    assert data["uses"][2]["voucher_refs"] == ["chat/A3.png", "alipay/A3.png"]
    assert money(data["used_total"]) == Decimal("470.00")

    scenario.complete(iid, "Task_aftersales_report", {"report_ref": "BB-2026-11-1", "voucher_folder": r"\\share\赔偿\1"})
    assert scenario.task(iid, "Task_finance_audit")["role"] == "finance"
    scenario.complete(iid, "Task_finance_audit", {"audit_ok": True})
    assert scenario.open_elements(iid) == ["Task_finance_advance"]
    scenario.complete(iid, "Task_finance_advance", {"advance_ref": "FK-002"})

    data = scenario.data(iid)
    assert scenario.instance(iid)["status"] == "running" and data["outcome"] == "active"
    assert scenario.open_elements(iid) == ["Task_aftersales_record_use"]
    assert data["round_no"] == 2 and money(data["balance"]) == Decimal("530.00")  # 30 left + 500
    assert data["uses"] == [] and money(data["used_total"]) == 0
    assert money(data["total_advanced"]) == Decimal("1000.00") and money(data["total_used"]) == Decimal("470.00")
    assert [(r["round_no"], money(r["used_total"]), r["use_count"], r["report_ref"]) for r in data["rounds"]] == [
        (1, Decimal("470.00"), 3, "BB-2026-11-1")]
    assert [a["ref"] for a in data["advances"]] == ["FK-001", "FK-002"]
    assert scenario.path(iid) == ["Task_finance_advance"] + ["Task_aftersales_record_use"] * 3 + [
        "Task_aftersales_report", "Task_finance_audit", "Task_finance_advance"]
    assert gateway_flows(scenario, iid, "Gateway_used_up") == [["Flow_not_used_up"], ["Flow_not_used_up"],
                                                               ["Flow_used_up"]]
    assert gateway_flows(scenario, iid, "Gateway_audit_ok") == [["Flow_audit_ok"]]


def test_use_larger_than_balance_is_refused_and_the_round_reported(scenario):
    iid = open_fund(scenario)
    use(scenario, iid, "B1", "300.00")
    data = use(scenario, iid, "B2", "250.00", "missing_item")  # only 200 left
    assert money(data["balance"]) == Decimal("200.00")  # not booked
    assert [u["order_no"] for u in data["uses"]] == ["B1"]
    assert data["refused_use"]["order_no"] == "B2" and money(data["refused_use"]["amount"]) == Decimal("250.00")
    assert scenario.open_elements(iid) == ["Task_aftersales_report"]
    assert gateway_flows(scenario, iid, "Gateway_exceeds_balance") == [["Flow_use_fits"], ["Flow_use_exceeds_balance"]]

    scenario.complete(iid, "Task_aftersales_report", {"report_ref": "BB-2", "voucher_folder": "赔偿/2",
                                                      "report_note": "B2 余额不足"})
    scenario.complete(iid, "Task_finance_audit", {"audit_ok": True, "next_advance_amount": "800.00",
                                                  "audit_comment": "销量上升，提高到 800"})
    scenario.complete(iid, "Task_finance_advance", {"advance_ref": "FK-2"})
    data = scenario.data(iid)
    assert money(data["advance_amount"]) == Decimal("800.00") and money(data["balance"]) == Decimal("1000.00")
    assert money(data["report_threshold"]) == Decimal("80.00")
    data = use(scenario, iid, "B2", "250.00", "missing_item")  # booked in the new round
    assert money(data["balance"]) == Decimal("750.00") and data["refused_use"] is None
    assert money(data["total_used"]) == Decimal("550.00") and money(data["total_advanced"]) == Decimal("1300.00")
    assert data["outcome"] == "active"
    assert scenario.path(iid) == ["Task_finance_advance", "Task_aftersales_record_use", "Task_aftersales_record_use",
                                  "Task_aftersales_report", "Task_finance_audit", "Task_finance_advance",
                                  "Task_aftersales_record_use"]


def test_audit_rejected_manager_has_the_report_handed_in_again(scenario):
    iid = open_fund(scenario)
    use(scenario, iid, "C1", "480.00")
    scenario.complete(iid, "Task_aftersales_report", {"report_ref": "BB-3", "voucher_folder": "赔偿/3"})
    scenario.complete(iid, "Task_finance_audit", {"audit_ok": False, "audit_comment": "C1 缺少破损照片"})
    assert scenario.open_elements(iid) == ["Task_supervisor_handle_rejection"]
    assert scenario.task(iid, "Task_supervisor_handle_rejection")["role"] == "supervisor"
    scenario.complete(iid, "Task_supervisor_handle_rejection", {"supervisor_decision": "resubmit",
                                                                "supervisor_comment": "补照片"})
    assert scenario.open_elements(iid) == ["Task_aftersales_report"]
    scenario.complete(iid, "Task_aftersales_report", {"report_ref": "BB-3a", "voucher_folder": "赔偿/3",
                                                      "report_note": "已补 C1 照片"})
    scenario.complete(iid, "Task_finance_audit", {"audit_ok": True})
    scenario.complete(iid, "Task_finance_advance", {"advance_ref": "FK-3"})

    data = scenario.data(iid)
    assert data["outcome"] == "active" and data["round_no"] == 2 and money(data["balance"]) == Decimal("520.00")
    assert [r["report_ref"] for r in data["rounds"]] == ["BB-3a"]
    assert scenario.path(iid) == ["Task_finance_advance", "Task_aftersales_record_use", "Task_aftersales_report",
                                  "Task_finance_audit", "Task_supervisor_handle_rejection", "Task_aftersales_report",
                                  "Task_finance_audit", "Task_finance_advance"]
    assert gateway_flows(scenario, iid, "Gateway_audit_ok") == [["Flow_audit_rejected"], ["Flow_audit_ok"]]
    assert gateway_flows(scenario, iid, "Gateway_supervisor_decision") == [["Flow_resubmit"]]


def test_audit_rejected_manager_closes_the_fund(scenario):
    iid = open_fund(scenario)
    use(scenario, iid, "D1", "470.00", "other")
    scenario.complete(iid, "Task_aftersales_report", {"report_ref": "BB-4", "voucher_folder": "赔偿/4"})
    scenario.complete(iid, "Task_finance_audit", {"audit_ok": False, "audit_comment": "D1 不属于赔偿范围"})
    scenario.complete(iid, "Task_supervisor_handle_rejection", {"supervisor_decision": "close"})

    done = scenario.instance(iid)
    assert done["status"] == "completed"
    data = done["data"]
    assert data["outcome"] == "closed" and money(data["returned_amount"]) == Decimal("30.00")
    assert money(data["total_advanced"]) == Decimal("500.00") and money(data["total_used"]) == Decimal("470.00")
    assert data["rounds"] == []
    assert scenario.path(iid) == ["Task_finance_advance", "Task_aftersales_record_use", "Task_aftersales_report",
                                  "Task_finance_audit", "Task_supervisor_handle_rejection"]
    assert gateway_flows(scenario, iid, "Gateway_supervisor_decision") == [["Flow_close"]]
    assert scenario.event_types(iid)[-1] == "instance_completed"


def test_use_form_refuses_bad_data(scenario):
    iid = open_fund(scenario)
    task = scenario.task(iid, "Task_aftersales_record_use")
    headers = scenario.headers("aftersales_cs")
    assert scenario.client.post(f"/api/v1/tasks/{task['id']}/claim", headers=headers).status_code == 200
    for bad in ({"use_order_no": "E1", "use_type": "damaged", "use_amount": "10", "use_voucher_refs": []},
                {"use_order_no": "E1", "use_type": "lost", "use_amount": "10", "use_voucher_refs": ["p.jpg"]},
                {"use_order_no": "E1", "use_type": "damaged", "use_amount": "0", "use_voucher_refs": ["p.jpg"]}):
        response = scenario.client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": bad}, headers=headers)
        assert response.status_code == 422, response.get_json()
    assert money(scenario.data(iid)["balance"]) == Decimal("500.00")
