"""A command is one transaction: killed half-way, the instance is as it was before."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from sqlalchemy import func, select

from engine import runtime, users
from engine.models import HistoryEvent, HumanTask, Instance

from conftest import DATA, ROOT

CHILD = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from engine import runtime, users
    from engine import spiff
    from engine.database import Database

    real_dump = spiff.dump_state

    def dump_and_hang(wf):
        text = real_dump(wf)
        print("IN-THE-MIDDLE", flush=True)   # task row updated, new task inserted, history queued
        sys.stdin.read()                      # wait here until the parent kills us
        return text

    spiff.dump_state = dump_and_hang
    database = Database({url!r})
    with database.session() as session:
        runtime.complete_task(session, {task_id}, {{"checked_qty": 3, "condition": "good"}},
                              users.get_user(session, "wang"))
    print("COMMITTED", flush=True)
""")


def snapshot(session, instance_id):
    session.expire_all()
    instance = session.get(Instance, instance_id)
    tasks = session.execute(select(HumanTask.id, HumanTask.status, HumanTask.assignee)
                            .where(HumanTask.instance_id == instance_id).order_by(HumanTask.id)).all()
    events = session.scalar(select(func.count()).select_from(HistoryEvent)
                            .where(HistoryEvent.instance_id == instance_id))
    return instance.etag, instance.revision, instance.status, instance.data, tasks, events


def test_killed_command_leaves_instance_unchanged(db_session, database_url, deploy, make_user):
    deploy(DATA / "approval.bpmn", DATA / "forms")
    make_user("wang", "warehouse")
    wang = users.get_user(db_session, "wang")
    instance = runtime.start_instance(db_session, "approval", {"order_no": "K-1", "item": "tea", "amount": "5"},
                                      wang)
    instance_id = instance.id
    task_id = db_session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id))
    before = snapshot(db_session, instance_id)
    db_session.rollback()  # end the read transaction (on SQLite it holds the write lock)

    child = subprocess.Popen([sys.executable, "-c", CHILD.format(root=str(ROOT), url=database_url,
                                                                 task_id=task_id)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "IN-THE-MIDDLE"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)

    assert snapshot(db_session, instance_id) == before
    db_session.rollback()
    runtime.forget()
    done = runtime.complete_task(db_session, task_id, {"checked_qty": 3, "condition": "good"}, wang)
    assert done.status == "completed"
    after = snapshot(db_session, instance_id)
    assert after[1] == before[1] + 1 and after[3]["checked_qty"] == 3
    assert [t.status for t in after[4]] == ["completed", "open"]
