"""Which ended instances' history has expired (``engine.retention`` removes it): by their row (completed or
cancelled, ``ended_at`` further back than their version's time-to-live) and, because a row can be edited in SQL
without the audit key, by the chain (``ended_in_chain``: the instance's newest event, comments, attachments and
operation records aside, is ``instance_completed`` or ``instance_cancelled`` and that old too). An instance whose
row says it expired but whose chain does not is left, and named once in a warning.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from engine.models import Definition, HistoryEvent, Instance, InstanceStatus

__all__ = ["AFTER_END", "CANDIDATES", "END_EVENTS", "ENDED", "anything_expired", "candidates", "expired"]

CANDIDATES = 500  # instances one batch looks at (each costs one row at least)
ENDED = (InstanceStatus.COMPLETED, InstanceStatus.CANCELLED)
END_EVENTS = ("instance_completed", "instance_cancelled")
AFTER_END = ("operation", "comment_added", "attachment_added")  # what may follow an instance's end event
log = logging.getLogger("engine.retention")
_disputed: set[tuple[str, int]] = set()  # (database, instance) already warned about: once a process


def candidates(session: Session, now: datetime, default_ttl: Optional[int]) -> list[int]:
    """Up to ``CANDIDATES`` ended instances past their version's time-to-live by their row, the longest ended
    first, less those the chain does not show ended that long ago (named in a warning, once)."""
    query = expired(session, now, default_ttl)
    if query is None:
        return []
    found = list(session.scalars(query.order_by(Instance.ended_at, Instance.id).limit(CANDIDATES)
                                 .with_for_update(skip_locked=True)))  # PostgreSQL: one a command holds waits
    proven = _ended_in_chain(session, found, now, default_ttl)
    _warn(str(session.get_bind().engine.url), sorted(set(found) - proven))
    return [instance_id for instance_id in found if instance_id in proven]


def anything_expired(session: Session, now: datetime, default_ttl: Optional[int]) -> bool:
    query = expired(session, now, default_ttl)
    found = query is not None and session.scalar(query.limit(1)) is not None
    session.rollback()  # ends the read before the batch's command
    return found


def expired(session: Session, now: datetime, default_ttl: Optional[int]):
    """``select(Instance.id)`` of the ended instances past their time-to-live by their row; None when no
    version has one."""
    by_days: dict[int, list[int]] = {}
    for definition_id, ttl in session.execute(select(Definition.id, Definition.history_ttl_days)):
        days = ttl if ttl is not None else default_ttl
        if days is not None:
            by_days.setdefault(days, []).append(definition_id)
    past = [and_(Instance.definition_id.in_(ids), Instance.ended_at < cutoff)
            for days, ids in by_days.items() if (cutoff := _cutoff(now, days)) is not None]
    if not past:
        return None
    return select(Instance.id).where(Instance.status.in_(ENDED), Instance.ended_at.is_not(None), or_(*past))


def _cutoff(now: datetime, days: int) -> Optional[datetime]:
    """When an instance must have ended to expire after ``days``; None when that is before the year 1 (an
    older version may hold more days than ``config.MAX_HISTORY_TTL_DAYS``: nothing is that old)."""
    try:
        return now - timedelta(days=days)
    except OverflowError:
        return None


def _ended_in_chain(session: Session, instance_ids: list[int], now: datetime, default_ttl: Optional[int]) -> set[int]:
    """Those of ``instance_ids`` whose newest event (what may follow an end aside) is their end, written before
    their cut-off: a running instance whose row was edited in SQL has none (and the chain cannot be edited
    unseen). Also those with no events left: what remains of one retention removed in part with batches of
    fewer than three rows (its events went under signed summaries; its row hides nothing from the chain)."""
    if not instance_ids:
        return set()
    mine = HistoryEvent.instance_id.in_(instance_ids)
    own = HistoryEvent.id + 0  # max of an expression: by the instance index, not a walk of the primary key
    newest = session.execute(select(HistoryEvent.instance_id, func.max(own))
                             .where(mine, HistoryEvent.type.not_in(AFTER_END)).group_by(HistoryEvent.instance_id))
    ends = {row.instance_id: row for row in session.execute(
        select(HistoryEvent.instance_id, HistoryEvent.type, HistoryEvent.at)
        .where(HistoryEvent.id.in_([event_id for _, event_id in newest])))}
    with_events = set(session.scalars(select(HistoryEvent.instance_id).where(mine).group_by(HistoryEvent.instance_id)))
    ttl = dict(session.execute(select(Instance.id, Definition.history_ttl_days)
                               .join(Definition, Definition.id == Instance.definition_id)
                               .where(Instance.id.in_(instance_ids))).all())
    proven = set()
    for instance_id in instance_ids:
        end, days = ends.get(instance_id), ttl.get(instance_id)
        days = default_ttl if days is None else days
        cutoff = None if days is None else _cutoff(now, days)
        if instance_id not in with_events or (end is not None and end.type in END_EVENTS and cutoff is not None
                                             and end.at < cutoff):
            proven.add(instance_id)
    return proven


def _warn(database: str, instance_ids: list[int]) -> None:
    """Name (once a process) the instances whose row says they ended long enough ago but whose history does
    not: the row was edited outside Liucheng; retention leaves them."""
    for instance_id in [i for i in instance_ids if (database, i) not in _disputed]:
        log.warning("retention leaves instance %d: its row says it ended longer ago than its history time-to-live, "
                    "but its history does not (its newest event is no instance_completed or instance_cancelled "
                    "that old); was the instances row edited in the database? Check it with: liucheng audit "
                    "verify --instance %d", instance_id, instance_id)
    _disputed.update((database, i) for i in instance_ids)
