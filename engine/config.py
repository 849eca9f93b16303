"""Settings read from the environment, with embedded defaults (the database, scripts' limits, the
workflow cache, the time zone pages show, how long history is kept and when retention runs)."""
from __future__ import annotations

import os
import re
from datetime import time
from pathlib import Path
from typing import Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_SQLITE_FILE = "liucheng.db"


def default_database_url() -> str:
    """``LIUCHENG_DATABASE_URL`` or a SQLite file in the current directory."""
    url = os.environ.get("LIUCHENG_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{Path(DEFAULT_SQLITE_FILE).resolve()}"


def script_timeout() -> float:
    """Seconds a script or condition may run: ``LIUCHENG_SCRIPT_TIMEOUT`` (default 1.0)."""
    try:
        return max(0.05, float(os.environ.get("LIUCHENG_SCRIPT_TIMEOUT", "1.0")))
    except ValueError:
        return 1.0


def workflow_cache_size() -> int:
    """How many running instances keep their workflow in memory between commands:
    ``LIUCHENG_WORKFLOW_CACHE`` (default 1000; 0 reads every instance from the database)."""
    try:
        return max(0, int(os.environ.get("LIUCHENG_WORKFLOW_CACHE", "1000")))
    except ValueError:
        return 1000


def script_memory_mb() -> int:
    """Megabytes of memory one script or condition may allocate in a sandbox worker:
    ``LIUCHENG_SCRIPT_MEMORY`` (default 256, at least 16)."""
    try:
        return max(16, int(os.environ.get("LIUCHENG_SCRIPT_MEMORY", "256")))
    except ValueError:
        return 256


def script_workers() -> int:
    """Sandbox worker processes at most (``engine.script_pool``): ``LIUCHENG_SCRIPT_WORKERS``
    (default the number of processors, at least 1)."""
    default = os.cpu_count() or 2
    try:
        return max(1, int(os.environ.get("LIUCHENG_SCRIPT_WORKERS", str(default))))
    except ValueError:
        return default


DEFAULT_TIMEZONE = "Asia/Shanghai"


class ConfigurationError(RuntimeError):
    """A setting in the environment cannot be used; the message names the variable and how to fix it."""


def timezone() -> ZoneInfo:
    """The one time zone every page shows times in (and the exports name, and Quartz cron timers fire
    in): ``LIUCHENG_TIMEZONE``, an IANA zone name (default ``Asia/Shanghai``; ``LIUCHENG_TIME_ZONE``, its
    older name, is read when it is unset). The database and the API keep UTC. An unknown name is a
    start-up error that names the variable."""
    name = (os.environ.get("LIUCHENG_TIMEZONE") or os.environ.get("LIUCHENG_TIME_ZONE")  # the older name
            or DEFAULT_TIMEZONE).strip()
    try:
        if name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        raise ConfigurationError(
            f"LIUCHENG_TIMEZONE={name!r} is not a known time zone. Set an IANA zone name such as "
            f"'Asia/Shanghai' or 'Europe/Berlin', or leave it unset for {DEFAULT_TIMEZONE}.") from None


# -- retention (``engine.retention``) ---------------------------------------------------------------

DEFAULT_CLEANUP_BATCH = 1000
MAX_HISTORY_TTL_DAYS = 36500  # 100 years: longer ones are refused (a date that far back does not exist)
_DAYS = re.compile(r"(\d{1,6})|P(\d{1,6})D", re.IGNORECASE)
_WINDOW = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")


def days(text: str) -> int:
    """A number of days as ``historyTimeToLive`` writes it (as Camunda 7 reads it): whole days (``30``) or
    ISO 8601 days (``P30D``); ``ValueError`` for anything else."""
    found = _DAYS.fullmatch(text.strip())
    if found is None:
        raise ValueError(text)
    return int(found.group(1) or found.group(2))


def history_ttl_days() -> Optional[int]:
    """How many days the history of an ended instance is kept when its process sets no
    ``historyTimeToLive``: ``LIUCHENG_HISTORY_TTL_DAYS`` (whole days or ``P30D``, at most
    ``MAX_HISTORY_TTL_DAYS``); unset: kept forever."""
    text = os.environ.get("LIUCHENG_HISTORY_TTL_DAYS", "").strip()
    if not text:
        return None
    try:
        found = days(text)
    except ValueError:
        raise ConfigurationError(
            f"LIUCHENG_HISTORY_TTL_DAYS={text!r} is not a number of days. Set whole days such as 365 (or P365D), "
            "or leave it unset to keep the history of processes without historyTimeToLive forever.") from None
    if found > MAX_HISTORY_TTL_DAYS:
        raise ConfigurationError(
            f"LIUCHENG_HISTORY_TTL_DAYS={text!r} is more than {MAX_HISTORY_TTL_DAYS} days (100 years). Set at most "
            f"{MAX_HISTORY_TTL_DAYS}, or leave it unset to keep the history of processes without historyTimeToLive "
            "forever.")
    return found


def cleanup_batch() -> int:
    """The most rows one retention transaction deletes, across all tables: ``LIUCHENG_CLEANUP_BATCH``
    (default 1000)."""
    text = os.environ.get("LIUCHENG_CLEANUP_BATCH", "").strip()
    if not text:
        return DEFAULT_CLEANUP_BATCH
    if not text.isdigit() or int(text) < 1:
        raise ConfigurationError(
            f"LIUCHENG_CLEANUP_BATCH={text!r} is not a positive whole number. Set the most rows one clean-up "
            f"transaction may delete, such as 1000, or leave it unset for {DEFAULT_CLEANUP_BATCH}.")
    return int(text)


def cleanup_window() -> Optional[tuple[time, time]]:
    """The off-peak hours retention runs in, local time (``LIUCHENG_TIMEZONE``): ``LIUCHENG_CLEANUP_WINDOW``
    as ``HH:MM-HH:MM`` (``22:00-04:00`` runs across midnight); unset: any time."""
    text = os.environ.get("LIUCHENG_CLEANUP_WINDOW", "").strip()
    if not text:
        return None
    found = _WINDOW.fullmatch(text)
    try:
        window = (time(int(found[1]), int(found[2])), time(int(found[3]), int(found[4]))) if found else None
    except ValueError:  # 25:00
        window = None
    if window is None or window[0] == window[1]:
        raise ConfigurationError(
            f"LIUCHENG_CLEANUP_WINDOW={text!r} is not a window of local time. Write it as HH:MM-HH:MM, such as "
            "01:00-05:00 (22:00-04:00 spans midnight), or leave it unset to clean up at any time.")
    return window
