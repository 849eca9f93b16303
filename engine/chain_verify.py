"""Checking the history's hash chain (``engine.hash_chain`` says how an event is hashed).

``verify`` walks the events in ``id`` order and checks, for each, that its hash is the hash of its content
and of ``prev_hash`` (else it was **changed**) and that ``prev_hash`` is the hash of the event before it, or is
reached from it through retention's signed summaries (``HistoryGap``). Where a link fails it says why:
**inserted** (the events after it continue from the one before it), **reordered** (it links to an event that
comes later), or **missing** (an event before it is gone). The end of the walk must be the head row's hash
and count (else the last events are **missing**), and the head row must carry the audit key's signature (else
the chain was cut, extended or recomputed by someone without the key). ``verify(instance_id=N)`` walks the stretch of the chain
that holds N's events, one event before it and one after it, and checks that N's first event is its start.
``verify_against`` proves the chain up to an anchor (``HASH:COUNT``) is the one the anchor named: a chain
recomputed after an edit passes ``verify`` but not this. A walk reads the events in batches (constant memory).
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator, Optional

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from engine import hash_chain
from engine.errors import NotFoundError
from engine.models import GENESIS, HistoryChain, HistoryEvent, HistoryGap, Instance

__all__ = ["Broken", "Verdict", "verify", "verify_against", "current_head", "as_dict", "REASONS"]

REASONS = ("changed", "missing", "inserted", "reordered")
BATCH = 5000
LOOKAHEAD = 10000  # how far a walk looks for the event a link names, to tell "reordered" from "missing"
_COLUMNS = (  # time and data as the database holds them: a value edited into garbage is "changed", not a crash
    HistoryEvent.id, HistoryEvent.prev_hash, HistoryEvent.hash, HistoryEvent.type, HistoryEvent.instance_id,
    HistoryEvent.actor, cast(HistoryEvent.at, Text).label("at"), HistoryEvent.element_id, HistoryEvent.task_id,
    cast(HistoryEvent.data, Text).label("data"), HistoryEvent.operation, HistoryEvent.entity_type,
    HistoryEvent.entity_id)


@dataclass(frozen=True)
class Broken:
    id: int
    reason: str
    detail: str


@dataclass(frozen=True)
class Verdict:
    intact: bool
    events: int  # the events the walk vouched for (with those retention removed under a signed summary)
    head: str  # the hash the walk ended on
    first_broken: Optional[Broken] = None
    removed: int = 0
    checked: bool = True  # False: the instance's stretch was longer than asked to walk (``stretch`` events)
    stretch: int = 0


def current_head(session: Session) -> tuple[str, int]:
    """The chain's head hash and how many events were ever chained."""
    row = session.get(HistoryChain, 1)
    return (row.head, row.events) if row is not None else (GENESIS, 0)


def as_dict(verdict: Verdict) -> dict[str, Any]:
    broken = verdict.first_broken
    return {"intact": verdict.intact, "events": verdict.events, "head": verdict.head, "removed": verdict.removed,
            "first_broken": None if broken is None else {"id": broken.id, "reason": broken.reason,
                                                         "detail": broken.detail}}


class _Walk:
    """The running state of a walk: the hash it stands on and what it vouched for."""

    def __init__(self, session: Session, running: str = GENESIS):
        self.gaps, self.running, self.seen, self.removed = _Gaps(session), running, 0, 0
        self.previous, self.last_id = None, 0  # the hash before ``running``, and the id of the event that made it

    def across_gaps(self, target: str) -> bool:
        """Step from the running hash over signed summaries until ``target``; True when reached."""
        hop, removed, visited = self.running, 0, set()
        while hop != target and hop not in visited:
            visited.add(hop)
            gap = self.gaps.starting_at(hop)
            if gap is None:
                return False
            hop, removed = gap.last_hash, removed + gap.count
        if hop != target:
            return False
        self.running, self.removed = hop, self.removed + removed
        return True

    def check(self, row, rows: Iterator) -> Optional[Broken]:
        """Check one event; on a break, read ahead in ``rows`` to name it."""
        linked = row.prev_hash == self.running or self.across_gaps(row.prev_hash)
        try:
            content = _content(row)
        except (TypeError, ValueError):
            return Broken(row.id, "changed", "its time or data no longer reads as a time or JSON")
        if hash_chain.event_hash(content, row.prev_hash) != row.hash:
            if _continues_from(rows, self.running):
                return Broken(row.id, "inserted", "its successor continues from the event before it")
            return Broken(row.id, "changed", "its content or links do not give its stored hash")
        if not linked:
            if self.previous is not None and row.prev_hash == self.previous:
                return Broken(self.last_id, "inserted", "it is valid by itself, but the event after it continues "
                                                        "from the one before it")
            return _name_break(row, self.running, rows)
        self.previous, self.last_id = self.running, row.id
        self.running, self.seen = row.hash, self.seen + 1
        return None


class _Gaps:
    """Retention's signed summaries, looked up by the hash a run was entered from (read when a link needs one)."""

    def __init__(self, session: Session):
        self.session, self.known = session, {}

    def starting_at(self, prev_hash: str) -> Optional[HistoryGap]:
        if prev_hash not in self.known:
            self.known[prev_hash] = next((gap for gap in self.session.scalars(
                select(HistoryGap).where(HistoryGap.prev_hash == prev_hash)) if hash_chain.signed(
                    gap.signature, "gap", gap.first_id, gap.last_id, gap.count, gap.prev_hash, gap.last_hash)), None)
        return self.known[prev_hash]


def _content(row) -> dict[str, Any]:
    """The event's hashed fields as the engine wrote them, from the time and data the database holds as text."""
    content = dict(row._mapping)
    content["at"] = None if row.at is None else datetime.fromisoformat(row.at)
    content["data"] = None if row.data is None else json.loads(row.data)
    return content


@contextmanager
def _consistent(session: Session) -> Iterator[Session]:
    """A session reading one state of the database from the head row to the last event: PostgreSQL's
    ``REPEATABLE READ`` on a connection of its own (commands committing meanwhile are not seen, so they neither
    look inserted past the head nor leave it behind); SQLite's read transaction is one state already."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        yield session
        return
    with Session(bind.engine) as snapshot:
        snapshot.connection(execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True})
        yield snapshot


def _continues_from(rows: Iterator, running: str) -> bool:
    following = next(rows, None)
    return following is not None and following.prev_hash == running


def _name_break(row, running: str, rows: Iterator) -> Broken:
    later = [following for _, following in zip(range(LOOKAHEAD), rows)]
    if any(following.hash == row.prev_hash for following in later):
        return Broken(row.id, "reordered", "it links to an event that comes after it")
    if later and later[0].prev_hash == running:
        return Broken(row.id, "inserted", "it does not link to the event before it, and the next event does")
    return Broken(row.id, "missing", f"an event before it is missing (its link is {row.prev_hash[:16]}…, "
                                     f"the chain stood at {running[:16]}…)")


def _rows(session: Session, first: Optional[int] = None, last: Optional[int] = None) -> Iterator:
    query = select(*_COLUMNS).order_by(HistoryEvent.id).execution_options(yield_per=BATCH)
    if first is not None:
        query = query.where(HistoryEvent.id >= first)
    if last is not None:
        query = query.where(HistoryEvent.id <= last)
    return iter(session.execute(query))


def verify(session: Session, instance_id: Optional[int] = None, longest: Optional[int] = None) -> Verdict:
    """Walk the whole chain (or the stretch holding ``instance_id``'s events) and say whether it is intact.
    With ``longest``, an instance whose stretch holds more events is not walked (``checked`` False): a page
    asks so, the CLI and the API never do."""
    with _consistent(session) as reading:
        if instance_id is not None:
            return _verify_instance(reading, instance_id, longest)
        return _verify_all(reading)


def _verify_all(session: Session) -> Verdict:
    walk, rows = _Walk(session), _rows(session)
    for row in rows:
        broken = walk.check(row, rows)
        if broken:
            return Verdict(False, walk.seen + walk.removed, walk.running, broken, walk.removed)
    return _against_head(session, walk)


def _against_head(session: Session, walk: _Walk) -> Verdict:
    head, events = current_head(session)
    if walk.running != head and not walk.across_gaps(head):
        last = session.scalar(select(func.max(HistoryEvent.id))) or 0
        at_head = session.scalar(select(HistoryEvent.id).where(HistoryEvent.hash == head)) if head != GENESIS else 0
        if at_head is not None:  # the walk went through the head and on: events were added after it
            after = session.scalar(select(func.min(HistoryEvent.id)).where(HistoryEvent.id > at_head)) or last
            return Verdict(False, walk.seen + walk.removed, walk.running, Broken(
                after, "inserted", f"the chain's head names {events} events ending in {head[:16]}…; this event "
                                   "and those after it were added past the head"), walk.removed)
        return Verdict(False, walk.seen + walk.removed, walk.running, Broken(
            last, "missing", f"the chain's head names {events} events ending in {head[:16]}…; the events after "
                             f"this one are missing"), walk.removed)
    if walk.seen + walk.removed != events:
        last = session.scalar(select(func.max(HistoryEvent.id))) or 0
        walked = walk.seen + walk.removed
        return Verdict(False, walked, walk.running, Broken(
            last, "missing" if walked < events else "inserted",
            f"the chain's head counts {events} events, the walk {walked}"), walk.removed)
    row = session.get(HistoryChain, 1)
    if row is not None and not hash_chain.signed(row.signature, "head", row.head, row.events):
        last = session.scalar(select(func.max(HistoryEvent.id))) or 0
        return Verdict(False, walk.seen + walk.removed, walk.running, Broken(
            last, "changed", "the chain's head was not written with the audit key: the chain was cut, extended or "
                             "recomputed outside Liucheng (or LIUCHENG_AUDIT_KEY changed)"), walk.removed)
    return Verdict(True, events, head, None, walk.removed)


def _verify_instance(session: Session, instance_id: int, longest: Optional[int] = None) -> Verdict:
    if session.get(Instance, instance_id) is None:
        raise NotFoundError(f"Instance {instance_id} not found; its history may have been removed by retention.")
    first, last = session.execute(select(func.min(HistoryEvent.id), func.max(HistoryEvent.id))
                                  .where(HistoryEvent.instance_id == instance_id)).one()
    if first is None:
        return Verdict(False, 0, GENESIS, Broken(0, "missing", f"instance {instance_id} has no events left"))
    before = session.scalar(select(func.max(HistoryEvent.id)).where(HistoryEvent.id < first))
    after = session.scalar(select(func.min(HistoryEvent.id)).where(HistoryEvent.id > last))
    if longest is not None:
        stretch = session.scalar(select(func.count()).select_from(HistoryEvent).where(
            HistoryEvent.id >= first, HistoryEvent.id <= last))
        if stretch > longest:
            return Verdict(True, 0, GENESIS, checked=False, stretch=stretch)
    rows = _rows(session, before if before is not None else first, after if after is not None else last)
    walk, own, own_head, start = _Walk(session), 0, GENESIS, None
    if before is not None:
        anchor = next(rows)
        walk.running = anchor.hash
    for row in rows:
        broken = walk.check(row, rows)
        if broken:
            return Verdict(False, own, own_head, broken)
        if row.instance_id == instance_id:
            own, own_head, start = own + 1, row.hash, start or row
    if after is None and walk.running != current_head(session)[0] and not walk.across_gaps(current_head(session)[0]):
        return Verdict(False, own, own_head, Broken(last, "missing", "events after this one are missing"))
    if start.type != "instance_started":
        return Verdict(False, own, own_head, Broken(start.id, "missing", "the instance's start event is missing"))
    return Verdict(True, own, own_head)


def verify_against(session: Session, head: str, count: int) -> Verdict:
    """Prove the first ``count`` events of the chain end in ``head`` (an anchor written down earlier)."""
    with _consistent(session) as reading:
        return _verify_against(reading, head, count)


def _verify_against(session: Session, head: str, count: int) -> Verdict:
    walk, rows = _Walk(session), _rows(session)
    for row in rows:
        if walk.seen + walk.removed >= count:
            break
        broken = walk.check(row, rows)
        if broken:
            return Verdict(False, walk.seen + walk.removed, walk.running, broken, walk.removed)
        if walk.seen + walk.removed > count:
            return Verdict(False, count, walk.running, Broken(row.id, "missing", "the anchor falls inside "
                           "events retention removed; check against a later anchor"), walk.removed)
    if walk.seen + walk.removed < count:
        walk.across_gaps(head)
    reached = walk.seen + walk.removed
    if reached < count:
        return Verdict(False, reached, walk.running, Broken(0, "missing", f"the chain holds {reached} events, "
                                                                          f"the anchor {count}"), walk.removed)
    if walk.running != head:
        position = _id_at(session, walk.running)
        return Verdict(False, count, walk.running, Broken(position, "changed", (
            f"event #{count} of the chain ends in {walk.running[:16]}…, the anchor says {head[:16]}…: the "
            "history up to the anchor was changed and its hashes recomputed")), walk.removed)
    return Verdict(True, count, head, None, walk.removed)


def _id_at(session: Session, digest: str) -> int:
    return session.scalar(select(HistoryEvent.id).where(HistoryEvent.hash == digest)) or 0
