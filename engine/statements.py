"""Prepared statements for the hot path of a command, run on the DBAPI cursor.

A command's few statements (lock the instance, finish a task, write the state,
insert history) run thousands of times a minute. SQLAlchemy Core spends about
60 µs per execution on bookkeeping the engine does not need there; a
``Statement`` compiles its Core clause once per dialect (SQL text, parameter
order, the column types' bind and result processors) and then runs it on the
cursor of the session's connection, inside the session's transaction, in about
15 µs. Everything else in the engine uses SQLAlchemy as usual.

Only plain parameters are supported (no expanding ``IN`` lists); types are
converted exactly as SQLAlchemy would, by the types' own processors.
"""
from __future__ import annotations

import threading
from datetime import datetime
from operator import itemgetter
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from sqlalchemy import DateTime
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class _Prepared:
    sql: str
    positional: bool
    binds: tuple[tuple[str, Any, Optional[Callable]], ...]  # (name, default, bind processor)
    results: tuple[Optional[Callable], ...]  # one result processor per returned column
    names: tuple[str, ...]


class Row(tuple):
    """A result row: a tuple whose columns can also be read by name."""

    __slots__ = ()
    _names: tuple[str, ...] = ()

    @property
    def _mapping(self) -> dict[str, Any]:
        return dict(zip(self._names, self))

    def replace(self, **values) -> "Row":
        """A copy with some columns changed (e.g. the task row as a command left it)."""
        return type(self)(values.get(name, value) for name, value in zip(self._names, self))


class Statement:
    """A Core clause compiled once per dialect and run on the raw cursor."""

    def __init__(self, clause, columns: Optional[Sequence[str]] = None):
        """``columns``: for an INSERT, the column keys its parameters give (others get defaults)."""
        self.clause = clause
        self.columns = list(columns) if columns is not None else None
        self._prepared: dict[str, _Prepared] = {}
        self._lock = threading.Lock()
        self._row_class: dict[tuple[str, ...], type] = {}

    # -- running -------------------------------------------------------------------------

    def execute(self, session: Session, params: Optional[dict] = None):
        """Run once; returns the DBAPI cursor (``rowcount``, ``fetch*``)."""
        prepared, cursor = self._cursor(session)
        cursor.execute(prepared.sql, self._parameters(prepared, params or {}))
        return cursor

    def execute_many(self, session: Session, rows: Sequence[dict]) -> None:
        if not rows:
            return
        prepared, cursor = self._cursor(session)
        cursor.executemany(prepared.sql, [self._parameters(prepared, row) for row in rows])

    def rowcount(self, session: Session, params: Optional[dict] = None) -> int:
        return self.execute(session, params).rowcount

    def first(self, session: Session, params: Optional[dict] = None) -> Optional[Row]:
        prepared = self._prepare(session)
        row = self.execute(session, params).fetchone()
        return None if row is None else self._row(prepared, row)

    def all(self, session: Session, params: Optional[dict] = None) -> list[Row]:
        prepared = self._prepare(session)
        return [self._row(prepared, row) for row in self.execute(session, params).fetchall()]

    def scalar(self, session: Session, params: Optional[dict] = None) -> Any:
        row = self.first(session, params)
        return None if row is None else row[0]

    # -- preparing -----------------------------------------------------------------------

    def _cursor(self, session: Session):
        prepared = self._prepare(session)
        return prepared, _dbapi_connection(session).cursor()

    def _prepare(self, session: Session) -> _Prepared:
        dialect = session.get_bind().dialect
        prepared = self._prepared.get(dialect.name)
        if prepared is None:
            with self._lock:
                prepared = self._prepared.setdefault(dialect.name, _compile(self.clause, dialect, self.columns))
        return prepared

    @staticmethod
    def _parameters(prepared: _Prepared, params: dict):
        get = params.get
        values = [get(name, default) if process is None else process(get(name, default))
                  for name, default, process in prepared.binds]
        if prepared.positional:
            return tuple(values)
        return {name: value for (name, _, _), value in zip(prepared.binds, values)}

    def _row(self, prepared: _Prepared, raw: Sequence) -> Row:
        row_class = self._row_class.get(prepared.names)
        if row_class is None:
            members = {name: property(itemgetter(i)) for i, name in enumerate(prepared.names)}
            row_class = self._row_class.setdefault(
                prepared.names, type("Row", (Row,), {"__slots__": (), "_names": prepared.names, **members}))
        if not any(prepared.results):
            return row_class(raw)
        return row_class(v if p is None else p(v) for p, v in zip(prepared.results, raw))


def _dbapi_connection(session: Session):
    """The DBAPI connection of the session's transaction (begun here if need be)."""
    bind = session.bind
    if isinstance(bind, Connection) and bind.in_transaction():  # a HeldSession's own connection
        known = session.__dict__.get("_liucheng_dbapi")
        if known is not None and known[0] is bind and known[1] is bind.get_transaction():
            return known[2]
        dbapi = bind.connection.dbapi_connection
        session.__dict__["_liucheng_dbapi"] = (bind, bind.get_transaction(), dbapi)
        return dbapi
    return session.connection().connection.dbapi_connection


def _bind_processor(type_, dialect) -> Optional[Callable]:
    """The type's bind processor; for SQLite datetimes the same text SQLAlchemy writes
    (``YYYY-MM-DD HH:MM:SS.ffffff``), made by ``isoformat`` instead of a format string."""
    process = type_.dialect_impl(dialect).bind_processor(dialect)
    if dialect.name != "sqlite" or not isinstance(type_, DateTime) or process is None:
        return process

    def iso(value):
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.isoformat(" ", "microseconds")
        return process(value)
    return iso


def _compile(clause, dialect, columns: Optional[list[str]]) -> _Prepared:
    compiled = clause.compile(dialect=dialect, column_keys=columns)
    if compiled.insert_prefetch or compiled.update_prefetch:
        raise ValueError("Statement cannot fill Python-side column defaults; give every column a value.")
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    order = compiled.positiontup if dialect.positional else list(dict.fromkeys(by_name))
    binds = []
    for name in order:
        bind = by_name[name]
        if bind.expanding:
            raise ValueError(f"Statement does not support expanding parameters ({name}).")
        binds.append((name, None if bind.required else bind.effective_value, _bind_processor(bind.type, dialect)))
    columns = list(getattr(clause, "exported_columns", ()))
    results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
    return _Prepared(compiled.string, dialect.positional, tuple(binds), results,
                     tuple(c.key for c in columns))
