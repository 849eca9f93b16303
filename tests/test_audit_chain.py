"""Tampering with the history (issue 15 items 2 and 3): a database administrator drops the append-only
triggers and edits, deletes, inserts or reorders events directly in SQL; ``audit verify`` (the CLI and
``engine.chain_verify``) names the first event that does not verify and why, for the whole chain and for one
instance. A chain recomputed with new hashes, anchors and retention summaries: test_audit_chain_anchors.py.

Run on SQLite, and on PostgreSQL with ``LIUCHENG_TEST_DATABASE_URL``."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select, update

from engine import chain_verify, hash_chain

from tampering_support import audit_key, chain  # noqa: F401 (fixtures)
from tampering_support import (ALL_COLUMNS, CHAIN, EVENTS, assert_broken, assert_intact, cli, delete_event, events,
                               forged_event, make_room_after, move_head, refund_start, run, set_columns)


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
