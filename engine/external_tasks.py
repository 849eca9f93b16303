"""External task rows: the service tasks external workers do (Camunda 7's external task service).

After every step ``sync`` makes the instance's rows match the external tasks its workflow waits at, in the
same transaction as the state that reached them: a task no longer waiting (completed, interrupted by a
boundary event, cancelled) loses its row. A row whose retries were used up (``failed``) stays while its
task is in error (its incident open); when the incident's retry runs the task again the row is fetchable
again with one retry, as Camunda sets retries to 1 when an incident is resolved.

``lock_fetchable`` locks the fetchable rows of some topics for a worker (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL: two workers never lock the same row; SQLite's writers queue anyway); ``locked_by`` reads
one row a worker holds, refusing (409) a worker that does not hold it. Locks are taken in one order: the
instance first, then its rows (a step syncs them holding the instance; a worker's report reads the row's
instance with ``instance_of``, locks it, then the row). The commands are
``engine.runtime.external_tasks``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from engine import clock, spiff, timestamps
from engine.errors import ConflictError, NotFoundError
from engine.models import ExternalTask, ExternalTaskStatus, Instance, InstanceStatus

_ROWS = ExternalTask.__table__
_MAY_WAIT = "_liucheng_may_wait_external"  # the answer of may_wait, kept on the version object itself


@dataclass
class TopicRequest:
    """One topic a worker fetches: its name, how long it locks what it gets, the variables it wants."""

    name: str
    lock_duration_ms: int
    variables: Optional[list[str]] = None


# -- keeping rows in step with the engine ----------------------------------------------------

def may_wait(version) -> bool:
    """Whether instances of ``version`` can wait at an external task (it has service tasks, also in the
    versions it calls: ``engine.call_activities.merged`` views have their caller's id and content hash, so the
    answer is kept on each (immutable) version object, as ``functools.cached_property`` would)."""
    found = version.__dict__.get(_MAY_WAIT)
    if found is None:
        found = any(n.get("type") == "serviceTask" for n in version.elements.get("nodes", {}).values())
        object.__setattr__(version, _MAY_WAIT, found)  # a frozen dataclass: set as its own __init__ does
    return found


def sync(session: Session, instance_id: int, process_id: str, wf) -> None:
    """Rows for the external tasks the workflow waits at; none for those it left."""
    waiting = {w.engine_task_id: w for w in spiff.waiting_external(wf)}
    rows = {r.engine_task_id: r for r in session.scalars(select(ExternalTask).where(
        ExternalTask.instance_id == instance_id))}
    in_error = set(spiff.failed_task_ids(wf)) if rows else set()
    for engine_task_id, row in rows.items():
        if engine_task_id in waiting:
            if row.status == ExternalTaskStatus.FAILED:  # its incident was retried: fetchable again
                row.status, row.retries, row.worker_id = ExternalTaskStatus.OPEN, 1, None
                row.lock_expires_at = row.available_at = None
        elif not (row.status == ExternalTaskStatus.FAILED and engine_task_id in in_error):
            session.delete(row)
    now = clock.now()
    for engine_task_id, wait in waiting.items():
        if engine_task_id not in rows:
            session.add(ExternalTask(instance_id=instance_id, process_id=process_id, element_id=wait.element_id,
                                     engine_task_id=engine_task_id, topic=wait.topic, priority=wait.priority,
                                     status=ExternalTaskStatus.OPEN, created_at=now))
    session.flush()


def remove_all(session: Session, instance_id: int) -> None:
    """The instance was cancelled: its external tasks go with it."""
    session.execute(delete(_ROWS).where(_ROWS.c.instance_id == instance_id))


# -- workers ---------------------------------------------------------------------------------

def lock_fetchable(session: Session, worker_id: str, max_tasks: int, topics: list[TopicRequest],
                   now: Optional[datetime] = None) -> list[ExternalTask]:
    """Lock up to ``max_tasks`` fetchable rows of ``topics`` for ``worker_id`` (highest priority first, then
    oldest): open, not locked or lock expired, past any retry timeout, of a running instance."""
    now = now or clock.now()
    durations = {t.name: t.lock_duration_ms for t in topics}
    query = (select(ExternalTask).join(Instance, Instance.id == ExternalTask.instance_id)
             .where(ExternalTask.topic.in_(list(durations)), ExternalTask.status == ExternalTaskStatus.OPEN,
                    Instance.status == InstanceStatus.RUNNING,
                    or_(ExternalTask.lock_expires_at.is_(None), ExternalTask.lock_expires_at <= now),
                    or_(ExternalTask.available_at.is_(None), ExternalTask.available_at <= now))
             .order_by(ExternalTask.priority.desc(), ExternalTask.id).limit(max_tasks)
             .with_for_update(of=ExternalTask, skip_locked=True))
    found = list(session.scalars(query))
    for row in found:
        row.worker_id = worker_id
        row.lock_expires_at = now + timedelta(milliseconds=durations[row.topic])
    session.flush()
    return found


def get(session: Session, task_id: int) -> ExternalTask:
    row = session.get(ExternalTask, task_id)
    if row is None:
        raise _gone(task_id)
    return row


def _gone(task_id: int) -> NotFoundError:
    return NotFoundError(f"External task {task_id} does not exist (it was completed, cancelled or interrupted "
                         "by a boundary event); fetch and lock again.")


def instance_of(session: Session, task_id: int) -> int:
    """The id of the instance task ``task_id`` belongs to, read without a lock (to lock the instance first)."""
    instance_id = session.scalar(select(ExternalTask.instance_id).where(ExternalTask.id == task_id))
    if instance_id is None:
        raise _gone(task_id)
    return instance_id


def locked_by(session: Session, task_id: int, worker_id: str, live: bool = False) -> ExternalTask:
    """The row ``worker_id`` holds (locked for update, read afresh); 409 when another worker holds it, it is not
    locked, or (``live``) its lock has expired. A command that changes the workflow locks the instance first
    (``instance_of``), as every step does before it syncs these rows."""
    row = session.scalar(select(ExternalTask).where(ExternalTask.id == task_id).with_for_update()
                         .execution_options(populate_existing=True))
    if row is None:
        raise _gone(task_id)
    if row.status != ExternalTaskStatus.OPEN or row.worker_id is None:
        raise ConflictError(f"External task {task_id} is not locked by worker '{worker_id}': fetch and lock it "
                            "first.")
    if row.worker_id != worker_id:
        raise ConflictError(f"External task {task_id} is locked by another worker ('{row.worker_id}'); only the "
                            "worker holding the lock may report on it. Fetch and lock other tasks.")
    if live and (row.lock_expires_at is None or row.lock_expires_at <= clock.now()):
        raise ConflictError(f"The lock of worker '{worker_id}' on external task {task_id} has expired; fetch and "
                            "lock the task again.")
    return row


def note_failure(row: ExternalTask, message: str, details: Optional[str], retries: int,
                 retry_timeout_ms: int) -> None:
    """A worker's failure: the lock goes; with retries left the task is fetchable again after the timeout."""
    row.error_message, row.error_details, row.retries = message, details, max(retries, 0)
    row.worker_id, row.lock_expires_at = None, None
    row.available_at = clock.now() + timedelta(milliseconds=retry_timeout_ms) if retry_timeout_ms > 0 else None
    if retries <= 0:
        row.status = ExternalTaskStatus.FAILED


def extend(row: ExternalTask, new_duration_ms: int) -> None:
    row.lock_expires_at = clock.now() + timedelta(milliseconds=new_duration_ms)


# -- reading ---------------------------------------------------------------------------------

def list_rows(session: Session, topic: Optional[str] = None, instance_id: Optional[int] = None,
              locked: Optional[bool] = None, limit: int = 100, offset: int = 0) -> list[ExternalTask]:
    query = select(ExternalTask).order_by(ExternalTask.id)
    if topic:
        query = query.where(ExternalTask.topic == topic)
    if instance_id is not None:
        query = query.where(ExternalTask.instance_id == instance_id)
    if locked is not None:
        held = ExternalTask.lock_expires_at > clock.now()
        query = query.where(held if locked else or_(ExternalTask.lock_expires_at.is_(None), ~held))
    return list(session.scalars(query.limit(limit).offset(offset)))


def as_dict(row: ExternalTask, instance: Optional[Instance] = None,
            variables: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    iso = timestamps.iso  # ISO 8601 UTC with +00:00
    found = {"id": row.id, "topic": row.topic, "worker_id": row.worker_id, "lock_expires_at": iso(row.lock_expires_at),
             "instance_id": row.instance_id, "process_id": row.process_id, "element_id": row.element_id,
             "retries": row.retries, "priority": row.priority, "status": row.status,
             "error_message": row.error_message, "error_details": row.error_details,
             "available_at": iso(row.available_at), "created_at": iso(row.created_at)}
    if instance is not None:
        found["business_key"] = instance.business_key
    if variables is not None:
        found["variables"] = variables
    return found

