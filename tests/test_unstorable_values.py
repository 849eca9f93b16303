"""Values the engine cannot store (issue 10, point 2): a script, connector or condition that leaves one
fails that one step with an incident naming the element and the variable; the user's completion before it
is kept; nothing answers 500. Rule and limits: ``engine.values``."""
from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest

from engine import runtime, spiff, values
from engine.spiff import data_guard
from engine.connectors import connector

PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="Definitions_unstorable" targetNamespace="http://liucheng.example/tests">
  <bpmn:process id="unstorable" name="不可保存的值 (test)" isExecutable="true">
    <bpmn:laneSet id="LaneSet_unstorable">
      <bpmn:lane id="Lane_warehouse" name="warehouse">
        <bpmn:flowNodeRef>StartEvent_go</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Task_fill</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Step_make</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Task_after</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>EndEvent_done</bpmn:flowNodeRef>{lane}
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_go" name="开始"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_fill" name="填写"><bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing></bpmn:userTask>
    {step}
    <bpmn:userTask id="Task_after" name="确认"><bpmn:incoming>Flow_3</bpmn:incoming><bpmn:outgoing>Flow_4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="EndEvent_done" name="完成"><bpmn:incoming>Flow_4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_go" targetRef="Task_fill"/>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_fill" targetRef="Step_make"/>
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Step_make" targetRef="Task_after"/>
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Task_after" targetRef="EndEvent_done"/>
  </bpmn:process>
</bpmn:definitions>
"""
SCRIPT = """<bpmn:scriptTask id="Step_make" name="计算" scriptFormat="python">
      <bpmn:incoming>Flow_2</bpmn:incoming><bpmn:outgoing>Flow_3</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>"""
SERVICE = """<bpmn:serviceTask id="Step_make" name="调用">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="test.unstorable" resultVariable="answer">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="kind" type="any" value="kind"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>Flow_2</bpmn:incoming><bpmn:outgoing>Flow_3</bpmn:outgoing>
    </bpmn:serviceTask>"""
GATEWAY = """<bpmn:exclusiveGateway id="Step_make" name="判断" default="Flow_3">
      <bpmn:incoming>Flow_2</bpmn:incoming><bpmn:outgoing>Flow_3</bpmn:outgoing><bpmn:outgoing>Flow_x</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="Flow_x" sourceRef="Step_make" targetRef="Task_other">
      <bpmn:conditionExpression>{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:userTask id="Task_other" name="其他"><bpmn:incoming>Flow_x</bpmn:incoming><bpmn:outgoing>Flow_y</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="EndEvent_other" name="其他完成"><bpmn:incoming>Flow_y</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_y" sourceRef="Task_other" targetRef="EndEvent_other"/>"""

# Each kind of value: (variable, script leaving it, what the incident must say about it (one of)). Scripts
# running in a sandbox worker process are refused there when their values cannot cross back; the others
# by the engine's own check (engine.values): either way the step fails, naming the variable.
KINDS = {
    "bytes": ("blob", 'blob = "abc".encode("utf-8")', "bytes"),
    "generator": ("lazy", "lazy = (n * 2 for n in [1, 2, 3])", "generator"),
    "range": ("span", "span = range(3)", "range"),
    "set": ("tags", 'tags = {"a", "b"}', "set"),
    "tuple keys": ("grid", 'grid = {(1, 2): "x"}', "key that is not text"),
    "self-reference": ("loop", "loop = [1]\nloop.append(loop)", ("cycle", "contains itself")),
    "too deep": ("deep", "deep = []\nfor i in range(40):\n    deep = [deep]", f"more than {values.MAX_DEPTH} levels"),
    "int over 2^63": ("big", "big = 2 ** 70", "64 bits"),
    "huge string": ("text", f'text = "x" * {values.MAX_STRING + 1}', "over the limit"),
    "NaN": ("ratio", 'ratio = float("nan")', "NaN"),
}

CONNECTOR_RESULTS = {"bytes": b"\x00", "set": {"a"}, "nan": float("nan"), "big": 2 ** 64,
                     "nested generator": {"lines": [{"sku": (c for c in "ab")}]}}


@connector("test.unstorable", inputs={"kind": "any"}, outputs=["answer"],
           description="Returns a value the engine cannot store (tests only).")
def unstorable(context, kind=None):
    return CONNECTOR_RESULTS.get(kind, {"plain": [1, "two", Decimal("3.5")]})


# -- helpers ------------------------------------------------------------------------------------

@pytest.fixture
def people(make_user):
    make_user("wang", "warehouse")
    make_user("root", "admin")


@pytest.fixture
def model(deploy, people, clock, tmp_path):
    """``model(step_xml)`` deploys the test process with that element as Step_make."""
    def run(step: str) -> None:
        path = Path(tmp_path) / "unstorable.bpmn"
        lane = "<bpmn:flowNodeRef>Task_other</bpmn:flowNodeRef>" if "Task_other" in step else ""
        path.write_text(PROCESS.replace("{step}", step).replace("{lane}", lane), encoding="utf-8")
        deploy(path)
    return run


def script_step(script: str) -> str:
    return SCRIPT.format(script=script.replace("&", "&amp;").replace("<", "&lt;"))


@pytest.fixture
def run_to_step(api):
    """Start the instance, complete Task_fill through the API (200) and return (instance, completed task)."""
    def run(data: dict | None = None) -> tuple[dict, dict]:
        started = api("post", "/instances", "wang", json={"process_id": "unstorable", "data": data or {"kind": "x"}})
        assert started.status_code == 201, started.json
        (task,) = started.json["open_tasks"]
        assert task["element_id"] == "Task_fill"
        done = api("post", f"/tasks/{task['id']}/complete", "wang", json={"data": {}})
        assert done.status_code == 200, done.json
        assert done.json["status"] == "completed" and done.json["completed_by"] == "wang"
        view = api("get", f"/instances/{started.json['id']}", "root")
        assert view.status_code == 200, view.json
        return view.json, done.json
    return run


def incidents_of(api, instance_id: int) -> list[dict]:
    response = api("get", f"/incidents?instance_id={instance_id}", "root")
    assert response.status_code == 200, response.json
    return response.json


def assert_step_failed(api, view: dict, task: dict, variable: str, said, new: bool = True) -> dict:
    """The completion before the step is kept; the step has one incident naming it and the variable."""
    assert view["open_tasks"] == []  # the flow stopped at Step_make: Task_after was not reached
    assert (variable not in view["data"]) == new
    (incident,) = incidents_of(api, view["id"])
    assert incident["element_id"] == "Step_make" and "Step_make" in incident["message"]
    assert f"'{variable}'" in incident["message"]
    assert any(words in incident["message"] for words in ((said,) if isinstance(said, str) else said)), incident
    assert view["error"] == incident["message"]
    assert "Traceback" not in incident["message"]
    assert api("get", f"/tasks/{task['id']}", "root").json["status"] == "completed"
    types = [e["type"] for e in api("get", f"/instances/{view['id']}/history", "root").json]
    assert "task_completed" in types and "step_failed" in types
    return incident


# -- scripts ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(KINDS))
def test_a_script_leaving_a_value_that_cannot_be_stored_fails_its_own_step(api, model, run_to_step, kind):
    variable, script, said = KINDS[kind]
    model(script_step(f"before = 1\n{script}"))
    view, task = run_to_step()
    incident = assert_step_failed(api, view, task, variable, said)
    assert "script" in incident["message"].lower()
    assert view["status"] == "running" and incident["status"] == "retrying"
    assert "before" not in view["data"]  # the failed script's data is as before it ran


def test_the_message_says_where_inside_the_value_and_what_to_change(api, model, run_to_step):
    model(script_step('order = {"items": [{"sku": "A"}, {"sku": "B", "tags": {"x"}}]}'))
    view, task = run_to_step()
    incident = assert_step_failed(api, view, task, "order", "set")
    # where inside (the engine's check) or which variable (the sandbox worker's), and what to change
    assert "order.items[1].tags is a set" in incident["message"] or "'order' holds a set" in incident["message"]
    assert "list(...)" in incident["message"]


def test_a_script_that_changes_a_value_inside_one_it_was_given_leaves_it_storable(api, model, run_to_step):
    model(script_step('order["lines"][0]["sku"] = range(2)'))
    view, task = run_to_step({"order": {"lines": [{"sku": "A1"}]}})
    assert_step_failed(api, view, task, "order", "range", new=False)
    # as it was (a script in a worker process changes nothing here) or cleared, never left to break the save
    assert view["data"]["order"] in ({"lines": [{"sku": "A1"}]}, {"lines": [{"sku": None}]})


def test_a_fixed_script_runs_on_when_the_incident_is_retried(api, model, run_to_step, deploy, monkeypatch):
    model(script_step("tags = {1, 2}"))
    view, task = run_to_step()
    (incident,) = incidents_of(api, view["id"])
    monkeypatch.setattr(data_guard, "_execute_checked",  # the script as the admin would fix it
                        lambda execute, task_, script, context=None: execute(task_, "tags = [1, 2]", context))
    runtime.forget()  # workflows made from now on run the fixed script
    retried = api("post", f"/incidents/{incident['id']}/retry", "root")
    assert retried.status_code == 200, retried.json
    after = api("get", f"/instances/{view['id']}", "root").json
    assert after["data"]["tags"] == [1, 2]
    assert [t["element_id"] for t in after["open_tasks"]] == ["Task_after"]


def test_storable_values_pass(api, model, run_to_step):
    model(script_step('ok = {"n": 2 ** 62, "price": Decimal("9.99"), "day": date(2026, 11, 2), '
                      '"pair": (1, 2), "text": "x" * 1000, "nested": [[[1]]]}'))
    view, _ = run_to_step()
    assert incidents_of(api, view["id"]) == []
    assert view["data"]["ok"]["pair"] == [1, 2] and view["data"]["ok"]["n"] == 2 ** 62
    assert [t["element_id"] for t in view["open_tasks"]] == ["Task_after"]


# -- connectors and conditions ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(CONNECTOR_RESULTS))
def test_a_connector_returning_a_value_that_cannot_be_stored_fails_its_service_task(api, model, run_to_step,
                                                                                     kind):
    model(SERVICE)
    view, task = run_to_step({"kind": kind})
    incident = assert_step_failed(api, view, task, "answer", "cannot be stored")
    assert "test.unstorable" in incident["message"]


def test_a_connector_returning_plain_data_joins_the_data(api, model, run_to_step):
    model(SERVICE)
    view, _ = run_to_step({"kind": "plain"})
    assert view["data"]["answer"] == {"plain": [1, "two", 3.5]}
    assert incidents_of(api, view["id"]) == []


@pytest.mark.parametrize("condition", ["1 / 0 > 1", "undefined_name == 1", "float('nan')", "range(0)",
                                       "(n for n in [])", '"x".encode()'])
def test_a_condition_that_raises_or_returns_something_odd_never_answers_500(api, model, run_to_step, condition):
    model(GATEWAY.format(condition=condition))
    view, _ = run_to_step()
    found = incidents_of(api, view["id"])
    open_elements = [t["element_id"] for t in view["open_tasks"]]
    if found:  # a condition that raised (or whose value a sandbox worker cannot pass back): the gateway fails
        assert [i["element_id"] for i in found] == ["Step_make"] and open_elements == []
        assert "Step_make" in found[0]["message"] and view["status"] == "running"
    else:  # a value that is not a boolean: taken as Python takes it (truthy or not)
        assert len(open_elements) == 1 and open_elements[0] in ("Task_after", "Task_other")
    if condition.startswith(("1 /", "undefined")):
        assert found


# -- start and task data from the API --------------------------------------------------------------------

def test_start_data_that_cannot_be_stored_is_refused_and_changes_nothing(api, model, people):
    model(script_step("x = 1"))
    refused = api("post", "/instances", "wang", data='{"process_id": "unstorable", "data": {"n": NaN}}',
                  content_type="application/json")
    assert refused.status_code in (400, 422), refused.json
    big = api("post", "/instances", "wang", json={"process_id": "unstorable", "data": {"n": 2 ** 80}})
    assert big.status_code in (400, 422) and "n" in str(big.json["details"]), big.json
    deep: list = []
    for _ in range(values.MAX_DEPTH + 5):
        deep = [deep]
    nested = api("post", "/instances", "wang", json={"process_id": "unstorable", "data": {"kind": "x", "deep": deep}})
    assert nested.status_code == 422, nested.json
    assert "'deep'" in nested.json["message"] and f"more than {values.MAX_DEPTH} levels" in nested.json["message"]
    assert list(nested.json["details"]) == ["deep"]
    assert api("get", "/instances", "root").json == []


# -- the safety net: a value no check refused -----------------------------------------------------------

def test_a_value_that_slipped_past_the_checks_is_contained_and_the_completion_kept(api, model, run_to_step,
                                                                                    monkeypatch):
    """A value written by a path nothing checks (here: the script check switched off) cannot break the
    command: it commits, the completion is kept, the value is cleared and an incident names the element."""
    monkeypatch.setattr(data_guard, "_execute_checked",
                        lambda execute, task, script, context=None: execute(task, script, context))
    model(script_step('ratio = float("nan")\ncount = 1'))
    view, task = run_to_step()
    (incident,) = incidents_of(api, view["id"])
    assert incident["element_id"] == "Step_make" and incident["status"] == "open"
    assert "'ratio'" in incident["message"] and "NaN" in incident["message"]
    assert view["status"] == "failed" and view["error"] == incident["message"]
    assert view["data"]["ratio"] is None and view["data"]["count"] == 1
    assert api("get", f"/tasks/{task['id']}", "root").json["status"] == "completed"
    # a person retries it: the instance runs on
    retried = api("post", f"/incidents/{incident['id']}/retry", "root")
    assert retried.status_code == 200 and retried.json["status"] == "resolved"
    assert api("get", f"/instances/{view['id']}", "root").json["status"] == "running"


@pytest.mark.parametrize("bad", [b"raw", {1, 2}, float("inf"), 10 ** 30])
def test_a_bad_value_injected_into_task_data_is_contained_on_the_element_that_holds_it(
        api, model, run_to_step, monkeypatch, bad):
    complete = spiff.complete

    def injecting(wf, engine_task_id, data):  # as if the form had let it through
        complete(wf, engine_task_id, {**data, "injected": bad})

    monkeypatch.setattr(spiff, "complete", injecting)
    model(script_step("count = 1"))
    view, task = run_to_step()
    (incident,) = incidents_of(api, view["id"])
    assert incident["element_id"] == "Task_fill" and "'injected'" in incident["message"]
    assert view["status"] == "failed" and view["data"]["injected"] is None
    assert api("get", f"/tasks/{task['id']}", "root").json["status"] == "completed"


def test_state_that_cannot_be_saved_is_contained_too(api, model, run_to_step, monkeypatch):
    """A value only the state holds (not the process data) is found when saving the state fails."""
    complete = spiff.complete
    monkeypatch.setattr(spiff, "complete",
                        lambda wf, engine_task_id, data: complete(wf, engine_task_id, {**data, "blob": b"raw"}))
    monkeypatch.setattr(spiff, "process_data", lambda wf, completed=None: {"shown": True})
    model(script_step("count = 1"))
    view, task = run_to_step()
    (incident,) = incidents_of(api, view["id"])
    # found after the finished part of the tree was pruned: named at the earliest task still holding it
    assert incident["element_id"] in ("Task_fill", "Step_make", "Task_after") and "'blob'" in incident["message"]
    assert incident["element_id"] in incident["message"] and "bytes" in incident["message"]
    assert view["status"] == "failed" and view["error"] == incident["message"]
    assert api("get", f"/tasks/{task['id']}", "root").json["status"] == "completed"
    monkeypatch.undo()
    runtime.forget()  # read the saved state back from the database
    retried = api("post", f"/incidents/{incident['id']}/retry", "root")
    assert retried.status_code == 200, retried.json
    after = api("get", f"/instances/{view['id']}", "root").json
    assert after["status"] == "running" and after["data"]["blob"] is None and after["data"]["count"] == 1


# -- the rule ---------------------------------------------------------------------------------------------

def test_the_rule_names_the_first_offending_place():
    assert values.find_problem({"a": [1, {"b": "c"}], "d": None}) is None
    problem = values.find_problem({"ok": 1, "items": [{"sku": "A"}, {"sku": "B"}, {}, {"sku": b"C"}]})
    assert (problem.variable, problem.path) == ("items", "items[3].sku")
    assert values.find_value_problem("n", -2 ** 63) is None and values.find_value_problem("n", 2 ** 63)
    assert values.find_value_problem("s", "x" * values.MAX_STRING) is None
    assert values.find_problem({("a", 1): 1}).what.startswith("is a variable name")


def test_data_is_limited_in_all_counting_a_value_held_many_times_each_time():
    text = "x" * values.MAX_STRING
    assert values.find_problem({"a": [text] * 15, "b": "y"}) is None
    problem = values.find_problem({"ok": 1, "copies": [text] * 17})
    assert problem.variable == "copies" and "in all" in problem.what and "counts each time" in problem.what
    assert values.find_problem({"a": [text] * 9, "b": [text] * 9}).variable == "b"  # the variable that tips it
    assert values.find_problem({"many": [0] * (values.MAX_VALUES + 1)}).variable == "many"
    assert values.find_value_problem("keys", {text: 1, "x" + text[1:] + "": 2}) is None
    shared = [text] * 10**6  # a few megabytes in memory, terabytes written out
    started = time.monotonic()
    assert values.find_problem({"a": shared, "b": [shared] * 100}).variable == "a"
    assert values.find_value_problem("b", [shared] * 100).variable == "b"
    assert time.monotonic() - started < 1.0  # the walk stops at the limit


def test_a_script_repeating_a_long_text_fails_its_step_instead_of_writing_it_out(api, model, run_to_step):
    model(script_step("s = 'x' * 1000000\ncopies = [s] * 20"))  # 20 MB of JSON from a 1 MB script result
    view, task = run_to_step()
    assert_step_failed(api, view, task, "copies", "in all")
