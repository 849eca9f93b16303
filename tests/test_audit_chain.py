"""Tampering with the history (issue 15 items 2 and 3): a database administrator drops the append-only
triggers and edits, deletes, inserts, reorders or recomputes events directly in SQL; ``audit verify`` (the
CLI and ``engine.chain_verify``) names the first event that does not verify and why. Anchors catch what a
recomputed chain hides, and a retention summary forged without the audit key is no excuse for a hole.

Run on SQLite, and on PostgreSQL with ``LIUCHENG_TEST_DATABASE_URL``."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select, text, update

from engine import anchors, chain_verify, hash_chain, runtime, users
from engine.models import HistoryChain, HistoryEvent, HistoryGap, HumanTask
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


# -- edits -------------------------------------------------------------------------------------------------

def test_an_untouched_chain_verifies_on_the_cli_and_the_verifier(chain, db_session):
    verdict = assert_intact(db_session, chain.url)
    head, count = chain_verify.current_head(db_session)
    assert (verdict.events, verdict.head) == (count, head) and count == len(events(db_session))


def test_editing_a_refunds_amount_is_changed(chain, db_session):
    started = refund_start(db_session, chain.first)
    assert started.data["data"]["amount"] == 100
    edited = {**started.data, "data": {**started.data["data"], "amount": 10000}}
    set_columns(db_session, started.id, data=edited)
    assert_broken(db_session, chain.url, started.id, "changed")


def test_editing_the_actor_is_changed(chain, db_session):
    target = events(db_session, chain.first)[3]
    set_columns(db_session, target.id, actor="mallory")
    assert_broken(db_session, chain.url, target.id, "changed")


def test_editing_the_time_is_changed(chain, db_session):
    target = events(db_session, chain.second)[0]
    set_columns(db_session, target.id, at=target.at - timedelta(days=1))
    assert_broken(db_session, chain.url, target.id, "changed")


def test_editing_the_operation_fields_is_changed(chain, db_session):
    operation = next(row for row in events(db_session) if row.type == "operation" or row.operation)
    set_columns(db_session, operation.id, entity_id="someone-else")
    assert_broken(db_session, chain.url, operation.id, "changed")


# -- deletions ---------------------------------------------------------------------------------------------

def test_deleting_an_event_in_the_middle_is_missing_at_the_next_one(chain, db_session):
    rows = events(db_session, chain.first)
    delete_event(db_session, rows[2].id)
    assert_broken(db_session, chain.url, rows[3].id, "missing")


def test_deleting_the_last_event_disagrees_with_the_head_row(chain, db_session):
    rows = events(db_session)
    delete_event(db_session, rows[-1].id)
    assert_broken(db_session, chain.url, rows[-2].id, "missing")


def test_deleting_the_last_event_and_moving_the_head_back_is_caught_by_the_count(chain, db_session):
    rows = events(db_session)
    delete_event(db_session, rows[-1].id)
    run(db_session, update(CHAIN).where(CHAIN.c.id == 1).values(head=rows[-2].hash))
    assert_broken(db_session, chain.url, rows[-2].id, "missing")  # the head row counts one more event


def test_cutting_the_chain_short_and_fixing_the_head_row_without_the_key_is_changed(chain, db_session):
    rows = events(db_session)
    for row in rows[-2:]:
        delete_event(db_session, row.id)
    move_head(db_session, rows[-3].hash, len(rows) - 2, key=None)
    assert_broken(db_session, chain.url, rows[-3].id, "changed")  # the head row's signature does not hold


def test_cutting_the_chain_short_with_an_old_head_row_replayed_is_caught_by_a_later_anchor(chain, db_session):
    old_head = db_session.execute(select(CHAIN)).one()  # e.g. from a backup: a row Liucheng signed itself
    li = users.get_user(db_session, "li")
    runtime.start_instance(db_session, "refund", application("T-3", "30.00"), li)
    db_session.rollback()
    anchor = anchors.record_anchor(db_session, "daily")
    for row in events(db_session)[old_head.events:]:
        delete_event(db_session, row.id)
    run(db_session, update(CHAIN).where(CHAIN.c.id == 1).values(
        head=old_head.head, events=old_head.events, signature=old_head.signature))
    assert_intact(db_session, chain.url)  # a shorter chain under a head row that once was true
    written_down = cli(chain.url, "verify", "--against", anchors.against_text(anchor.head, anchor.events))
    assert written_down.exit_code == 1 and "(missing:" in written_down.stdout
    kept = cli(chain.url, "anchors")  # the anchor the worker kept in the database says so too
    assert kept.exit_code == 1 and f"BROKEN: the chain is not the one anchor {anchor.id}" in kept.stdout


# -- insertions ---------------------------------------------------------------------------------------------

def test_inserting_a_forged_event_with_made_up_hashes_is_inserted(chain, db_session):
    rows = events(db_session, chain.first)
    after = rows[2]
    make_room_after(db_session, after.id)
    forged = {**forged_event(after, chain.first), "prev_hash": hash_chain.GENESIS, "hash": "f" * 64}
    run(db_session, insert(EVENTS).values(**forged))
    assert_broken(db_session, chain.url, after.id + 1, "inserted")


def test_inserting_a_forged_event_with_a_correct_hash_is_inserted(chain, db_session):
    rows = events(db_session, chain.first)
    after = rows[2]
    make_room_after(db_session, after.id)
    run(db_session, insert(EVENTS).values(**forged_event(after, chain.first)))
    assert_broken(db_session, chain.url, after.id + 1, "inserted")


def test_appending_a_forged_event_without_moving_the_head_is_inserted(chain, db_session):
    last = events(db_session)[-1]
    run(db_session, insert(EVENTS).values(**forged_event(last, chain.second)))
    assert_broken(db_session, chain.url, last.id + 1, "inserted")  # the chain goes on past its head


def test_appending_a_forged_event_and_moving_the_head_without_the_key_is_changed(chain, db_session):
    last = events(db_session)[-1]
    forged = forged_event(last, chain.second)
    run(db_session, insert(EVENTS).values(**forged))
    move_head(db_session, forged["hash"], len(events(db_session)), key=None)
    assert_broken(db_session, chain.url, forged["id"], "changed")


# -- reordering ---------------------------------------------------------------------------------------------

def swap_contents(session, one, other) -> None:
    for target, source in ((one, other), (other, one)):
        session.execute(update(EVENTS).where(EVENTS.c.id == target.id)
                        .values(**{name: getattr(source, name) for name in ALL_COLUMNS}))
    run(session, select(1))


def test_swapping_two_neighbouring_events_is_reordered(chain, db_session):
    rows = events(db_session, chain.first)
    swap_contents(db_session, rows[2], rows[3])
    assert_broken(db_session, chain.url, rows[2].id, "reordered")


def test_swapping_two_distant_events_is_reordered(chain, db_session):
    rows = events(db_session, chain.first)
    swap_contents(db_session, rows[1], rows[4])
    assert_broken(db_session, chain.url, rows[1].id, "reordered")


def test_exchanging_two_events_ids_is_reordered(chain, db_session):
    rows = events(db_session, chain.first)
    one, other = rows[2].id, rows[3].id
    run(db_session, update(EVENTS).where(EVENTS.c.id == one).values(id=-1))
    run(db_session, update(EVENTS).where(EVENTS.c.id == other).values(id=one))
    run(db_session, update(EVENTS).where(EVENTS.c.id == -1).values(id=other))
    assert_broken(db_session, chain.url, one, "reordered")


# -- recomputing, anchors -------------------------------------------------------------------------------

def test_a_chain_recomputed_without_the_key_is_changed_at_its_head(chain, db_session):
    started = refund_start(db_session, chain.first)
    set_columns(db_session, started.id, data={**started.data, "data": {**started.data["data"], "amount": 10000}})
    recompute_chain(db_session, key=None)
    assert_broken(db_session, chain.url, events(db_session)[-1].id, "changed")


def test_a_chain_recomputed_with_the_key_verifies_but_not_against_an_anchor_taken_before(chain, db_session):
    anchor = anchors.record_anchor(db_session, "manual")
    against = anchors.against_text(anchor.head, anchor.events)
    assert_intact(db_session, chain.url, "--against", against)
    started = refund_start(db_session, chain.first)
    set_columns(db_session, started.id, data={**started.data, "data": {**started.data["data"], "amount": 10000}})
    recompute_chain(db_session, key="the department's audit key")  # an insider who holds the key
    assert_intact(db_session, chain.url)  # the chain alone cannot tell
    verdict = chain_verify.verify_against(db_session, anchor.head, anchor.events)
    assert not verdict.intact and verdict.first_broken.reason == "changed"
    result = cli(chain.url, "verify", "--against", against)
    assert result.exit_code == 1 and "(changed:" in result.stdout and "recomputed" in result.stdout


def test_stored_anchors_catch_a_chain_recomputed_with_the_key_unless_they_were_rewritten_too(chain, db_session):
    anchors.record_anchor(db_session, "daily")
    started = refund_start(db_session, chain.first)
    set_columns(db_session, started.id, data={**started.data, "data": {**started.data["data"], "amount": 1}})
    recompute_chain(db_session, key="the department's audit key")
    assert cli(chain.url, "verify").exit_code == 0
    result = cli(chain.url, "anchors")
    assert result.exit_code == 1 and "BROKEN: the chain is not the one anchor" in result.stdout
    assert "(changed:" in result.stdout


def test_an_anchor_still_holds_after_the_chain_grew(chain, db_session, clock):
    head, count = chain_verify.current_head(db_session)
    li = users.get_user(db_session, "li")
    runtime.start_instance(db_session, "refund", application("T-3", "30.00"), li)
    db_session.rollback()
    assert chain_verify.current_head(db_session)[1] > count
    result = cli(chain.url, "verify", "--against", f"{head.upper()}:{count}")
    assert result.exit_code == 0, result.output
    assert f"the first {count} event(s) end in {head}" in result.stdout


def test_an_anchor_longer_than_the_chain_is_missing(chain, db_session):
    head, count = chain_verify.current_head(db_session)
    result = cli(chain.url, "verify", "--against", f"{head}:{count + 5}")
    assert result.exit_code == 1 and "(missing:" in result.stdout


# -- retention summaries ---------------------------------------------------------------------------------

def remove_with_summary(session, rows, key: str) -> None:
    removed, before = rows[3:6], rows[2]
    for row in removed:
        session.execute(EVENTS.delete().where(EVENTS.c.id == row.id))
    parts = ("gap", removed[0].id, removed[-1].id, len(removed), before.hash, removed[-1].hash)
    signature = hmac.new(key.encode(), "|".join(str(p) for p in parts).encode(), hashlib.sha256).hexdigest()
    session.add(HistoryGap(removed_at=rows[-1].at, first_id=removed[0].id, last_id=removed[-1].id,
                           count=len(removed), prev_hash=before.hash, last_hash=removed[-1].hash, signature=signature))
    session.commit()


def test_a_summary_forged_without_the_key_does_not_excuse_a_hole(chain, db_session):
    rows = events(db_session)
    remove_with_summary(db_session, rows, "a guessed key")
    assert_broken(db_session, chain.url, rows[6].id, "missing")


def test_a_summary_signed_with_the_key_is_retention_and_verifies(chain, db_session):
    rows = events(db_session)
    remove_with_summary(db_session, rows, "the department's audit key")
    verdict = assert_intact(db_session, chain.url)
    assert verdict.removed == 3 and verdict.events == len(rows)
    assert "removed by retention" in cli(chain.url, "verify").stdout


# -- one instance --------------------------------------------------------------------------------------------

def test_instance_verify_finds_tampering_in_that_instances_events_only(chain, db_session):
    target = events(db_session, chain.first)[3]
    set_columns(db_session, target.id, actor="mallory")
    assert_broken(db_session, chain.url, target.id, "changed", "--instance", str(chain.first),
                  instance_id=chain.first)
    verdict = assert_intact(db_session, chain.url, "--instance", str(chain.second), instance_id=chain.second)
    assert verdict.events == len(events(db_session, chain.second))
    assert f"instance {chain.second}'s history" in cli(chain.url, "verify", "--instance", str(chain.second)).stdout


def test_instance_verify_finds_a_deleted_event_of_that_instance(chain, db_session):
    rows = events(db_session, chain.second)
    delete_event(db_session, rows[1].id)
    assert_broken(db_session, chain.url, rows[2].id, "missing", "--instance", str(chain.second),
                  instance_id=chain.second)


def test_instance_verify_of_an_unknown_instance_is_a_usage_error(chain):
    result = cli(chain.url, "verify", "--instance", "999")
    assert result.exit_code == 2 and "Instance 999 not found" in result.stderr
