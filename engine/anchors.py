"""Anchors: the history chain's head written down (``AuditAnchor`` rows), signed with the audit key.

An anchor says "at this moment the chain held ``events`` events and its last hash was ``head``". An
auditor copies one out (``liucheng audit head``, the audit pages) and later proves with ``liucheng audit
verify --against HEAD:EVENTS`` that nothing up to it was changed — even by someone who rewrote every hash
after it, which the chain alone cannot show. The anchor's signature (HMAC with ``LIUCHENG_AUDIT_KEY``,
``engine.hash_chain.sign``) keeps the anchors kept here from being forged by whoever can write the database
but lacks the key.

* ``record_anchor``: one now (``kind`` "daily" from the worker, "manual" from ``liucheng audit anchor``);
* ``record_daily_anchor_if_due``: the worker's, once per calendar day in ``LIUCHENG_TIMEZONE``, recorded
  even when the chain did not move that day (so a missing day means the worker did not run or an anchor
  was removed, never "a quiet day": an auditor can tell the two apart);
* ``list_anchors`` (newest first) and ``as_dict`` (with ``signature_valid`` and the ``against`` text).

An anchor is not itself a history event: an event "anchor recorded" would move the head the anchor names
(on a quiet day the newest anchor would never match the current head), and a record inside the chain adds
nothing against someone who rewrites the chain, which is what an anchor kept outside it is for.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock, config, database, hash_chain, timestamps
from engine.models import AuditAnchor, HistoryChain

__all__ = ["KINDS", "record_anchor", "record_daily_anchor_if_due", "list_anchors", "as_dict", "signature_of",
           "against_text", "local_day_bounds"]

KINDS = ("daily", "manual")


def record_anchor(session: Session, kind: str = "daily") -> AuditAnchor:
    """Write the chain's head and length now as a signed anchor (its own transaction, or the caller's
    command's when inside one)."""
    with database.command(session):
        anchor = _new_anchor(session, kind)
    return anchor


def record_daily_anchor_if_due(session: Session) -> Optional[AuditAnchor]:
    """The day's anchor, unless one was recorded already this local calendar day; ``None`` then. Workers
    that tick together record one: they serialize on the check (SQLite commands are serial already). A tick
    that finds the day's anchor reads only (no write transaction, no lock)."""
    start, end = local_day_bounds(_local_today())
    if _has_daily_anchor(session, start, end):
        session.rollback()
        return None
    with database.command(session):
        database.serialize(session, "daily-anchor")
        if _has_daily_anchor(session, start, end):
            return None
        anchor = _new_anchor(session, "daily")
    return anchor


def list_anchors(session: Session, limit: int = 100) -> list[AuditAnchor]:
    """The newest ``limit`` anchors, newest first."""
    return list(session.scalars(select(AuditAnchor).order_by(AuditAnchor.at.desc(), AuditAnchor.id.desc())
                                .limit(max(1, limit))))


def as_dict(anchor: AuditAnchor) -> dict[str, Any]:
    """The anchor as the API returns it: ``at`` ISO 8601 UTC, ``against`` the ``HEAD:EVENTS`` text that
    ``liucheng audit verify --against`` takes, and whether the signature holds under the audit key."""
    return {"id": anchor.id, "at": timestamps.iso(anchor.at), "kind": anchor.kind, "events": anchor.events,
            "head": anchor.head, "against": against_text(anchor.head, anchor.events),
            "signature": anchor.signature, "signature_valid": signature_valid(anchor)}


def signature_of(at: datetime, kind: str, events: int, head: str) -> str:
    """What an anchor with these values is signed with (``hash_chain.sign("anchor", at, kind, events, head)``,
    ``at`` as ``timestamps.iso`` writes it)."""
    return hash_chain.sign("anchor", timestamps.iso(at), kind, events, head)


def signature_valid(anchor: AuditAnchor) -> bool:
    return hash_chain.signed(anchor.signature, "anchor", timestamps.iso(anchor.at), anchor.kind, anchor.events,
                             anchor.head)


def against_text(head: str, events: int) -> str:
    """``HEAD:EVENTS``, as ``liucheng audit head`` prints it and ``verify --against`` reads it."""
    return f"{head}:{events}"


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The stored (naive UTC) times from the start of ``day`` in ``LIUCHENG_TIMEZONE`` to the next day's."""
    zone = config.timezone()
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return _stored(start), _stored(end)


def _new_anchor(session: Session, kind: str) -> AuditAnchor:
    head, events = _read_head(session)
    at = clock.now().replace(microsecond=0)  # a time to write down: whole seconds
    anchor = AuditAnchor(at=at, kind=kind, events=events, head=head,
                         signature=signature_of(at, kind, events, head))
    session.add(anchor)
    session.flush()
    return anchor


def _read_head(session: Session) -> tuple[str, int]:
    row = session.execute(select(HistoryChain.head, HistoryChain.events).where(HistoryChain.id == 1)).first()
    if row is None:
        raise RuntimeError("The history chain has no head row: run `liucheng db upgrade`.")
    return row.head, row.events


def _has_daily_anchor(session: Session, start: datetime, end: datetime) -> bool:
    found = session.scalar(select(AuditAnchor.id).where(AuditAnchor.kind == "daily", AuditAnchor.at >= start,
                                                        AuditAnchor.at < end).limit(1))
    return found is not None


def _local_today() -> date:
    return clock.now().replace(tzinfo=timezone.utc).astimezone(config.timezone()).date()


def _stored(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(tzinfo=None)
