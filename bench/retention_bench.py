"""Retention benchmark (issue 15): how fast the worker's clean-up removes expired history, batch by batch.

Builds ``--events`` history events (default 100,000) over ended instances of ``--events-each`` events, written in
groups of ten whose events interleave in the chain (one instance of each group is kept: the removed spans are
broken into many runs, each a signed summary), then removes the expired ones with ``retention.remove_batch``,
one transaction per batch of ``--batch`` rows (``LIUCHENG_CLEANUP_BATCH``), and verifies the chain. Prints
batches per second, rows per second, the longest and mean batch, the summaries written and the verification.

On a fresh SQLite file by default; ``--url`` names another database (a PostgreSQL one has its ``public`` schema
DROPPED AND RECREATED).

    python bench/retention_bench.py [--events 100000] [--events-each 100] [--batch 1000] [--url URL]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text  # noqa: E402

from engine import chain_verify, clock, database as database_module, history, retention, runtime, users  # noqa: E402
from engine.database import Database  # noqa: E402
from engine.models import Definition, HistoryGap, Instance, InstanceStatus  # noqa: E402

runtime.start_engine()  # noqa: E402

T0 = datetime(2026, 11, 2, 9, 0)
GROUP = 10
MODEL = b'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_bulk"
    targetNamespace="http://liucheng.example/bench">
  <bpmn:process id="bulk" isExecutable="true" camunda:historyTimeToLive="30">
    <bpmn:startEvent id="Start"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:endEvent id="End"><bpmn:incoming>F1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="End"/>
  </bpmn:process>
</bpmn:definitions>'''


def fresh_database(url: str) -> Database:
    database = Database(url)
    if database.engine.dialect.name == "postgresql":
        with database.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    database.upgrade()
    with database.session() as session:
        users.ensure_roles(session)
        session.commit()
    return database


def life_event(n: int, events: int) -> str:
    """The type of an instance's ``n``-th of ``events`` events: it starts, steps, then completes (retention
    removes only an instance whose history says it ended)."""
    return "instance_started" if n == 0 else "instance_completed" if n == events - 1 else "element_completed"


def build(database: Database, events: int, events_each: int) -> int:
    """Ended instances and their events (interleaved by groups); returns how many instances expire."""
    expired = 0
    with database.session() as session:
        runtime.deploy_definitions(session, {"bulk.bpmn": MODEL}, {})
        definition_id = session.scalar(select(Definition.id))
        for _group in range(max(1, events // (events_each * GROUP))):
            with database_module.command(session):
                ids = []
                for member in range(GROUP):
                    ids.append(session.execute(insert(Instance).values(
                        definition_id=definition_id, process_id="bulk", version=1, status=InstanceStatus.COMPLETED,
                        data={}, state="", revision=1, etag="e", started_at=T0, started_by="bench",
                        ended_at=T0 + timedelta(days=400 if member == 0 else 0))).inserted_primary_key[0])
                    expired += member != 0
                for n in range(events_each):
                    for instance_id in ids:
                        history.record(session, instance_id, life_event(n, events_each), "system", f"Task_{n}",
                                       data={"n": n}, at=T0)
    return expired


def remove_all(database: Database, batch: int) -> list[tuple[float, int]]:
    """(seconds, rows) of each batch until nothing has expired."""
    done = []
    with database.session() as session:
        while True:
            began = time.perf_counter()
            with database_module.command(session):
                removed = retention.remove_batch(session, batch, None)
            if removed is None:
                return done
            done.append((time.perf_counter() - began, removed.rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--events-each", type=int, default=100)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        url = args.url or f"sqlite:///{Path(directory) / 'retention.db'}"
        clock.set_clock(clock.FrozenClock(T0))
        database = fresh_database(url)
        began = time.perf_counter()
        expired = build(database, args.events, args.events_each)
        print(f"{database.engine.dialect.name}: {args.events:,} events over {expired + expired // (GROUP - 1):,} "
              f"instances built in {time.perf_counter() - began:.1f}s")
        clock.set_clock(clock.FrozenClock(T0 + timedelta(days=60)))
        began = time.perf_counter()
        batches = remove_all(database, args.batch)
        spent = time.perf_counter() - began
        seconds = [s for s, _ in batches]
        rows = sum(r for _, r in batches)
        print(f"removed {expired:,} instances, {rows:,} rows in {len(batches)} batches of at most {args.batch} rows: "
              f"{len(batches) / spent:.1f} batches/s, {rows / spent:,.0f} rows/s")
        print(f"batch seconds: longest {max(seconds):.3f}, mean {statistics.mean(seconds):.3f}, "
              f"median {statistics.median(seconds):.3f}")
        with database.session() as session:
            gaps = session.scalar(select(func.count()).select_from(HistoryGap))
            began = time.perf_counter()
            verdict = chain_verify.verify(session)
            print(f"{gaps:,} signed summaries; verify {time.perf_counter() - began:.1f}s: intact={verdict.intact}, "
                  f"{verdict.events:,} events of which {verdict.removed:,} removed")
        database.dispose()


if __name__ == "__main__":
    main()
