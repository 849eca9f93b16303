"""Quartz cron cycles, as Camunda 7 reads a ``timeCycle`` such as ``0 0/5 * * * ?``.

Six or seven fields: seconds, minutes, hours, day of month, month, day of week, year (optional).
Each field takes ``*``, numbers, lists (``1,15``), ranges (``MON-FRI``), steps (``0/5``, ``*/10``,
``10-40/10``) and names (``JAN``, ``SUN``; day of week 1 = Sunday … 7 = Saturday as in Quartz).
The day fields also take ``?`` (no value), the day of month ``L`` (last day), ``L-3``, ``15W``
(nearest weekday) and ``LW``; the day of week ``6L`` (last Friday of the month) and ``6#3`` (third
Friday). Times are those of the department's time zone (``time_zone``: ``LIUCHENG_TIMEZONE``,
default Asia/Shanghai, the zone the pages show), as Camunda evaluates cron in its server's zone.

``parse`` refuses what Quartz refuses with a ``CronError`` saying what to write; ``next_after``
gives the next firing after an instant (aware UTC in, aware UTC out, None when the years run out).
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Optional
from zoneinfo import ZoneInfo

from engine import config

DEFAULT_ZONE = "Asia/Shanghai"
MONTHS = {name: n for n, name in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}
DAYS = {name: n for n, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)}
LAST_YEAR = 2099  # Quartz's last year
EXAMPLE = "0 0/5 * * * ? (every five minutes) or 0 0 9 ? * MON-FRI (09:00 on weekdays)"
_FIELD = re.compile(r"^[0-9A-Za-z*?/,#LW-]+$")
_TIME_FIELD = re.compile(r"^[0-9*/,-]+$")  # seconds, minutes, hours: never a word (a Python expression is)


class CronError(ValueError):
    """A cron text Quartz would not accept; the message says what to write."""


def time_zone() -> ZoneInfo:
    """The department's time zone, the one the pages show: ``engine.config.timezone``
    (``LIUCHENG_TIMEZONE``, default Asia/Shanghai); an unknown name here (a worker started without the
    web app's check) falls back to Asia/Shanghai."""
    try:
        return config.timezone()
    except config.ConfigurationError:
        return ZoneInfo(DEFAULT_ZONE)


def is_cron(text: str) -> bool:
    """Whether ``text`` is written as a cron (six or seven fields), valid or not."""
    fields = text.split() if isinstance(text, str) else []
    return (len(fields) in (6, 7) and all(_FIELD.match(f) for f in fields)
            and all(_TIME_FIELD.match(f) for f in fields[:3]))


@dataclass(frozen=True)
class Cron:
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: frozenset[int]
    years: frozenset[int]
    day_of_month: Optional[str]  # the field as written, None for '?'
    day_of_week: Optional[str]


def _values(field: str, low: int, high: int, names: dict, what: str) -> list[int]:
    found: set[int] = set()
    for part in field.upper().split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = _number(step_text, 1, high - low + 1 if high > low else high, what)
            part = part if part not in ("", "*") else "*"
            if "-" not in part and part != "*":
                part = f"{part}-{high}"
        if part == "*":
            first, last = low, high
        elif "-" in part:
            first_text, last_text = part.split("-", 1)
            first, last = _named(first_text, low, high, names, what), _named(last_text, low, high, names, what)
        else:
            first = last = _named(part, low, high, names, what)
        if last < first:  # Quartz wraps ranges such as FRI-MON or 22-2
            span = list(range(first, high + 1)) + list(range(low, last + 1))
        else:
            span = list(range(first, last + 1))
        found.update(span[::step])
    return sorted(found)


def _named(text: str, low: int, high: int, names: dict, what: str) -> int:
    if text in names:
        return names[text]
    return _number(text, low, high, what)


def _number(text: str, low: int, high: int, what: str) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise CronError(f"'{text}' is not a valid {what} (from {low} to {high})")
    return int(text)


def _check_day_of_month(field: str) -> None:
    upper = field.upper()
    if upper in ("L", "LW") or re.fullmatch(r"L-\d{1,2}", upper):
        return
    if re.fullmatch(r"\d{1,2}W", upper):
        _number(upper[:-1], 1, 31, "day of month")
        return
    _values(upper, 1, 31, {}, "day of month")


def _check_day_of_week(field: str) -> None:
    upper = field.upper()
    special = re.fullmatch(r"(\w{1,3})(L|#[1-5])", upper)
    if upper == "L":
        return
    if special:
        _named(special.group(1), 1, 7, DAYS, "day of week")
        return
    _values(upper, 1, 7, DAYS, "day of week")


@lru_cache(maxsize=256)
def parse(text: str) -> Cron:
    """The cron ``text`` read as Quartz reads it; ``CronError`` with what to write otherwise."""
    fields = text.split()
    if len(fields) not in (6, 7):
        raise CronError(f"Cron '{text}' has {len(fields)} fields; Quartz cron has six or seven (seconds minutes "
                        f"hours day-of-month month day-of-week [year]), e.g. {EXAMPLE}")
    try:
        day_of_month, day_of_week = fields[3], fields[5]
        if day_of_month != "?" and day_of_week != "?" and "*" not in (day_of_month, day_of_week):
            raise CronError("both a day of month and a day of week are given; put '?' in one of them")
        if day_of_month == "?" and day_of_week == "?":
            raise CronError("'?' is in both day fields; give a day of month or a day of week")
        if day_of_month not in ("?", "*"):
            _check_day_of_month(day_of_month)
        if day_of_week not in ("?", "*"):
            _check_day_of_week(day_of_week)
        for field, what in ((fields[0], "second"), (fields[1], "minute"), (fields[2], "hour"), (fields[4], "month")):
            if "?" in field or "L" in field.upper() or "#" in field or "W" in field.upper().replace("WED", ""):
                raise CronError(f"'{field}' is not a valid {what} field ('?', 'L', 'W' and '#' are for the day fields)")
        years = (_values(fields[6], 1970, LAST_YEAR, {}, "year") if len(fields) == 7
                 else list(range(1970, LAST_YEAR + 1)))
        return Cron(tuple(_values(fields[0], 0, 59, {}, "second")), tuple(_values(fields[1], 0, 59, {}, "minute")),
                    tuple(_values(fields[2], 0, 23, {}, "hour")), frozenset(_values(fields[4], 1, 12, MONTHS, "month")),
                    frozenset(years), None if day_of_month in ("?", "*") else day_of_month.upper(),
                    None if day_of_week in ("?", "*") else day_of_week.upper())
    except CronError as exc:
        if str(exc).startswith("Cron '"):
            raise
        raise CronError(f"Cron '{text}': {exc}; write a Quartz cron, e.g. {EXAMPLE}") from None


def _weekday(day: date) -> int:
    """Quartz's day of week: 1 = Sunday … 7 = Saturday."""
    return day.isoweekday() % 7 + 1


def _nearest_weekday(year: int, month: int, wanted: int) -> int:
    last = calendar.monthrange(year, month)[1]
    day = min(wanted, last)
    weekday = date(year, month, day).weekday()  # Monday 0 … Sunday 6
    if weekday == 5:  # Saturday: the Friday before, or the Monday after on the 1st
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday: the Monday after, or the Friday before on the last day
        return day + 1 if day < last else day - 2
    return day


@lru_cache(maxsize=256)
def _day_set(field: str, of: str) -> frozenset[int]:
    if of == "month":
        return frozenset(_values(field, 1, 31, {}, "day of month"))
    return frozenset(_values(field, 1, 7, DAYS, "day of week"))


def _day_of_month_matches(field: str, day: date) -> bool:
    last = calendar.monthrange(day.year, day.month)[1]
    if field == "L":
        return day.day == last
    if field.startswith("L-"):
        return day.day == max(1, last - int(field[2:]))
    if field == "LW":
        return day.day == _nearest_weekday(day.year, day.month, last)
    if field.endswith("W"):
        return day.day == _nearest_weekday(day.year, day.month, int(field[:-1]))
    return day.day in _day_set(field, "month")


def _day_of_week_matches(field: str, day: date) -> bool:
    last = calendar.monthrange(day.year, day.month)[1]
    if field == "L":
        return _weekday(day) == 7
    special = re.fullmatch(r"(\w{1,3})(L|#([1-5]))", field)
    if special:
        weekday = DAYS.get(special.group(1)) or int(special.group(1))
        if _weekday(day) != weekday:
            return False
        if special.group(2) == "L":
            return day.day + 7 > last
        return (day.day - 1) // 7 + 1 == int(special.group(3))
    return _weekday(day) in _day_set(field, "week")


def _day_matches(cron: Cron, day: date) -> bool:
    if cron.day_of_month is not None and not _day_of_month_matches(cron.day_of_month, day):
        return False
    return cron.day_of_week is None or _day_of_week_matches(cron.day_of_week, day)


def next_after(text: str, after: datetime, zone: Optional[ZoneInfo] = None) -> Optional[datetime]:
    """The first firing of cron ``text`` strictly after ``after`` (aware), as aware UTC; None when the
    cron's years are over."""
    cron, zone = parse(text), zone or time_zone()
    local = after.astimezone(zone)
    day = local.date()
    while day.year <= LAST_YEAR:
        if day.year not in cron.years:
            if day.year > max(cron.years):
                return None
            day = date(day.year + 1, 1, 1)
            continue
        if day.month not in cron.months:
            day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
            continue
        if _day_matches(cron, day):
            found = _first_time(cron, day, local if day == local.date() else None, zone)
            if found is not None:
                return found.astimezone(timezone.utc)
        day += timedelta(days=1)
    return None


def _first_time(cron: Cron, day: date, after: Optional[datetime], zone: ZoneInfo) -> Optional[datetime]:
    """The day's first time of the cron after ``after`` (same day, local) or at all; skips times a
    daylight-saving change leaves out."""
    for hour in cron.hours:
        if after is not None and hour < after.hour:
            continue
        for minute in cron.minutes:
            if after is not None and (hour, minute) < (after.hour, after.minute):
                continue
            for second in cron.seconds:
                candidate = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=zone)
                if after is not None and candidate <= after:
                    continue
                if candidate.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None) != \
                        candidate.replace(tzinfo=None):
                    continue  # does not exist in this zone (clocks moved forward)
                return candidate
    return None
