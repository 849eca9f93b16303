"""Settings read from the environment, with embedded defaults (the database, scripts' limits, the
workflow cache, the time zone pages show)."""
from __future__ import annotations

import os
from pathlib import Path
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
