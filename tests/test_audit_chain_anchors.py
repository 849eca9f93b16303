"""What a chain rewritten with recomputed hashes hides, and what still catches it (issue 15 items 2 and 3):
the head row's signature (without the audit key), an anchor written down (``audit verify --against``) or kept
by the worker (``audit anchors``), even with the key or an old head row replayed; anchors taken before the chain
grew still hold. And retention: a summary signed with the audit key excuses the hole it describes, one forged
without the key does not. Plain edits, deletions, insertions and reorderings: test_audit_chain.py.

Run on SQLite, and on PostgreSQL with ``LIUCHENG_TEST_DATABASE_URL``."""
from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select, update

from engine import anchors, chain_verify, runtime, users
from engine.models import HistoryGap

from tampering_support import audit_key, chain  # noqa: F401 (fixtures)
from tampering_support import (CHAIN, EVENTS, application, assert_broken, assert_intact, cli, delete_event, events,
                               recompute_chain, refund_start, run, set_columns)


# -- cutting the chain short under an old head row ------------------------------------------------------

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

