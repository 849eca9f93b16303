"""BPMN timers and deadlines (issue 3): boundary timers, due dates, catch events, event gateways,
timer start events, and the worker's exactly-once firing with leases.

No test sleeps: the ``clock`` fixture is moved and the worker is run by hand
(``scheduler.tick`` / ``runtime.fire_due_timers``).
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from conftest import DATA
from engine import runtime, scheduler, timers, users
from engine.models import HistoryEvent, HumanTask, Instance, Timer

API = "/api/v1"
T0 = datetime(2026, 11, 2, 9, 0)  # the frozen clock's start (a Monday), UTC


# -- helpers ------------------------------------------------------------------------------------

@pytest.fixture
def database(app):
    return app.extensions["liucheng_db"]


@pytest.fixture
def people(make_user):
    """wang: warehouse; chen: aftersales_cs; zhao: supervisor; root: admin; shop: integrator."""
    for name, role in [("wang", "warehouse"), ("chen", "aftersales_cs"), ("zhao", "supervisor"),
                       ("root", "admin"), ("shop", "integrator")]:
        make_user(name, role)


@pytest.fixture
def start(api, people, clock):
    """``start("timers_interrupting", {"order_no": "A1"})`` → the instance (JSON), started by root."""
    def run(process_id: str, data: dict | None = None) -> dict:
        response = api("post", "/instances", json={"process_id": process_id, "data": data or {}})
        assert response.status_code == 201, response.json
        return response.json
    return run


def instance(api, instance_id: int) -> dict:
    response = api("get", f"/instances/{instance_id}")
    assert response.status_code == 200, response.json
    return response.json


def open_tasks(api, instance_id: int) -> dict[str, dict]:
    return {t["element_id"]: t for t in instance(api, instance_id)["open_tasks"]}


def history(api, instance_id: int, *types: str) -> list[dict]:
    events = api("get", f"/instances/{instance_id}/history").json
    return [e for e in events if not types or e["type"] in types]


def complete(api, task: dict, user: str, data: dict | None = None, expect: int = 200):
    if task["status"] == "open":
        claimed = api("post", f"/tasks/{task['id']}/claim", user)
        assert claimed.status_code == 200, claimed.json
    response = api("post", f"/tasks/{task['id']}/complete", user, json={"data": data or {}})
    assert response.status_code == expect, response.json
    return response


def timer_rows(database, instance_id: int | None = None, **where) -> list[Timer]:
    with database.session() as session:
        query = select(Timer).order_by(Timer.due_at, Timer.id)
        if instance_id is not None:
            query = query.where(Timer.instance_id == instance_id)
        for column, value in where.items():
            query = query.where(getattr(Timer, column) == value)
        return list(session.scalars(query))


def count_events(database, type_: str, instance_id: int | None = None) -> int:
    with database.session() as session:
        query = select(func.count()).select_from(HistoryEvent).where(HistoryEvent.type == type_)
        if instance_id is not None:
            query = query.where(HistoryEvent.instance_id == instance_id)
        return session.scalar(query)


def iso(value: datetime) -> str:
    return value.isoformat() + "+00:00"  # the API writes UTC with its offset


# -- boundary timers on user tasks ------------------------------------------------------------------

def test_interrupting_boundary_timer_cancels_the_task_and_the_flow_continues(api, deploy, start, clock, database):
    deploy(DATA / "timers_interrupting.bpmn")
    started = start("timers_interrupting", {"order_no": "A1"})
    iid = started["id"]
    (row,) = timer_rows(database, iid)
    assert (row.element_id, row.kind, row.attached_to, row.status, row.due_at) == \
        ("Timer_deadline", "boundary", "Task_review", "waiting", T0 + timedelta(hours=24))
    (scheduled,) = history(api, iid, "timer_scheduled")
    assert scheduled["element_id"] == "Timer_deadline"
    assert scheduled["data"]["due_at"].startswith("2026-11-03T09:00:00")

    clock.advance(hours=23, minutes=59)
    assert scheduler.tick(database) == 0
    assert set(open_tasks(api, iid)) == {"Task_review"}

    clock.advance(minutes=1, seconds=30)  # the worker comes 30 s after the due time
    assert scheduler.tick(database) == 1
    view = instance(api, iid)
    assert view["status"] == "running"
    assert [t["element_id"] for t in view["open_tasks"]] == ["Task_escalate"]
    assert view["open_tasks"][0]["role"] == "supervisor"
    (fired,) = history(api, iid, "timer_fired")
    assert fired["element_id"] == "Timer_deadline" and fired["actor"] == "system"
    assert fired["data"]["late_seconds"] == 30
    cancelled = history(api, iid, "task_cancelled")
    assert [e["element_id"] for e in cancelled] == ["Task_review"]
    assert history(api, iid, "timer_cancelled") == []  # fired, not cancelled
    assert timer_rows(database, iid) == []
    with database.session() as session:
        review = session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                        HumanTask.element_id == "Task_review"))
        assert review.status == "cancelled"

    complete(api, open_tasks(api, iid)["Task_escalate"], "zhao")
    assert instance(api, iid)["status"] == "completed"
    assert scheduler.tick(database) == 0


def test_completing_the_task_first_deletes_the_timer_and_records_timer_cancelled(api, deploy, start, clock,
                                                                                  database):
    deploy(DATA / "timers_interrupting.bpmn")
    iid = start("timers_interrupting")["id"]
    clock.advance(hours=2)
    complete(api, open_tasks(api, iid)["Task_review"], "wang")
    assert instance(api, iid)["status"] == "completed"
    assert timer_rows(database, iid) == []
    (cancelled,) = history(api, iid, "timer_cancelled")
    assert cancelled["element_id"] == "Timer_deadline"
    clock.advance(days=2)
    assert scheduler.tick(database) == 0
    assert history(api, iid, "timer_fired") == []


def test_cancelling_the_instance_deletes_its_timers(api, deploy, start, clock, database):
    deploy(DATA / "timers_reminder.bpmn")
    iid = start("timers_reminder")["id"]
    assert len(timer_rows(database, iid)) == 2
    response = api("post", f"/instances/{iid}/cancel", json={"reason": "客户撤单"})
    assert response.status_code == 200, response.json
    assert timer_rows(database, iid) == []
    cancelled = history(api, iid, "timer_cancelled")
    assert sorted(e["element_id"] for e in cancelled) == ["Timer_deadline", "Timer_remind"]
    assert {e["actor"] for e in cancelled} == {"root"}
    clock.advance(days=5)
    assert scheduler.tick(database) == 0
    assert instance(api, iid)["status"] == "cancelled"


def test_non_interrupting_timer_creates_a_reminder_for_the_supervisor_and_keeps_the_task(api, deploy, start,
                                                                                       clock, database):
    deploy(DATA / "timers_reminder.bpmn")
    iid = start("timers_reminder")["id"]
    inspect = open_tasks(api, iid)["Task_inspect"]
    assert inspect["due_at"] == iso(T0 + timedelta(hours=12))  # the earliest of PT12H and P3D

    clock.advance(hours=12)
    assert scheduler.tick(database) == 1
    tasks = open_tasks(api, iid)
    assert set(tasks) == {"Task_inspect", "Task_remind"}
    assert tasks["Task_inspect"]["id"] == inspect["id"]  # the same task, still open
    assert tasks["Task_remind"]["role"] == "supervisor"
    # the reminder has fired; the task stays due (and overdue) at its earliest deadline, it does not
    # move on to the later interrupting one
    assert tasks["Task_inspect"]["due_at"] == iso(T0 + timedelta(hours=12))
    assert [r.element_id for r in timer_rows(database, iid)] == ["Timer_deadline"]
    assert [e["data"]["late_seconds"] for e in history(api, iid, "timer_fired")] == [0]

    zhao_sees = api("get", "/tasks?scope=claimable", "zhao").json
    assert [t["element_id"] for t in zhao_sees] == ["Task_remind"]
    complete(api, tasks["Task_remind"], "zhao")
    assert set(open_tasks(api, iid)) == {"Task_inspect"}
    assert scheduler.tick(database) == 0  # a non-interrupting duration timer fires once
    complete(api, open_tasks(api, iid)["Task_inspect"], "wang")
    assert instance(api, iid)["status"] == "completed"
    assert timer_rows(database, iid) == []
    assert [e["element_id"] for e in history(api, iid, "timer_cancelled")] == ["Timer_deadline"]


def test_due_at_filters_overdue_and_due_before(api, deploy, start, clock, database):
    deploy(DATA / "timers_reminder.bpmn", DATA / "timers_interrupting.bpmn")
    reminded = start("timers_reminder")["id"]        # due in 12 h
    clock.advance(hours=1)
    deadline = start("timers_interrupting")["id"]    # due in 24 h from 10:00
    reminder_task = open_tasks(api, reminded)["Task_inspect"]
    review_task = open_tasks(api, deadline)["Task_review"]
    assert review_task["due_at"] == iso(T0 + timedelta(hours=25))

    def listed(query: str, user: str = "zhao") -> list[int]:
        response = api("get", f"/tasks?scope=all&{query}", user)
        assert response.status_code == 200, response.json
        return [t["id"] for t in response.json]

    assert listed("overdue=true") == []
    assert listed("due_before=2026-11-02T21:00:01") == [reminder_task["id"]]
    assert listed("due_before=2026-11-04T00:00:00") == [reminder_task["id"], review_task["id"]]
    assert listed("due_before=2026-11-02T20:00:00") == []

    clock.advance(hours=11, seconds=1)  # 21:00:01: the reminder task is past its due time, no worker ran
    assert listed("overdue=true") == [reminder_task["id"]]
    assert listed("overdue=true", "wang") == [reminder_task["id"]]  # warehouse sees its own role's task
    clock.advance(hours=13)
    assert listed("overdue=true") == [reminder_task["id"], review_task["id"]]
    assert listed("overdue=false") == listed("") != []


def test_time_date_boundary_timer_fires_at_that_date(api, deploy, start, clock, database):
    deploy(DATA / "timers_date.bpmn")
    iid = start("timers_date")["id"]
    cutoff = datetime(2026, 11, 3, 6, 0)  # 14:00 +08:00
    (row,) = timer_rows(database, iid)
    assert row.due_at == cutoff
    assert open_tasks(api, iid)["Task_count"]["due_at"] == iso(cutoff)
    clock.current = cutoff - timedelta(seconds=1)
    assert scheduler.tick(database) == 0
    clock.current = cutoff
    assert scheduler.tick(database) == 1
    view = instance(api, iid)
    assert view["status"] == "completed" and view["open_tasks"] == []
    assert [e["element_id"] for e in history(api, iid, "task_cancelled")] == ["Task_count"]
    assert history(api, iid, "timer_fired")[0]["data"]["late_seconds"] == 0


def test_boundary_timer_on_a_subprocess_cancels_the_work_inside(api, deploy, start, clock, database):
    deploy(DATA / "timers_subprocess.bpmn")
    iid = start("timers_subprocess")["id"]
    (row,) = timer_rows(database, iid)
    assert (row.element_id, row.attached_to, row.due_at) == ("Timer_pack_deadline", "SubProcess_pack",
                                                             T0 + timedelta(hours=8))
    clock.advance(hours=1)
    complete(api, open_tasks(api, iid)["Task_pack"], "wang")
    assert set(open_tasks(api, iid)) == {"Task_label"}
    assert [r.element_id for r in timer_rows(database, iid)] == ["Timer_pack_deadline"]  # still the same scope
    clock.advance(hours=7)
    assert scheduler.tick(database) == 1
    assert set(open_tasks(api, iid)) == {"Task_escalate"}
    assert [e["element_id"] for e in history(api, iid, "task_cancelled")] == ["Task_label"]
    assert timer_rows(database, iid) == []


def test_subprocess_finished_in_time_cancels_its_boundary_timer(api, deploy, start, clock, database):
    deploy(DATA / "timers_subprocess.bpmn")
    iid = start("timers_subprocess")["id"]
    complete(api, open_tasks(api, iid)["Task_pack"], "wang")
    complete(api, open_tasks(api, iid)["Task_label"], "wang")
    assert instance(api, iid)["status"] == "completed"
    assert timer_rows(database, iid) == []
    assert [e["element_id"] for e in history(api, iid, "timer_cancelled")] == ["Timer_pack_deadline"]


# -- intermediate timer catch events ----------------------------------------------------------------

def test_intermediate_timer_catch_events_with_duration_and_date(api, deploy, start, clock, database):
    deploy(DATA / "timers_catch.bpmn")
    iid = start("timers_catch", {"order_no": "A7"})["id"]
    view = instance(api, iid)
    assert view["status"] == "running" and view["open_tasks"] == []
    (row,) = timer_rows(database, iid)
    assert (row.element_id, row.kind, row.due_at) == ("Catch_three_hours", "catch", T0 + timedelta(hours=3))

    clock.advance(hours=2)
    assert scheduler.tick(database) == 0
    clock.advance(hours=1)
    assert scheduler.tick(database) == 1
    call_back = open_tasks(api, iid)["Task_call_back"]
    assert call_back["due_at"] is None  # no timer is attached to it

    complete(api, call_back, "chen")
    (row,) = timer_rows(database, iid)
    assert (row.element_id, row.due_at) == ("Catch_until_date", datetime(2026, 11, 5, 6, 0))
    clock.current = datetime(2026, 11, 6, 6, 0)  # the worker was down for a day
    assert scheduler.tick(database) == 1
    assert instance(api, iid)["status"] == "completed"
    fired = history(api, iid, "timer_fired")
    assert [(e["element_id"], e["data"]["late_seconds"]) for e in fired] == \
        [("Catch_three_hours", 0), ("Catch_until_date", 86400)]
    assert instance(api, iid)["data"]["order_no"] == "A7"


# -- event-based gateway ----------------------------------------------------------------------------

def test_event_gateway_timer_branch_wins_when_no_message_comes(api, deploy, start, clock, database):
    deploy(DATA / "timers_race.bpmn")
    iid = start("timers_race", {"order_no": "P-1"})["id"]
    (row,) = timer_rows(database, iid)
    assert (row.kind, row.due_at) == ("catch", T0 + timedelta(hours=48))
    clock.advance(hours=48)
    assert scheduler.tick(database) == 1
    assert set(open_tasks(api, iid)) == {"Task_chase"}
    # the message branch is gone: a late parcel message is kept, not delivered
    reply = api("post", "/messages", "shop", json={"name": "parcel_arrived", "correlation": {"order_no": "P-1"}})
    assert reply.status_code == 202 and reply.json["status"] == "kept"
    assert set(open_tasks(api, iid)) == {"Task_chase"}
    assert len(history(api, iid, "timer_fired")) == 1


def test_event_gateway_timer_history_names_the_timer_catch_event(api, deploy, start, clock, database):
    deploy(DATA / "timers_race.bpmn")
    iid = start("timers_race", {"order_no": "P-1"})["id"]
    assert [r.element_id for r in timer_rows(database, iid)] == ["Catch_timeout"]
    clock.advance(hours=48)
    assert scheduler.tick(database) == 1
    assert [e["element_id"] for e in history(api, iid, "timer_scheduled", "timer_fired")] == \
        ["Catch_timeout", "Catch_timeout"]


def test_event_gateway_message_branch_wins_and_cancels_the_timer(api, deploy, start, clock, database):
    deploy(DATA / "timers_race.bpmn")
    iid = start("timers_race", {"order_no": "P-2"})["id"]
    other = start("timers_race", {"order_no": "P-3"})["id"]
    clock.advance(hours=5)
    reply = api("post", "/messages", "shop", json={"name": "parcel_arrived", "correlation": {"order_no": "P-2"},
                                                   "data": {"carrier": "SF"}})
    assert reply.status_code == 200 and reply.json["status"] == "delivered"
    assert reply.json["instance_ids"] == [iid]
    assert set(open_tasks(api, iid)) == {"Task_unpack"}
    assert instance(api, iid)["data"]["carrier"] == "SF"
    assert timer_rows(database, iid) == []
    assert len(history(api, iid, "timer_cancelled")) == 1
    assert len(history(api, iid, "message_correlated")) == 1
    clock.advance(hours=48)
    assert scheduler.tick(database) == 1  # only the other instance's timer
    assert history(api, iid, "timer_fired") == []
    assert set(open_tasks(api, iid)) == {"Task_unpack"}
    assert set(open_tasks(api, other)) == {"Task_chase"}


# -- timer start events --------------------------------------------------------------------------------

def start_timer_rows(database) -> list[Timer]:
    """The timer start events of deployed definitions (rows not belonging to an instance)."""
    with database.session() as session:
        return list(session.scalars(select(Timer).where(Timer.instance_id.is_(None)).order_by(Timer.id)))


def batch_instances(database) -> list[Instance]:
    with database.session() as session:
        return list(session.scalars(select(Instance).where(Instance.process_id == "timers_batch")
                                    .order_by(Instance.id)))


def test_cycle_start_timer_starts_a_new_instance_per_tick(api, deploy, people, clock, database):
    deploy(DATA / "timers_cycle.bpmn")
    (row,) = start_timer_rows(database)
    assert row.instance_id is None and row.process_id == "timers_batch"
    assert row.due_at == datetime(2026, 11, 3, 6, 0)  # the next 14:00 Beijing time after 09:00 UTC
    assert scheduler.tick(database) == 0 and batch_instances(database) == []

    clock.current = datetime(2026, 11, 3, 6, 0)
    assert scheduler.tick(database) == 1
    assert scheduler.tick(database) == 0  # the same tick never starts two instances
    (first,) = batch_instances(database)
    assert first.status == "running" and first.started_by == "system"
    assert set(open_tasks(api, first.id)) == {"Task_batch"}
    (row,) = start_timer_rows(database)
    assert row.due_at == datetime(2026, 11, 4, 6, 0)
    (fired,) = history(api, first.id, "timer_fired")
    assert fired["element_id"] == "StartEvent_tick" and fired["data"]["late_seconds"] == 0

    clock.current = datetime(2026, 11, 4, 6, 0, 5)
    assert scheduler.tick(database) == 1
    instances = batch_instances(database)
    assert len(instances) == 2
    assert all(set(open_tasks(api, i.id)) == {"Task_batch"} for i in instances)
    # completing the first day's instance leaves the second alone and starts nothing
    complete(api, open_tasks(api, first.id)["Task_batch"], "wang")
    assert [i.status for i in batch_instances(database)] == ["completed", "running"]
    assert [len(open_tasks(api, i.id)) for i in batch_instances(database)] == [0, 1]


def test_an_instance_started_by_a_cycle_timer_waits_for_no_timer_itself(api, deploy, people, clock, database):
    deploy(DATA / "timers_cycle.bpmn")
    clock.current = datetime(2026, 11, 3, 6, 0)
    assert scheduler.tick(database) == 1
    (first,) = batch_instances(database)
    assert set(open_tasks(api, first.id)) == {"Task_batch"}
    assert timer_rows(database, first.id) == []
    assert history(api, first.id, "timer_scheduled") == []
    clock.current = datetime(2026, 11, 4, 6, 0)
    assert scheduler.tick(database) == 1  # only the definition's start timer: one new instance
    assert len(history(api, first.id, "timer_fired")) == 1


def test_a_worker_down_for_three_days_starts_one_instance_and_records_how_late(api, deploy, people, clock,
                                                                             database):
    deploy(DATA / "timers_cycle.bpmn")
    clock.current = datetime(2026, 11, 6, 7, 30)  # due 3, 4, 5 and 6 Nov at 06:00; the worker was down
    assert scheduler.tick(database) == 1
    assert scheduler.tick(database) == 0
    (only,) = batch_instances(database)
    (fired,) = history(api, only.id, "timer_fired")
    assert fired["data"]["late_seconds"] == 3 * 86400 + 90 * 60
    assert fired["data"]["due_at"].startswith("2026-11-03T06:00:00")
    (row,) = start_timer_rows(database)
    assert row.due_at == datetime(2026, 11, 7, 6, 0)  # the next tick in the future, not the missed ones


def test_a_new_version_replaces_the_start_timers(api, deploy, people, clock, database):
    deploy(DATA / "timers_cycle.bpmn")
    (old,) = start_timer_rows(database)
    deployed = deploy(DATA / "timers_cycle_v2.bpmn")
    assert deployed[0].version == 2 and deployed[0].created
    (new,) = start_timer_rows(database)
    assert new.definition_id != old.definition_id and new.due_at == datetime(2026, 11, 6, 9, 0)  # Fri 17:00+08
    clock.current = datetime(2026, 11, 5, 6, 0)  # the daily 14:00 of version 1 is gone
    assert scheduler.tick(database) == 0
    clock.current = datetime(2026, 11, 6, 9, 0)
    assert scheduler.tick(database) == 1
    (started,) = batch_instances(database)
    assert started.version == 2
    (row,) = start_timer_rows(database)
    assert row.due_at == datetime(2026, 11, 13, 9, 0)
    # deploying the same content again changes nothing
    assert deploy(DATA / "timers_cycle_v2.bpmn")[0].created is False
    assert [r.id for r in start_timer_rows(database)] == [row.id]


# -- the worker: exactly once, leases -----------------------------------------------------------------

def test_repeated_ticks_never_fire_a_timer_twice(api, deploy, start, clock, database):
    deploy(DATA / "timers_interrupting.bpmn")
    ids = [start("timers_interrupting", {"order_no": f"A{n}"})["id"] for n in range(5)]
    clock.advance(hours=30)
    assert scheduler.tick(database, "worker-a") == 5
    for _ in range(3):
        assert scheduler.tick(database, "worker-a") == 0
        assert scheduler.tick(database, "worker-b") == 0
        assert runtime.fire_due_timers(database, "worker-c", clock.now() + timedelta(hours=1)) == 0
    for iid in ids:
        assert count_events(database, "timer_fired", iid) == 1
        assert set(open_tasks(api, iid)) == {"Task_escalate"}
        assert [e["data"]["late_seconds"] for e in history(api, iid, "timer_fired")] == [6 * 3600]


def test_a_lease_held_by_a_dead_worker_expires_and_another_worker_fires_once(api, deploy, start, clock,
                                                                             database):
    deploy(DATA / "timers_interrupting.bpmn")
    iid = start("timers_interrupting")["id"]
    clock.advance(hours=24)
    with database.session() as session:
        (claimed,) = runtime.claim_due_timers(session, "worker-a")  # worker A claims and dies before firing
    (row,) = timer_rows(database, iid)
    assert row.id == claimed and row.locked_by == "worker-a" and row.locked_until == clock.now() + timers.LEASE

    assert runtime.fire_due_timers(database, "worker-b") == 0  # leased: B leaves it alone
    clock.advance(seconds=timers.LEASE.total_seconds() - 1)
    assert runtime.fire_due_timers(database, "worker-b") == 0
    clock.advance(seconds=2)
    assert runtime.fire_due_timers(database, "worker-b") == 1
    assert runtime.fire_due_timers(database, "worker-b") == 0
    with database.session() as session:  # A comes back and tries to fire its old lease: nothing happens
        assert runtime.fire_timer(session, claimed, "worker-a") is False
    assert count_events(database, "timer_fired", iid) == 1
    assert set(open_tasks(api, iid)) == {"Task_escalate"}
    fired = history(api, iid, "timer_fired")[0]
    assert fired["data"]["late_seconds"] == timers.LEASE.total_seconds() + 1


def test_a_timer_claimed_by_one_worker_is_fired_by_it_not_by_another(api, deploy, start, clock, database):
    deploy(DATA / "timers_interrupting.bpmn")
    iid = start("timers_interrupting")["id"]
    clock.advance(hours=24)
    with database.session() as session:
        (claimed,) = runtime.claim_due_timers(session, "worker-a")
        assert runtime.claim_due_timers(session, "worker-b") == []
        assert runtime.fire_timer(session, claimed, "worker-b") is False
        assert runtime.fire_timer(session, claimed, "worker-a") is True
        assert runtime.fire_timer(session, claimed, "worker-a") is False
    assert count_events(database, "timer_fired", iid) == 1


def test_a_timer_whose_task_was_completed_after_the_claim_does_not_fire(api, deploy, start, clock, database):
    deploy(DATA / "timers_interrupting.bpmn")
    iid = start("timers_interrupting")["id"]
    clock.advance(hours=24)
    with database.session() as session:
        (claimed,) = runtime.claim_due_timers(session, "worker-a")
    complete(api, open_tasks(api, iid)["Task_review"], "wang")  # the user wins the race
    with database.session() as session:
        assert runtime.fire_timer(session, claimed, "worker-a") is False
    view = instance(api, iid)
    assert view["status"] == "completed"
    assert count_events(database, "timer_fired", iid) == 0
    assert count_events(database, "timer_cancelled", iid) == 1


def test_a_fired_timer_makes_completing_the_cancelled_task_a_conflict(api, deploy, start, clock, database):
    deploy(DATA / "timers_interrupting.bpmn")
    iid = start("timers_interrupting")["id"]
    task = open_tasks(api, iid)["Task_review"]
    assert api("post", f"/tasks/{task['id']}/claim", "wang").status_code == 200
    clock.advance(hours=24)
    assert scheduler.tick(database) == 1  # the timer wins the race
    response = api("post", f"/tasks/{task['id']}/complete", "wang", json={"data": {}})
    assert response.status_code == 409, response.json
    assert set(open_tasks(api, iid)) == {"Task_escalate"}
    assert count_events(database, "task_completed", iid) == 0


def test_one_tick_fires_everything_that_is_due_not_just_the_first_hundred(deploy, people, clock, database):
    deploy(DATA / "timers_interrupting.bpmn")
    with database.session() as session:
        root = users.find_user(session, "root")
        _ = root.roles
        for n in range(101):
            runtime.start_instance(session, "timers_interrupting", {"order_no": f"B{n}"}, root)
    clock.advance(days=2)  # the worker was down: 101 timers are overdue
    assert scheduler.tick(database) == 101
    assert timer_rows(database) == []
