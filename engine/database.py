"""Connections, sessions and the schema.

SQLite is the embedded default: WAL journal, foreign keys on, and every
command's transaction opened with ``BEGIN IMMEDIATE`` so two writers never
deadlock on a lock upgrade (the second waits up to ``busy_timeout``). PostgreSQL (or any
SQLAlchemy URL) is used as it is; commands lock instance rows with
``SELECT ... FOR UPDATE``.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from engine import clock, encoding

MIGRATIONS = Path(__file__).with_name("migrations")
_WRITING: ContextVar[bool] = ContextVar("liucheng_writing", default=False)


@contextmanager
def command(session: Session) -> Iterator[None]:
    """One command, one transaction: commit what the block did, or roll all of it back.

    A read transaction the session still holds is ended first, and on SQLite the
    command's transaction starts with ``BEGIN IMMEDIATE`` (reads use a plain
    ``BEGIN``), so two writers queue instead of failing on a lock upgrade.
    """
    if session.in_transaction():
        session.commit()
    token = _WRITING.set(True)
    try:
        with clock.instant():
            yield
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        _WRITING.reset(token)


class HeldSession(Session):
    """A session that keeps one pooled connection from its first use until it is closed.

    Checking a connection out of the pool and wrapping it costs more than a short
    command's own SQL; a session (a request, a worker tick) keeps its connection
    between transactions instead. Outside a transaction it holds no database lock.
    After ``close`` the session may be used again and takes a new connection.
    """

    def __init__(self, engine: Engine):
        super().__init__(bind=engine, expire_on_commit=False)
        self._engine = engine

    def get_bind(self, *args, **kwargs):
        if self.bind is self._engine:
            self.bind = self._engine.connect()
        return self.bind

    def close(self) -> None:
        try:
            super().close()
        finally:
            held, self.bind = self.bind, self._engine
            if held is not self._engine:
                held.close()


class Database:
    """An engine plus a session factory for one database URL."""

    def __init__(self, url: str, echo: bool = False):
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self.sessions = partial(HeldSession, self.engine)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = self.sessions()
        try:
            yield session
        finally:
            session.close()

    def upgrade(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        from alembic import command

        with self.engine.begin() as connection:
            config = alembic_config(self.url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def make_engine(url: str, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo)
    return create_engine(url, echo=echo, pool_pre_ping=True, future=True, json_serializer=encoding.dumps)


def _sqlite_engine(url: str, echo: bool) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}, json_serializer=encoding.dumps,
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.connection.dbapi_connection.execute("BEGIN IMMEDIATE" if _WRITING.get() else "BEGIN")

    return engine
