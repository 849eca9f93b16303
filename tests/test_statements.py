"""The hot path's raw statements, held session connections and JSON encoding."""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import bindparam, select, text

from engine import encoding, spiff
from engine.database import Database
from engine.models import HumanTask, Message, Role
from engine.statements import Statement

_MESSAGES = Message.__table__
_INSERT = Statement(_MESSAGES.insert(), columns=("message_id", "name", "correlation", "data", "status",
                                                "instance_ids", "received_at", "expires_at", "sender"))
_BY_NAME = Statement(select(_MESSAGES).where(_MESSAGES.c.name == bindparam("name")).order_by(_MESSAGES.c.id))


def message(message_id: str, name: str = "probe", **values) -> dict:
    return {"message_id": message_id, "name": name, "correlation": {}, "data": {}, "status": "kept",
            "instance_ids": [], "received_at": datetime(2026, 11, 2, 9, 0), "expires_at": None,
            "sender": "system", **values}


@pytest.fixture
def engine_db(database_url, app):  # app: the schema is upgraded
    database = Database(database_url)
    yield database
    database.dispose()


def test_statement_values_round_trip_as_sqlalchemy_writes_and_reads_them(engine_db):
    at = datetime(2026, 11, 2, 9, 30, 0, 120)
    with engine_db.session() as session:
        _INSERT.execute_many(session, [
            message("m-1", data={"n": 1, "s": "退款", "nested": [1, {"k": None}]}, received_at=at,
                    expires_at=datetime(2026, 11, 3)),
            message("m-2", instance_ids=[7, 8], sender="wang"),
        ])
        session.commit()
        raw = _BY_NAME.all(session, {"name": "probe"})
        orm = session.scalars(select(Message).where(Message.name == "probe").order_by(Message.id)).all()
    assert [(r.message_id, r.data, r.instance_ids, r.received_at, r.expires_at, r.sender) for r in raw] == [
        ("m-1", {"n": 1, "s": "退款", "nested": [1, {"k": None}]}, [], at, datetime(2026, 11, 3), "system"),
        ("m-2", {}, [7, 8], datetime(2026, 11, 2, 9, 0), None, "wang")]
    assert [(o.message_id, o.data, o.instance_ids, o.received_at, o.expires_at, o.sender) for o in orm] == [
        (r.message_id, r.data, r.instance_ids, r.received_at, r.expires_at, r.sender) for r in raw]
    assert raw[0]._mapping["status"] == "kept" and raw[0][0] == orm[0].id


def test_statement_runs_inside_the_sessions_transaction(engine_db):
    with engine_db.session() as session:
        _INSERT.execute(session, message("m-undone", name="undone"))
        assert _BY_NAME.first(session, {"name": "undone"}).message_id == "m-undone"
        assert Statement(_MESSAGES.update().values(status="gone")).rowcount(session) == 1
        session.rollback()
        assert _BY_NAME.first(session, {"name": "undone"}) is None
        assert Statement(select(HumanTask.__table__.c.id)).scalar(session) is None


def test_statement_refuses_what_it_cannot_run(engine_db):
    with engine_db.session() as session:
        with pytest.raises(ValueError, match="expanding"):
            Statement(select(_MESSAGES.c.id).where(_MESSAGES.c.name.in_(bindparam("types", expanding=True)))).all(
                session, {"types": ["a"]})
        with pytest.raises(ValueError, match="default"):  # roles' names have Python-side defaults
            Statement(Role.__table__.insert(), columns=("id",)).execute(session, {"id": "x"})


def test_a_held_session_keeps_one_connection_and_gives_it_back(engine_db):
    pool = engine_db.engine.pool
    session = engine_db.sessions()
    session.execute(text("SELECT 1"))
    session.commit()
    first = session.connection()
    session.commit()
    assert session.connection() is first  # the same connection across transactions
    session.commit()
    session.close()
    assert pool.checkedout() == 0
    assert session.execute(text("SELECT 2")).scalar() == 2  # usable again after close
    session.close()
    assert pool.checkedout() == 0


def test_encoding_writes_what_the_standard_library_writes():
    value = {"a": [1, 2.5, None, True], "中": "文", 3: "int key", "big": 2 ** 70}
    assert json.loads(encoding.dumps(value)) == json.loads(json.dumps(value))
    with pytest.raises(TypeError, match="Decimal"):
        encoding.dumps({"x": Decimal("1")})


def test_state_encoding_keeps_spiff_types():
    default = encoding.registry_default(spiff.SERIALIZER.registry)
    text_ = encoding.dumps({"d": date(2026, 11, 2), "t": datetime(2026, 11, 2, 9, 0), "m": Decimal("1.10"),
                            "s": {1}}, default)
    restored = spiff.SERIALIZER.registry.restore(json.loads(text_))
    assert restored == {"d": date(2026, 11, 2), "t": datetime(2026, 11, 2, 9, 0), "m": Decimal("1.10"), "s": [1]}


def test_sqlite_datetimes_are_written_as_sqlalchemy_writes_them():
    from sqlalchemy import DateTime, create_engine

    from engine.statements import _bind_processor

    dialect = create_engine("sqlite://").dialect
    theirs = DateTime().dialect_impl(dialect).bind_processor(dialect)
    ours = _bind_processor(DateTime(), dialect)
    for value in (datetime(2026, 11, 2, 9, 0), datetime(2026, 11, 2, 9, 0, 0, 5), datetime(1, 1, 1),
                  datetime(2026, 12, 31, 23, 59, 59, 999999), None):
        assert ours(value) == theirs(value)


def test_a_command_commits_raw_and_orm_writes_together_or_neither(engine_db):
    from engine.database import command

    with engine_db.session() as session:
        with command(session):
            _INSERT.execute(session, message("both-raw"))
            session.add(Message(**{k: v for k, v in message("both-orm").items()}))
        with pytest.raises(RuntimeError):
            with command(session):
                _INSERT.execute(session, message("none-raw"))
                session.add(Message(**{k: v for k, v in message("none-orm").items()}))
                session.flush()
                with command(session):  # a command inside a command is part of it
                    _INSERT.execute(session, message("none-inner"))
                raise RuntimeError("stop")
        names = set(session.scalars(select(Message.message_id)))
    assert names == {"both-raw", "both-orm"}
