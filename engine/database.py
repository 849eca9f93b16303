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
from typing import Callable, Iterator

from alembic import command as alembic_command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from engine import clock, encoding

MIGRATIONS = Path(__file__).with_name("migrations")
_WRITING: ContextVar[bool] = ContextVar("liucheng_writing", default=False)
_IN_COMMAND = "liucheng_in_command"


_HOOKS: dict[str, list[Callable[[Session], None]]] = {"before_commit": [], "after_commit": [], "after_rollback": []}


def on(moment: str) -> Callable:
    """Register ``fn(session)`` to run at a command's ``before_commit``, ``after_commit`` or
    ``after_rollback`` (whether or not the ORM took part in the command)."""
    def register(fn):
        _HOOKS[moment].append(fn)
        return fn
    return register


def _run_hooks(moment: str, session: Session) -> None:
    for fn in _HOOKS[moment]:
        fn(session)


@contextmanager
def command(session: Session) -> Iterator[None]:
    """One command, one transaction: commit what the block did, or roll all of it back.

    A read transaction the session still holds is ended first, and on SQLite the
    command's transaction starts with ``BEGIN IMMEDIATE`` (reads use a plain
    ``BEGIN``), so two writers queue instead of failing on a lock upgrade. A
    ``HeldSession`` runs the transaction on its connection directly (the ORM joins
    it when used), which spares the session's transaction bookkeeping on the hot path.
    """
    if session.info.get(_IN_COMMAND):
        yield  # inside a command already running on this session: part of it
        return
    if session.in_transaction():
        session.commit()
    token = _WRITING.set(True)
    try:
        with clock.instant():
            if isinstance(session, HeldSession):
                yield from _on_connection(session)
            else:
                yield
                session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        _WRITING.reset(token)


def serialize(session: Session, name: str) -> None:
    """Until the command commits, other commands serializing on ``name`` wait here; they then
    see what this one committed. (SQLite commands are serial already: ``BEGIN IMMEDIATE``.)"""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": f"liucheng:{name}"})


def _on_connection(session: "HeldSession"):
    connection = session.get_bind()
    transaction = connection.begin()
    session.info[_IN_COMMAND] = True
    try:
        yield
        _run_hooks("before_commit", session)
        if session.in_transaction():
            session.commit()  # the ORM joined the connection's transaction: this flushes, it does not commit
        transaction.commit()
    except BaseException:
        if session.in_transaction():
            session.rollback()  # rolls back the connection's transaction it joined
        if transaction.is_active:
            transaction.rollback()
        _run_hooks("after_rollback", session)
        raise
    finally:
        session.info.pop(_IN_COMMAND, None)
    _run_hooks("after_commit", session)


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

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = self.sessions()
        try:
            yield session
        finally:
            session.close()

    def upgrade(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        with self.engine.begin() as connection:
            config = alembic_config(self.url)
            config.attributes["connection"] = connection
            alembic_command.upgrade(config, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str) -> Config:
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
