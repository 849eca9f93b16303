"""Retention (issue 15, item 6): a history time-to-live per process (``camunda:``/``liucheng:historyTimeToLive``,
else ``LIUCHENG_HISTORY_TTL_DAYS``), and the worker removing ended instances past it in bounded batches, inside
the off-peak window, leaving signed summaries so that ``audit verify`` still passes — at 100,000 events too."""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select, text

from engine import chain_verify, config, database as database_module, error_texts, retention, runtime, scheduler
from engine.runtime import collaboration
from engine.errors import DefinitionError
from engine.models import Attachment, Base, Definition, HistoryEvent, Incident, Instance, Timer

from conftest import CLOCK_START
from retention_support import (complete, database, deploy, model, retention_settings, root,  # noqa: F401 (fixtures)
                               rows_of, start, task_of, update_ended, verified)


# -- the time-to-live ----------------------------------------------------------------------------

@pytest.mark.parametrize("prefix, written, days", [
    ("camunda", "30", 30), ("camunda", "P180D", 180), ("liucheng", "7", 7), ("liucheng", "P0D", 0),
    ("flowable", "12", 12)])
def test_history_time_to_live_is_read_in_days_and_stored_per_version(db_session, prefix, written, days):
    content = model("ttl", written, prefix)
    deploy(db_session, ("ttl", content), ("forever", model("forever")))
    stored = dict(db_session.execute(select(Definition.process_id, Definition.history_ttl_days)).all())
    assert stored == {"ttl": days, "forever": None}
    deploy(db_session, ("ttl", model("ttl", "P5D")))  # another value is another version, with its own
    assert db_session.scalar(select(Definition.history_ttl_days).where(Definition.process_id == "ttl",
                                                                       Definition.version == 2)) == 5


@pytest.mark.parametrize("written", ["P1M", "-3", "thirty", "PT24H", "30.5"])
def test_a_bad_time_to_live_is_a_located_deploy_problem_in_both_languages(db_session, written):
    with pytest.raises(DefinitionError) as caught:
        deploy(db_session, ("bad", model("bad", written)))
    problem, = caught.value.details["problems"]
    assert problem["file"] == "bad.bpmn" and problem["line"] == 4 and problem["element_id"] == "bad"
    assert f'camunda:historyTimeToLive="{written}" is not a number of days' in problem["message"]
    assert "P180D" in problem["message"]  # how to fix it
    assert error_texts.untranslated(caught.value.message) == []
    assert "不是天数" in error_texts.translate(caught.value.message, "zh")
    assert db_session.scalar(select(func.count()).select_from(Definition)) == 0


@pytest.mark.parametrize("written", ["999999", "P36501D"])
def test_a_time_to_live_over_a_hundred_years_is_a_located_deploy_problem_in_both_languages(db_session, written):
    with pytest.raises(DefinitionError) as caught:
        deploy(db_session, ("long", model("long", written, "liucheng")))
    problem, = caught.value.details["problems"]
    assert problem["file"] == "long.bpmn" and problem["line"] == 4 and problem["element_id"] == "long"
    assert f'liucheng:historyTimeToLive="{written}" is more than 36500 days' in problem["message"]
    assert "write at most 36500" in problem["message"]  # how to fix it
    assert error_texts.untranslated(caught.value.message) == []
    assert "超过 36500 天" in error_texts.translate(caught.value.message, "zh")
    assert db_session.scalar(select(func.count()).select_from(Definition)) == 0
    deploy(db_session, ("long", model("long", "36500", "liucheng")))  # 100 years is the longest
    assert db_session.scalar(select(Definition.history_ttl_days)) == 36500


def test_a_time_to_live_too_long_for_a_date_stored_before_the_cap_stops_no_clean_up(database, db_session, root,
                                                                                   clock):
    deploy(db_session, ("short", model("short", "1")), ("ancient", model("ancient", "1")))
    ancient = complete(db_session, start(db_session, "ancient", root), root)
    ended = complete(db_session, start(db_session, "short", root), root)
    db_session.execute(Definition.__table__.update().where(Definition.process_id == "ancient")
                       .values(history_ttl_days=999999))  # deployed before 36500 was the most
    clock.advance(days=2)
    db_session.commit()
    assert scheduler.tick(database, failures=(failures := [])) == 0 and failures == []
    db_session.rollback()
    assert set(db_session.scalars(select(Instance.id))) == {ancient}  # nothing is 999999 days old; the others go
    assert verified(db_session).intact


def test_the_default_comes_from_the_environment_and_bad_settings_stop_the_worker(monkeypatch):
    assert config.history_ttl_days() is None and config.cleanup_batch() == 1000 and config.cleanup_window() is None
    monkeypatch.setenv("LIUCHENG_HISTORY_TTL_DAYS", "P90D")
    monkeypatch.setenv("LIUCHENG_CLEANUP_BATCH", "250")
    monkeypatch.setenv("LIUCHENG_CLEANUP_WINDOW", "22:30-04:00")
    assert config.history_ttl_days() == 90 and config.cleanup_batch() == 250
    assert [t.isoformat() for t in config.cleanup_window()] == ["22:30:00", "04:00:00"]
    monkeypatch.setenv("LIUCHENG_HISTORY_TTL_DAYS", "36500")  # 100 years: the longest
    assert config.history_ttl_days() == 36500
    for name, bad in [("LIUCHENG_HISTORY_TTL_DAYS", "3 months"), ("LIUCHENG_HISTORY_TTL_DAYS", "999999"),
                      ("LIUCHENG_HISTORY_TTL_DAYS", "P36501D"), ("LIUCHENG_CLEANUP_BATCH", "0"),
                      ("LIUCHENG_CLEANUP_WINDOW", "1am-5am"), ("LIUCHENG_CLEANUP_WINDOW", "25:00-04:00")]:
        with monkeypatch.context() as patched:
            patched.setenv(name, bad)
            with pytest.raises(config.ConfigurationError, match=name):
                retention.check_settings()
            with pytest.raises(config.ConfigurationError, match=name):  # the worker does not start
                scheduler.run_forever(None)


# -- what goes ----------------------------------------------------------------------------------

def test_only_ended_instances_past_their_time_to_live_go(database, db_session, root, clock, monkeypatch):
    deploy(db_session, ("short", model("short", "30")), ("forever", model("forever")))
    old_completed = complete(db_session, start(db_session, "short", root), root)
    old_cancelled = start(db_session, "short", root)
    runtime.cancel_instance(db_session, old_cancelled, "customer withdrew", root)
    old_no_ttl = complete(db_session, start(db_session, "forever", root), root)
    old_running = start(db_session, "short", root)
    clock.advance(days=20)
    recent = complete(db_session, start(db_session, "short", root), root)
    clock.advance(days=11)  # 31 days after the first ones ended, 11 after ``recent``
    db_session.commit()

    assert scheduler.tick(database, failures=(failures := [])) == 0 and failures == []
    db_session.rollback()
    remaining = set(db_session.scalars(select(Instance.id)))
    assert remaining == {old_no_ttl, old_running, recent}
    assert all(n == 0 for n in rows_of(db_session, old_completed).values())
    assert all(n == 0 for n in rows_of(db_session, old_cancelled).values())
    assert rows_of(db_session, recent)["history_events"] > 0
    verdict = verified(db_session)
    assert verdict.intact and verdict.removed > 0, verdict
    assert chain_verify.verify(db_session, old_no_ttl).intact  # a kept instance's stretch steps over the gaps

    cleanup, = db_session.scalars(select(HistoryEvent).where(HistoryEvent.operation == "history_cleanup"))
    assert cleanup.instance_id is None and cleanup.actor == "system" and cleanup.entity_type == "history"
    assert cleanup.data["new"]["instances"] == 2 and sorted(cleanup.data["new"]["instance_ids"]) == sorted(
        [old_completed, old_cancelled])
    assert cleanup.data["new"]["events"] == verdict.removed
    scheduler.tick(database)  # nothing more has expired: no batch, no event
    db_session.rollback()
    assert db_session.scalar(select(func.count()).where(HistoryEvent.operation == "history_cleanup")) == 1

    monkeypatch.setenv("LIUCHENG_HISTORY_TTL_DAYS", "10")  # the default now reaches ``forever``…
    scheduler.tick(database)
    db_session.rollback()
    assert set(db_session.scalars(select(Instance.id))) == {old_running, recent}  # …``short`` keeps its own 30
    assert verified(db_session).intact


def test_an_instance_whose_row_was_edited_to_look_ended_keeps_its_history(database, db_session, root, clock,
                                                                          caplog):
    """Someone who can write the database but has not the audit key backdates a running instance's end (and
    one that ended recently): the chain does not say so, so retention leaves them, and says why."""
    deploy(db_session, ("short", model("short", "30")))
    running = start(db_session, "short", root)
    recent = start(db_session, "short", root)
    clock.advance(days=40)
    complete(db_session, recent, root)
    events = {i: rows_of(db_session, i)["history_events"] for i in (running, recent)}
    long_ago = clock.now() - timedelta(days=100)
    for instance_id in (running, recent):
        db_session.execute(text("UPDATE instances SET status = 'completed', ended_at = :at WHERE id = :i"),
                           {"at": long_ago, "i": instance_id})
    db_session.commit()

    with caplog.at_level(logging.WARNING, logger="engine.retention"):
        assert scheduler.tick(database, failures=(failures := [])) == 0 and failures == []
        scheduler.tick(database)
    db_session.rollback()
    assert set(db_session.scalars(select(Instance.id))) == {running, recent}
    assert {i: rows_of(db_session, i)["history_events"] for i in (running, recent)} == events
    assert db_session.scalar(select(func.count()).where(HistoryEvent.operation == "history_cleanup")) == 0
    verdict = verified(db_session)
    assert verdict.intact and verdict.removed == 0, verdict
    warned = [r.getMessage() for r in caplog.records if r.name == "engine.retention"]
    assert len(warned) == 2, warned  # once each, not every tick
    assert any(f"retention leaves instance {running}:" in m and "edited" in m for m in warned)
    assert any(f"retention leaves instance {recent}:" in m for m in warned)

    clock.advance(days=31)  # ``recent`` really is 30 days past its end now: it goes, ``running`` stays
    scheduler.tick(database)
    db_session.rollback()
    assert set(db_session.scalars(select(Instance.id))) == {running}
    assert verified(db_session).intact


def test_every_row_of_an_instance_goes_and_shared_files_stay(database, db_session, root, clock, monkeypatch,
                                                            tmp_path):
    monkeypatch.setenv("LIUCHENG_FILES_DIR", str(tmp_path / "files"))
    deploy(db_session, ("short", model("short", "1")))
    first, second = (start(db_session, "short", root) for _ in range(2))
    collaboration.comment_on_task(db_session, task_of(db_session, first), "looked at it", root)
    collaboration.comment_on_instance(db_session, first, "closing", root)
    for instance_id in (first, second):
        collaboration.attach_to_instance(db_session, instance_id, [("receipt.pdf", b"%PDF-1.4 same receipt")], root)
    collaboration.attach_to_task(db_session, task_of(db_session, first), [("notes.txt", b"only the first's notes")],
                                 root)
    for instance_id in (first, second):
        complete(db_session, instance_id, root)
    with database_module.command(db_session):  # rows a finished instance may still hold, to see them go too
        now = clock.now()
        db_session.execute(insert(Timer).values(instance_id=first, process_id="short", element_id="Task_do",
                                                due_at=now, created_at=now, status="done"))
        db_session.execute(insert(Incident).values(instance_id=first, process_id="short", message="m",
                                                   status="resolved", created_at=now, updated_at=now))
    before = rows_of(db_session, first)
    assert all(before[t] > 0 for t in ("task_candidates", "comments", "attachments", "human_tasks", "timers",
                                       "incidents", "instance_variables", "history_events", "instances")), before
    files = {p.name for p in (tmp_path / "files").iterdir()}
    assert len(files) == 2

    clock.advance(days=2)
    db_session.commit()
    db_session.execute(update_ended(second, clock.now()))  # ``second`` ended just now: it stays
    db_session.commit()
    scheduler.tick(database)
    db_session.rollback()
    assert all(n == 0 for n in rows_of(db_session, first).values())
    shared = db_session.scalar(select(Attachment.sha256).where(Attachment.instance_id == second))
    assert {p.name for p in (tmp_path / "files").iterdir()} == {shared}  # the notes went, the shared receipt stays
    assert verified(db_session).intact

    clock.advance(days=2)
    scheduler.tick(database)
    db_session.rollback()
    assert list((tmp_path / "files").iterdir()) == []
    assert db_session.scalar(select(func.count()).select_from(Instance)) == 0
    assert verified(db_session).intact


def test_retention_knows_every_table_that_refers_to_an_instance_or_a_task():
    removed = {table.__tablename__ for table in retention.TABLES}
    for table in Base.metadata.sorted_tables:
        for key in table.foreign_keys:
            if key.column.table.name in ("instances", "human_tasks"):
                assert table.name in removed, f"{table.name} refers to {key.column.table.name}: add it to TABLES"
    order = [table.__tablename__ for table in retention.TABLES]
    for table in retention.TABLES:  # what refers to a table is deleted before it
        for key in table.__table__.foreign_keys:
            if key.column.table.name in order:
                assert order.index(table.__tablename__) < order.index(key.column.table.name)


# -- when, and how much -------------------------------------------------------------------------

def test_the_off_peak_window_is_respected(database, db_session, root, clock, monkeypatch):
    monkeypatch.setenv("LIUCHENG_CLEANUP_WINDOW", "01:00-05:00")  # Asia/Shanghai: 17:00-21:00 UTC
    deploy(db_session, ("short", model("short", "0")))
    done = complete(db_session, start(db_session, "short", root), root)
    clock.advance(hours=1)  # 10:00 UTC, 18:00 in Shanghai
    db_session.commit()
    scheduler.tick(database)
    db_session.rollback()
    assert db_session.get(Instance, done) is not None
    clock.advance(hours=8)  # 18:00 UTC, 02:00 in Shanghai
    scheduler.tick(database)
    db_session.rollback()
    assert db_session.get(Instance, done, populate_existing=True) is None
    window = config.cleanup_window()
    assert retention.in_window(CLOCK_START.replace(hour=17), window)  # 01:00 local: the start is in
    assert not retention.in_window(CLOCK_START.replace(hour=21), window)  # 05:00 local: the end is out
    across = (window[1].replace(hour=22), window[1])  # 22:00-05:00 spans midnight
    assert retention.in_window(CLOCK_START.replace(hour=15), across)  # 23:00 local
    assert retention.in_window(CLOCK_START.replace(hour=19), across)  # 03:00 local
    assert not retention.in_window(CLOCK_START.replace(hour=9), across)  # 17:00 local
