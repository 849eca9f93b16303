"""Timer and message benchmark on PostgreSQL (issue 3): prints figures, asserts nothing.

1. N due timers (default 10,000: interrupting boundary timers on a user task, one per
   instance) fired by one and then by two worker *processes* (``runtime.fire_due_timers`` in a
   loop, each with its own frozen clock at the fire time): timers per second, and
   duplicates counted from history (must be 0).
2. Message delivery throughput through ``engine.runtime.receive_message``: M instances wait for
   ``order_cancelled``, each gets one message correlated by its ``order_no``.

Instances are made by starting one through the engine and copying its rows (instance,
human task, timer) with SQL, so setting up 10,000 takes seconds, not minutes.

It DROPS AND RECREATES the ``public`` schema of the database named by the URL.

    python bench/timers_bench.py [URL] [--timers 10000] [--messages 1000] [--budget 70] [--no-sqlite]

With the default ``--budget 70`` each timer run stops after 70 s (the whole bench then
stays under ~3 minutes on a slow shared machine) and the rate is taken over what was
fired; ``--budget 0`` fires all of them.
"""
from __future__ import annotations

import argparse
import json
import os
import select as select_module
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, inspect, select, text  # noqa: E402

from engine import clock, definitions, messages, runtime, timers, users  # noqa: E402
from engine.database import Database  # noqa: E402
runtime.start_engine()  # noqa: E402
from engine.models import (  # noqa: E402
    HistoryEvent, Instance, InstanceStatus, Message, MessageStatus, Timer, TimerStatus,
)

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/liucheng_h"
DATA = ROOT / "tests" / "data"
T0 = datetime(2026, 11, 2, 9, 0)
DUE = T0 + timedelta(hours=24)
FIRE_AT = DUE + timedelta(minutes=1)
TEMPLATE = "ORDERTEMPLATE"


# -- setting up ----------------------------------------------------------------------------------

def fresh_database(url: str, *bpmn: Path) -> tuple[Database, object]:
    database = Database(url)
    if database.engine.dialect.name == "postgresql":
        with database.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    database.upgrade()
    with database.session() as session:
        users.ensure_roles(session)
        users.add_user(session, "bench", "bench-password", ["admin", "integrator"])
        session.commit()
        runtime.deploy_paths(session, list(bpmn))
    with database.session() as session:
        actor = users.find_user(session, "bench")
        _ = actor.roles
    return database, actor


def make_instances(database: Database, actor, process_id: str, count: int) -> None:
    """Start one instance through the engine, then copy its rows ``count - 1`` times with SQL.

    The copies' ``order_no`` (in the row's data and in the workflow state) is ``M000001``... """
    with database.session() as session:
        first = runtime.start_instance(session, process_id, {"order_no": TEMPLATE}, actor).id
    if count <= 1:
        return
    copied = ("human_tasks", "timers", "message_subscriptions")
    columns = {table: [c["name"] for c in inspect(database.engine).get_columns(table) if c["name"] != "id"]
               for table in ("instances", *copied)}
    postgres = database.engine.dialect.name == "postgresql"
    order_no = "('M' || lpad(g::text, 6, '0'))" if postgres else "('M' || substr('000000' || g, -6, 6))"
    series = "generate_series(1, :n) AS g" if postgres else \
        "(WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < :n) SELECT g FROM s)"
    data = "json_build_object('order_no', {o})" if postgres else "json_object('order_no', {o})"
    started = time.perf_counter()
    with database.engine.begin() as connection:
        values = {c: c for c in columns["instances"]}
        values["data"] = data.format(o=order_no)
        values["state"] = f"replace(i.state, '{TEMPLATE}', {order_no})"
        values["business_key"] = order_no
        values["etag"] = f"{'md5(g::text)' if postgres else 'hex(randomblob(16))'}"
        select_list = ", ".join(v if k in ("data", "state", "business_key", "etag") else f"i.{v}"
                                for k, v in values.items())
        connection.execute(text(f"INSERT INTO instances ({', '.join(values)}) SELECT {select_list} "
                                f"FROM instances i, {series} WHERE i.id = :first"), {"n": count - 1, "first": first})
        for table in copied:
            cols = columns[table]
            select_list = ", ".join("c.id" if c == "instance_id" else f"t.{c}" for c in cols)
            live = " AND t.status IN ('open', 'waiting')" if "status" in cols else ""
            connection.execute(text(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {select_list} "
                                    f"FROM {table} t, instances c WHERE t.instance_id = :first AND c.id <> :first"
                                    + live), {"first": first})
        connection.execute(text("UPDATE instances SET data = " + data.format(o="'M000000'") + ", business_key = "
                                "'M000000', etag = 'bench0', state = replace(state, :t, 'M000000') WHERE id = :first"),
                           {"t": TEMPLATE, "first": first})
    print(f"  made {count} instances of {process_id} in {time.perf_counter() - started:.1f} s")


# -- timers -------------------------------------------------------------------------------------------

def worker_main(url: str, name: str, at: str, limit: int, budget: float) -> None:
    """A worker process: fire what is due at ``at`` until nothing due is left (or ``budget``
    seconds have passed, if > 0); report as JSON."""
    at_ = datetime.fromisoformat(at)
    clock.set_clock(clock.FrozenClock(at_))
    database = Database(url)
    due = select(func.count()).select_from(Timer).where(Timer.status == TimerStatus.WAITING, Timer.due_at <= at_)
    with database.session() as session:
        session.scalar(due)
    print("ready", flush=True)
    sys.stdin.readline()
    started, fired, errors = time.perf_counter(), 0, []
    deadline = time.monotonic() + (budget if budget > 0 else 1800)
    while time.monotonic() < deadline:
        try:
            count = runtime.fire_due_timers(database, name, now=at_, limit=limit)
        except Exception as exc:  # noqa: BLE001 - counted and reported
            errors.append(f"{type(exc).__name__}: {exc}"[:300])
            count = 0
        fired += count
        if count == 0:
            with database.session() as session:
                if not session.scalar(due):
                    break
    print(json.dumps({"fired": fired, "errors": errors[:5], "error_count": len(errors),
                      "seconds": time.perf_counter() - started}), flush=True)


def fire_with_workers(url: str, workers: int, limit: int, budget: float) -> tuple[float, list[dict]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    processes = [subprocess.Popen([sys.executable, __file__, "--worker", url, f"bench-{n}", FIRE_AT.isoformat(),
                                   str(limit), str(budget)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
                 for n in range(workers)]
    try:
        for process in processes:
            readable, _, _ = select_module.select([process.stdout], [], [], 120)
            if not readable or process.stdout.readline().strip() != "ready":
                raise RuntimeError("a worker did not start")
        started = time.perf_counter()
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.flush()
        reports = []
        for process in processes:
            out, _ = process.communicate(timeout=(budget + 120) if budget > 0 else 3600)
            reports.append(json.loads(out.strip().splitlines()[-1]))
        return time.perf_counter() - started, reports
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()


def bench_timers(url: str, count: int, workers: int, limit: int, budget: float) -> dict:
    print(f"\n{count} due timers, {workers} worker process(es):")
    database, actor = fresh_database(url, DATA / "timers_interrupting.bpmn")
    clock.set_clock(clock.FrozenClock(T0))
    try:
        make_instances(database, actor, "timers_interrupting", count)
    finally:
        clock.set_clock(clock.Clock())
    with database.session() as session:
        due = session.scalar(select(func.count()).select_from(Timer).where(Timer.due_at <= FIRE_AT))
    seconds, reports = fire_with_workers(url, workers, limit, budget)
    with database.session() as session:
        fired_events = session.scalar(select(func.count()).select_from(HistoryEvent)
                                      .where(HistoryEvent.type == "timer_fired"))
        fired_instances = session.scalar(select(func.count(func.distinct(HistoryEvent.instance_id)))
                                         .where(HistoryEvent.type == "timer_fired"))
        left = session.scalar(select(func.count()).select_from(Timer))
        escalated = session.scalar(select(func.count()).select_from(Instance).where(Instance.status == InstanceStatus.RUNNING))
    database.dispose()
    result = {"workers": workers, "due": due, "seconds": seconds, "per_second": fired_events / seconds,
              "fired_events": fired_events, "duplicates": fired_events - fired_instances, "left": left,
              "per_worker": [r["fired"] for r in reports], "errors": sum(r["error_count"] for r in reports),
              "error_samples": [e for r in reports for e in r["errors"]][:3], "running": escalated}
    print(f"  fired {fired_events} of {due} in {seconds:.1f} s = {result['per_second']:.0f} timers/s; "
          f"per worker {result['per_worker']}; duplicates {result['duplicates']}; rows left {left}; "
          f"worker errors {result['errors']} {result['error_samples']}")
    return result


# -- messages -----------------------------------------------------------------------------------------

def bench_messages(url: str, count: int, label: str) -> dict:
    print(f"\n{count} messages to {count} waiting instances ({label}):")
    database, actor = fresh_database(url, DATA / "messages_wait.bpmn")
    make_instances(database, actor, "messages_wait", count)
    errors, statuses = [], {}
    started = time.perf_counter()
    with database.session() as session:
        for n in range(count):
            try:
                reply = runtime.receive_message(session, "order_cancelled", {"order_no": f"M{n:06d}"}, {"reason": "bench"},
                                         f"bench-{n}", actor)
                statuses[reply["status"]] = statuses.get(reply["status"], 0) + 1
            except Exception as exc:  # noqa: BLE001 - reported
                session.rollback()
                errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}"[:200])
                if len(errors) >= 3 and not statuses:
                    break
    seconds = time.perf_counter() - started
    with database.session() as session:
        delivered = session.scalar(select(func.count()).select_from(Message).where(Message.status == MessageStatus.DELIVERED))
        correlated = session.scalar(select(func.count()).select_from(HistoryEvent)
                                    .where(HistoryEvent.type == "message_correlated"))
    database.dispose()
    sent = sum(statuses.values())
    result = {"label": label, "seconds": seconds, "per_second": sent / seconds if sent else 0.0,
              "statuses": statuses, "delivered": delivered, "correlated": correlated, "errors": errors[:3]}
    print(f"  {sent} received in {seconds:.1f} s = {result['per_second']:.0f} messages/s; replies {statuses}; "
          f"delivered {delivered}, message_correlated {correlated}" + (f"; ERRORS {errors[:2]}" if errors else ""))
    return result


# -- main -----------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default=DEFAULT_URL)
    parser.add_argument("--timers", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=1_000)
    parser.add_argument("--limit", type=int, default=100, help="timers claimed per fire_due call")
    parser.add_argument("--budget", type=float, default=70.0,
                        help="seconds each timer run may take (0: fire all); the rate is measured either way")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite message figures")
    args = parser.parse_args()
    if not args.url.startswith("postgresql"):
        parser.error("give a PostgreSQL URL (its public schema is dropped and recreated)")
    started = time.perf_counter()
    results = [bench_timers(args.url, args.timers, workers, args.limit, args.budget) for workers in (1, 2)]
    message_results = [bench_messages(args.url, args.messages, "PostgreSQL")]
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as directory:
            message_results.append(bench_messages(f"sqlite:///{directory}/bench.db", args.messages, "SQLite"))
    print("\nSummary")
    for r in results:
        print(f"  timers, {r['workers']} worker(s): {r['fired_events']}/{r['due']} fired, "
              f"{r['per_second']:.0f} timers/s, duplicates {r['duplicates']}")
    for r in message_results:
        print(f"  messages ({r['label']}): {r['per_second']:.0f} messages/s"
              + (f" — FAILED: {r['errors'][0]}" if r["errors"] else ""))
    print(f"  total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6]))
    else:
        main()
