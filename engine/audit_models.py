"""The audit tables: the history (``HistoryEvent``, one hash chain over all of it), the chain's head
(``HistoryChain``), the anchors the worker records each day (``AuditAnchor``), the signed summaries of what
retention removed (``HistoryGap``) and the permit a retention batch holds while it deletes
(``CleanupPermit``).

``engine.models`` re-exports these classes, so ``from engine.models import HistoryEvent`` is the way to import
them. How an event's hash is made is ``engine.hash_chain``'s docstring (and the README's "Audit" section).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from engine.people_models import Base

__all__ = ["HistoryEvent", "HistoryChain", "AuditAnchor", "HistoryGap", "CleanupPermit", "GENESIS"]

GENESIS = "0" * 64
"""The ``prev_hash`` of the first event of the chain."""


class HistoryEvent(Base):
    """Append-only (database triggers refuse UPDATE and DELETE, except a retention batch holding a
    ``CleanupPermit``), and chained: ``hash`` is the SHA-256 of the event's canonical content together with
    ``prev_hash``, the hash of the event before it (by ``id``). An operation (reassign, cancel, deploy, a user
    change…) is an event of type ``operation`` whose ``operation``/``entity_type``/``entity_id`` say what was
    done to what; it may belong to no instance."""

    __tablename__ = "history_events"
    __table_args__ = (  # what a person did, by time (the engine's own "system" events are not indexed)
        Index("ix_history_events_person", "actor", "at", sqlite_where=text("actor <> 'system'"),
              postgresql_where=text("actor <> 'system'")),
        Index("ix_history_events_operation", "operation", "at", sqlite_where=text("operation IS NOT NULL"),
              postgresql_where=text("operation IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[Optional[int]] = mapped_column(ForeignKey("instances.id"), index=True, nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    type: Mapped[str] = mapped_column(String(48))
    actor: Mapped[str] = mapped_column(String(64))
    element_id: Mapped[Optional[str]] = mapped_column(String(128), nullable=True)
    task_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    operation: Mapped[Optional[str]] = mapped_column(String(48), nullable=True)
    entity_type: Mapped[Optional[str]] = mapped_column(String(32), nullable=True)
    entity_id: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)  # "<process id>:<version>"
    prev_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)
    hash: Mapped[str] = mapped_column(String(64), default="")


class HistoryChain(Base):
    """The chain's head: one row (id 1), locked by every command that writes events (so writers on several
    nodes append one after the other, never fork), holding the last event's hash and how many events
    were ever chained (those retention removed included). Events are inserted while the row is locked, so
    their ids grow in the chain's order. The row is signed with the audit key at each write, so cutting or
    extending the chain (or recomputing it) without the key shows even without an anchor."""

    __tablename__ = "history_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    head: Mapped[str] = mapped_column(String(64), default=GENESIS)
    events: Mapped[int] = mapped_column(Integer, default=0)
    signature: Mapped[str] = mapped_column(String(64), default="")  # hash_chain.sign("head", head, events)


class AuditAnchor(Base):
    """A head written down: the chain's head and length at a moment (the worker's daily one, or one an
    auditor asked for), signed with the audit key so it cannot be forged without it."""

    __tablename__ = "audit_anchors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    kind: Mapped[str] = mapped_column(String(16), default="daily")
    events: Mapped[int] = mapped_column(Integer)
    head: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(64))


class HistoryGap(Base):
    """What retention removed from the chain, in one run of consecutive events (by the chain's links):
    ``count`` events from ``first_id`` to ``last_id``; the chain entered the run from ``prev_hash`` and left
    it at ``last_hash``. Signed (HMAC-SHA256 with the audit key), so verification steps over the run only
    where a signed summary says it was removed."""

    __tablename__ = "history_gaps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    removed_at: Mapped[datetime] = mapped_column(DateTime)
    first_id: Mapped[int] = mapped_column(Integer)
    last_id: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64), index=True)
    last_hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(64))


class CleanupPermit(Base):
    """A row a retention batch inserts and deletes inside its own transaction: while it exists (seen only by
    that transaction) the append-only triggers of the history and the comments let DELETE through."""

    __tablename__ = "cleanup_permits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
