"""Timer rows: what an instance waits for with a due time, leases, and timer start events.

After every step ``sync`` makes the instance's timer rows match the timers the workflow waits
for (in the same transaction as the state that created them) and sets each human task's
``due_at`` to its earliest attached timer. ``lease_due`` leases due rows to a worker (``FOR
UPDATE SKIP LOCKED`` on PostgreSQL, a conditional update on SQLite) for ``LEASE``; firing them is
the command ``engine.runtime.firing``. Timer start events of a deployed version get a row each
(``schedule_start_timers``), re-armed after each firing for the next occurrence
(``engine.timer_schedules`` computes when).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.orm import Session

from engine import clock, history, spiff, timer_cycles, timer_schedules
from engine.errors import DefinitionError
from engine.models import HumanTask, Instance, InstanceStatus, TaskStatus, Timer, TimerStatus

LEASE = timedelta(seconds=60)
_TIMERS = Timer.__table__
_TASKS = HumanTask.__table__
_INSTANCES = Instance.__table__
_WAITING_ROWS = select(_TIMERS.c.id, _TIMERS.c.engine_task_id, _TIMERS.c.element_id, _TIMERS.c.due_at,
                       _TIMERS.c.attached_to).where(_TIMERS.c.instance_id == bindparam("iid"),
                                                    _TIMERS.c.status == TimerStatus.WAITING)
FIRED = "liucheng_fired_timers"


# -- keeping rows in step with the engine ----------------------------------------------

def sync(session: Session, instance_id: int, process_id: str, elements: dict, wf) -> None:
    waiting = {t.engine_task_id: t for t in spiff.waiting_timers(wf)}
    memo = spiff.memo(wf)
    rows = memo.get("timers")
    if rows is None:
        rows = {r.engine_task_id: (r.id, r.element_id, r.due_at)
                for r in session.connection().execute(_WAITING_ROWS, {"iid": instance_id}).all()}
        memo["timers"] = rows
    fired = session.info.get(FIRED, set())
    known = set()
    for engine_task_id, (row_id, element_id, due_at) in list(rows.items()):
        if engine_task_id in waiting and waiting[engine_task_id].due_at == due_at:
            known.add(engine_task_id)
            continue
        session.connection().execute(delete(_TIMERS).where(_TIMERS.c.id == row_id))
        del rows[engine_task_id]
        if row_id not in fired:
            history.record(session, instance_id, "timer_cancelled", "system", element_id, data={"due_at": due_at})
    nodes = elements.get("nodes", {})
    now = clock.now()
    for engine_task_id, timer in waiting.items():
        if engine_task_id in known:
            continue
        timer.element_id = _timer_element(timer.element_id, elements)
        node = nodes.get(timer.element_id, {})
        kind = "boundary" if node.get("attached_to") else ("start" if node.get("type") == "startEvent" else "catch")
        row_id = session.connection().execute(_TIMERS.insert().returning(_TIMERS.c.id), {
            "instance_id": instance_id, "process_id": process_id, "element_id": timer.element_id,
            "engine_task_id": engine_task_id, "kind": kind, "attached_to": node.get("attached_to"),
            "due_at": timer.due_at, "status": TimerStatus.WAITING, "created_at": now}).scalar_one()
        rows[engine_task_id] = (row_id, timer.element_id, timer.due_at)
        history.record(session, instance_id, "timer_scheduled", "system", timer.element_id,
                       data={"due_at": timer.due_at, "kind": kind})
    _set_due_dates(session, instance_id, waiting.values(), nodes, memo)


def _due_of(element_id: str, due: dict, nodes: dict) -> Optional[datetime]:
    """The earliest timer on the task or on a subprocess around it."""
    found, seen = [], set()
    while element_id and element_id not in seen:
        seen.add(element_id)
        if element_id in due:
            found.append(due[element_id])
        element_id = nodes.get(element_id, {}).get("parent")
    return min(found) if found else None


def _timer_element(element_id: str, elements: dict) -> str:
    """SpiffWorkflow keeps an event-based gateway's timer on the gateway; name the timer event."""
    nodes = elements.get("nodes", {})
    if nodes.get(element_id, {}).get("type") != "eventBasedGateway":
        return element_id
    for flow in elements.get("flows", {}).values():
        if flow["source"] == element_id and nodes.get(flow["target"], {}).get("timers"):
            return flow["target"]
    return element_id


def _set_due_dates(session, instance_id: int, waiting, nodes: dict, memo: dict) -> None:
    """A human task is due at the earliest timer attached to it (interrupting or not)."""
    due: dict[str, datetime] = {}
    for timer in waiting:
        target = nodes.get(timer.element_id, {}).get("attached_to")
        if target and (target not in due or timer.due_at < due[target]):
            due[target] = timer.due_at
    current = memo.get("due")
    if current is None:
        current = {r.id: r.due_at for r in session.connection().execute(select(_TASKS.c.id, _TASKS.c.due_at).where(
            _TASKS.c.instance_id == instance_id, _TASKS.c.status.in_((TaskStatus.OPEN, TaskStatus.CLAIMED))))}
    tasks = memo.get("tasks")
    if tasks is None:
        return
    updated = {}
    for row_id, element_id in tasks.values():
        wanted, had = _due_of(element_id, due, nodes), current.get(row_id)
        if wanted is not None and (had is None or wanted < had):  # a task stays due once it was
            session.connection().execute(update(_TASKS).where(_TASKS.c.id == row_id).values(due_at=wanted))
            had = wanted
        updated[row_id] = had
    memo["due"] = updated


def remove_all(session: Session, instance_id: int, actor: str = "system") -> None:
    connection = session.connection()
    for row in connection.execute(_WAITING_ROWS, {"iid": instance_id}).all():
        history.record(session, instance_id, "timer_cancelled", actor, row.element_id, data={"due_at": row.due_at})
    connection.execute(delete(_TIMERS).where(_TIMERS.c.instance_id == instance_id))


# -- leases and the rows a firing reads ------------------------------------------------------

def lease_due(session: Session, worker: str, now: datetime, limit: int = 100) -> list[int]:
    """Lease up to ``limit`` due timers to ``worker`` in the caller's transaction; returns their ids."""
    free = or_(_TIMERS.c.locked_until.is_(None), _TIMERS.c.locked_until < now)
    failed = select(_INSTANCES.c.id).where(_INSTANCES.c.status == InstanceStatus.FAILED)
    due = (select(_TIMERS.c.id).where(_TIMERS.c.status == TimerStatus.WAITING, _TIMERS.c.due_at <= now, free,
                                      or_(_TIMERS.c.instance_id.is_(None), _TIMERS.c.instance_id.not_in(failed)))
           .order_by(_TIMERS.c.due_at).limit(limit))
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        ids = list(connection.execute(due.with_for_update(skip_locked=True)).scalars())
        if ids:
            connection.execute(update(_TIMERS).where(_TIMERS.c.id.in_(ids))
                               .values(locked_by=worker, locked_until=now + LEASE))
        return ids
    ids = []
    for timer_id in connection.execute(due).scalars().all():
        won = connection.execute(update(_TIMERS).where(_TIMERS.c.id == timer_id, free)
                                 .values(locked_by=worker, locked_until=now + LEASE)).rowcount
        if won == 1:
            ids.append(timer_id)
    return ids


def head(session: Session, timer_id: int):
    """The timer's instance id, kind and element id (no lock), or None when it is gone."""
    return session.execute(select(_TIMERS.c.instance_id, _TIMERS.c.kind, _TIMERS.c.element_id)
                           .where(_TIMERS.c.id == timer_id)).first()


def locked_row(session: Session, timer_id: int):
    """The whole timer row, locked for this transaction, or None."""
    return session.execute(select(_TIMERS).where(_TIMERS.c.id == timer_id).with_for_update()).first()


def release(session: Session, timer_id: int) -> None:
    """Keep the timer but give up its lease (its instance waits for an incident)."""
    session.execute(update(_TIMERS).where(_TIMERS.c.id == timer_id).values(locked_by=None, locked_until=None))


def drop(session: Session, row, reason: str) -> None:
    """Delete a timer that will never fire, with its history."""
    session.execute(delete(_TIMERS).where(_TIMERS.c.id == row.id))
    history.record(session, row.instance_id, "timer_cancelled", "system", row.element_id,
                   data={"due_at": row.due_at, "reason": reason})


def rearm_start(session: Session, row, now: datetime) -> None:
    """A fired start timer waits for its next occurrence, or goes when it has none."""
    kind, text_ = (row.expression or ":").split(":", 1)
    following = timer_schedules.next_occurrence(kind, text_, max(now, row.due_at))
    if following is None:
        session.execute(delete(_TIMERS).where(_TIMERS.c.id == row.id))
    else:
        session.execute(update(_TIMERS).where(_TIMERS.c.id == row.id).values(
            due_at=following, locked_by=None, locked_until=None))


# -- timer start events: a new instance per tick ----------------------------------------------

def start_timer_events(elements: dict) -> list[tuple[str, str, str]]:
    """(element id, kind, ISO text) of the top-level timer start events of a definition."""
    found = []
    for element_id, node in elements.get("nodes", {}).items():
        if node.get("type") == "startEvent" and not node.get("in_subprocess"):
            for timer in node.get("timers") or []:
                found.append((element_id, timer["kind"], timer["text"].strip().strip('"')))
    return found


def schedule_start_timers(session: Session, definition_id: int, process_id: str, elements: dict) -> None:
    """A new version's timer start events replace those of the process's older versions; each waits
    for its first firing (``timer_schedules.first_firing``: a duration once after deployment, a past
    date at the next tick, a cycle or cron at its next time)."""
    connection = session.connection()
    connection.execute(delete(_TIMERS).where(_TIMERS.c.process_id == process_id, _TIMERS.c.kind == "start",
                                             _TIMERS.c.instance_id.is_(None)))
    now = clock.now()
    for element_id, kind, text_ in start_timer_events(elements):
        firing = _schedulable(process_id, element_id, kind, text_, now)
        if firing is not None:
            connection.execute(_TIMERS.insert(), {
                "definition_id": definition_id, "process_id": process_id, "element_id": element_id,
                "kind": "start", "expression": firing.expression, "due_at": firing.due_at,
                "status": TimerStatus.WAITING, "created_at": now})


def _schedulable(process_id: str, element_id: str, kind: str, text_: str,
                 now: datetime) -> Optional[timer_schedules.Firing]:
    """The start timer's first firing; a DefinitionError (the deployment fails) if it or the one after
    it cannot be computed (text that is neither ISO-8601 nor a cron, numbers beyond the calendar)."""
    try:
        return timer_schedules.first_firing(kind, text_, now)
    except Exception as exc:  # noqa: BLE001 - SpiffWorkflow raises bare Exception("Invalid duration")
        reason = str(exc) if isinstance(exc, timer_cycles.CronError) else f"{type(exc).__name__}: {exc}"
        message = (f"Timer '{text_}' of the timer start event cannot be scheduled ({reason}): "
                   "write an ISO-8601 date, duration or cycle within the calendar, or a Quartz cron, e.g. "
                   "R/2026-11-02T17:30:00+08:00/P1D, 0 30 17 * * ?, 2026-12-01T14:00:00+08:00 or PT24H.")
        raise DefinitionError(f"Cannot deploy {process_id}: [{element_id}] {message}",
                              {"problems": [{"file": None, "line": None, "element_id": element_id,
                                             "message": message}]}) from None
