"""Exactly once with real worker processes (issue 3, "Exactly once").

Three worker *processes* fire the due boundary timers of 40 instances on PostgreSQL
while this process completes the user tasks of most of the same instances through
the engine. Every instance must end on exactly one path (completed by the user, or
escalated by its timer), every timer fires at most once, and every completion the
user was told succeeded is in the history exactly once.

Only on PostgreSQL (``LIUCHENG_TEST_DATABASE_URL=postgresql+psycopg://...``): SQLite
is one file on one machine. Nothing sleeps: the workers say "ready" on stdout,
wait for "go" on stdin, and are joined with a timeout.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from conftest import CLOCK_START, DATA
from worker_support import TIMEOUT, start_worker, wait_ready
from engine import runtime, spiff, users
from engine.errors import ConflictError
from engine.models import HistoryEvent, HumanTask, Instance, Timer

URL = os.environ.get("LIUCHENG_TEST_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(not URL.startswith("postgresql"),
                                reason="several worker processes need PostgreSQL (LIUCHENG_TEST_DATABASE_URL)")

INSTANCES = 40
COMPLETED_BY_USER = 30  # the last 10 instances are left to their timers
WORKERS = 3
DUE = CLOCK_START + timedelta(hours=24)
FIRE_AT = DUE + timedelta(seconds=5)  # the workers run 5 s late

# A worker process: fires what is due at FIRE_AT (its own frozen clock) until nothing due is left.
WORKER = r"""
import json, sys, time
from datetime import datetime
from sqlalchemy import func, select
from engine import clock, runtime, timers
from engine.database import Database
from engine.models import Timer

url, name, at = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3])
clock.set_clock(clock.FrozenClock(at))
database = Database(url)
due = select(func.count()).select_from(Timer).where(Timer.status == "waiting", Timer.due_at <= at)
with database.session() as session:
    session.scalar(due)
print("ready", flush=True)
sys.stdin.readline()
fired, errors, rounds = 0, [], 0
deadline = time.monotonic() + 90
while time.monotonic() < deadline:
    rounds += 1
    try:
        count = runtime.fire_due_timers(database, name, now=at, limit=2)
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
        count = 0
    fired += count
    if count == 0:
        with database.session() as session:
            if not session.scalar(due):
                break
print(json.dumps({"fired": fired, "errors": errors, "rounds": rounds}), flush=True)
database.dispose()
"""


def test_three_worker_processes_fire_every_timer_once_while_users_complete_tasks(app, deploy, make_user, clock):
    database = app.extensions["liucheng_db"]
    deploy(DATA / "timers_interrupting.bpmn")
    make_user("root", "admin")
    make_user("wang", "warehouse")
    with database.session() as session:
        root, wang = users.find_user(session, "root"), users.find_user(session, "wang")
        _ = root.roles, wang.roles
    ids = []
    with database.session() as session:
        for n in range(INSTANCES):
            ids.append(runtime.start_instance(session, "timers_interrupting", {"order_no": f"R{n:03d}"}, root).id)
    with database.session() as session:
        review = dict(session.execute(select(HumanTask.instance_id, HumanTask.id)
                                      .where(HumanTask.element_id == "Task_review")).all())
        assert session.scalar(select(func.count()).select_from(Timer).where(Timer.due_at == DUE)) == INSTANCES

    workers = [start_worker(WORKER, URL, f"worker-{n}", FIRE_AT.isoformat()) for n in range(WORKERS)]
    try:
        for process in workers:
            wait_ready(process)
        clock.current = DUE - timedelta(seconds=1)  # the user finishes "just in time"; the race decides
        for process in workers:
            process.stdin.write("go\n")
            process.stdin.flush()

        # Complete from the last instance down while the workers fire from the earliest row up.
        won, lost, unexpected = [], [], []
        for iid in reversed(ids[:COMPLETED_BY_USER]):
            try:
                with database.session() as session:
                    runtime.complete_task(session, review[iid], {}, wang)
                won.append(iid)
            except ConflictError:
                lost.append(iid)
            except Exception as exc:  # noqa: BLE001 - any other error is a failure, reported below
                unexpected.append((iid, f"{type(exc).__name__}: {exc}"))

        reports = []
        for process in workers:
            out, err = process.communicate(timeout=TIMEOUT)
            assert process.returncode == 0, err[-3000:]
            reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for process in workers:
            if process.poll() is None:
                process.kill()
                process.wait(10)

    assert unexpected == []
    assert [r["errors"] for r in reports] == [[]] * WORKERS
    print(f"\nuser completions won: {len(won)}, lost to the timer: {len(lost)}; "
          f"fired per worker: {[r['fired'] for r in reports]}")

    with database.session() as session:
        fired = Counter(session.scalars(select(HistoryEvent.instance_id).where(HistoryEvent.type == "timer_fired")))
        completed = Counter(session.scalars(select(HistoryEvent.instance_id).where(
            HistoryEvent.type == "task_completed", HistoryEvent.element_id == "Task_review")))
        statuses = dict(session.execute(select(Instance.id, Instance.status)).all())
        open_rows = Counter(session.scalars(select(HumanTask.instance_id)
                                            .where(HumanTask.status.in_(("open", "claimed")))))
        escalations = Counter(session.scalars(select(HumanTask.instance_id).where(
            HumanTask.element_id == "Task_escalate")))
        assert session.scalar(select(func.count()).select_from(Timer)) == 0  # nothing left waiting or leased

        # exactly once: every timer fired at most once, and exactly for the instances the user did not finish first
        assert max(fired.values()) == 1
        assert set(fired) == set(ids) - set(won)
        assert sum(r["fired"] for r in reports) == sum(fired.values()) == INSTANCES - len(won)
        # no completion lost, none recorded twice, none recorded for a task the timer cancelled
        assert set(completed) == set(won) and max(completed.values(), default=1) == 1
        assert set(lost) <= set(fired)
        assert len(won) > 0  # the user's first completions ran before any worker reached those rows
        # no instance corrupted: each is on exactly one path, and its rows match its engine state
        for iid in ids:
            if iid in won:
                assert (statuses[iid], open_rows[iid], escalations[iid]) == ("completed", 0, 0), iid
            else:
                assert (statuses[iid], open_rows[iid], escalations[iid]) == ("running", 1, 1), iid
            instance, version = runtime.lock_instance(session, iid)
            wf = runtime.load_workflow(session, instance, version)
            ready = sorted(t.element_id for t in spiff.ready_user_tasks(wf))
            assert ready == ([] if iid in won else ["Task_escalate"]), (iid, ready)
            session.rollback()
        late = session.scalars(select(HistoryEvent.data).where(HistoryEvent.type == "timer_fired")).all()
        assert {event["late_seconds"] for event in late} == {5}
