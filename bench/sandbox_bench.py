"""Sandbox benchmark: prints figures, asserts nothing.

1. Cost of one evaluation (µs): a cheap condition and script in-process (no tracer, as
   ``engine.spiff.scripts`` runs them now), the same with the tracer (how every source ran
   before the worker pool), and sources that go to a sandbox worker process, with task
   data of 20 and of 2000 fields.
2. Cost per step of a small workflow (script task, then an exclusive gateway) run by
   SpiffWorkflow: cheap script and condition vs ones that run in a worker (two worker
   calls per run).
3. How many of the conditions and scripts in processes/*.bpmn run in-process.

    python bench/sandbox_bench.py [--rounds 2000]
"""
from __future__ import annotations

import argparse
import sys
import time
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from engine.spiff import SandboxEnvironment, make_script_engine  # noqa: E402
from engine.script_cost import cheap_calls  # noqa: E402
from engine.script_policy import SANDBOX_BUILTINS, compile_source, run_code  # noqa: E402

BPMN_NS = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
FLOW = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc"/>
    <bpmn:scriptTask id="calc"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="gw"/>
    <bpmn:exclusiveGateway id="gw" default="low">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>high</bpmn:outgoing><bpmn:outgoing>low</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="high" sourceRef="gw" targetRef="e1">
      <bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="low" sourceRef="gw" targetRef="e2"/>
    <bpmn:endEvent id="e1"><bpmn:incoming>high</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="e2"><bpmn:incoming>low</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def best_of(call, rounds: int, repeats: int = 3) -> float:
    """Best mean seconds per call over ``repeats`` runs of ``rounds`` calls."""
    call()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(rounds):
            call()
        best = min(best, (time.perf_counter() - started) / rounds)
    return best


def data(fields: int) -> dict:
    values = {f"field_{i}": f"value {i}" for i in range(fields)}
    return {**values, "approved": True, "amount": Decimal("150.50"), "fee": Decimal("5.25")}


def evaluations(rounds: int) -> None:
    env = SandboxEnvironment(timeout=1.0)
    print("1. one evaluation, µs (best mean of 3 x rounds)")
    for fields in (20, 2000):
        context = data(fields)
        n = rounds if fields == 20 else max(50, rounds // 20)
        namespace = {**context, "__builtins__": SANDBOX_BUILTINS}
        traced = compile_source("approved == True", "eval")[0]
        rows = [
            ("in-process  condition  'approved == True'",
             lambda: env.evaluate("approved == True", context)),
            ("in-process  script     \"outcome = 'refunded'\"",
             lambda: env.execute("outcome = 'refunded'", dict(context))),
            ("with tracer condition  (before the pool)",
             lambda: run_code(traced, dict(namespace), "approved == True", "Expression", 1.0)),
            ("worker      condition  'str(amount) > \"100\"'",
             lambda: env.evaluate("str(amount) > '100'", context)),
            ("worker      script     'total = max(amount - fee, 0)'",
             lambda: env.execute("total = max(amount - fee, 0)", dict(context))),
        ]
        print(f"   task data of {fields + 3} fields:")
        for label, call in rows:
            print(f"     {label:55s} {best_of(call, n) * 1e6:9.1f}")


def flow_spec(script: str, condition: str):
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str(FLOW.format(script=script, condition=condition).encode())
    return parser.get_spec("p")


def run_flow(spec) -> int:
    """Run one workflow of ``spec`` to its end; the number of steps (tasks completed)."""
    workflow = BpmnWorkflow(spec, script_engine=ENGINE)
    workflow.get_tasks()[0].data.update(data(20))
    workflow.do_engine_steps()
    assert workflow.is_completed()
    return len(workflow.get_tasks(state=TaskState.COMPLETED))


def steps(rounds: int) -> None:
    print("2. one workflow (start, script task, exclusive gateway, end) run by SpiffWorkflow")
    for label, script, condition in [
        ("in-process script and condition", "total = amount - fee", "total &gt; 100"),
        ("worker script and condition", "total = max(amount - fee, 0)", "max(total, 0) &gt; 100"),
    ]:
        spec = flow_spec(script, condition)
        count = run_flow(spec)
        seconds = best_of(lambda: run_flow(spec), max(50, rounds // 10))
        print(f"   {label:35s} {seconds * 1e3:6.2f} ms per run, {seconds / count * 1e6:6.1f} µs per step "
              f"({count} steps)")


def department_sources() -> None:
    cheap = total = 0
    for path in sorted((ROOT / "processes").glob("*.bpmn")):
        tree = ET.parse(path)
        for tag, mode in (("conditionExpression", "eval"), ("script", "exec")):
            for node in tree.iter(BPMN_NS + tag):
                if node.text and node.text.strip():
                    total += 1
                    cheap += cheap_calls(node.text.strip(), mode) is not None
    print(f"3. processes/*.bpmn: {cheap} of {total} conditions and scripts run in-process")


ENGINE = make_script_engine(1.0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    evaluations(args.rounds)
    steps(args.rounds)
    department_sources()


if __name__ == "__main__":
    main()
