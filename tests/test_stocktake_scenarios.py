"""Scenario tests of the stocktake (盘点): process ``stocktake`` (started by hand) and ``stocktake_monthly``
(the same steps behind a monthly timer, in processes/stocktake.bpmn; its element ids end in ``_monthly``).

Every path test runs on both processes. Each asserts the contract outcome (``counts``, ``differences``,
``outcome``), the stock ledger balances and rows, the tasks completed in order and by whom, and every gateway
flow taken; the monthly tests also assert the timers (the monthly tick, the month-end wait).
"""
from __future__ import annotations

import pytest

from engine.connectors import stock

A, B, C, D = "TS-001-RED-M", "JK-002-BLK-L", "SK-003-BLU-S", "HT-004-GRY-F"
BOTH = pytest.mark.parametrize("process", ["stocktake", "stocktake_monthly"])

ROLES = {"Task_warehouse_count": "warehouse", "Task_finance_check": "finance", "Task_supervisor_approve": "supervisor"}

COUNT = ["Flow_join_to_count"]
CONFIRMED = ["Flow_counts_confirmed"]
SMALL = ["Flow_small_difference", "Flow_to_adjust"]
LARGE = ["Flow_large_difference"]
APPROVED = ["Flow_approved", "Flow_to_adjust"]
RECOUNT_FINANCE = ["Flow_recount_finance"]
RECOUNT_SUPERVISOR = ["Flow_recount_supervisor"]


# -- helpers -----------------------------------------------------------------------------------------------

def seed(scenario, **quantities: int) -> None:
    """Stock on the books before the stocktake (receipts booked directly in the ledger)."""
    with scenario.database.session() as session:
        stock.receive_lines(session, [{"sku": globals()[k], "qty": v} for k, v in quantities.items()], "OPENING")
        session.commit()


def balances(scenario) -> dict[str, int]:
    with scenario.database.session() as session:
        return stock.balances(session)


def stocktake_rows(scenario) -> list[tuple]:
    with scenario.database.session() as session:
        return [(m.sku, m.qty, m.reference, m.instance_id) for m in stock.movements(session) if m.reason == "stocktake"]


def instances_of(scenario, process_id: str) -> list[dict]:
    response = scenario.client.get(f"/api/v1/instances?process_id={process_id}", headers=scenario.headers("admin"))
    assert response.status_code == 200, response.get_json()
    return sorted(response.get_json(), key=lambda i: i["id"])


class Run:
    """One stocktake instance and the suffix of its element ids."""

    def __init__(self, scenario, instance_id: int, sfx: str, stocktake_no: str):
        self.scenario, self.id, self.sfx, self.stocktake_no = scenario, instance_id, sfx, stocktake_no

    def el(self, element_id: str) -> str:
        return element_id + self.sfx

    def open(self) -> list[str]:
        return self.scenario.open_elements(self.id)

    def complete(self, element_id: str, data: dict) -> None:
        self.scenario.complete(self.id, self.el(element_id), data)

    def count(self, **counted: int) -> None:
        assert self.open() == [self.el("Task_warehouse_count")]
        self.complete("Task_warehouse_count", {
            "counts": [{"sku": globals()[k], "counted_qty": v} for k, v in counted.items()],
            "counted_by": "仓管老王"})

    def finance(self, confirmed: bool, note: str = "已与仓库核对") -> None:
        assert self.open() == [self.el("Task_finance_check")]
        self.complete("Task_finance_check", {"counts_confirmed": confirmed, "finance_note": note})

    def supervisor(self, approved: bool, note: str = "") -> None:
        assert self.open() == [self.el("Task_supervisor_approve")]
        self.complete("Task_supervisor_approve", {"approved": approved, "approval_note": note})

    def data(self) -> dict:
        return self.scenario.data(self.id)

    def flows(self) -> list[str]:
        taken = []
        for event in self.scenario.history(self.id):
            if event["type"] == "gateway_taken":
                taken.extend(event["data"]["flows"])
        return taken

    def assert_flows(self, expected: list[str]) -> None:
        assert self.flows() == [self.el(f) for f in expected]

    def assert_path(self, expected: list[str]) -> None:
        assert self.scenario.path(self.id) == [self.el(e) for e in expected]
        completed = [e for e in self.scenario.history(self.id) if e["type"] == "task_completed"]
        assert [e["actor"] for e in completed] == [self.scenario.user(ROLES[e]) for e in expected]

    def assert_done(self, outcome: str, differences: list[dict]) -> dict:
        instance = self.scenario.instance(self.id)
        assert instance["status"] == "completed" and instance["ended_at"] is not None
        assert self.scenario.open_tasks(self.id) == []
        events = self.scenario.event_types(self.id)
        assert events[-1] == "instance_completed"
        data = instance["data"]
        assert data["outcome"] == outcome
        assert data["differences"] == differences
        assert data["stocktake_no"] == self.stocktake_no
        return data


def begin(scenario, process: str) -> Run:
    """Start by hand, or let the monthly timer tick (mid-month) and the month-end timer fire."""
    if process == "stocktake":
        started = scenario.start("stocktake", {"stocktake_no": "PD-2026-11-X", "stocktake_type": "ad_hoc",
                                               "note": "换季前临时盘点"}, as_role="warehouse")
        assert started["status"] == "running"
        run = Run(scenario, started["id"], "", "PD-2026-11-X")
        assert run.data()["count_sheet"]["skus"] == sorted(balances(scenario))
        return run
    scenario.advance(days=13, hours=1)                      # 2026-11-15 10:00 UTC = 18:00 Beijing: the tick
    [monthly] = instances_of(scenario, "stocktake_monthly")
    run = Run(scenario, monthly["id"], "_monthly", "PD-2026-11")
    assert run.open() == []                                 # waiting for the month end
    data = run.data()
    assert data["stocktake_due"] == "2026-11-30T18:00:00+08:00"
    assert (data["stocktake_no"], data["stocktake_type"]) == ("PD-2026-11", "monthly")
    scenario.advance(days=14, hours=23)                     # 2026-11-30 09:00 UTC: not yet
    assert run.open() == []
    scenario.advance(hours=1)                               # 2026-11-30 10:00 UTC = 18:00 Beijing
    fired = [e for e in scenario.history(run.id) if e["type"] == "timer_fired"]
    assert [(e["element_id"], e["data"]["due_at"]) for e in fired] == [
        ("StartEvent_monthly_tick", "2026-11-15T10:00:00"), ("Timer_month_end", "2026-11-30T10:00:00")]
    return run


# -- paths -----------------------------------------------------------------------------------------------------

@BOTH
def test_counts_agree_with_the_books_no_differences(scenario, process):
    seed(scenario, A=10, B=5)
    run = begin(scenario, process)
    assert run.data()["skus_to_count"] == sorted([A, B])
    run.count(A=10, B=5)
    assert (run.data()["expected_differences"], run.data()["large_difference"]) == ([], False)
    run.finance(True)

    data = run.assert_done("no_differences", [])
    assert data["counts"] == [{"sku": A, "counted_qty": 10}, {"sku": B, "counted_qty": 5}]
    assert data["stock_adjustment"] == {"differences": [], "counted": 2}
    assert balances(scenario) == {A: 10, B: 5}
    assert stocktake_rows(scenario) == [(A, 0, run.stocktake_no, run.id), (B, 0, run.stocktake_no, run.id)]
    run.assert_path(["Task_warehouse_count", "Task_finance_check"])
    run.assert_flows(COUNT + CONFIRMED + SMALL)


@BOTH
def test_small_differences_are_adjusted_without_the_supervisor(scenario, process):
    seed(scenario, A=10, B=5, D=3)
    run = begin(scenario, process)
    run.count(A=8, B=5, C=1)                                # 2 T恤 short, one unknown SKU found, D not counted
    assert run.data()["expected_differences"] == [                      # by SKU
        {"sku": C, "expected": 0, "counted": 1, "difference": 1},
        {"sku": A, "expected": 10, "counted": 8, "difference": -2}]
    assert run.data()["uncounted_skus"] == [D]
    run.finance(True)

    run.assert_done("adjusted", [{"sku": C, "expected": 0, "counted": 1, "difference": 1},
                                 {"sku": A, "expected": 10, "counted": 8, "difference": -2}])
    assert balances(scenario) == {A: 8, B: 5, C: 1, D: 3}     # D was not counted: not adjusted
    assert stocktake_rows(scenario) == [(A, -2, run.stocktake_no, run.id), (B, 0, run.stocktake_no, run.id),
                                        (C, 1, run.stocktake_no, run.id)]
    run.assert_path(["Task_warehouse_count", "Task_finance_check"])
    run.assert_flows(COUNT + CONFIRMED + SMALL)


@BOTH
def test_finance_does_not_confirm_the_warehouse_recounts(scenario, process):
    seed(scenario, A=10, B=5)
    run = begin(scenario, process)
    run.count(A=10, B=50)                                   # a typo: 50 jackets
    run.finance(False, "夹克数量可疑，请复盘")
    assert run.data()["finance_note"] == "夹克数量可疑，请复盘"
    run.count(A=10, B=4)
    run.finance(True)

    run.assert_done("adjusted", [{"sku": B, "expected": 5, "counted": 4, "difference": -1}])
    assert balances(scenario) == {A: 10, B: 4}
    assert len(stocktake_rows(scenario)) == 2                # booked once, with the recount
    run.assert_path(["Task_warehouse_count", "Task_finance_check", "Task_warehouse_count", "Task_finance_check"])
    run.assert_flows(COUNT + RECOUNT_FINANCE + COUNT + CONFIRMED + SMALL)


@BOTH
def test_large_difference_approved_by_the_supervisor(scenario, process):
    seed(scenario, A=30, B=5)
    run = begin(scenario, process)
    run.count(A=18, B=5)                                    # 12 missing: 10 or more is large
    assert run.data()["large_difference"] is True
    run.finance(True)
    run.supervisor(True, "确认丢失，计入损耗")

    run.assert_done("adjusted", [{"sku": A, "expected": 30, "counted": 18, "difference": -12}])
    assert balances(scenario) == {A: 18, B: 5}
    run.assert_path(["Task_warehouse_count", "Task_finance_check", "Task_supervisor_approve"])
    run.assert_flows(COUNT + CONFIRMED + LARGE + APPROVED)


@BOTH
def test_large_difference_rejected_by_the_supervisor_is_recounted(scenario, process):
    seed(scenario, A=30, B=5)
    run = begin(scenario, process)
    run.count(A=20, B=5)                                    # exactly 10 short: large
    run.finance(True)
    run.supervisor(False, "差异过大，请重新盘点A区")
    assert run.data()["approval_note"] == "差异过大，请重新盘点A区"
    run.count(A=29, B=5)                                    # found 9 more in another location
    run.finance(True)

    run.assert_done("adjusted", [{"sku": A, "expected": 30, "counted": 29, "difference": -1}])
    assert balances(scenario) == {A: 29, B: 5}
    run.assert_path(["Task_warehouse_count", "Task_finance_check", "Task_supervisor_approve",
                     "Task_warehouse_count", "Task_finance_check"])
    run.assert_flows(COUNT + CONFIRMED + LARGE + RECOUNT_SUPERVISOR + COUNT + CONFIRMED + SMALL)


# -- the monthly schedule ----------------------------------------------------------------------------------------

def test_the_monthly_tick_schedules_one_stocktake_per_month_at_the_month_end(scenario):
    scenario.advance(days=12)                               # 2026-11-14 09:00 UTC: no tick yet
    assert instances_of(scenario, "stocktake_monthly") == []
    scenario.advance(days=1, hours=1)                       # 2026-11-15 10:00 UTC: the November tick
    november = instances_of(scenario, "stocktake_monthly")
    assert [(i["data"]["stocktake_no"], i["data"]["stocktake_due"]) for i in november] == [
        ("PD-2026-11", "2026-11-30T18:00:00+08:00")]
    scenario.advance(days=31)                               # 2026-12-16 10:00 UTC: November's count is open,
    runs = instances_of(scenario, "stocktake_monthly")      # December's tick came on 2026-12-15 20:29 UTC
    assert [(i["data"]["stocktake_no"], i["data"]["stocktake_due"]) for i in runs] == [
        ("PD-2026-11", "2026-11-30T18:00:00+08:00"), ("PD-2026-12", "2026-12-31T18:00:00+08:00")]
    assert scenario.open_elements(runs[0]["id"]) == ["Task_warehouse_count_monthly"]
    assert scenario.open_elements(runs[1]["id"]) == []
    ticks = [e for e in scenario.history(runs[1]["id"]) if e["type"] == "timer_fired"]
    assert [(e["element_id"], e["data"]["due_at"]) for e in ticks] == [
        ("StartEvent_monthly_tick", "2026-12-15T20:29:06")]
    assert instances_of(scenario, "stocktake") == []        # the manual process has no timer


def test_stocktake_no_is_required_to_start_by_hand(scenario):
    scenario.start("stocktake", {"stocktake_type": "ad_hoc"}, as_role="stock_accounts", expect=422)
    scenario.start("stocktake", {"stocktake_no": "PD-1", "stocktake_type": "weekly"}, as_role="stock_accounts",
                   expect=422)


def test_stocktake_of_an_empty_ledger_books_what_was_found(scenario):
    run = begin(scenario, "stocktake")
    assert run.data()["count_sheet"] == {"lines": [], "skus": []}
    run.count(A=3)
    run.finance(True)

    run.assert_done("adjusted", [{"sku": A, "expected": 0, "counted": 3, "difference": 3}])
    assert balances(scenario) == {A: 3}
    run.assert_flows(COUNT + CONFIRMED + SMALL)


# -- contract-only clients ------------------------------------------------------------------------------------
# Only the contract names: start stocktake_no / stocktake_type, count {counts}, finance {counts_confirmed},
# supervisor {approved}; no counted_by or notes.

def contract_begin(scenario, process: str) -> Run:
    if process == "stocktake":
        started = scenario.start("stocktake", {"stocktake_no": "PD-C-1", "stocktake_type": "ad_hoc"},
                                 as_role="stock_accounts")
        assert started["status"] == "running"
        return Run(scenario, started["id"], "", "PD-C-1")
    return begin(scenario, process)


def contract_count(run: Run, **counted: int) -> None:
    assert run.open() == [run.el("Task_warehouse_count")]
    run.complete("Task_warehouse_count",
                 {"counts": [{"sku": globals()[k], "counted_qty": v} for k, v in counted.items()]})


@BOTH
def test_contract_only_small_difference_adjusted(scenario, process):
    seed(scenario, A=10, B=4)
    run = contract_begin(scenario, process)
    contract_count(run, A=9, B=4)
    assert run.open() == [run.el("Task_finance_check")]
    run.complete("Task_finance_check", {"counts_confirmed": True})

    run.assert_done("adjusted", [{"sku": A, "expected": 10, "counted": 9, "difference": -1}])
    assert balances(scenario) == {A: 9, B: 4}
    assert stocktake_rows(scenario) == [(A, -1, run.stocktake_no, run.id), (B, 0, run.stocktake_no, run.id)]
    run.assert_flows(COUNT + CONFIRMED + SMALL)


@BOTH
def test_contract_only_large_difference_recount_then_approved(scenario, process):
    seed(scenario, A=20)
    run = contract_begin(scenario, process)
    contract_count(run, A=5)
    run.complete("Task_finance_check", {"counts_confirmed": False})
    contract_count(run, A=6)
    run.complete("Task_finance_check", {"counts_confirmed": True})
    assert run.open() == [run.el("Task_supervisor_approve")]
    run.complete("Task_supervisor_approve", {"approved": False})
    contract_count(run, A=6)
    run.complete("Task_finance_check", {"counts_confirmed": True})
    run.complete("Task_supervisor_approve", {"approved": True})

    run.assert_done("adjusted", [{"sku": A, "expected": 20, "counted": 6, "difference": -14}])
    assert balances(scenario) == {A: 6}
    assert stocktake_rows(scenario) == [(A, -14, run.stocktake_no, run.id)]
    run.assert_flows(COUNT + RECOUNT_FINANCE + COUNT + CONFIRMED + LARGE + RECOUNT_SUPERVISOR
                     + COUNT + CONFIRMED + LARGE + APPROVED)


@BOTH
def test_contract_only_no_differences(scenario, process):
    seed(scenario, A=3)
    run = contract_begin(scenario, process)
    contract_count(run, A=3)
    run.complete("Task_finance_check", {"counts_confirmed": True})

    run.assert_done("no_differences", [])
    assert balances(scenario) == {A: 3}
    assert stocktake_rows(scenario) == [(A, 0, run.stocktake_no, run.id)]     # counted, nothing changed


def test_contract_only_stocktake_decisions_stay_required(scenario):
    run = contract_begin(scenario, "stocktake")
    scenario.complete(run.id, "Task_warehouse_count", {}, expect=422)
    contract_count(run, A=1)
    scenario.complete(run.id, "Task_finance_check", {}, expect=422)
    assert run.open() == ["Task_finance_check"]
