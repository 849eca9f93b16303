"""External task workers racing on PostgreSQL (issue 13, item 1): several worker *processes* fetch and lock
the external tasks of 30 instances and complete them. ``FOR UPDATE SKIP LOCKED`` must give every task to
exactly one worker: no task is locked or completed twice, none is left, every instance completes once.

Only on PostgreSQL (``LIUCHENG_TEST_DATABASE_URL=postgresql+psycopg://...``). Nothing sleeps: the workers
say "ready" on stdout, wait for "go" on stdin, and are joined with a timeout.
"""
from __future__ import annotations

import json
import os
from collections import Counter

import pytest
from sqlalchemy import func, select

from conftest import CLOCK_START
from worker_support import TIMEOUT, start_worker, wait_ready
from engine import runtime, users
from engine.models import ExternalTask, HistoryEvent, Instance

URL = os.environ.get("LIUCHENG_TEST_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(not URL.startswith("postgresql"),
                                reason="several worker processes need PostgreSQL (LIUCHENG_TEST_DATABASE_URL)")

INSTANCES = 30
WORKERS = 4
MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://example.com/race">
  <bpmn:process id="race" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Pay"/>
    <bpmn:serviceTask id="Pay" camunda:type="external" camunda:topic="race">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="Pay" targetRef="e"/>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""

# A worker process: fetch and lock up to 2 tasks at a time and complete them, until none is left.
WORKER = r"""
import json, sys, time
from datetime import datetime
from engine import clock, runtime, users
from engine.database import Database
from engine.external_tasks import TopicRequest
from engine.runtime import external_tasks as commands

url, name, at = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3])
clock.set_clock(clock.FrozenClock(at))
runtime.start_engine()
database = Database(url)
with database.session() as session:
    ivan = users.get_user(session, "ivan")
    _ = ivan.roles
print("ready", flush=True)
sys.stdin.readline()
locked, completed, errors = [], [], []
deadline = time.monotonic() + 90
while time.monotonic() < deadline:
    try:
        with database.session() as session:
            tasks = commands.fetch_and_lock(session, name, 2, [TopicRequest("race", 600_000)], ivan)
    except Exception as exc:
        errors.append(f"fetch {type(exc).__name__}: {exc}")
        continue
    if not tasks:
        break
    for task in tasks:
        locked.append(task["id"])
        try:
            with database.session() as session:
                commands.complete(session, task["id"], name, {"paid_by": name}, ivan)
            completed.append(task["id"])
        except Exception as exc:
            errors.append(f"complete {task['id']} {type(exc).__name__}: {exc}")
print(json.dumps({"locked": locked, "completed": completed, "errors": errors}), flush=True)
database.dispose()
"""


def test_worker_processes_never_get_the_same_external_task(app, make_user, clock):
    database = app.extensions["liucheng_db"]
    make_user("root", "admin")
    make_user("ivan", "integrator")
    with database.session() as session:
        runtime.deploy_definitions(session, {"race.bpmn": MODEL.encode()}, {})
        root = users.get_user(session, "root")
        ids = [runtime.start_instance(session, "race", {"n": n}, root).id for n in range(INSTANCES)]
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(ExternalTask)) == INSTANCES

    workers = [start_worker(WORKER, URL, f"worker-{n}", CLOCK_START.isoformat()) for n in range(WORKERS)]
    try:
        for process in workers:
            wait_ready(process)
        for process in workers:
            process.stdin.write("go\n")
            process.stdin.flush()
        reports = {}
        for n, process in enumerate(workers):
            out, err = process.communicate(timeout=TIMEOUT)
            assert process.returncode == 0, err[-3000:]
            reports[f"worker-{n}"] = json.loads(out.strip().splitlines()[-1])
    finally:
        for process in workers:
            if process.poll() is None:
                process.kill()
                process.wait(10)

    assert [r["errors"] for r in reports.values()] == [[]] * WORKERS
    locked = Counter(task_id for r in reports.values() for task_id in r["locked"])
    completed = Counter(task_id for r in reports.values() for task_id in r["completed"])
    print(f"\ntasks per worker: {[len(r['completed']) for r in reports.values()]}")
    assert len(locked) == INSTANCES and max(locked.values()) == 1  # no task went to two workers
    assert completed == locked
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(ExternalTask)) == 0
        statuses = dict(session.execute(select(Instance.id, Instance.status)).all())
        assert {statuses[i] for i in ids} == {"completed"}
        ended = Counter(session.scalars(select(HistoryEvent.instance_id)
                                        .where(HistoryEvent.type == "instance_completed")))
        assert set(ended) == set(ids) and max(ended.values()) == 1
        paid_by = {row.data["paid_by"] for row in session.scalars(select(Instance))}
        assert paid_by <= set(reports)
