"""Anchors (issue 15 item 3): the chain's head written down and signed, once a local day by the worker."""
from __future__ import annotations

import threading

from sqlalchemy import func, select, text

from engine import anchors, chain_verify, database as engine_database, history, scheduler
from engine.models import AuditAnchor, HistoryEvent

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
