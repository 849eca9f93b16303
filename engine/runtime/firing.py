"""Firing due timers: leased by a worker, each fired once in its own command under the instance lock.

``fire_due_timers`` leases due rows (``engine.timers.lease_due``) and fires each in its own
transaction; a worker that dies loses its lease after ``timers.LEASE`` and another fires the timer,
once. A timer whose firing raises (its transaction is rolled back) is logged and reported to
``on_failure``, keeps its lease until it runs out (then it is tried again) and never stops the
others; a step that fails inside a firing is an incident, and reported too. A due timer start
event starts a new instance and is re-armed for its next occurrence.
"""
from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime
from typing import Callable, Optional

from sqlalchemy.orm import Session

from engine import clock, definitions, history, spiff, timers
from engine.database import command
from engine.errors import EngineError
from engine.models import InstanceStatus, TimerStatus
from engine.runtime import deliveries, starts, steps, workflows

log = logging.getLogger("liucheng.worker")
OnFailure = Callable[[str, Optional[int], Optional[str], str], None]  # (what, instance id, element id, message)
MAX_BATCHES = 200  # one tick fires at most MAX_BATCHES × limit timers; the next tick goes on
Failed = Optional[tuple]  # (instance id, element id, message) of a step that failed after a timer fired


def worker_name() -> str:
    """A name for this worker's leases: host, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def fire_due_timers(database, worker: Optional[str] = None, now: Optional[datetime] = None, limit: int = 100,
                    on_failure: Optional[OnFailure] = None) -> int:
    """Claim and fire what is due now; returns how many timers fired. Each timer fires in its own
    transaction: one that raises is rolled back, logged and reported, and the others still fire."""
    worker = worker or worker_name()
    fired = 0
    with database.session() as session:
        for _ in range(MAX_BATCHES):
            claimed = claim_due_timers(session, worker, now, limit)
            for timer_id in claimed:
                try:
                    if fire_timer(session, timer_id, worker, now, on_failure):
                        fired += 1
                except Exception as exc:  # rolled back by its command; the lease runs out, then it is tried again
                    _report_failure(session, timer_id, exc, on_failure)
            if len(claimed) < limit:
                break
    return fired


def claim_due_timers(session: Session, worker: str, now: Optional[datetime] = None, limit: int = 100) -> list[int]:
    """Lease up to ``limit`` due timers to ``worker``; returns their ids (committed)."""
    with command(session):
        return timers.lease_due(session, worker, now or clock.now(), limit)


def fire_timer(session: Session, timer_id: int, worker: str, now: Optional[datetime] = None,
               on_failure: Optional[OnFailure] = None) -> bool:
    """Fire one leased timer in its own transaction; False if it is gone or no longer ours.
    A step failing after it fired (an incident) is reported to ``on_failure``."""
    try:
        with command(session):
            fired, failure = _fire(session, timer_id, worker, now or clock.now())
    finally:
        session.info.pop(timers.FIRED, None)
    if failure is not None and on_failure is not None:
        on_failure(f"timer {timer_id} (fired; its step failed)", failure[0], failure[1], failure[2])
    return fired


def _fire(session: Session, timer_id: int, worker: str, now: datetime) -> tuple[bool, Failed]:
    """(fired, the step that failed after it fired or None), inside the command."""
    head = timers.head(session, timer_id)
    if head is None:
        return False, None
    if head.kind == "start" and head.instance_id is None:
        row = timers.locked_row(session, timer_id)
        if not _ours(row, worker, now):
            return False, None
        return True, _fire_start(session, row, now)
    instance, version = workflows.lock_instance(session, head.instance_id)
    row = timers.locked_row(session, timer_id)
    if not _ours(row, worker, now):
        return False, None
    if instance.status == InstanceStatus.FAILED:  # fires once the incident is retried; keep it, unleased
        timers.release(session, timer_id)
        return False, None
    if instance.status != InstanceStatus.RUNNING:
        timers.drop(session, row, reason=f"instance {instance.status}")
        return False, None
    wf = workflows.load_workflow(session, instance, version)
    history.record(session, instance.id, "timer_fired", "system", row.element_id,
                   data={"due_at": row.due_at, "fired_at": now, "late_seconds": round((now - row.due_at).total_seconds(), 3)})
    session.info.setdefault(timers.FIRED, set()).add(timer_id)
    at = max(now, row.due_at)
    advanced = steps.advance(session, instance, version, wf,
                             step=lambda wf_, on_step: spiff.fire_timers(wf_, at, on_step))
    deliveries.settle(session, instance.id, advanced)
    return True, _failed(instance.id, advanced)


def _ours(row, worker: str, now: datetime) -> bool:
    """The row is still waiting, leased to this worker, and due."""
    return row is not None and row.status == TimerStatus.WAITING and row.locked_by == worker and row.due_at <= now


def _failed(instance_id: int, advanced: steps.Advanced) -> Failed:
    failure = advanced.failure
    return (instance_id, failure.element_id, failure.message) if failure is not None else None


def _fire_start(session: Session, row, now: datetime) -> Failed:
    """Start one instance for a due start timer, then re-arm the row for the next tick."""
    version = definitions.version_by_id(session, row.definition_id)
    at = max(now, row.due_at)
    instance_id, advanced = start_for_timer(session, version, starts.system_actor(),
                                            lambda wf_, on_step: spiff.fire_start_timer(wf_, at, on_step),
                                            row.element_id)
    deliveries.settle(session, instance_id, advanced)
    history.record(session, instance_id, "timer_fired", "system", row.element_id, data={
        "due_at": row.due_at, "fired_at": now, "late_seconds": round((now - row.due_at).total_seconds(), 3),
        "kind": "start"})
    timers.rearm_start(session, row, now)
    return _failed(instance_id, advanced)


def start_for_timer(session: Session, version: definitions.Version, actor, step, start_event: str):
    """Start an instance for a timer start event: (its id, what advancing it did)."""
    return starts.begin(session, version, {}, actor, step, start_event)


def _report_failure(session: Session, timer_id: int, exc: Exception, on_failure: Optional[OnFailure]) -> None:
    message = exc.message if isinstance(exc, EngineError) else f"{type(exc).__name__}: {exc}"
    log.error("timer %s could not be fired: %s", timer_id, message, exc_info=not isinstance(exc, EngineError))
    instance_id = element_id = None
    try:
        with command(session):
            found = timers.head(session, timer_id)
        if found is not None:
            instance_id, element_id = found.instance_id, found.element_id
    except Exception:  # the database itself may be what failed: report what is known
        log.warning("timer %s: its row could not be read to report the failure", timer_id, exc_info=True)
    if on_failure is not None:
        on_failure(f"timer {timer_id}", instance_id, element_id, message)
