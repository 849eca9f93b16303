"""Retention: removing the history of ended instances once their time-to-live has passed (issue 15).

How long: a process's ``historyTimeToLive`` (``camunda:``, ``flowable:``, ``activiti:`` or ``liucheng:``; days or
``P30D``), stored per version in ``definitions.history_ttl_days``; else ``LIUCHENG_HISTORY_TTL_DAYS``; else kept
forever (at most ``config.MAX_HISTORY_TTL_DAYS``). What: a completed or cancelled instance (a failed one waits
for its incident: it has not ended) whose end lies further back than that, with all its rows, in an order the
foreign keys allow (``TABLES``). Called processes run inside their caller's instance (``engine.call_activities``),
so they go with it. The chain must agree that it ended (``engine.history_expiry``): its newest event (comments,
attachments and operation records aside) is ``instance_completed`` or ``instance_cancelled`` and older than the
cut-off; an instance whose row says otherwise (edited in SQL, without the audit key) stays, with a warning.

When and how much: the worker's tick calls ``remove_expired``: only inside ``LIUCHENG_CLEANUP_WINDOW`` (local
time), at most ``MAX_BATCHES`` batches and ``TICK_SECONDS`` a tick, each batch one transaction deleting at most
``LIUCHENG_CLEANUP_BATCH`` rows across all tables. A batch takes whole instances while they fit; an instance
bigger than a batch loses its rows over several batches: its events newest first, its start and end event
last with its instance row (meanwhile it still verifies, and its end still proves it ended).

Keeping the chain verifiable: a batch holds a ``CleanupPermit`` row while it deletes (the append-only triggers
of the history and the comments let DELETE through only then), replaces each run of consecutive chain events it
removed by a signed ``HistoryGap`` (``engine.chain_verify`` steps over it) and records one operation event
``history_cleanup`` (no instance: retention never removes it) with what it removed.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import delete, func, insert, select, tuple_
from sqlalchemy.orm import Session

from engine import clock, config, database, file_store, hash_chain, history, history_expiry
from engine.models import (Attachment, CleanupPermit, Comment, ExternalTask, HistoryEvent, HistoryGap, HumanTask,
                           Incident, Instance, InstanceVariable, MessageSubscription, TaskCandidate, Timer)

__all__ = ["Batch", "TABLES", "remove_expired", "remove_batch", "in_window", "check_settings"]

MAX_BATCHES = 5  # a tick's share: the worker fires timers between clean-ups
TICK_SECONDS = 1.0  # no further batch starts once a tick's clean-up has run this long (a batch: ~0.1-0.4 s)
FIRST_COUNTED = 16  # candidates whose rows a batch counts first (then 32, 64…)
KEYS_PER_STATEMENT = 500
TABLES = (TaskCandidate, Comment, Attachment, HumanTask, Timer, MessageSubscription, Incident, ExternalTask,
          InstanceVariable, HistoryEvent, Instance)
"""An instance's rows, in the order they are deleted: what refers to a task before the task, what refers to
the instance before the instance."""


@dataclass
class Batch:
    """What one clean-up transaction removed."""

    instance_ids: list[int] = field(default_factory=list)  # removed whole (their instance row is gone)
    rows: int = 0  # rows deleted across all tables
    events: list[Any] = field(default_factory=list)  # the history events removed: (id, prev_hash, hash)
    files: set[str] = field(default_factory=set)  # sha256 of attachments removed
    gaps: int = 0
    orphans: set[str] = field(default_factory=set)  # files no attachment holds any more (discard after commit)


def check_settings() -> None:
    """Read every retention setting once (the worker's start-up): a bad one stops it, naming the variable."""
    config.history_ttl_days()
    config.cleanup_batch()
    config.cleanup_window()


def in_window(now: datetime, window: Optional[tuple]) -> bool:
    """Whether ``now`` (UTC) falls in the off-peak window (local times; ``22:00-04:00`` spans midnight)."""
    if window is None:
        return True
    local = now.replace(tzinfo=timezone.utc).astimezone(config.timezone()).time()
    start, end = window
    return start <= local < end if start < end else (local >= start or local < end)


def remove_expired(session: Session, batches: int = MAX_BATCHES, seconds: float = TICK_SECONDS) -> list[Batch]:
    """The worker's clean-up: inside the window, bounded batches (one transaction each) until nothing has
    expired, ``batches`` ran or ``seconds`` passed."""
    if not in_window(clock.now(), config.cleanup_window()):
        return []
    limit, default_ttl, started, done = config.cleanup_batch(), config.history_ttl_days(), time.monotonic(), []
    while len(done) < batches and time.monotonic() - started < seconds:
        if not history_expiry.anything_expired(session, clock.now(), default_ttl):  # a read: no lock for nothing
            break
        with database.command(session):
            batch = remove_batch(session, limit, default_ttl)
        if batch is None:
            break
        for sha256 in batch.orphans:  # once the rows are gone for good
            file_store.discard(sha256)
        done.append(batch)
    return done


def remove_batch(session: Session, limit: int, default_ttl: Optional[int]) -> Optional[Batch]:
    """One batch inside the caller's transaction: at most ``limit`` rows of expired instances, the gaps that
    keep the chain verifiable and the operation event; None when nothing has expired."""
    database.serialize(session, "history-retention")  # two workers never remove (and summarize) the same rows
    candidates = history_expiry.candidates(session, clock.now(), default_ttl)
    if not candidates:
        return None
    permit = _take_permit(session)
    whole, partial = plan(session, candidates, limit)
    batch = Batch()
    _remove_whole(session, whole, batch)
    if partial is not None:
        _remove_part(session, partial, limit - batch.rows, limit, batch)
    batch.gaps = _write_gaps(session, batch.events)
    batch.orphans = _orphaned_files(session, batch.files)
    _record(session, batch)
    session.delete(permit)
    session.flush()
    return batch


# -- how many rows of the instances fit ------------------------------------------------

def row_counts(session: Session, instance_ids: list[int]) -> dict[int, int]:
    """How many rows each instance has across ``TABLES`` (its own row included), in candidates' order."""
    counts = dict.fromkeys(instance_ids, 1)
    for table in TABLES[:-1]:
        owner = _owner(table)
        query = select(owner, func.count()).where(owner.in_(instance_ids)).group_by(owner)
        if table is TaskCandidate:
            query = query.select_from(TaskCandidate).join(HumanTask, HumanTask.id == TaskCandidate.task_id)
        for instance_id, count in session.execute(query):
            counts[instance_id] += count
    return counts


def plan(session: Session, candidates: list[int], limit: int) -> tuple[list[int], Optional[int]]:
    """The instances removed whole (while they fit in ``limit`` rows, in order) and, when the first does not
    fit, that one to remove in part. Rows are counted for a few candidates at a time, more each round (a
    batch of big instances counts few of them, one of small instances many)."""
    whole, used, start, size = [], 0, 0, FIRST_COUNTED
    while start < len(candidates):
        for instance_id, count in row_counts(session, candidates[start:start + size]).items():
            if used + count > limit:
                return whole, (None if whole else instance_id)
            whole.append(instance_id)
            used += count
        start, size = start + size, size * 2
    return whole, None


def _owner(table):
    """The column naming the instance a row of ``table`` belongs to."""
    if table is TaskCandidate:
        return HumanTask.instance_id
    return Instance.id if table is Instance else table.instance_id


def _mine(table, instance_ids: list[int]):
    if table is TaskCandidate:
        return TaskCandidate.task_id.in_(select(HumanTask.id).where(HumanTask.instance_id.in_(instance_ids)))
    return _owner(table).in_(instance_ids)


# -- removing ---------------------------------------------------------------------------------------

def _take_permit(session: Session) -> CleanupPermit:
    permit = CleanupPermit()
    session.add(permit)
    session.flush()
    return permit


def _note_removed(session: Session, table, where, batch: Batch) -> None:
    """Before deleting: what the gaps and the files need of the rows ``where`` selects."""
    if table is HistoryEvent:
        batch.events += session.execute(select(HistoryEvent.id, HistoryEvent.prev_hash, HistoryEvent.hash)
                                        .where(where).order_by(HistoryEvent.id)).all()
    elif table is Attachment:
        batch.files.update(session.scalars(select(Attachment.sha256).where(where)))


def _remove_whole(session: Session, instance_ids: list[int], batch: Batch) -> None:
    for start in range(0, len(instance_ids), KEYS_PER_STATEMENT):
        chunk = instance_ids[start:start + KEYS_PER_STATEMENT]
        for table in TABLES:
            where = _mine(table, chunk)
            _note_removed(session, table, where, batch)
            batch.rows += session.execute(delete(table.__table__).where(where)).rowcount
    batch.instance_ids += instance_ids


def _remove_part(session: Session, instance_id: int, budget: int, limit: int, batch: Batch) -> None:
    """Up to ``budget`` rows of one instance, table by table in ``TABLES``' order (the oldest rows first, but
    the events newest first: ``_events_to_remove``)."""
    for table in TABLES:
        if budget <= 0:
            return
        keys = _primary_key(table)
        if table is Instance and _has_events(session, instance_id):  # its start and end wait for the next batch
            return
        if table is HistoryEvent:
            rows = _events_to_remove(session, instance_id, budget, limit)
        else:
            rows = session.execute(select(*keys).where(_mine(table, [instance_id])).order_by(*keys)
                                   .limit(budget)).all()
        for start in range(0, len(rows), KEYS_PER_STATEMENT):
            where = tuple_(*keys).in_(rows[start:start + KEYS_PER_STATEMENT]) if len(keys) > 1 \
                else keys[0].in_([row[0] for row in rows[start:start + KEYS_PER_STATEMENT]])
            _note_removed(session, table, where, batch)
            removed = session.execute(delete(table.__table__).where(where)).rowcount
            batch.rows, budget = batch.rows + removed, budget - removed
        if table is Instance and rows:
            batch.instance_ids.append(instance_id)


def _events_to_remove(session: Session, instance_id: int, budget: int, limit: int) -> list:
    """Up to ``budget`` of the instance's event ids, newest first, but its start and its end (the event that
    proves it ended) last: while they stay it verifies (``chain_verify.verify(instance_id=…)``) and the next
    batch still finds it ended. When they fit in a batch with the instance row, they wait for it (the next
    batch takes the rest whole)."""
    mine = HistoryEvent.instance_id == instance_id
    own = HistoryEvent.id + 0  # min/max of an expression: by the instance's index, not a walk of the primary key
    first = session.scalar(select(func.min(own)).where(mine))
    end = session.scalar(select(func.max(own)).where(mine, HistoryEvent.type.not_in(history_expiry.AFTER_END)))
    kept = [key for key in dict.fromkeys((first, end)) if key is not None]
    others = session.execute(select(HistoryEvent.id).where(mine, HistoryEvent.id.not_in(kept))
                             .order_by(own.desc()).limit(budget)).all()
    if len(others) < budget and len(kept) + 1 > limit:  # never all in one batch: the start, then the end
        others += [(key,) for key in kept][:budget - len(others)]
    return others


def _has_events(session: Session, instance_id: int) -> bool:
    return session.scalar(select(HistoryEvent.id).where(HistoryEvent.instance_id == instance_id).limit(1)) is not None


def _primary_key(table) -> list:
    return list(table.__table__.primary_key.columns)


def _orphaned_files(session: Session, files: set[str]) -> set[str]:
    return {sha256 for sha256 in files
            if session.scalar(select(Attachment.id).where(Attachment.sha256 == sha256).limit(1)) is None}


# -- keeping the chain verifiable -------------------------------------------------------------------

def runs(events: list) -> list[list]:
    """The removed events (``id``, ``prev_hash``, ``hash``) in runs of consecutive chain events: by id, each
    event of a run linking to the one before it."""
    found: list[list] = []
    for event in sorted(events, key=lambda e: e.id):
        if found and found[-1][-1].hash == event.prev_hash:
            found[-1].append(event)
        else:
            found.append([event])
    return found


def gap_row(run: list, removed_at: datetime) -> dict:
    first, last = run[0], run[-1]
    return {"removed_at": removed_at, "first_id": first.id, "last_id": last.id, "count": len(run),
            "prev_hash": first.prev_hash, "last_hash": last.hash,
            "signature": hash_chain.sign("gap", first.id, last.id, len(run), first.prev_hash, last.hash)}


def _write_gaps(session: Session, events: list) -> int:
    rows = [gap_row(run, clock.now()) for run in runs(events)]
    if rows:
        session.execute(insert(HistoryGap.__table__), rows)
    return len(rows)


def _record(session: Session, batch: Batch) -> None:
    events = sorted(batch.events, key=lambda e: e.id)
    history.record_operation(session, "system", "history_cleanup", "history", None, new={
        "instances": len(batch.instance_ids), "events": len(events), "gaps": batch.gaps, "rows": batch.rows,
        "first_hash": events[0].hash if events else None, "last_hash": events[-1].hash if events else None,
        "instance_ids": batch.instance_ids})
