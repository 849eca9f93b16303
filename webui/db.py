"""One SQLAlchemy session per request, on ``flask.g``, closed when the app context ends."""
from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from engine.database import Database

EXTENSION = "liucheng_db"


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
