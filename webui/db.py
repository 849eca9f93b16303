"""One SQLAlchemy session per request, on ``flask.g``, closed when the app context ends, and what
the database's failures mean to a caller.

``failure_of(exc)`` names what a database exception means to the caller, whether SQLAlchemy
wrapped it or the driver raised it (``engine.statements`` runs on the driver's cursor):
``"unreachable"`` — the database cannot be reached or answer now (connection refused or lost,
pool exhausted, locked): HTTP 503 with ``Retry-After: RETRY_AFTER_SECONDS``; ``"unstorable"`` — a
value the database cannot hold (out of range, NUL, invalid text) got past the request checks:
HTTP 400, and the command's transaction was rolled back, so nothing changed.
"""
from __future__ import annotations

from typing import Optional

from flask import Flask, current_app, g
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session

from engine.database import Database

EXTENSION = "liucheng_db"
RETRY_AFTER_SECONDS = 30
UNREACHABLE_NAMES = {"OperationalError", "InterfaceError"}  # PEP 249 classes, in every driver and SQLAlchemy
UNSTORABLE_NAMES = {"DataError"}


def init_app(app: Flask, database: Database) -> None:
    """Keep ``database`` on ``app`` and close each request's session afterwards."""
    app.extensions[EXTENSION] = database
    app.teardown_appcontext(close_session)


def get_database() -> Database:
    return current_app.extensions[EXTENSION]


def get_session() -> Session:
    """The session of the current request (created on first use)."""
    if "db_session" not in g:
        g.db_session = get_database().sessions()
    return g.db_session


def close_session(_exception: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def failure_of(exc: BaseException) -> Optional[str]:
    """``"unreachable"``, ``"unstorable"`` or None (not a failure of the database)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if isinstance(exc, PoolTimeoutError) or names & UNREACHABLE_NAMES:
        return "unreachable"
    if isinstance(exc, (OverflowError, UnicodeEncodeError)) or names & UNSTORABLE_NAMES:
        return "unstorable"
    return None
