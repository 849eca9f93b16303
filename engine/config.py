"""Settings read from the environment, with embedded defaults."""
from __future__ import annotations

import os
from pathlib import Path

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
