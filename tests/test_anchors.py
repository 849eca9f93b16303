"""Anchors (issue 15 item 3): the chain's head written down and signed, once a local day by the worker;
``liucheng audit head|anchor|anchors`` and the refusals of ``audit verify`` (tampering: test_audit_chain.py)."""
from __future__ import annotations

import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from engine import anchors, chain_verify, database as engine_database, history, scheduler
from engine.models import AuditAnchor, HistoryEvent
from webui.cli import main

WORKERS = 4


def record_events(session, count: int, actor: str = "root") -> None:
    with engine_database.command(session):
        for number in range(count):
            history.record_operation(session, actor, "test_operation", "user", f"u{number}", reason="test")


def events_in_table(session) -> int:
    return session.scalar(select(func.count()).select_from(HistoryEvent))


def test_an_anchor_names_the_current_head_and_is_signed(db_session, clock):
    record_events(db_session, 3)
    anchor = anchors.record_anchor(db_session, "manual")
    head, events = chain_verify.current_head(db_session)
    assert (anchor.head, anchor.events, anchor.kind) == (head, events, "manual")
    assert events == events_in_table(db_session) == 3
    shown = anchors.as_dict(anchor)
    assert shown["signature_valid"] is True
    assert shown["against"] == f"{head}:3" and shown["at"] == "2026-11-02T09:00:00+00:00"
    assert chain_verify.verify_against(db_session, head, 3).intact


def test_an_anchor_is_not_a_history_event(db_session, clock):
    record_events(db_session, 2)
    before = chain_verify.current_head(db_session)
    anchors.record_anchor(db_session, "manual")
    assert chain_verify.current_head(db_session) == before and events_in_table(db_session) == 2


def test_an_edited_anchor_or_another_key_fails_its_signature(db_session, clock, monkeypatch):
    record_events(db_session, 2)
    anchor = anchors.record_anchor(db_session)
    db_session.execute(text("UPDATE audit_anchors SET events = 1 WHERE id = :id"), {"id": anchor.id})
    db_session.commit()
    db_session.expire_all()
    assert anchors.as_dict(db_session.get(AuditAnchor, anchor.id))["signature_valid"] is False
    honest = anchors.record_anchor(db_session)
    assert anchors.as_dict(honest)["signature_valid"] is True
    monkeypatch.setenv("LIUCHENG_AUDIT_KEY", "another key")
    assert anchors.as_dict(honest)["signature_valid"] is False


def test_one_daily_anchor_per_local_calendar_day_even_when_the_chain_did_not_move(db_session, clock, monkeypatch):
    monkeypatch.setenv("LIUCHENG_TIMEZONE", "Asia/Shanghai")  # 2026-11-02 09:00 UTC is 17:00 there
    first = anchors.record_daily_anchor_if_due(db_session)
    assert first is not None and first.kind == "daily" and first.events == 0
    anchors.record_anchor(db_session, "manual")  # a manual anchor does not stand in for the day's
    clock.advance(hours=6, minutes=59)  # 15:59 UTC: 23:59 in Shanghai, the same day
    assert anchors.record_daily_anchor_if_due(db_session) is None
    clock.advance(minutes=1)  # local midnight
    second = anchors.record_daily_anchor_if_due(db_session)
    assert second is not None and (second.head, second.events) == (first.head, first.events)
    assert anchors.record_daily_anchor_if_due(db_session) is None
    assert [a.kind for a in anchors.list_anchors(db_session)] == ["daily", "manual", "daily"]


def test_the_day_follows_the_configured_time_zone(db_session, clock, monkeypatch):
    monkeypatch.setenv("LIUCHENG_TIMEZONE", "UTC")
    assert anchors.record_daily_anchor_if_due(db_session) is not None  # 2026-11-02 09:00 UTC
    clock.advance(hours=14, minutes=59)  # 23:59 UTC: the same day in UTC (the next one in Shanghai)
    assert anchors.record_daily_anchor_if_due(db_session) is None
    clock.advance(minutes=1)
    assert anchors.record_daily_anchor_if_due(db_session) is not None


def test_the_worker_tick_records_the_daily_anchor_once(app, db_session, clock):
    database = app.extensions["liucheng_db"]
    record_events(db_session, 4)
    failures: list = []
    scheduler.tick(database, failures=failures)
    scheduler.tick(database, failures=failures)
    assert failures == []
    daily = [a for a in anchors.list_anchors(db_session) if a.kind == "daily"]
    assert len(daily) == 1 and daily[0].events == 4
    assert daily[0].head == chain_verify.current_head(db_session)[0]


def test_list_anchors_newest_first_and_limited(db_session, clock):
    made = []
    for _ in range(3):
        made.append(anchors.record_anchor(db_session, "manual").id)
        clock.advance(minutes=1)
    assert [a.id for a in anchors.list_anchors(db_session)] == made[::-1]
    assert [a.id for a in anchors.list_anchors(db_session, limit=2)] == made[:0:-1]


def test_workers_ticking_together_record_one_daily_anchor(app, clock):
    database = app.extensions["liucheng_db"]
    barrier, recorded = threading.Barrier(WORKERS), []

    def tick_once() -> None:
        with database.session() as session:
            barrier.wait(timeout=30)
            recorded.append(anchors.record_daily_anchor_if_due(session))

    threads = [threading.Thread(target=tick_once) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(recorded) == WORKERS and sum(anchor is not None for anchor in recorded) == 1
    with database.session() as session:
        assert len(anchors.list_anchors(session)) == 1


# -- liucheng audit head | anchor | anchors, and what verify refuses ------------------------------------------

KEY = "the department's audit key"


def cli(url: str, *args: str):
    return CliRunner().invoke(main, ["--database", url, "audit", *args])


@pytest.fixture
def keyed(monkeypatch, db_session, clock):
    """Three events written under the audit key."""
    monkeypatch.setenv("LIUCHENG_AUDIT_KEY", KEY)
    record_events(db_session, 3)


def test_head_prints_a_line_verify_against_takes(database_url, db_session, keyed):
    result = cli(database_url, "head")
    assert result.exit_code == 0, result.output
    head, count = chain_verify.current_head(db_session)
    first, second = result.stdout.splitlines()[:2]
    assert first == f"{head}:{count}" and count == 3 and "3 event(s)" in second
    assert cli(database_url, "verify", "--against", first).exit_code == 0


def test_anchor_records_a_manual_signed_anchor(database_url, db_session, keyed):
    result = cli(database_url, "anchor")
    assert result.exit_code == 0, result.output
    db_session.rollback()
    [anchor] = anchors.list_anchors(db_session)
    assert anchor.kind == "manual" and anchors.as_dict(anchor)["signature_valid"]
    assert result.stdout.splitlines()[0] == f"{anchor.head}:{anchor.events}"
    assert "signed with the audit key" in result.stdout
    assert chain_verify.current_head(db_session) == (anchor.head, anchor.events)  # not an event itself


def test_audit_anchors_lists_them_and_proves_the_chain_against_the_newest(database_url, db_session, keyed, clock):
    assert "No anchors yet" in cli(database_url, "anchors").stdout
    first = anchors.record_anchor(db_session, "daily")
    clock.advance(days=1, minutes=10)
    second = anchors.record_anchor(db_session, "manual")
    result = cli(database_url, "anchors")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "recorded (Asia/Shanghai)" in lines[0]
    assert lines[1].split()[:4] == [str(second.id), "2026-11-03", "17:10:00", "manual"]
    assert lines[1].endswith("valid") and lines[2].split()[0] == str(first.id)
    assert f"Intact up to anchor {second.id}" in result.stdout


def test_an_anchor_edited_in_the_database_shows_as_invalid(database_url, db_session, keyed, clock):
    honest = anchors.record_anchor(db_session, "daily")
    clock.advance(hours=1)
    edited = anchors.record_anchor(db_session, "daily")
    db_session.execute(text("UPDATE audit_anchors SET events = 2 WHERE id = :id"), {"id": edited.id})
    db_session.commit()
    result = cli(database_url, "anchors")
    assert result.exit_code == 1 and "INVALID" in result.stdout
    assert f"anchor(s) {edited.id} does not hold" in result.stdout
    assert f"Intact up to anchor {honest.id}, the newest with a valid signature" in result.stdout


@pytest.mark.parametrize("against", ["abc:3", "f" * 64, "f" * 64 + ":", "f" * 64 + ":-1", "g" * 64 + ":3",
                                     "f" * 63 + ":3", " "])
def test_a_malformed_against_is_exit_2_with_how_to_write_it(database_url, keyed, against):
    result = cli(database_url, "verify", "--against", against)
    assert result.exit_code == 2 and "HASH:COUNT" in result.output and "Traceback" not in result.output


def test_against_and_instance_together_are_refused(database_url, keyed):
    result = cli(database_url, "verify", "--against", f"{'0' * 64}:0", "--instance", "1")
    assert result.exit_code == 2 and "--instance" in result.output


def test_an_unknown_instance_is_exit_2(database_url, keyed):
    result = cli(database_url, "verify", "--instance", "999")
    assert result.exit_code == 2 and "Instance 999 not found" in result.stderr


def test_without_the_audit_key_every_command_warns_on_stderr(database_url, db_session, clock, monkeypatch):
    monkeypatch.delenv("LIUCHENG_AUDIT_KEY", raising=False)
    record_events(db_session, 2)
    for args in (("verify",), ("head",), ("anchor",), ("anchors",)):
        result = cli(database_url, *args)
        assert result.exit_code == 0, result.output
        assert "LIUCHENG_AUDIT_KEY is not set" in result.stderr and "LIUCHENG_AUDIT_KEY" not in result.stdout
    assert "signed with the default key" in cli(database_url, "anchor").stdout
    monkeypatch.setenv("LIUCHENG_AUDIT_KEY", KEY)
    assert "LIUCHENG_AUDIT_KEY" not in cli(database_url, "head").stderr


def test_a_database_that_is_not_there_is_exit_3_and_is_not_created(tmp_path):
    missing = tmp_path / "nowhere.db"
    result = cli(f"sqlite:///{missing}", "verify")
    assert result.exit_code == 3 and "no database" in result.stderr and not missing.exists()
