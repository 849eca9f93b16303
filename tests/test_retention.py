"""Retention (issue 15, item 6): a history time-to-live per process (``camunda:``/``liucheng:historyTimeToLive``,
else ``LIUCHENG_HISTORY_TTL_DAYS``), and the worker removing ended instances past it in bounded batches, inside
the off-peak window, leaving signed summaries so that ``audit verify`` still passes — at 100,000 events too."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.exc import DatabaseError

from engine import chain_verify, config, database as database_module, error_texts, hash_chain, history, retention
from engine import runtime, scheduler, users
from engine.runtime import collaboration
from engine.errors import DefinitionError
from engine.models import (Attachment, Base, CleanupPermit, Comment, Definition, HistoryEvent, HistoryGap,
                           HumanTask, Incident, Instance, InstanceStatus, TaskCandidate, Timer)

from conftest import CLOCK_START, ROOT

NAMESPACES = {"camunda": "http://camunda.org/schema/1.0/bpmn", "flowable": "http://flowable.org/bpmn",
              "liucheng": "http://liucheng.dev/schema/1.0/bpmn"}


def model(process_id: str, ttl: str | None = None, prefix: str = "camunda") -> bytes:
    """A process with one user task (candidate group admin, candidate user li) between start and end, its
    ``historyTimeToLive`` written with ``prefix``."""
    declared = " ".join(f'xmlns:{name}="{uri}"' for name, uri in NAMESPACES.items())
    ttl_attribute = f' {prefix}:historyTimeToLive="{ttl}"' if ttl is not None else ""
    return f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" {declared}
    id="Definitions_{process_id}" targetNamespace="http://liucheng.example/tests">
  <bpmn:process id="{process_id}" isExecutable="true"{ttl_attribute}>
    <bpmn:startEvent id="Start"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_do" name="Do" camunda:candidateGroups="admin" camunda:candidateUsers="li">
      <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="End"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="Task_do"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Task_do" targetRef="End"/>
  </bpmn:process>
</bpmn:definitions>'''.encode()


@pytest.fixture
def database(app):
    return app.extensions["liucheng_db"]


@pytest.fixture
def root(db_session, make_user):
    make_user("root", "admin")
    return users.get_user(db_session, "root")


@pytest.fixture(autouse=True)
def retention_settings(monkeypatch):
    for name in ("LIUCHENG_HISTORY_TTL_DAYS", "LIUCHENG_CLEANUP_BATCH", "LIUCHENG_CLEANUP_WINDOW"):
        monkeypatch.delenv(name, raising=False)


def deploy(session, *models: tuple[str, bytes]):
    return runtime.deploy_definitions(session, {f"{name}.bpmn": content for name, content in models}, {})


def start(session, process_id: str, actor, data: dict | None = None) -> int:
    return runtime.start_instance(session, process_id, data or {"order_no": "R-1"}, actor).id


def task_of(session, instance_id: int) -> int:
    return session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id))


def complete(session, instance_id: int, actor) -> int:
    runtime.complete_task(session, task_of(session, instance_id), {}, actor)
    return instance_id


def rows_of(session, instance_id: int) -> dict[str, int]:
    """How many rows the instance has in each table retention removes from."""
    counts = {}
    for table in retention.TABLES:
        owner = HumanTask.instance_id if table is TaskCandidate else (Instance.id if table is Instance
                                                                        else table.instance_id)
        query = select(func.count()).where(owner == instance_id)
        if table is TaskCandidate:
            query = query.select_from(TaskCandidate).join(HumanTask, HumanTask.id == TaskCandidate.task_id)
        else:
            query = query.select_from(table)
        counts[table.__tablename__] = session.scalar(query)
    return counts


def verified(session) -> chain_verify.Verdict:
    session.rollback()
    verdict = chain_verify.verify(session)
    session.rollback()
    return verdict


class DeletesPerTransaction:
    """Counts the rows each committed transaction deleted (the permit's own row aside), from the database
    driver's row counts."""

    def __init__(self, engine):
        self.engine, self.current, self.committed, self.seconds, self.began = engine, 0, [], [], None
        event.listen(engine, "before_cursor_execute", self.executing)
        event.listen(engine, "after_cursor_execute", self.executed)
        event.listen(engine, "commit", self.commit)
        event.listen(engine, "rollback", self.rollback)

    def executing(self, conn, cursor, statement, parameters, context, executemany):
        if self.began is None:
            self.began = time.perf_counter()

    def executed(self, conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("DELETE") and "cleanup_permits" not in statement:
            self.current += max(cursor.rowcount, 0)

    def commit(self, conn):
        if self.current:
            self.committed.append(self.current)
            self.seconds.append(time.perf_counter() - (self.began or time.perf_counter()))
        self.current, self.began = 0, None

    def rollback(self, conn):
        self.current, self.began = 0, None

    def close(self):
        event.remove(self.engine, "before_cursor_execute", self.executing)
        event.remove(self.engine, "after_cursor_execute", self.executed)
        event.remove(self.engine, "commit", self.commit)
        event.remove(self.engine, "rollback", self.rollback)


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


def test_the_default_comes_from_the_environment_and_bad_settings_stop_the_worker(monkeypatch):
    assert config.history_ttl_days() is None and config.cleanup_batch() == 1000 and config.cleanup_window() is None
    monkeypatch.setenv("LIUCHENG_HISTORY_TTL_DAYS", "P90D")
    monkeypatch.setenv("LIUCHENG_CLEANUP_BATCH", "250")
    monkeypatch.setenv("LIUCHENG_CLEANUP_WINDOW", "22:30-04:00")
    assert config.history_ttl_days() == 90 and config.cleanup_batch() == 250
    assert [t.isoformat() for t in config.cleanup_window()] == ["22:30:00", "04:00:00"]
    for name, bad in [("LIUCHENG_HISTORY_TTL_DAYS", "3 months"), ("LIUCHENG_CLEANUP_BATCH", "0"),
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


def update_ended(instance_id: int, at):
    return Instance.__table__.update().where(Instance.id == instance_id).values(ended_at=at)


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


def test_no_transaction_deletes_more_than_the_batch(database, db_session, root, clock, monkeypatch):
    monkeypatch.setenv("LIUCHENG_CLEANUP_BATCH", "25")
    deploy(db_session, ("short", model("short", "1")))
    small = [complete(db_session, start(db_session, "short", root), root) for _ in range(6)]
    big = start(db_session, "short", root)
    for n in range(30):  # 30 comments and their 30 events: more rows than one batch
        collaboration.comment_on_instance(db_session, big, f"note {n}", root)
    complete(db_session, big, root)
    kept = start(db_session, "short", root)  # running: its events sit between the others' in the chain
    sizes = {i: sum(rows_of(db_session, i).values()) for i in small + [big]}
    assert sizes[big] > 25 and all(sizes[i] <= 25 for i in small)
    clock.advance(days=2)
    db_session.commit()

    counter = DeletesPerTransaction(database.engine)
    try:
        for _ in range(10):
            scheduler.tick(database)
    finally:
        counter.close()
    db_session.rollback()
    assert set(db_session.scalars(select(Instance.id))) == {kept}
    assert counter.committed and max(counter.committed) <= 25, counter.committed
    assert sum(counter.committed) == sum(sizes.values())
    verdict = verified(db_session)
    assert verdict.intact, verdict
    summaries = list(db_session.scalars(select(HistoryEvent).where(HistoryEvent.operation == "history_cleanup")))
    assert len(summaries) == len(counter.committed)  # one operation event per batch
    assert sum(e.data["new"]["rows"] for e in summaries) == sum(sizes.values())
    assert len([e for e in summaries if big in e.data["new"]["instance_ids"]]) == 1  # once its row went


def test_two_workers_cleaning_at_once_remove_each_row_once(database, db_session, root, clock, monkeypatch):
    monkeypatch.setenv("LIUCHENG_CLEANUP_BATCH", "30")
    deploy(db_session, ("short", model("short", "1")))
    ended = [complete(db_session, start(db_session, "short", root), root) for _ in range(12)]
    events = db_session.scalar(select(func.count()).where(HistoryEvent.instance_id.in_(ended)))
    clock.advance(days=2)
    db_session.commit()
    failures: list = []

    def worker():
        try:
            with database.session() as session:
                while retention.remove_expired(session):
                    pass
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(Instance)) == 0
    assert db_session.scalar(select(func.sum(HistoryGap.count))) == events  # no run summarized twice
    verdict = verified(db_session)
    assert verdict.intact and verdict.removed == events, verdict


# -- the chain ----------------------------------------------------------------------------------

@pytest.mark.parametrize("table", ["history_events", "comments"])
def test_the_triggers_refuse_deletes_without_a_permit(db_session, root, table):
    deploy(db_session, ("short", model("short", "1")))
    instance_id = start(db_session, "short", root)
    collaboration.comment_on_instance(db_session, instance_id, "a note", root)
    statement = text(f"DELETE FROM {table} WHERE instance_id = :i")
    with pytest.raises(DatabaseError, match="append-only"):
        db_session.execute(statement, {"i": instance_id})
        db_session.commit()
    db_session.rollback()
    db_session.add(CleanupPermit())
    db_session.flush()
    assert db_session.execute(statement, {"i": instance_id}).rowcount > 0  # with a permit it passes…
    db_session.rollback()  # …and is not kept here
    assert db_session.scalar(select(func.count()).select_from(Comment)) == 1


def test_an_event_deleted_without_a_summary_breaks_the_chain(db_session, root, clock):
    deploy(db_session, ("short", model("short", "1")))
    victim = start(db_session, "short", root)
    start(db_session, "short", root)
    removed = db_session.scalar(select(func.max(HistoryEvent.id)).where(HistoryEvent.instance_id == victim))
    db_session.commit()
    assert verified(db_session).intact
    with database_module.command(db_session):  # what a database administrator could do
        permit = CleanupPermit()
        db_session.add(permit)
        db_session.flush()
        gone = db_session.execute(select(HistoryEvent.prev_hash, HistoryEvent.hash)
                                  .where(HistoryEvent.id == removed)).one()
        db_session.execute(HistoryEvent.__table__.delete().where(HistoryEvent.id == removed))
        db_session.delete(permit)
    verdict = verified(db_session)
    assert not verdict.intact and verdict.first_broken.reason == "missing", verdict
    with database_module.command(db_session):  # a summary not signed with the audit key does not help
        db_session.execute(insert(HistoryGap).values(removed_at=clock.now(), first_id=removed, last_id=removed,
                                                     count=1, prev_hash=gone.prev_hash, last_hash=gone.hash,
                                                     signature="0" * 64))
    assert not verified(db_session).intact
    with database_module.command(db_session):  # signed with the key, as retention writes it, it does
        db_session.execute(HistoryGap.__table__.update().values(signature=hash_chain.sign(
            "gap", removed, removed, 1, gone.prev_hash, gone.hash)))
    assert verified(db_session).intact


# -- 100,000 events ---------------------------------------------------------------------------------

INSTANCES, EVENTS_EACH, GROUP = 1000, 100, 10
BATCH_SECONDS = 2.0  # the bound a batch of 1000 rows stays under (measured: well under 0.5 s on SQLite and PostgreSQL)


def build_history(database, definition_id: int, ended) -> tuple[list[int], list[int]]:
    """``INSTANCES`` ended instances of ``EVENTS_EACH`` events each, written in groups of ``GROUP`` whose events
    interleave in the chain; the first of each group ended recently (kept), the others long ago. Rows are
    inserted directly (the instances) and through ``history.record`` (the events, chained as a command would)."""
    kept, expired = [], []
    with database.session() as session:
        for group in range(INSTANCES // GROUP):
            with database_module.command(session):
                ids = []
                for member in range(GROUP):
                    recent = member == 0
                    ids.append(session.execute(insert(Instance).values(
                        definition_id=definition_id, process_id="bulk", version=1, status=InstanceStatus.COMPLETED,
                        data={}, state="", revision=1, etag="e", started_at=ended, started_by="root",
                        ended_at=ended + timedelta(days=400 if recent else 0))).inserted_primary_key[0])
                    (kept if recent else expired).append(ids[-1])
                for n in range(EVENTS_EACH):
                    for instance_id in ids:
                        history.record(session, instance_id, "element_completed", "system", f"Task_{n}",
                                       data={"n": n}, at=ended)
    return kept, expired


@pytest.mark.timeout(240)  # about 25 s on SQLite, 75 s on PostgreSQL (most of it writing the 100,000 events)
def test_a_hundred_thousand_events_are_removed_in_bounded_batches_and_verify_passes(database, db_session, clock):
    deploy(db_session, ("bulk", model("bulk", "30")))
    definition_id = db_session.scalar(select(Definition.id))
    db_session.commit()
    began = time.perf_counter()
    kept, expired = build_history(database, definition_id, clock.now())
    built = time.perf_counter() - began
    assert db_session.scalar(select(func.count()).select_from(HistoryEvent)) >= INSTANCES * EVENTS_EACH
    clock.advance(days=60)
    db_session.rollback()

    counter, ticks = DeletesPerTransaction(database.engine), []
    try:
        while db_session.scalar(select(func.count()).select_from(Instance)) > len(kept):
            db_session.rollback()
            began = time.perf_counter()
            scheduler.tick(database)
            ticks.append(time.perf_counter() - began)
            assert len(ticks) < 200
    finally:
        counter.close()
    db_session.rollback()
    began = time.perf_counter()
    verdict = chain_verify.verify(db_session)
    verify_seconds = time.perf_counter() - began
    longest = max(counter.seconds)
    print(f"\n{INSTANCES * EVENTS_EACH} events built in {built:.1f}s; {len(counter.committed)} batches in "
          f"{len(ticks)} ticks; rows per batch at most {max(counter.committed)}; batch seconds: longest "
          f"{longest:.3f}, mean {sum(counter.seconds) / len(counter.seconds):.3f}; longest tick {max(ticks):.2f}s; "
          f"verify {verify_seconds:.1f}s ({verdict.events} events, {verdict.removed} removed)")
    assert verdict.intact and verdict.removed == len(expired) * EVENTS_EACH, verdict
    assert set(db_session.scalars(select(Instance.id))) == set(kept)
    assert max(counter.committed) <= config.DEFAULT_CLEANUP_BATCH
    assert longest < BATCH_SECONDS  # measured: see the figures printed above and the README
    assert max(ticks) < retention.TICK_SECONDS + 2 * BATCH_SECONDS  # the worker stays responsive


def test_the_benchmark_runs():
    done = subprocess.run([sys.executable, "bench/retention_bench.py", "--events", "2000", "--events-each", "20",
                           "--batch", "100"], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "batches/s" in done.stdout and "intact=True" in done.stdout, done.stdout
