"""Scenario tests of the distributor reconciliation (distributor_reconciliation, 分销对账).

One instance per distributor and month. The frozen clock starts on Monday 2026-11-02 09:00 UTC; the
October reconciliation is due on Thursday 2026-11-05 18:00 Beijing (10:00 UTC). Payments arrive as the
message ``distributor_payment`` correlated by ``distributor`` and ``period``.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest


PROCESSES = ("distributor_reconciliation",)


@pytest.fixture
def scenario(scenario_only):
    """Only this file's process(es) deployed: other processes' start timers stay out of the counts."""
    return scenario_only(*PROCESSES)


START = {"distributor": "FX-001 杭州分销", "period_year": 2026, "period_month": 10, "order_count": 86,
         "sales_amount": "12000.00", "export_ref": "exports/2026-10/FX-001.xlsx"}
KEY = {"distributor": "FX-001 杭州分销", "period": "2026-10"}


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def start(scenario, **changes) -> int:
    iid = scenario.start("distributor_reconciliation", {**START, **changes}, as_role="presales_cs")["id"]
    assert scenario.open_elements(iid) == ["Task_cs_reconcile"]
    return iid


def reconcile(scenario, iid: int, amount: str = "11800.00", confirmed: bool = True,
              element: str = "Task_cs_reconcile") -> None:
    scenario.complete(iid, element, {"distributor_confirmed": confirmed, "confirmed_amount": amount,
                                     "difference_note": None if confirmed else "退货 3 单未扣"})


def pay(scenario, amount: float, ref: str, paid_at: str | None = None, key: dict | None = None) -> dict:
    data = {"paid_amount": amount, "payment_ref": ref}
    if paid_at:
        data["paid_at"] = paid_at
    return scenario.message("distributor_payment", key or KEY, data, message_id=ref)


def notify_and_book(scenario, iid: int, booking_ref: str, element: str = "Task_sa_notify_finance") -> None:
    scenario.complete(iid, element, {"finance_notice": f"通知单 {booking_ref}"})
    assert scenario.open_elements(iid) == ["Task_finance_book"]
    scenario.complete(iid, "Task_finance_book", {"booking_ref": booking_ref})


def test_reconciled_in_time_and_paid_and_notified_within_24_hours(scenario):
    iid = start(scenario)
    data = scenario.data(iid)
    assert data["period"] == "2026-10" and data["reconcile_due"] == "2026-11-05T18:00:00+08:00"
    assert data["outcome"] == "open"
    assert scenario.task(iid, "Task_cs_reconcile")["due_at"] == "2026-11-05T10:00:00+00:00"
    reconcile(scenario, iid)
    assert scenario.open_elements(iid) == []  # waiting for the payment
    assert money(scenario.data(iid)["outstanding"]) == Decimal("11800.00")

    scenario.advance_to(datetime(2026, 11, 3, 2, 0))  # Tuesday 10:00 Beijing
    reply = pay(scenario, 11800.00, "BANK-1", "2026-11-03T09:55:00+08:00")
    assert reply["status"] == "delivered" and reply["instance_ids"] == [iid]
    notify = scenario.task(iid, "Task_sa_notify_finance")
    assert notify["role"] == "stock_accounts" and notify["due_at"] == "2026-11-04T02:00:00+00:00"  # 24 hours
    scenario.advance(hours=23)
    notify_and_book(scenario, iid, "JZ-1")

    done = scenario.instance(iid)
    assert done["status"] == "completed"
    data = done["data"]
    assert data["outcome"] == "settled"
    assert money(data["agreed_amount"]) == Decimal("11800.00") and money(data["received_total"]) == Decimal("11800.00")
    assert money(data["outstanding"]) == 0
    assert data["reconciled_late"] is False and data["late_notifications"] == 0 and data["follow_ups"] == 0
    assert [(money(p["amount"]), p["ref"], p["notified_late"], p["booking_ref"]) for p in data["payments"]] == [
        (Decimal("11800.00"), "BANK-1", False, "JZ-1")]
    assert scenario.path(iid) == ["Task_cs_reconcile", "Task_sa_notify_finance", "Task_finance_book"]
    correlated, = scenario.events(iid, "message_correlated")
    assert correlated["data"]["name"] == "distributor_payment"
    assert [e["element_id"] for e in scenario.events(iid, "timer_fired")] == []
    assert scenario.gateway_flows(iid, "Gateway_paid_in_full") == [["Flow_payment_outstanding"],
                                                                    ["Flow_paid_in_full"]]


def test_reconciliation_not_done_by_the_5th_goes_to_the_manager(scenario):
    iid = start(scenario)
    scenario.advance_to(datetime(2026, 11, 5, 9, 59))  # Thursday 17:59 Beijing
    assert scenario.open_elements(iid) == ["Task_cs_reconcile"]
    scenario.advance_to(datetime(2026, 11, 5, 10, 0))  # the 5th, 18:00 Beijing
    assert scenario.open_elements(iid) == ["Task_supervisor_reconcile"]
    assert scenario.task(iid, "Task_supervisor_reconcile")["role"] == "supervisor"
    fired, = scenario.events(iid, "timer_fired")
    assert fired["element_id"] == "Boundary_reconcile_deadline" and fired["data"]["due_at"] == "2026-11-05T10:00:00"
    reconcile(scenario, iid, "12000.00", element="Task_supervisor_reconcile")
    pay(scenario, 12000, "BANK-2", "2026-11-06T10:00:00+08:00")
    notify_and_book(scenario, iid, "JZ-2")

    data = scenario.data(iid)
    assert scenario.instance(iid)["status"] == "completed"
    assert data["outcome"] == "settled" and data["reconciled_late"] is True
    assert money(data["received_total"]) == Decimal("12000.00") and money(data["outstanding"]) == 0
    assert scenario.path(iid) == ["Task_supervisor_reconcile", "Task_sa_notify_finance", "Task_finance_book"]


def test_difference_settled_by_the_manager_and_paid_in_two_parts(scenario):
    iid = start(scenario)
    reconcile(scenario, iid, "12000.00", confirmed=False)
    assert scenario.open_elements(iid) == ["Task_supervisor_resolve_difference"]
    scenario.complete(iid, "Task_supervisor_resolve_difference",
                      {"agreed_amount": "11500.00", "resolution_note": "扣除退货 3 单 500 元"})
    assert money(scenario.data(iid)["outstanding"]) == Decimal("11500.00")

    pay(scenario, 6000, "BANK-3a", "2026-11-03T10:00:00+08:00")
    notify_and_book(scenario, iid, "JZ-3a")
    data = scenario.data(iid)
    assert scenario.instance(iid)["status"] == "running" and data["outcome"] == "open"
    assert money(data["outstanding"]) == Decimal("5500.00")
    pay(scenario, 5500, "BANK-3b", "2026-11-04T10:00:00+08:00")
    notify_and_book(scenario, iid, "JZ-3b")

    data = scenario.data(iid)
    assert scenario.instance(iid)["status"] == "completed"
    assert data["outcome"] == "settled" and money(data["agreed_amount"]) == Decimal("11500.00")
    assert money(data["received_total"]) == Decimal("11500.00") and money(data["outstanding"]) == 0
    assert [p["ref"] for p in data["payments"]] == ["BANK-3a", "BANK-3b"]
    assert scenario.gateway_flows(iid, "Gateway_confirmed") == [["Flow_not_confirmed"]]
    assert scenario.path(iid) == ["Task_cs_reconcile", "Task_supervisor_resolve_difference",
                                  "Task_sa_notify_finance", "Task_finance_book",
                                  "Task_sa_notify_finance", "Task_finance_book"]


def test_payment_not_passed_to_finance_within_24_hours_is_escalated(scenario):
    iid = start(scenario)
    reconcile(scenario, iid)
    scenario.advance_to(datetime(2026, 11, 3, 2, 0))  # Tuesday 10:00 Beijing
    pay(scenario, 11800, "BANK-4", "2026-11-03T09:30:00+08:00")
    scenario.advance(hours=23, minutes=59)
    assert scenario.open_elements(iid) == ["Task_sa_notify_finance"]
    scenario.advance(minutes=1)  # 24 hours after the notice
    assert scenario.open_elements(iid) == ["Task_supervisor_notify_finance"]
    assert scenario.task(iid, "Task_supervisor_notify_finance")["role"] == "supervisor"
    fired, = scenario.events(iid, "timer_fired")
    assert fired["element_id"] == "Boundary_notify_deadline" and fired["data"]["due_at"] == "2026-11-04T02:00:00"
    notify_and_book(scenario, iid, "JZ-4", element="Task_supervisor_notify_finance")

    data = scenario.data(iid)
    assert scenario.instance(iid)["status"] == "completed"
    assert data["outcome"] == "settled" and data["late_notifications"] == 1
    assert data["payments"][0]["notified_late"] is True and data["reconciled_late"] is False
    assert scenario.path(iid) == ["Task_cs_reconcile", "Task_supervisor_notify_finance", "Task_finance_book"]


def test_notice_deadline_falling_on_sunday_moves_to_monday(scenario):
    iid = start(scenario)
    reconcile(scenario, iid)
    scenario.advance_to(datetime(2026, 11, 7, 2, 0))  # Saturday 10:00 Beijing
    pay(scenario, 11800, "BANK-5", "2026-11-07T09:45:00+08:00")
    assert scenario.task(iid, "Task_sa_notify_finance")["due_at"] == "2026-11-09T02:00:00+00:00"  # Monday, not Sunday
    scenario.advance_to(datetime(2026, 11, 8, 3, 0))  # Sunday 11:00 Beijing: not late
    assert scenario.open_elements(iid) == ["Task_sa_notify_finance"]
    scenario.advance_to(datetime(2026, 11, 9, 1, 0))  # Monday 09:00 Beijing
    notify_and_book(scenario, iid, "JZ-5")

    data = scenario.data(iid)
    assert data["outcome"] == "settled" and data["late_notifications"] == 0
    assert data["payments"][0]["notified_late"] is False
    assert scenario.events(iid, "timer_fired") == []


def test_no_payment_for_seven_days_is_followed_up(scenario):
    iid = start(scenario)
    reconcile(scenario, iid)  # Monday 2026-11-02 09:00 UTC
    scenario.advance(days=6, hours=23)
    assert scenario.open_elements(iid) == []
    scenario.advance(hours=1)
    assert scenario.open_elements(iid) == ["Task_cs_follow_up"]
    scenario.complete(iid, "Task_cs_follow_up", {"follow_up_note": "客户说下周付款", "expected_payment_date": "2026-11-13"})
    assert scenario.open_elements(iid) == [] and scenario.data(iid)["follow_ups"] == 1
    pay(scenario, 11800, "BANK-6")  # without paid_at: 24 hours from the notice
    assert scenario.task(iid, "Task_sa_notify_finance")["due_at"] == "2026-11-10T09:00:00+00:00"
    notify_and_book(scenario, iid, "JZ-6")

    data = scenario.data(iid)
    assert scenario.instance(iid)["status"] == "completed"
    assert data["outcome"] == "settled" and data["follow_ups"] == 1
    assert data["payments"][0]["paid_at"] is None
    assert [e["element_id"] for e in scenario.events(iid, "timer_fired")] == ["Timer_follow_up"]
    assert scenario.path(iid) == ["Task_cs_reconcile", "Task_cs_follow_up", "Task_sa_notify_finance",
                                  "Task_finance_book"]


def test_nothing_due_ends_at_once(scenario):
    iid = start(scenario, sales_amount="0", order_count=0)
    reconcile(scenario, iid, "0")

    done = scenario.instance(iid)
    assert done["status"] == "completed"
    data = done["data"]
    assert data["outcome"] == "nothing_due" and data["payments"] == []
    assert money(data["agreed_amount"]) == 0 and money(data["received_total"]) == 0
    assert scenario.path(iid) == ["Task_cs_reconcile"]
    assert scenario.gateway_flows(iid, "Gateway_paid_in_full") == [["Flow_paid_in_full"]]


def test_payment_is_correlated_by_distributor_and_month_and_kept_until_awaited(scenario):
    iid = start(scenario)
    other = start(scenario, distributor="FX-002 宁波分销")
    november = start(scenario, period_month=11)
    early = pay(scenario, 11800, "BANK-7", "2026-11-02T16:00:00+08:00")  # still reconciling: kept
    assert early["status"] == "kept" and early["instance_ids"] == []
    reconcile(scenario, iid)
    assert scenario.open_elements(iid) == ["Task_sa_notify_finance"]  # the kept payment was delivered
    reconcile(scenario, other, "9000.00")
    reconcile(scenario, november, "7000.00")
    assert scenario.open_elements(other) == [] and scenario.open_elements(november) == []
    notify_and_book(scenario, iid, "JZ-7")

    assert scenario.data(iid)["outcome"] == "settled"
    assert scenario.data(other)["outcome"] == "open" and scenario.data(november)["outcome"] == "open"
    kept, = scenario.events(iid, "message_correlated")
    assert kept["data"]["message_id"] == "BANK-7" and "kept_since" in kept["data"]
