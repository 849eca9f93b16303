"""One SQLAlchemy session per request, on ``flask.g``, closed when the app context ends, and what
the database's failures mean to a caller.

``UNREACHABLE``: the database cannot be reached or answer now (connection refused or lost,
pool exhausted, locked): HTTP 503 with ``Retry-After: RETRY_AFTER_SECONDS``. ``UNSTORABLE``: a
value the database cannot hold (out of range, NUL, invalid text) got past the checks of the
request: HTTP 400, and the command's transaction was rolled back, so nothing changed.
"""
from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.exc import DataError, InterfaceError, OperationalError, TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session

from engine.database import Database

EXTENSION = "liucheng_db"
UNREACHABLE = (OperationalError, InterfaceError, PoolTimeoutError)
UNSTORABLE = (DataError, OverflowError, UnicodeEncodeError)
RETRY_AFTER_SECONDS = 30


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
