"""What the tampering tests share (``test_audit_chain``, ``test_audit_chain_anchors``): the audit key set, two
refund instances in the chain with the append-only triggers dropped (as a database administrator would drop
them), the SQL a forger runs (edit, delete, insert, renumber, recompute the hashes, move the head row), and the
two checks every test makes: ``chain_verify`` and ``liucheng audit verify`` agree the chain is intact, or both
name the same first broken event and reason. No tests here."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text, update

from engine import chain_verify, hash_chain, runtime, users
from engine.models import HistoryChain, HistoryEvent, HumanTask
from webui.cli import main

from conftest import ROOT

EVENTS = HistoryEvent.__table__
CHAIN = HistoryChain.__table__
ALL_COLUMNS = ("instance_id", "at", "type", "actor", "element_id", "task_id", "data", "operation", "entity_type",
               "entity_id", "prev_hash", "hash")


@dataclass
class Chain:
    """Two refund instances, one after the other in the chain: ``first`` (a task completed) and ``second``."""

    first: int
    second: int
    url: str


@pytest.fixture(autouse=True)
def audit_key(monkeypatch):
    monkeypatch.setenv("LIUCHENG_AUDIT_KEY", "the department's audit key")


@pytest.fixture
def chain(database_url, db_session, deploy, make_user, clock) -> Chain:
    deploy(ROOT / "processes" / "refund.bpmn", *sorted((ROOT / "forms").glob("refund_*.json")))
    make_user("li", "aftersales_cs", "supervisor")
    li = users.get_user(db_session, "li")
    first = runtime.start_instance(db_session, "refund", application("T-1", "100.00"), li).id
    clock.advance(minutes=5)
    task_id = db_session.scalar(select(HumanTask.id).where(HumanTask.instance_id == first,
                                                           HumanTask.element_id == "Task_aftersales_offer_exchange"))
    runtime.complete_task(db_session, task_id, {"real_reason": "尺码", "exchange_instead": False}, li)
    clock.advance(minutes=5)
    second = runtime.start_instance(db_session, "refund", application("T-2", "60.00"), li).id
    db_session.rollback()
    drop_triggers(db_session)
    assert chain_verify.verify(db_session).intact
    return Chain(first, second, database_url)


def application(order_no: str, amount: str) -> dict:
    return {"order_no": order_no, "buyer": "小李", "amount": amount, "shipping_fee": "12.00",
            "free_shipping": False, "goods_received": True, "quality_issue": False, "days_since_signed": 3,
            "reason": "尺码不合适"}


# -- tampering as a database administrator would -----------------------------------------------------

def drop_triggers(session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("DROP TRIGGER history_events_no_change ON history_events"))
    else:
        session.execute(text("DROP TRIGGER history_events_no_update"))
        session.execute(text("DROP TRIGGER history_events_no_delete"))
    session.commit()


def run(session, statement) -> None:
    session.execute(statement)
    session.commit()
    session.expire_all()


def events(session, instance_id=None) -> list:
    query = select(EVENTS).order_by(EVENTS.c.id)
    if instance_id is not None:
        query = query.where(EVENTS.c.instance_id == instance_id)
    return session.execute(query).all()


def set_columns(session, event_id: int, **values) -> None:
    run(session, update(EVENTS).where(EVENTS.c.id == event_id).values(**values))


def delete_event(session, event_id: int) -> None:
    run(session, EVENTS.delete().where(EVENTS.c.id == event_id))


def make_room_after(session, event_id: int) -> None:
    """Renumber the events after ``event_id`` one up (two steps: ids stay unique throughout)."""
    run(session, update(EVENTS).where(EVENTS.c.id > event_id).values(id=EVENTS.c.id + 1000000))
    run(session, update(EVENTS).where(EVENTS.c.id > 1000000).values(id=EVENTS.c.id - 999999))


def forged_event(after, instance_id: int, actor: str = "mallory") -> dict:
    content = {"instance_id": instance_id, "at": after.at + timedelta(seconds=1), "type": "task_completed",
               "actor": actor, "element_id": "Task_finance_refund", "task_id": None,
               "data": {"data": {"payment_ref": "FAKE-1"}}, "operation": None, "entity_type": None, "entity_id": None}
    return {**content, "id": after.id + 1, "prev_hash": after.hash, "hash": hash_chain.event_hash(content, after.hash)}


def recompute_chain(session, key: str | None = None) -> None:
    """What a careful forger does after an edit: every hash again from the start, and the head row (signed
    with ``key`` when the forger holds the audit key, else with a guess)."""
    head = hash_chain.GENESIS
    for row in events(session):
        digest = hash_chain.event_hash(row._mapping, head)
        session.execute(update(EVENTS).where(EVENTS.c.id == row.id).values(prev_hash=head, hash=digest))
        head = digest
    move_head(session, head, len(events(session)), key)


def move_head(session, head: str, count: int, key: str | None) -> None:
    """Set the head row, signed as ``write_queued`` signs it, under ``key`` (``None``: a forger's guess)."""
    signature = hmac.new((key or "a guessed key").encode(), f"head|{head}|{count}".encode(), hashlib.sha256)
    run(session, update(CHAIN).where(CHAIN.c.id == 1).values(head=head, events=count, signature=signature.hexdigest()))


def refund_start(session, instance_id: int):
    return next(row for row in events(session, instance_id) if row.type == "instance_started")


# -- what verification says ----------------------------------------------------------------------------

def cli(url: str, *args: str):
    return CliRunner().invoke(main, ["--database", url, "audit", *args])


def assert_intact(session, url: str, *cli_args: str, instance_id=None) -> chain_verify.Verdict:
    session.rollback()
    verdict = chain_verify.verify(session, instance_id)
    assert verdict.intact, verdict
    result = cli(url, "verify", *cli_args)
    assert result.exit_code == 0, result.output
    assert f"{verdict.events} event(s)" in result.stdout and verdict.head in result.stdout
    return verdict


def assert_broken(session, url: str, event_id: int, reason: str, *cli_args: str, instance_id=None) -> None:
    session.rollback()
    verdict = chain_verify.verify(session, instance_id)
    assert not verdict.intact
    assert (verdict.first_broken.id, verdict.first_broken.reason) == (event_id, reason), verdict.first_broken
    result = cli(url, "verify", *cli_args)
    assert result.exit_code == 1, result.output
    assert f"event {event_id} " in result.stdout and f"({reason}:" in result.stdout
    assert "Traceback" not in result.output

