"""The one place the engine asks for the time, so tests can freeze and move it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone


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


def now() -> datetime:
    return _clock.now()


def set_clock(clock: Clock) -> Clock:
    """Install ``clock`` for the whole engine; returns the previous one."""
    global _clock
    previous, _clock = _clock, clock
    return previous
