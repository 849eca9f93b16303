"""When a timer start event fires: its first firing at deployment and each next one, as Camunda 7.

A start timer's row keeps what it waits for as ``<kind>:<text>``. At deployment (``first_firing``)
the text is made absolute, so the row fires as Camunda's job does:

* ``timeDuration`` (``PT1H``): once, the duration after deployment (stored as that ``timeDate``);
* ``timeDate``: once at that date; a date already past fires once at the worker's next tick;
* ``timeCycle`` ``R3/PT10H`` (no start): from deployment on, the first the interval after it (stored
  with that start, so its three repetitions are counted); ``R/2026-12-01T00:00:00+08:00/P1D``
  from its start; a Quartz cron (``0 0/5 * * * ?``, ``engine.timer_cycles``) at its times in the
  department's zone. A cycle stepping by months keeps its day of month (the 31st falls on the
  month's last day without drifting).

``next_occurrence`` gives the firing after a given time (None when the timer is spent). Times in and
out are naive UTC, as stored.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

from engine import spiff, timer_cycles


@dataclass(frozen=True)
class Firing:
    """A start timer made absolute: the row's ``expression`` (``kind:text``) and its first due time."""

    expression: str
    due_at: datetime


def first_firing(kind: str, text: str, now: datetime) -> Optional[Firing]:
    """The start timer ``kind``/``text`` deployed at ``now``; None when it will never fire (a cron whose
    years are over, a cycle whose repetitions are spent). Raises what the text's parser raises."""
    aware_now = now.replace(tzinfo=timezone.utc)
    if kind == "timeDuration":
        due = now + spiff.iso_duration_from(text, aware_now)
        return Firing(f"timeDate:{_iso(due)}", due)
    if kind == "timeDate":
        due = _naive(spiff.iso_datetime(text))
        return Firing(f"timeDate:{text}", due)  # a past date fires once, at the next tick
    if timer_cycles.is_cron(text):
        timer_cycles.parse(text)
        due = next_occurrence(kind, text, now)
        return Firing(f"{kind}:{text}", due) if due is not None else None
    parts = text.strip().split("/")
    if len(parts) == 2 and parts[1].upper().startswith("P"):  # R3/PT10H: counted from deployment
        text = f"{parts[0]}/{_iso(now + spiff.iso_duration_from(parts[1], aware_now))}/{parts[1]}"
    due = next_occurrence(kind, text, now, inclusive=True)
    if due is None:
        return None
    next_occurrence(kind, text, due)  # the one after must be computable too (within the calendar)
    return Firing(f"{kind}:{text}", due)


def next_occurrence(kind: str, text: str, after: datetime, inclusive: bool = False) -> Optional[datetime]:
    """The first time after ``after`` (naive UTC; at it too when ``inclusive``) that a start timer is
    due, or None when it is spent."""
    aware_after = after.replace(tzinfo=timezone.utc)
    if kind == "timeDate":
        due = spiff.iso_datetime(text)
        return _naive(due) if due > aware_after or (inclusive and due == aware_after) else None
    if kind == "timeDuration":  # a row deployed before durations were made dates: it fired, once
        return None
    if timer_cycles.is_cron(text):
        found = timer_cycles.next_after(text, aware_after)
        return _naive(found) if found is not None else None
    months = _calendar_months(text)
    if months:
        return _next_by_months(text, months, aware_after, inclusive)
    cycles, start, duration = spiff.iso_recurring_interval(text)
    if duration.total_seconds() <= 0:
        return None
    if start < aware_after or (start == aware_after and not inclusive):
        steps = int((aware_after - start) / duration) + 1
        if cycles >= 0 and steps >= cycles:
            return None
        start = start + steps * duration
    return _naive(start)


_MONTHS = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?$")


def _calendar_months(text: str) -> int:
    """For a cycle stepping by whole months or years (``R/…/P1M``), the months per step, else 0."""
    parts = text.strip().split("/")
    match = _MONTHS.match(parts[-1].upper()) if len(parts) == 3 else None
    if not match or not any(match.groups()):
        return 0
    return int(match.group(1) or 0) * 12 + int(match.group(2) or 0)


def _next_by_months(text: str, months: int, after: datetime, inclusive: bool) -> Optional[datetime]:
    """Calendar stepping: the 31st of each month falls on the month's last day, without drifting."""
    repeat, start_text, _ = text.strip().split("/")
    cycles = int(repeat[1:]) if repeat[1:] else -1
    start = spiff.iso_datetime(start_text)
    step = 0
    while True:
        month_index = start.month - 1 + step * months
        year, month = start.year + month_index // 12, month_index % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        candidate = start.replace(year=year, month=month, day=day)
        if candidate > after or (inclusive and candidate == after):
            return None if 0 <= cycles <= step else _naive(candidate)
        step += 1


def _naive(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def _iso(value: datetime) -> str:
    """A naive UTC time as ISO-8601 text with its zone (``…+00:00``)."""
    return value.replace(tzinfo=timezone.utc).isoformat()
