"""The history chain under concurrent writers (issue 15 item 1): four OS processes start refund instances,
complete their first task and record operations in commands of their own, all at once, on one file SQLite
database and on PostgreSQL. Afterwards the chain is one line (no two events share a ``prev_hash``: no fork),
every committed event is in it (the table, the head row's count and each writer's own tally agree) and
``audit verify`` says intact."""
from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from engine import chain_verify, database as engine_database, history, runtime, users
from engine.database import Database
from engine.models import HistoryChain, HistoryEvent, HumanTask, Instance

ROOT = Path(__file__).resolve().parent.parent  # not from conftest: each writer imports this module only
TEST_DATABASE_ENV = "LIUCHENG_TEST_DATABASE_URL"
WRITERS = 4
ROUNDS = 5  # per writer: a start, a task completed and OPERATIONS operation events in one command
OPERATIONS = 3
JOIN_SECONDS = 90


def prepare(url: str) -> None:
    """The schema, the refund process and after-sales clerk li (in this process, before the writers)."""
    database = Database(url)
    try:
        database.upgrade()
        with database.session() as session:
            users.ensure_roles(session)
            session.commit()
            runtime.deploy_paths(session, [ROOT / "processes" / "refund.bpmn",
                                           *sorted((ROOT / "forms").glob("refund_*.json"))])
            users.add_user(session, "li", "pw-li-123456", ["aftersales_cs", "supervisor"], {})
            session.commit()
    finally:
        database.dispose()


def writer(url: str, number: int, barrier, results) -> None:
    """One OS process: ``ROUNDS`` times start a refund, complete its first task, and record operations."""
    runtime.start_engine()
    database = Database(url)
    started, operations = [], 0
    try:
        with database.session() as session:
            li = users.get_user(session, "li")
            session.rollback()
            barrier.wait(timeout=JOIN_SECONDS)
            for round_ in range(ROUNDS):
                instance = runtime.start_instance(session, "refund", application(number, round_), li)
                started.append(instance.id)
                task_id = session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance.id))
                session.rollback()
                runtime.complete_task(session, task_id, {"real_reason": "尺码", "exchange_instead": False}, li)
                with engine_database.command(session):
                    for item in range(OPERATIONS):
                        history.record_operation(session, f"writer-{number}", "concurrency_test", "test",
                                                 f"{number}-{round_}-{item}", reason="concurrent writers")
                operations += OPERATIONS
        results.put((number, started, operations, None))
    except Exception as exc:  # reported to the test, which fails with it
        results.put((number, started, operations, f"{type(exc).__name__}: {exc}"))
    finally:
        database.dispose()


def application(number: int, round_: int) -> dict:
    return {"order_no": f"C-{number}-{round_}", "buyer": "小李", "amount": "50.00", "shipping_fee": "8.00",
            "free_shipping": False, "goods_received": True, "quality_issue": False, "days_since_signed": 2,
            "reason": "并发"}


def run_writers(url: str) -> dict[int, tuple[list[int], int]]:
    context = multiprocessing.get_context("spawn")  # no connection of this process leaks into a writer
    barrier, results = context.Barrier(WRITERS), context.Queue()
    processes = [context.Process(target=writer, args=(url, number, barrier, results)) for number in range(WRITERS)]
    for process in processes:
        process.start()
    reports = {}
    try:
        for _ in processes:
            number, started, operations, error = results.get(timeout=JOIN_SECONDS)
            assert error is None, f"writer {number} failed: {error}"
            reports[number] = (started, operations)
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join()
    assert all(process.exitcode == 0 for process in processes)
    return reports


def assert_one_unbroken_line(url: str, reports: dict[int, tuple[list[int], int]]) -> None:
    database = Database(url)
    try:
        with database.session() as session:
            forks = session.execute(select(HistoryEvent.prev_hash).group_by(HistoryEvent.prev_hash)
                                    .having(func.count() > 1)).scalars().all()
            assert forks == [], "two events continue from the same one: the chain forked"
            in_table = session.scalar(select(func.count()).select_from(HistoryEvent))
            head_row = session.get(HistoryChain, 1)
            assert head_row.events == in_table
            for number, (started, operations) in reports.items():
                assert len(started) == ROUNDS
                assert session.scalar(select(func.count()).select_from(HistoryEvent).where(
                    HistoryEvent.actor == f"writer-{number}")) == operations
                own = session.scalars(select(HistoryEvent.type).where(HistoryEvent.instance_id.in_(started))).all()
                assert own.count("instance_started") == ROUNDS and own.count("task_completed") == ROUNDS
            assert session.scalar(select(func.count()).select_from(Instance)) == WRITERS * ROUNDS
            if session.get_bind().dialect.name == "postgresql":  # SQLite's busy wait is unfair: it may not
                assert interleaved(reports), "the writers ran one after the other: nothing was concurrent"
            verdict = chain_verify.verify(session)
            assert verdict.intact, verdict.first_broken
            assert (verdict.events, verdict.head) == (in_table, head_row.head)
            ids = session.scalars(select(HistoryEvent.id).order_by(HistoryEvent.id)).all()
            hashes = dict(session.execute(select(HistoryEvent.id, HistoryEvent.hash)).all())
            links = dict(session.execute(select(HistoryEvent.id, HistoryEvent.prev_hash)).all())
            assert all(links[later] == hashes[earlier] for earlier, later in zip(ids, ids[1:]))  # ids in chain order
    finally:
        database.dispose()


def interleaved(reports: dict[int, tuple[list[int], int]]) -> bool:
    """Whether the writers' instances alternate in the id order (more turns than one block per writer)."""
    by_instance = sorted((instance_id, number) for number, (started, _) in reports.items() for instance_id in started)
    turns = sum(1 for (_, one), (_, other) in zip(by_instance, by_instance[1:]) if one != other)
    return turns > WRITERS - 1


def test_four_processes_write_one_chain_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'concurrent.db'}"
    prepare(url)
    reports = run_writers(url)
    assert_one_unbroken_line(url, reports)


@pytest.mark.skipif(not (os.environ.get(TEST_DATABASE_ENV) or "").startswith("postgresql"),
                    reason=f"PostgreSQL only ({TEST_DATABASE_ENV} names a PostgreSQL database)")
def test_four_processes_write_one_chain_on_postgresql(database_url):
    assert make_url(database_url).get_backend_name() == "postgresql"
    prepare(database_url)
    reports = run_writers(database_url)
    assert_one_unbroken_line(database_url, reports)
