"""Settings read from the environment, with embedded defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SQLITE_FILE = "liucheng.db"


def default_database_url() -> str:
    """``LIUCHENG_DATABASE_URL`` or a SQLite file in the current directory."""
    url = os.environ.get("LIUCHENG_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{Path(DEFAULT_SQLITE_FILE).resolve()}"


@dataclass
class Settings:
    database_url: str = field(default_factory=default_database_url)
    script_timeout: float = float(os.environ.get("LIUCHENG_SCRIPT_TIMEOUT", "1.0"))
    secret_key: str = os.environ.get("LIUCHENG_SECRET_KEY", "")
