"""Scenario tests of the daily 14:00 report (daily_report) and the weekly report (weekly_report).

Both start by timer start events only; the frozen test clock starts on Monday 2026-11-02 09:00 UTC
(17:00 Beijing), so the first daily tick is Tuesday 2026-11-03 06:00 UTC (14:00 Beijing) and the first
weekly tick Friday 2026-11-06 01:00 UTC (09:00 Beijing).
"""
from __future__ import annotations

from datetime import datetime

import pytest


PROCESSES = ("daily_report", "weekly_report")


@pytest.fixture
def scenario(scenario_only):
    """Only this file's process(es) deployed: other processes' start timers stay out of the counts."""
    return scenario_only(*PROCESSES)


# -- helpers ---------------------------------------------------------------------------------------

def instances(scenario, process_id: str) -> list[dict]:
    """Instances of ``process_id``, oldest first."""
    response = scenario.client.get(f"/api/v1/instances?process_id={process_id}&limit=100",
                                   headers=scenario.headers("admin"))
    assert response.status_code == 200, response.get_json()
    return sorted(response.get_json(), key=lambda i: i["id"])


def start_daily(scenario) -> int:
    """Let the next 14:00 Beijing tick start a daily report; returns its instance id."""
    before = {i["id"] for i in instances(scenario, "daily_report")}
    scenario.advance_to(datetime(2026, 11, 3, 6, 0))
    new = [i for i in instances(scenario, "daily_report") if i["id"] not in before]
    assert len(new) == 1
    return new[0]["id"]


PREPARE = {"order_count": 10, "total_amount": "1280.50",
           "order_nos": [f"D-{n}" for n in range(1, 11)], "prepare_note": "顺丰 3 单"}


# -- daily report: the timer start -------------------------------------------------------------------

def test_daily_report_starts_at_14h_beijing_each_day_and_not_before(scenario):
    scenario.advance_to(datetime(2026, 11, 3, 5, 59))
    assert instances(scenario, "daily_report") == []

    scenario.advance_to(datetime(2026, 11, 3, 6, 0))  # 14:00 Beijing
    first, = instances(scenario, "daily_report")
    assert first["started_at"] == "2026-11-03T06:00:00+00:00" and first["started_by"] == "system"
    assert first["data"] == {"report_date": "2026-11-03", "corrections": 0, "shipped_count": 0,
                             "unshipped_orders": []}
    assert scenario.open_elements(first["id"]) == ["Task_order_clerk_prepare_report"]
    fired, = scenario.events(first["id"], "timer_fired")
    assert fired["element_id"] == "StartEvent_daily_14h" and fired["data"]["kind"] == "start"
    assert fired["data"]["due_at"] == "2026-11-03T06:00:00"

    scenario.advance_to(datetime(2026, 11, 4, 5, 59, 59))
    assert len(instances(scenario, "daily_report")) == 1
    scenario.advance_to(datetime(2026, 11, 4, 6, 0))
    both = instances(scenario, "daily_report")
    assert [i["started_at"] for i in both] == ["2026-11-03T06:00:00+00:00", "2026-11-04T06:00:00+00:00"]


def test_daily_report_two_days_of_downtime_fire_once(scenario):
    start_daily(scenario)  # Tuesday 14:00 Beijing
    # The worker is down from Tuesday 14:00 until Thursday 17:00 Beijing: the Wednesday and
    # Thursday ticks were missed; the first tick after the downtime starts one report, not two.
    scenario.advance_to(datetime(2026, 11, 5, 9, 0))
    reports = instances(scenario, "daily_report")
    assert len(reports) == 2
    late = reports[-1]
    assert late["started_at"] == "2026-11-05T09:00:00+00:00"
    fired, = scenario.events(late["id"], "timer_fired")
    assert fired["data"]["due_at"] == "2026-11-04T06:00:00" and fired["data"]["late_seconds"] == 27 * 3600
    assert late["data"]["report_date"] == "2026-11-05"  # the day it runs
    # Another tick the same evening starts nothing; the next report is Friday 14:00 Beijing.
    scenario.advance_to(datetime(2026, 11, 6, 5, 59))
    assert len(instances(scenario, "daily_report")) == 2
    scenario.advance_to(datetime(2026, 11, 6, 6, 0))
    assert [i["started_at"] for i in instances(scenario, "daily_report")][-1] == "2026-11-06T06:00:00+00:00"


# -- daily report: the paths ----------------------------------------------------------------------

def test_daily_report_orders_shipped_and_filed(scenario):
    iid = start_daily(scenario)
    scenario.complete(iid, "Task_order_clerk_prepare_report", PREPARE)
    assert scenario.open_elements(iid) == ["Task_warehouse_ship"]
    assert scenario.task(iid, "Task_warehouse_ship")["role"] == "warehouse"
    scenario.complete(iid, "Task_warehouse_ship", {"shipped_count": 10, "accessories_checked": True,
                                                   "outbound_stamped": True})
    assert scenario.open_elements(iid) == ["Task_supervisor_review"]
    assert scenario.task(iid, "Task_supervisor_review")["role"] == "supervisor"
    scenario.complete(iid, "Task_supervisor_review", {"report_ok": True})

    done = scenario.instance(iid)
    assert done["status"] == "completed"
    data = done["data"]
    assert data["outcome"] == "filed"
    assert data["report_date"] == "2026-11-03" and data["order_count"] == 10 and data["total_amount"] == 1280.5
    assert data["shipped_count"] == 10 and data["unshipped_count"] == 0 and data["all_shipped"] is True
    assert data["corrections"] == 0
    assert scenario.path(iid) == ["Task_order_clerk_prepare_report", "Task_warehouse_ship", "Task_supervisor_review"]
    assert scenario.gateway_flows(iid, "Gateway_has_orders") == [["Flow_has_orders"]]
    assert scenario.gateway_flows(iid, "Gateway_report_ok") == [["Flow_report_ok"]]
    assert scenario.event_types(iid)[-1] == "instance_completed"


def test_daily_report_without_orders_goes_straight_to_the_manager(scenario):
    iid = start_daily(scenario)
    scenario.complete(iid, "Task_order_clerk_prepare_report",
                      {"order_count": 0, "total_amount": "0"})
    assert scenario.open_elements(iid) == ["Task_supervisor_review"]
    scenario.complete(iid, "Task_supervisor_review", {"report_ok": True, "review_comment": "今日无单"})

    data = scenario.data(iid)
    assert scenario.instance(iid)["status"] == "completed"
    assert data["outcome"] == "filed" and data["order_count"] == 0 and data["shipped_count"] == 0
    assert data["unshipped_count"] == 0 and data["all_shipped"] is True and data["corrections"] == 0
    assert scenario.path(iid) == ["Task_order_clerk_prepare_report", "Task_supervisor_review"]
    assert scenario.gateway_flows(iid, "Gateway_has_orders") == [["Flow_no_orders"]]


def test_daily_report_sent_back_for_correction(scenario):
    iid = start_daily(scenario)
    scenario.complete(iid, "Task_order_clerk_prepare_report", PREPARE)
    scenario.complete(iid, "Task_warehouse_ship", {
        "shipped_count": 9, "accessories_checked": True, "outbound_stamped": True,
        "unshipped_orders": [{"order_no": "D-10", "reason": "缺货"}]})
    assert scenario.data(iid)["unshipped_count"] == 1 and scenario.data(iid)["all_shipped"] is False
    scenario.complete(iid, "Task_supervisor_review", {"report_ok": False, "review_comment": "D-7 也未发出"})
    assert scenario.open_elements(iid) == ["Task_order_clerk_correct"]
    scenario.complete(iid, "Task_order_clerk_correct", {
        "order_count": 10, "total_amount": "1280.50", "shipped_count": 8, "correction_note": "D-7 地址待确认",
        "unshipped_orders": [{"order_no": "D-7", "reason": "地址待确认"}, {"order_no": "D-10", "reason": "缺货"}]})
    assert scenario.open_elements(iid) == ["Task_supervisor_review"]
    scenario.complete(iid, "Task_supervisor_review", {"report_ok": True})

    data = scenario.data(iid)
    assert scenario.instance(iid)["status"] == "completed"
    assert data["outcome"] == "filed" and data["corrections"] == 1
    assert data["shipped_count"] == 8 and data["unshipped_count"] == 2 and data["all_shipped"] is False
    assert [o["order_no"] for o in data["unshipped_orders"]] == ["D-7", "D-10"]
    assert scenario.path(iid) == ["Task_order_clerk_prepare_report", "Task_warehouse_ship", "Task_supervisor_review",
                                  "Task_order_clerk_correct", "Task_supervisor_review"]
    assert scenario.gateway_flows(iid, "Gateway_report_ok") == [["Flow_report_not_ok"], ["Flow_report_ok"]]


# -- weekly report ------------------------------------------------------------------------------------

FRIDAY_9H = datetime(2026, 11, 6, 1, 0)  # Friday 09:00 Beijing


def report(followed: int = 12) -> dict:
    return {"customers_followed": followed,
            "key_customers": [{"customer": "ACME 贸易", "status": "已报价，等待样品确认"}],
            "quotes_and_samples": "报价 3 份，电子样本 2 份", "summary": "本周跟进 12 家客户",
            "next_week_plan": "跟进 ACME 样品"}


def start_weekly(scenario) -> int:
    scenario.advance_to(FRIDAY_9H)
    started = instances(scenario, "weekly_report")
    assert len(started) == 1
    return started[0]["id"]


def due_dates(scenario, instance_id: int) -> dict:
    return {t["element_id"]: t["due_at"] for t in scenario.open_tasks(instance_id)}


def test_weekly_report_starts_on_friday_and_not_before(scenario):
    scenario.advance_to(datetime(2026, 11, 6, 0, 59))  # Friday 08:59 Beijing
    assert instances(scenario, "weekly_report") == []
    iid = start_weekly(scenario)
    started = scenario.instance(iid)
    assert started["started_at"] == "2026-11-06T01:00:00+00:00" and started["started_by"] == "system"
    assert datetime.fromisoformat(started["started_at"]).weekday() == 4  # Friday (UTC and Beijing)
    assert due_dates(scenario, iid) == {"Task_domestic_report": "2026-11-06T10:00:00+00:00",       # Friday 18:00 Beijing
                                        "Task_foreign_trade_report": "2026-11-07T10:00:00+00:00"}  # Saturday 18:00
    assert {t["role"] for t in scenario.open_tasks(iid)} == {"presales_cs"}
    assert started["data"] == {"week_ending": "2026-11-06", "domestic_due": "2026-11-06T18:00:00+08:00",
                               "foreign_trade_due": "2026-11-07T18:00:00+08:00",
                               "domestic_late": False, "foreign_trade_late": False}
    fired, = scenario.events(iid, "timer_fired")
    assert fired["element_id"] == "StartEvent_weekly_friday" and fired["data"]["kind"] == "start"

    scenario.advance_to(datetime(2026, 11, 13, 0, 59))
    assert len(instances(scenario, "weekly_report")) == 1
    scenario.advance_to(datetime(2026, 11, 13, 1, 0))  # the next Friday
    assert [i["started_at"] for i in instances(scenario, "weekly_report")] == ["2026-11-06T01:00:00+00:00",
                                                                               "2026-11-13T01:00:00+00:00"]


def test_weekly_report_started_late_keeps_the_real_deadlines(scenario):
    # The worker is down from Friday morning until Saturday 12:00 Beijing: the Friday tick fires once,
    # late; the week is still the week of Friday 2026-11-06 and the domestic report is already overdue.
    scenario.advance_to(datetime(2026, 11, 7, 4, 0))
    iid, = [i["id"] for i in instances(scenario, "weekly_report")]
    data = scenario.data(iid)
    assert data["week_ending"] == "2026-11-06" and data["domestic_due"] == "2026-11-06T18:00:00+08:00"
    scenario.advance(seconds=1)  # the next worker tick fires the overdue deadline
    assert scenario.open_elements(iid) == ["Task_domestic_late_report", "Task_foreign_trade_report",
                                           "Task_supervisor_urge_domestic"]
    assert due_dates(scenario, iid)["Task_foreign_trade_report"] == "2026-11-07T10:00:00+00:00"
    assert scenario.data(iid)["domestic_late"] is True


def test_weekly_reports_on_time_reviewed(scenario):
    iid = start_weekly(scenario)
    scenario.advance(hours=8)  # Friday 17:00 Beijing
    scenario.complete(iid, "Task_domestic_report", {"domestic_report": report()})
    assert scenario.open_elements(iid) == ["Task_foreign_trade_report", "Task_supervisor_review_domestic"]
    scenario.complete(iid, "Task_supervisor_review_domestic", {"domestic_review_comment": "收到"})
    scenario.advance(hours=24)  # Saturday 17:00 Beijing
    scenario.complete(iid, "Task_foreign_trade_report", {"foreign_trade_report": report(followed=31)})
    scenario.complete(iid, "Task_supervisor_review_foreign_trade", {})

    done = scenario.instance(iid)
    assert done["status"] == "completed"
    data = done["data"]
    assert data["outcome"] == "reviewed"
    assert data["domestic_late"] is False and data["foreign_trade_late"] is False
    assert data["domestic_report"]["customers_followed"] == 12
    assert data["foreign_trade_report"]["customers_followed"] == 31
    assert data["domestic_review_comment"] == "收到"
    assert scenario.path(iid) == ["Task_domestic_report", "Task_supervisor_review_domestic",
                                  "Task_foreign_trade_report", "Task_supervisor_review_foreign_trade"]
    assert scenario.events(iid, "timer_fired")[1:] == []
    assert {e["element_id"] for e in scenario.events(iid, "timer_cancelled")} == {
        "Boundary_domestic_deadline", "Boundary_foreign_trade_deadline"}


def test_weekly_domestic_report_late_on_friday_is_escalated(scenario):
    iid = start_weekly(scenario)
    scenario.advance(hours=8, minutes=59)
    assert "Task_domestic_report" in scenario.open_elements(iid)
    scenario.advance_to(datetime(2026, 11, 6, 10, 0))  # Friday 18:00 Beijing
    assert scenario.open_elements(iid) == ["Task_domestic_late_report", "Task_foreign_trade_report",
                                           "Task_supervisor_urge_domestic"]
    assert scenario.task(iid, "Task_supervisor_urge_domestic")["role"] == "supervisor"
    late, = [e for e in scenario.events(iid, "timer_fired") if e["element_id"] == "Boundary_domestic_deadline"]
    assert late["data"]["due_at"] == "2026-11-06T10:00:00"
    scenario.complete(iid, "Task_supervisor_urge_domestic")
    scenario.complete(iid, "Task_domestic_late_report", {"domestic_report": report(),
                                                          "domestic_late_reason": "周五出差"})
    scenario.complete(iid, "Task_supervisor_review_domestic", {})
    scenario.complete(iid, "Task_foreign_trade_report", {"foreign_trade_report": report()})
    scenario.complete(iid, "Task_supervisor_review_foreign_trade", {})

    data = scenario.data(iid)
    assert scenario.instance(iid)["status"] == "completed"
    assert data["outcome"] == "reviewed"
    assert data["domestic_late"] is True and data["foreign_trade_late"] is False
    assert data["domestic_late_reason"] == "周五出差"
    assert scenario.path(iid) == ["Task_supervisor_urge_domestic", "Task_domestic_late_report",
                                  "Task_supervisor_review_domestic", "Task_foreign_trade_report",
                                  "Task_supervisor_review_foreign_trade"]


def test_weekly_foreign_trade_report_late_on_saturday_is_escalated(scenario):
    iid = start_weekly(scenario)
    scenario.advance(hours=2)
    scenario.complete(iid, "Task_domestic_report", {"domestic_report": report()})
    scenario.advance_to(datetime(2026, 11, 6, 10, 0))  # Friday 18:00: the foreign-trade report is not due yet
    assert scenario.open_elements(iid) == ["Task_foreign_trade_report", "Task_supervisor_review_domestic"]
    scenario.advance_to(datetime(2026, 11, 7, 10, 0))  # Saturday 18:00 Beijing
    assert scenario.open_elements(iid) == ["Task_foreign_trade_late_report", "Task_supervisor_review_domestic",
                                           "Task_supervisor_urge_foreign_trade"]
    scenario.complete(iid, "Task_foreign_trade_late_report", {"foreign_trade_report": report(),
                                                              "foreign_trade_late_reason": "客户展会"})
    scenario.complete(iid, "Task_supervisor_review_foreign_trade", {"foreign_trade_review_comment": "下周按时"})
    scenario.complete(iid, "Task_supervisor_review_domestic", {})
    assert scenario.instance(iid)["status"] == "running"  # the manager has not yet urged
    scenario.complete(iid, "Task_supervisor_urge_foreign_trade")

    data = scenario.data(iid)
    assert scenario.instance(iid)["status"] == "completed"
    assert data["outcome"] == "reviewed"
    assert data["domestic_late"] is False and data["foreign_trade_late"] is True
    assert data["foreign_trade_late_reason"] == "客户展会"
    fired = [e["element_id"] for e in scenario.events(iid, "timer_fired")]
    assert fired == ["StartEvent_weekly_friday", "Boundary_foreign_trade_deadline"]
    assert scenario.path(iid) == ["Task_domestic_report", "Task_foreign_trade_late_report",
                                  "Task_supervisor_review_foreign_trade", "Task_supervisor_review_domestic",
                                  "Task_supervisor_urge_foreign_trade"]
