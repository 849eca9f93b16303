"""The history's hash chain as written: every event's hash is the documented canonical JSON's SHA-256 (computed
here independently), the chain is one line ending in the head row, the migration chains the events there
already, and ``chain_verify`` finds an edit. (Tampering in every way, anchors and several writers:
test_audit_chain.py, test_audit_concurrency.py.)"""
from __future__ import annotations

import hashlib
import json

import pytest
from alembic import command as alembic_command
from sqlalchemy import select, text

from conftest import DATA
from engine import chain_verify, history, runtime, users
from engine.database import alembic_config
from engine.models import GENESIS, HistoryChain, HistoryEvent


@pytest.fixture
def database(app):
    return app.extensions["liucheng_db"]


@pytest.fixture
def started(db_session, deploy, make_user):
    deploy(DATA / "approval.bpmn", DATA / "forms")
    make_user("wang", "warehouse")
    wang = users.get_user(db_session, "wang")
    return [runtime.start_instance(db_session, "approval", {"order_no": f"H-{n}", "item": "茶叶", "amount": "12.50"},
                                   wang).id for n in range(3)]


def documented_hash(event: HistoryEvent) -> str:
    """The README's recipe, written out again (not engine.hash_chain) so the two cannot drift together."""
    content = {"type": event.type, "instance_id": event.instance_id, "actor": event.actor,
               "at": event.at.strftime("%Y-%m-%dT%H:%M:%S.%f"), "element_id": event.element_id,
               "task_id": event.task_id, "data": event.data or {}, "operation": event.operation,
               "entity_type": event.entity_type, "entity_id": event.entity_id, "prev": event.prev_hash}
    blob = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def test_every_event_is_linked_to_the_one_before_and_the_head_names_the_last(db_session, started):
    events = list(db_session.scalars(select(HistoryEvent).order_by(HistoryEvent.id)))
    assert len(events) >= 9
    previous = GENESIS
    for event in events:
        assert event.prev_hash == previous
        assert event.hash == documented_hash(event)
        previous = event.hash
    head = db_session.get(HistoryChain, 1)
    assert (head.head, head.events) == (previous, len(events))
    verdict = chain_verify.verify(db_session)
    assert verdict.intact and verdict.events == len(events) and verdict.head == previous
    assert chain_verify.verify(db_session, started[1]).intact


def test_an_operation_event_belongs_to_no_instance_and_is_chained_too(db_session, started, database):
    with database.session() as session:
        history.record_operation(session, "admin", "role_change", "user", "wang", property="roles",
                                 old=["warehouse"], new=["warehouse", "supervisor"], reason="轮岗")
        session.commit()
    last = db_session.scalars(select(HistoryEvent).order_by(HistoryEvent.id.desc())).first()
    assert (last.type, last.operation, last.entity_type, last.entity_id, last.instance_id) == (
        "operation", "role_change", "user", "wang", None)
    assert last.data == {"property": "roles", "old": ["warehouse"], "new": ["warehouse", "supervisor"],
                         "reason": "轮岗"}
    assert last.hash == documented_hash(last)
    assert chain_verify.verify(db_session).intact


def test_an_edit_in_sql_is_found_and_named(db_session, started, database):
    target = db_session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == started[1])
                                .order_by(HistoryEvent.id)).first().id
    db_session.rollback()  # PostgreSQL: DROP TRIGGER waits for every open transaction on the table
    with database.engine.begin() as connection:
        _drop_triggers(connection)
        connection.execute(text("UPDATE history_events SET actor = 'mallory' WHERE id = :i"), {"i": target})
    db_session.rollback()  # end the read transaction: see the edit
    verdict = chain_verify.verify(db_session)
    assert not verdict.intact and verdict.first_broken.id == target
    assert verdict.first_broken.reason == "changed"
    assert not chain_verify.verify(db_session, started[1]).intact
    assert chain_verify.as_dict(verdict)["first_broken"]["id"] == target


def test_the_migration_chains_the_events_there_already(db_session, started, database):
    before = [e.id for e in db_session.scalars(select(HistoryEvent).order_by(HistoryEvent.id))]
    db_session.close()
    with database.engine.begin() as connection:
        config = alembic_config(database.url)
        config.attributes["connection"] = connection
        alembic_command.downgrade(config, "0009")
        alembic_command.upgrade(config, "head")
    with database.session() as session:
        after = list(session.scalars(select(HistoryEvent).order_by(HistoryEvent.id)))
        assert [e.id for e in after] == before  # (0009 has no operation columns: those events lost them)
        assert all(e.hash == documented_hash(e) for e in after)
        assert chain_verify.verify(session).intact


def _drop_triggers(connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("DROP TRIGGER IF EXISTS history_events_no_change ON history_events"))
    else:
        for verb in ("update", "delete"):
            connection.execute(text(f"DROP TRIGGER IF EXISTS history_events_no_{verb}"))


def test_a_page_does_not_walk_a_stretch_longer_than_it_asks(db_session, started):
    verdict = chain_verify.verify(db_session, started[0], longest=2)
    assert not verdict.checked and verdict.stretch > 2 and verdict.intact
    assert chain_verify.verify(db_session, started[0], longest=10_000).checked


def test_an_event_edited_into_unreadable_data_or_time_is_changed_not_a_crash(db_session, started, database):
    first, second = [e.id for e in db_session.scalars(select(HistoryEvent).order_by(HistoryEvent.id).limit(2))]
    db_session.rollback()
    with database.engine.begin() as connection:
        _drop_triggers(connection)
        garbage = "{bad" if connection.dialect.name == "sqlite" else '"not an object"'  # PostgreSQL checks JSON
        connection.execute(text("UPDATE history_events SET data = :g WHERE id = :i"), {"g": garbage, "i": second})
    verdict = chain_verify.verify(db_session)
    assert (verdict.intact, verdict.first_broken.id, verdict.first_broken.reason) == (False, second, "changed")
    if database.engine.dialect.name == "sqlite":  # PostgreSQL's column types refuse a time that is not one
        with database.engine.begin() as connection:
            connection.execute(text("UPDATE history_events SET at = 'yesterday' WHERE id = :i"), {"i": first})
        db_session.rollback()
        verdict = chain_verify.verify(db_session)
        assert (verdict.first_broken.id, verdict.first_broken.reason) == (first, "changed")


def test_a_forged_event_linked_to_its_predecessor_with_a_wrong_hash_is_inserted(db_session, started, database):
    rows = list(db_session.execute(select(HistoryEvent.id, HistoryEvent.hash).order_by(HistoryEvent.id)))
    db_session.rollback()
    with database.engine.begin() as connection:
        _drop_triggers(connection)
        # make room between the third and fourth events, then put a forged event there
        connection.execute(text("UPDATE history_events SET id = id + 1000 WHERE id > :i"), {"i": rows[2].id})
        connection.execute(text(
            "INSERT INTO history_events (id, instance_id, at, type, actor, data, prev_hash, hash) "
            "VALUES (:id, :iid, :at, 'task_completed', 'mallory', '{}', :prev, :hash)"),
            {"id": rows[2].id + 1, "iid": started[0], "at": "2026-11-01 00:00:00.000000", "prev": rows[2].hash,
             "hash": "f" * 64})
    verdict = chain_verify.verify(db_session)
    assert (verdict.first_broken.id, verdict.first_broken.reason) == (rows[2].id + 1, "inserted")


def test_a_command_committing_during_a_walk_is_not_taken_for_tampering(db_session, started, database, monkeypatch):
    real_rows = chain_verify._rows

    def rows_then_a_commit(session, *bounds):
        rows = real_rows(session, *bounds)  # the walk has begun reading
        with database.session() as other:
            history.record_operation(other, "admin", "role_change", "user", "wang", property="roles", old=[], new=[])
            other.commit()
        return rows

    monkeypatch.setattr(chain_verify, "_rows", rows_then_a_commit)
    verdict = chain_verify.verify(db_session)
    assert verdict.intact, verdict
    instance = chain_verify.verify(db_session, started[2])
    assert instance.intact, instance
    monkeypatch.undo()
    db_session.rollback()
    assert chain_verify.verify(db_session).intact
