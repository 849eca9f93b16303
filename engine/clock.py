"""The one place the engine asks for the time, so tests can freeze and move it."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timedelta, timezone
from typing import Iterator, Optional


class Clock:
    """Wall clock in naive UTC (how every timestamp is stored)."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc).replace(tzinfo=None)


class FrozenClock(Clock):
    """A clock that only moves when told to (tests, simulations)."""

    def __init__(self, start: datetime):
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current = self.current + timedelta(**delta)
        return self.current


_clock: Clock = Clock()
_instant: ContextVar[Optional[list]] = ContextVar("liucheng_instant", default=None)


def now() -> datetime:
    """The engine's time; within one command (``instant``) the same reading throughout, so
    every row and event a command writes carries one timestamp."""
    box = _instant.get()
    if box is None:
        return _clock.now()
    if box[0] is None:
        box[0] = _clock.now()
    return box[0]


@contextmanager
def instant() -> Iterator[None]:
    """Read the clock once for the block (the first ``now()`` in it) instead of at every call."""
    token = _instant.set([None])
    try:
        yield
    finally:
        _instant.reset(token)


def set_clock(clock: Clock) -> Clock:
    """Install ``clock`` for the whole engine; returns the previous one."""
    global _clock
    previous, _clock = _clock, clock
    return previous


class EngineDatetime(datetime):
    """``datetime`` whose ``now()``/``utcnow()``/``today()`` read the engine clock.

    SpiffWorkflow's timers and sandboxed scripts see this class, so a frozen test
    clock (or a worker firing an overdue timer at the time it was due) is the
    time everywhere. ``now()`` without a zone is UTC, like every stored time.
    """

    @classmethod
    def now(cls, tz=None):
        current = _firing_at() or _clock.now()
        aware = current.replace(tzinfo=timezone.utc)
        return aware.astimezone(tz) if tz else aware.replace(tzinfo=None)

    @classmethod
    def utcnow(cls):
        return cls.now()

    @classmethod
    def today(cls):
        return cls.now()


FIRING_AT: ContextVar[Optional[datetime]] = ContextVar("firing_at", default=None)
"""The time a timer is being fired at (may be later than it was due), while ``engine.spiff`` fires it:
what ``EngineDatetime.now()`` answers then."""


def _firing_at() -> Optional[datetime]:
    return FIRING_AT.get()


class EngineDate(date):
    """``date`` whose ``today()`` is the engine clock's (UTC) date, like ``EngineDatetime.now()``."""

    @classmethod
    def today(cls):
        return EngineDatetime.now().date()
