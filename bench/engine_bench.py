"""Engine benchmark: prints figures, asserts nothing.

1. Refund instances run start to end through the engine API (start, claim-free
   complete of each task) on SQLite and, if reachable, PostgreSQL; raw in-memory
   SpiffWorkflow as released on the same model and path in the same run as the
   reference; and, for comparison, in-memory SpiffWorkflow with the speedups the
   engine installs on it (engine/spiff/speedups.py).
2. The cost of one step at loop rounds 10, 100 and 1000 of bench/loop.bpmn, and
   that the loop still ends correctly past round 250 (SpiffWorkflow's depth trap).

    python bench/engine_bench.py [--instances 200] [--repeats 5] [--rounds 1000] [--pg URL]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select, text  # noqa: E402

from engine import runtime, spiff, users  # noqa: E402
from engine.database import Database  # noqa: E402
runtime.start_engine()  # noqa: E402
from engine.models import HumanTask, Instance, InstanceStatus, TaskStatus  # noqa: E402

START = {"order_no": "B-1", "buyer": "buyer", "amount": "100.00", "shipping_fee": "10.00",
         "free_shipping": False, "goods_received": False, "quality_issue": False,
         "days_since_signed": 2, "reason": "not arrived"}
# supervisor rejects, aftersales negotiates, buyer escalates, supervisor approves, finance pays
ANSWERS = {
    "Task_supervisor_approve_refund_only": [{"approved": False, "approval_comment": "no"},
                                            {"approved": True, "approval_comment": "ok"}],
    "Task_aftersales_negotiate": [{"buyer_accepts": False, "negotiation_note": "escalates"}],
    "Task_finance_refund": [{"payment_ref": "PAY-1"}],
}
ROLES = ["supervisor", "aftersales_cs", "finance", "warehouse"]


def setup_database(url: str) -> tuple[Database, dict]:
    database = Database(url)
    if database.engine.dialect.name == "postgresql":
        with database.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    database.upgrade()
    with database.session() as session:
        users.ensure_roles(session)
        actor = users.add_user(session, "bench", "bench-pw", ROLES + ["admin"])
        session.commit()
        runtime.deploy_paths(session, [ROOT / "processes" / "refund.bpmn", ROOT / "forms"])
        runtime.deploy_paths(session, [ROOT / "bench" / "loop.bpmn"])
    return database, {"actor": actor}


class Reader:
    """What a client reads between commands (GET /tasks?instance_id=): the instance's open
    task, with one indexed SELECT on a connection of its own in autocommit mode, as a
    separate client process would. The engine's commands are what the benchmark times."""

    OPEN_TASK = "SELECT id, element_id FROM human_tasks WHERE instance_id = ? AND status = 'open' LIMIT 1"
    STATUS = "SELECT status FROM instances WHERE id = ?"

    def __init__(self, database: Database):
        self.pooled = database.engine.raw_connection()
        self.connection = self.pooled.driver_connection
        self.marker = "?"
        if database.engine.dialect.name == "postgresql":
            self.connection.autocommit = True
            self.marker = "%s"

    def one(self, sql: str, *params):
        cursor = self.connection.cursor()
        cursor.execute(sql.replace("?", self.marker), params)
        return cursor.fetchone()

    def close(self) -> None:
        self.pooled.close()


def run_refund(session, actor, reader: Reader) -> None:
    answers = {k: list(v) for k, v in ANSWERS.items()}
    instance_id = runtime.start_instance(session, "refund", dict(START), actor).id
    while True:
        row = reader.one(Reader.OPEN_TASK, instance_id)
        if row is None:
            break
        runtime.complete_task(session, row[0], answers[row[1]].pop(0), actor)
    assert reader.one(Reader.STATUS, instance_id) == (InstanceStatus.COMPLETED,)


class EngineRun:
    """Refund instances through the engine on one database, timed in batches."""

    def __init__(self, url: str):
        self.database, _ = setup_database(url)
        self.session = self.database.session().__enter__()
        self.actor = users.get_user(self.session, "bench")
        self.session.commit()
        self.reader = Reader(self.database)
        run_refund(self.session, self.actor, self.reader)  # warm the caches

    def batch(self, count: int) -> float:
        began = time.perf_counter()
        for _ in range(count):
            run_refund(self.session, self.actor, self.reader)
        return count / (time.perf_counter() - began)

    def close(self) -> None:
        self.reader.close()
        self.session.close()
        self.database.dispose()


def spiff_run(stock: bool = True):
    """A function that runs ``count`` refund instances in memory and returns instances/s: with
    SpiffWorkflow as released (the reference), or with the speedups Liucheng installs on it."""
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
    from SpiffWorkflow.util.task import TaskState
    from lxml import etree
    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

    from engine.bpmn.document import quote_timer_expressions

    root = etree.fromstring((ROOT / "processes" / "refund.bpmn").read_bytes())
    quote_timer_expressions(root)
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_xml(root, "refund.bpmn")
    spec, subprocesses = parser.get_spec("refund"), parser.get_subprocess_specs("refund")
    engine = PythonScriptEngine(environment=TaskDataEnvironment({"Decimal": Decimal}))  # plain eval/exec
    start = {**START, "amount": Decimal("100.00"), "shipping_fee": Decimal("10.00")}

    def one():
        answers = {k: list(v) for k, v in ANSWERS.items()}
        wf = BpmnWorkflow(spec, subprocesses, script_engine=engine)
        wf.task_tree.data.update(start)
        wf.task_tree.children[0].data.update(start)
        wf.do_engine_steps()
        while not wf.is_completed():
            task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
            task.data.update(answers[task.task_spec.bpmn_id].pop(0))
            task.run()
            wf.do_engine_steps()

    def batch(count: int) -> float:
        with spiff.stock() if stock else nullcontext():
            began = time.perf_counter()
            for _ in range(count):
                one()
            return count / (time.perf_counter() - began)

    batch(1)
    return batch


def loop_step_costs(url: str, rounds: int) -> dict[int, float]:
    database, _ = setup_database(url)
    probes = {r for r in (10, 100, 250, 260, 1000, rounds) if r <= rounds}
    samples: dict[int, list[float]] = {r: [] for r in probes}
    with database.session() as session:
        actor = users.get_user(session, "bench")
        instance = runtime.start_instance(session, "bench_loop", {"rounds": 0, "limit": rounds}, actor)
        for round_no in range(1, rounds + 1):
            task_id = session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance.id,
                                                                HumanTask.status == TaskStatus.OPEN))
            began = time.perf_counter()
            runtime.complete_task(session, task_id, {}, actor)
            cost = (time.perf_counter() - began) * 1000
            for probe in probes:
                if abs(round_no - probe) < 5:
                    samples[probe].append(cost)
        final = session.get(Instance, instance.id, populate_existing=True)
        assert final.status == InstanceStatus.COMPLETED and final.data["rounds"] == rounds, (final.status, final.data)
    database.dispose()
    print(f"  loop of {rounds} rounds ended correctly: status completed, rounds={rounds}")
    return {r: statistics.median(v) for r, v in sorted(samples.items())}


def interleaved(count: int, repeats: int, sqlite_url: str, pg_url: str) -> dict[str, list[float]]:
    """In-memory and SQLite batches in turn, so a busy moment of the machine hits both; then the
    PostgreSQL batches (its server's background writes would slow down whatever ran next to them)."""
    engine = EngineRun(sqlite_url)
    runs = {"spiff": spiff_run(), "sqlite": engine.batch, "spiff_fast": spiff_run(stock=False)}
    results: dict[str, list[float]] = {key: [] for key in runs}
    for _ in range(repeats):
        for key, batch in runs.items():
            results[key].append(batch(count))
    engine.close()
    try:
        engine = EngineRun(pg_url)
    except Exception as exc:  # no PostgreSQL here
        print(f"  PostgreSQL skipped: {exc.__class__.__name__}: {exc}")
        return results
    results["postgresql"] = [engine.batch(count) for _ in range(repeats)]
    engine.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=200, help="instances per batch")
    parser.add_argument("--repeats", type=int, default=5, help="batches of each run, interleaved")
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        throughputs = interleaved(args.instances, args.repeats, f"sqlite:///{tmp}/bench.db", args.pg)
        spiff = statistics.median(throughputs["spiff"])
        print(f"refund path (5 user tasks): {args.repeats} batches of {args.instances} instances each "
              "(in-memory and SQLite interleaved); median (min-max) instances/s")
        for key, label in (("spiff", "in-memory SpiffWorkflow"), ("sqlite", "Liucheng on SQLite"),
                           ("postgresql", "Liucheng on PostgreSQL"), ("spiff_fast", "in-memory, with speedups")):
            if key not in throughputs:
                continue
            values = throughputs[key]
            share = "" if key == "spiff" else f"  ({statistics.median(values) / spiff:.0%} of in-memory)"
            if key == "spiff_fast":  # what persistence costs, Spiff's own time made equal on both sides
                share = f"  (SQLite run: {statistics.median(throughputs['sqlite']) / statistics.median(values):.0%} of it)"
            print(f"  {label:24s}: {statistics.median(values):7.1f} ({min(values):.1f}-{max(values):.1f}){share}")
        print(f"loop benchmark on SQLite ({args.rounds} rounds): median ms per step near each round")
        costs = loop_step_costs(f"sqlite:///{tmp}/loop.db", args.rounds)
        for round_no, cost in costs.items():
            print(f"  round {round_no:5d}: {cost:6.2f} ms")
        if 10 in costs and args.rounds in costs:
            print(f"  ratio round {args.rounds} / round 10: {costs[args.rounds] / costs[10]:.2f}")


if __name__ == "__main__":
    main()
