"""What the retention tests share (``test_retention``, ``test_retention_chain``): a one-task model with a
``historyTimeToLive``, starting and completing instances, counting an instance's rows, verifying the chain, and
counting the rows each committed transaction deleted."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import event, func, select

from engine import chain_verify, history_expiry, retention, runtime, users
from engine.models import HumanTask, Instance, TaskCandidate

NAMESPACES = {"camunda": "http://camunda.org/schema/1.0/bpmn", "flowable": "http://flowable.org/bpmn",
              "liucheng": "http://liucheng.dev/schema/1.0/bpmn"}


def model(process_id: str, ttl: str | None = None, prefix: str = "camunda") -> bytes:
    """A process with one user task (candidate group admin, candidate user li) between start and end, its
    ``historyTimeToLive`` written with ``prefix``."""
    declared = " ".join(f'xmlns:{name}="{uri}"' for name, uri in NAMESPACES.items())
    ttl_attribute = f' {prefix}:historyTimeToLive="{ttl}"' if ttl is not None else ""
    return f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" {declared}
    id="Definitions_{process_id}" targetNamespace="http://liucheng.example/tests">
  <bpmn:process id="{process_id}" isExecutable="true"{ttl_attribute}>
    <bpmn:startEvent id="Start"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_do" name="Do" camunda:candidateGroups="admin" camunda:candidateUsers="li">
      <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="End"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="Task_do"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Task_do" targetRef="End"/>
  </bpmn:process>
</bpmn:definitions>'''.encode()


@pytest.fixture
def database(app):
    return app.extensions["liucheng_db"]


@pytest.fixture
def root(db_session, make_user):
    make_user("root", "admin")
    return users.get_user(db_session, "root")


@pytest.fixture(autouse=True)
def retention_settings(monkeypatch):
    history_expiry._disputed.clear()  # each test's instances are warned about afresh
    for name in ("LIUCHENG_HISTORY_TTL_DAYS", "LIUCHENG_CLEANUP_BATCH", "LIUCHENG_CLEANUP_WINDOW"):
        monkeypatch.delenv(name, raising=False)


def deploy(session, *models: tuple[str, bytes]):
    return runtime.deploy_definitions(session, {f"{name}.bpmn": content for name, content in models}, {})


def start(session, process_id: str, actor, data: dict | None = None) -> int:
    return runtime.start_instance(session, process_id, data or {"order_no": "R-1"}, actor).id


def task_of(session, instance_id: int) -> int:
    return session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id))


def complete(session, instance_id: int, actor) -> int:
    runtime.complete_task(session, task_of(session, instance_id), {}, actor)
    return instance_id


def rows_of(session, instance_id: int) -> dict[str, int]:
    """How many rows the instance has in each table retention removes from."""
    counts = {}
    for table in retention.TABLES:
        owner = HumanTask.instance_id if table is TaskCandidate else (Instance.id if table is Instance
                                                                        else table.instance_id)
        query = select(func.count()).where(owner == instance_id)
        if table is TaskCandidate:
            query = query.select_from(TaskCandidate).join(HumanTask, HumanTask.id == TaskCandidate.task_id)
        else:
            query = query.select_from(table)
        counts[table.__tablename__] = session.scalar(query)
    return counts


def verified(session) -> chain_verify.Verdict:
    session.rollback()
    verdict = chain_verify.verify(session)
    session.rollback()
    return verdict


class DeletesPerTransaction:
    """Counts the rows each committed transaction deleted (the permit's own row aside), from the database
    driver's row counts."""

    def __init__(self, engine):
        self.engine, self.current, self.committed, self.seconds, self.began = engine, 0, [], [], None
        event.listen(engine, "before_cursor_execute", self.executing)
        event.listen(engine, "after_cursor_execute", self.executed)
        event.listen(engine, "commit", self.commit)
        event.listen(engine, "rollback", self.rollback)

    def executing(self, conn, cursor, statement, parameters, context, executemany):
        if self.began is None:
            self.began = time.perf_counter()

    def executed(self, conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("DELETE") and "cleanup_permits" not in statement:
            self.current += max(cursor.rowcount, 0)

    def commit(self, conn):
        if self.current:
            self.committed.append(self.current)
            self.seconds.append(time.perf_counter() - (self.began or time.perf_counter()))
        self.current, self.began = 0, None

    def rollback(self, conn):
        self.current, self.began = 0, None

    def close(self):
        event.remove(self.engine, "before_cursor_execute", self.executing)
        event.remove(self.engine, "after_cursor_execute", self.executed)
        event.remove(self.engine, "commit", self.commit)
        event.remove(self.engine, "rollback", self.rollback)


def update_ended(instance_id: int, at):
    return Instance.__table__.update().where(Instance.id == instance_id).values(ended_at=at)
