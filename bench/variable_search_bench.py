"""Search by data benchmark: prints figures, asserts nothing.

Fills a database with ``--instances`` instances of the refund process (rows written directly, with their
variables' index as the engine writes it; one in 20 runs with an open task for aftersales_cs, the others
completed; PostgreSQL is then ANALYZEd, as its autovacuum would after such a load), then times the
instance list (``GET /api/v1/instances?variables=``: ``engine.instances.search``, newest 50) for an admin
and for a clerk who sees only their role's instances, and the worklist (``GET /api/v1/tasks?scope=claimable``)
with a few filters. SQLite always; PostgreSQL too with ``--url`` (or ``LIUCHENG_TEST_DATABASE_URL``):
its ``public`` schema is dropped and recreated.

    python bench/variable_search_bench.py [--instances 100000] [--repeats 5] [--url postgresql+psycopg://...]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402

from engine import instances, runtime, users, variable_index  # noqa: E402
from engine import task_listing  # noqa: E402
from engine.database import Database  # noqa: E402
from engine.models import Definition, HumanTask, Instance, InstanceVariable  # noqa: E402

BATCH = 5000
BUYERS = ["wang", "li", "zhang", "liu", "chen", "yang", "zhao", "huang", "zhou", "wu"]
FILTERS = [
    ("one order number", "order_no_eq_R-{middle:07d}"),
    ("amount > 990 (1 %)", "amount_gt_990"),
    ("amount > 10 (99 %)", "amount_gt_10"),
    ("urgent = true (10 %)", "urgent_eq_true"),
    ("buyer like %ang% (30 %)", "buyer_like_%ang%"),
    ("order like R-00123% and amount < 500", "order_no_like_R-00123%,amount_lt_500"),
    ("no match", "order_no_eq_nothing"),
]


def setup(url: str, count: int) -> Database:
    database = Database(url)
    if database.engine.dialect.name == "postgresql":
        with database.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    database.upgrade()
    with database.session() as session:
        users.ensure_roles(session)
        users.add_user(session, "root", "bench-pw", ["admin"])
        users.add_user(session, "chen", "bench-pw", ["aftersales_cs"])
        session.commit()
        runtime.deploy_paths(session, [ROOT / "processes" / "refund.bpmn", ROOT / "forms"])
        definition_id = session.scalar(select(Definition.id).where(Definition.process_id == "refund"))
        began = time.perf_counter()
        for first in range(1, count + 1, BATCH):
            fill(session, definition_id, range(first, min(first + BATCH, count + 1)))
        session.commit()
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("ANALYZE"))
            session.commit()
        print(f"  filled {count} instances in {time.perf_counter() - began:.1f} s")
    return database


def fill(session, definition_id: int, numbers: range) -> None:
    started = datetime(2026, 1, 1)
    rows, variables, tasks = [], [], []
    for n in numbers:
        running = n % 20 == 0
        data = {"order_no": f"R-{n:07d}", "amount": (n * 7919) % 1000 + 0.5, "urgent": n % 10 == 0,
                "buyer": BUYERS[n % len(BUYERS)], "reason": "not arrived", "items": [{"sku": "T-1", "qty": 1}]}
        rows.append({"id": n, "definition_id": definition_id, "process_id": "refund", "version": 1,
                     "status": "running" if running else "completed", "data": data, "state": "", "etag": f"{n}", "revision": 1,
                     "business_key": data["order_no"], "started_at": started + timedelta(seconds=n),
                     "started_by": "root"})
        variables += [{"instance_id": n, "name": name, "kind": kind, "text_value": text_value, "num_value": number}
                      for name, (kind, text_value, number) in variable_index.entries(data).items()]
        tasks += [{"instance_id": n, "process_id": "refund", "engine_task_id": f"t-{n}",
                      "element_id": "Task_aftersales_review", "name": "审核", "role": "aftersales_cs",
                      "status": "open", "created_at": started + timedelta(seconds=n), "priority": 50}] if running else []
    if session.get_bind().dialect.name == "postgresql":  # COPY: inserting 600,000 rows takes minutes
        copy(session, Instance, [{**row, "data": json.dumps(row["data"])} for row in rows])
        copy(session, InstanceVariable, variables)
    else:
        session.execute(insert(Instance), rows)
        session.execute(insert(InstanceVariable), variables)
    if tasks:
        session.execute(insert(HumanTask), tasks)


def copy(session, model, rows: list[dict]) -> None:
    columns = list(rows[0])
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor.copy(f"COPY {model.__tablename__} ({', '.join(columns)}) FROM STDIN") as writer:
        for row in rows:
            writer.write_row([row[c] for c in columns])


def timed(run, repeats: int) -> tuple[float, int]:
    found = run()  # warm
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        found = run()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), len(found)


def measure(database: Database, repeats: int, count: int) -> None:
    with database.session() as session:
        root, chen = users.get_user(session, "root"), users.get_user(session, "chen")
        for label, expression in FILTERS:
            expression = expression.format(middle=count // 2)
            def listed(user=root):
                query = instances.search(session, user, variables=expression)
                return session.scalars(query.order_by(Instance.id.desc()).limit(50)).all()

            def worklist():
                return task_listing.list_tasks(session, chen, "claimable", variables=expression, limit=50)

            admin_ms, found = timed(listed, repeats)
            clerk_ms, _ = timed(lambda: listed(chen), repeats)
            tasks_ms, tasks_found = timed(worklist, repeats)
            print(f"  {label:40} instances (admin) {admin_ms:7.1f} ms  (clerk) {clerk_ms:7.1f} ms  "
                  f"tasks {tasks_ms:7.1f} ms  [{found}/{tasks_found} of the first 50]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--url", default=os.environ.get("LIUCHENG_TEST_DATABASE_URL"))
    args = parser.parse_args()
    runtime.start_engine()
    with tempfile.TemporaryDirectory() as folder:
        targets = [("SQLite", f"sqlite:///{folder}/bench.db")]
        if args.url and args.url.startswith("postgresql"):
            targets.append(("PostgreSQL", args.url))
        for name, url in targets:
            print(f"{name}: {args.instances} instances, median of {args.repeats} (ms)")
            try:
                database = setup(url, args.instances)
            except Exception as exc:  # an unreachable PostgreSQL: say so and go on
                print(f"  {name} skipped: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
                continue
            measure(database, args.repeats, args.instances)
            database.dispose()


if __name__ == "__main__":
    main()
