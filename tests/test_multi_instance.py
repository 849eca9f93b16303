"""Multi-instance activities as Camunda 7 runs them (issue 13, item 3), with models written from the
"Multiple Instance" section of Camunda 7's BPMN reference: ``camunda:collection`` + ``camunda:elementVariable``
(flowable:/activiti: alike), ``loopCardinality``, ``completionCondition``, the variables ``loopCounter``,
``nrOfInstances``, ``nrOfActiveInstances``, ``nrOfCompletedInstances``; deployed, started and worked through
the REST API."""
from __future__ import annotations

import re

import pytest

from conformance_report import CORPUS
from engine import runtime
from engine.spiff import state as spiff_state

NAMESPACES = {"camunda": "http://camunda.org/schema/1.0/bpmn", "flowable": "http://flowable.org/bpmn",
              "activiti": "http://activiti.org/bpmn"}


def model(activity: str, prefix: str = "camunda", after: str = "", more: str = "") -> str:
    """start → ``activity`` (id ``Act``) → ``after`` (a script task ``After`` if given) → end."""
    tail = "After" if after else "e"
    after_task = (f'<bpmn:scriptTask id="After" scriptFormat="python"><bpmn:incoming>f2</bpmn:incoming>'
                  f'<bpmn:outgoing>f3</bpmn:outgoing><bpmn:script>{after}</bpmn:script></bpmn:scriptTask>'
                  '<bpmn:sequenceFlow id="f3" sourceRef="After" targetRef="e"/>') if after else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:{prefix}="{NAMESPACES[prefix]}"
    id="d" targetNamespace="http://example.com/mi">
  <bpmn:process id="mi" name="Multi-instance" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    {activity}
    {after_task}
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Act"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Act" targetRef="{tail}"/>
  </bpmn:process>
  {more}
</bpmn:definitions>"""


def loop(attributes: str = "", body: str = "", sequential: bool = False) -> str:
    return (f'<bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}" {attributes}>'
            f'{body}</bpmn:multiInstanceLoopCharacteristics>')


def user_task(characteristics: str, attributes: str = 'camunda:assignee="${assignee}"', name: str = "Review") -> str:
    return f'<bpmn:userTask id="Act" name="{name}" {attributes}>{characteristics}</bpmn:userTask>'


def script_task(characteristics: str, script: str) -> str:
    return (f'<bpmn:scriptTask id="Act" scriptFormat="python">{characteristics}'
            f'<bpmn:script>{script}</bpmn:script></bpmn:scriptTask>')


@pytest.fixture
def people(make_user):
    for name, roles in [("wang", ["warehouse"]), ("fang", ["finance"]), ("li", ["purchasing"]),
                        ("chen", ["warehouse"]), ("zhou", ["finance"]), ("root", ["admin"])]:
        make_user(name, *roles)


@pytest.fixture
def start(api, people, clock):
    """``start(xml, data)`` deploys the model over the API (as root) and starts it; the started reply."""
    def go(xml: str, data: dict | None = None) -> dict:
        deployed = api("post", "/definitions", "root", json={"files": {"mi.bpmn": xml}})
        assert deployed.status_code == 201, deployed.json
        started = api("post", "/instances", "root", json={"process_id": "mi", "data": data or {}})
        assert started.status_code == 201, started.json
        return started.json
    return go


def open_tasks(api, instance_id: int) -> list[dict]:
    return api("get", f"/tasks?scope=all&instance_id={instance_id}", "root").json


def complete(api, task: dict, data: dict | None = None):
    reply = api("post", f"/tasks/{task['id']}/complete", task["assignee"] or "root", json={"data": data or {}})
    assert reply.status_code == 200, reply.json
    return reply


def instance(api, instance_id: int) -> dict:
    return api("get", f"/instances/{instance_id}", "root").json


def deploy_problems(api, people, xml: str) -> list[dict]:
    reply = api("post", "/definitions", "root", json={"files": {"mi.bpmn": xml}})
    assert reply.status_code == 422, reply.json
    return reply.json["details"]["problems"]


REVIEWERS = {"assigneeList": ["wang", "fang", "li"]}
EACH_REVIEWER = 'camunda:collection="assigneeList" camunda:elementVariable="assignee"'


def test_parallel_user_task_one_task_per_element_routed_to_its_assignee(api, start):
    started = start(model(user_task(loop(EACH_REVIEWER))),
                    REVIEWERS)
    tasks = open_tasks(api, started["id"])
    assert sorted(t["assignee"] for t in tasks) == ["fang", "li", "wang"]
    for user in ("wang", "fang", "li"):
        (mine,) = api("get", "/tasks?scope=mine", user).json
        assert mine["element_id"] == "Act" and mine["assignee"] == user
    for task in tasks:
        complete(api, task)
    assert instance(api, started["id"])["status"] == "completed"


def test_sequential_collection_expression_one_instance_at_a_time_in_order(api, start):
    started = start(model(user_task(loop('camunda:collection="${order.reviewers}" camunda:elementVariable="assignee"',
                                         sequential=True))), {"order": {"reviewers": ["li", "wang"]}})
    seen = []
    for _ in range(2):
        (task,) = open_tasks(api, started["id"])
        seen.append(task["assignee"])
        complete(api, task)
    assert seen == ["li", "wang"]
    assert instance(api, started["id"])["status"] == "completed"


def test_loop_cardinality_alone_counts_instances_with_loop_counter_from_zero(api, start):
    started = start(model(script_task(loop(body="<bpmn:loopCardinality>3</bpmn:loopCardinality>", sequential=True),
                                      "seen = seen + [loopCounter]")), {"seen": []})
    assert instance(api, started["id"])["data"]["seen"] == [0, 1, 2]


def test_task_name_expression_per_instance(api, start):
    started = start(model(user_task(loop(EACH_REVIEWER, sequential=True),
                                    name="Review ${loopCounter + 1} of ${nrOfInstances} by ${assignee}")), REVIEWERS)
    (task,) = open_tasks(api, started["id"])
    assert task["name"] == "Review 1 of 3 by wang"
    complete(api, task)
    (task,) = open_tasks(api, started["id"])
    assert task["name"] == "Review 2 of 3 by fang"


def test_loop_cardinality_expression_in_juel(api, start):
    started = start(model(user_task(loop(body="<bpmn:loopCardinality>${copies + 1}</bpmn:loopCardinality>"),
                                    'camunda:candidateGroups="warehouse"')), {"copies": 1})
    tasks = open_tasks(api, started["id"])
    assert len(tasks) == 2 and {t["role"] for t in tasks} == {"warehouse"}


def test_loop_cardinality_with_collection_takes_the_first_elements(api, start):
    started = start(model(user_task(loop(EACH_REVIEWER,
                                         "<bpmn:loopCardinality>2</bpmn:loopCardinality>"))), REVIEWERS)
    assert sorted(t["assignee"] for t in open_tasks(api, started["id"])) == ["fang", "wang"]


def test_counters_in_each_sequential_instance(api, start):
    script = "counts = counts + [[loopCounter, nrOfInstances, nrOfActiveInstances, nrOfCompletedInstances, item]]"
    started = start(model(script_task(loop('camunda:collection="items" camunda:elementVariable="item"',
                                           sequential=True), script)), {"items": ["a", "b"], "counts": []})
    assert instance(api, started["id"])["data"]["counts"] == [[0, 2, 1, 0, "a"], [1, 2, 1, 1, "b"]]


def test_counters_of_running_parallel_instances_follow_the_others(api, start):
    started = start(model(user_task(loop(EACH_REVIEWER))), REVIEWERS)
    running = instance(api, started["id"])["data"]
    assert (running["nrOfInstances"], running["nrOfActiveInstances"], running["nrOfCompletedInstances"]) == (3, 3, 0)
    first, *rest = open_tasks(api, started["id"])
    complete(api, first)
    running = instance(api, started["id"])["data"]
    assert (running["nrOfInstances"], running["nrOfActiveInstances"], running["nrOfCompletedInstances"]) == (3, 2, 1)


def test_completion_condition_cancels_the_remaining_instances(api, start):
    condition = "<bpmn:completionCondition>${nrOfCompletedInstances/nrOfInstances >= 0.6}</bpmn:completionCondition>"
    started = start(model(user_task(loop(EACH_REVIEWER,
                                         condition)), after="passed = True"),
                    {"assigneeList": ["wang", "fang", "li", "chen", "zhou"]})
    tasks = open_tasks(api, started["id"])
    assert len(tasks) == 5
    for task in tasks[:3]:
        complete(api, task)
    assert open_tasks(api, started["id"]) == []
    finished = instance(api, started["id"])
    assert finished["status"] == "completed" and finished["data"]["passed"] is True
    statuses = [t["status"] for t in api("get", f"/tasks?scope=all&instance_id={started['id']}&status=cancelled",
                                         "root").json]
    assert statuses == ["cancelled", "cancelled"]


def test_completion_condition_sees_the_instance_variables(api, start):
    condition = "<bpmn:completionCondition>${approved == false}</bpmn:completionCondition>"
    started = start(model(user_task(loop(EACH_REVIEWER,
                                         condition, sequential=True))), REVIEWERS)
    (task,) = open_tasks(api, started["id"])
    complete(api, task, {"approved": True})
    (task,) = open_tasks(api, started["id"])
    complete(api, task, {"approved": False})
    finished = instance(api, started["id"])
    assert finished["status"] == "completed" and finished["data"]["approved"] is False


def test_element_variable_and_counters_are_local_to_each_instance(api, start):
    started = start(model(script_task(loop('camunda:collection="items" camunda:elementVariable="item"'),
                                      "last = item"), after="after = True"),
                    {"items": ["a", "b"], "item": "kept"})
    data = instance(api, started["id"])["data"]
    assert data["item"] == "kept" and data["last"] in ("a", "b")
    for local in ("loopCounter", "nrOfInstances", "nrOfActiveInstances", "nrOfCompletedInstances"):
        assert local not in data


@pytest.mark.parametrize("prefix", ["flowable", "activiti"])
def test_flowable_and_activiti_collection_and_element_variable(api, start, prefix):
    characteristics = loop(f'{prefix}:collection="${{assigneeList}}" {prefix}:elementVariable="assignee"')
    started = start(model(user_task(characteristics, f'{prefix}:assignee="${{assignee}}"'), prefix=prefix), REVIEWERS)
    assert sorted(t["assignee"] for t in open_tasks(api, started["id"])) == ["fang", "li", "wang"]


def test_flowable_element_index_variable_renames_loop_counter(api, start):
    characteristics = loop('flowable:collection="items" flowable:elementVariable="item" '
                           'flowable:elementIndexVariable="position"', sequential=True)
    started = start(model(script_task(characteristics, "seen = seen + [[position, item]]"), prefix="flowable"),
                    {"items": ["a", "b"], "seen": []})
    data = instance(api, started["id"])["data"]
    assert data["seen"] == [[0, "a"], [1, "b"]] and "position" not in data


def test_a_missing_collection_variable_is_an_incident_naming_it(api, start):
    started = start(model(user_task(loop(EACH_REVIEWER))))
    incidents = api("get", f"/incidents?instance_id={started['id']}", "root").json
    assert [i["element_id"] for i in incidents] == ["Act"] and "assigneeList" in str(incidents), incidents


def test_loop_data_input_ref_with_input_data_item_name_as_in_camunda_docs(api, start):
    body = '<bpmn:loopDataInputRef>assigneeList</bpmn:loopDataInputRef><bpmn:inputDataItem name="assignee"/>'
    started = start(model(user_task(loop(body=body, sequential=True))), REVIEWERS)
    (task,) = open_tasks(api, started["id"])
    assert task["assignee"] == "wang"


def test_multi_instance_embedded_subprocess_one_scope_per_element(api, start):
    inner = ('<bpmn:startEvent id="ss"/><bpmn:sequenceFlow id="sf1" sourceRef="ss" targetRef="Check"/>'
             '<bpmn:userTask id="Check" name="Check" camunda:assignee="${assignee}"/>'
             '<bpmn:sequenceFlow id="sf2" sourceRef="Check" targetRef="se"/><bpmn:endEvent id="se"/>')
    activity = (f'<bpmn:subProcess id="Act">{loop(EACH_REVIEWER)}'
                f'{inner}</bpmn:subProcess>')
    started = start(model(activity), {"assigneeList": ["wang", "fang"]})
    tasks = open_tasks(api, started["id"])
    assert sorted(t["assignee"] for t in tasks) == ["fang", "wang"] and {t["element_id"] for t in tasks} == {"Check"}
    for task in tasks:
        complete(api, task)
    assert instance(api, started["id"])["status"] == "completed"


def test_multi_instance_call_activity_calls_once_per_element(api, start):
    called = ('<bpmn:process id="check" isExecutable="true"><bpmn:startEvent id="cs"/>'
              '<bpmn:sequenceFlow id="cf1" sourceRef="cs" targetRef="CheckOne"/>'
              '<bpmn:userTask id="CheckOne" name="Check one" camunda:assignee="${assignee}"/>'
              '<bpmn:sequenceFlow id="cf2" sourceRef="CheckOne" targetRef="ce"/><bpmn:endEvent id="ce"/>'
              '</bpmn:process>')
    activity = (f'<bpmn:callActivity id="Act" calledElement="check"><bpmn:extensionElements>'
                f'<camunda:in variables="all"/></bpmn:extensionElements>'
                f'{loop(EACH_REVIEWER)}'
                '</bpmn:callActivity>')
    started = start(model(activity, more=called), {"assigneeList": ["li", "fang"]})
    tasks = open_tasks(api, started["id"])
    assert sorted(t["assignee"] for t in tasks) == ["fang", "li"]
    for task in tasks:
        complete(api, task)
    assert instance(api, started["id"])["status"] == "completed"


def test_empty_collection_skips_the_activity(api, start):
    started = start(model(user_task(loop(EACH_REVIEWER)),
                          after="skipped = True"), {"assigneeList": []})
    finished = instance(api, started["id"])
    assert finished["status"] == "completed" and finished["data"]["skipped"] is True


def test_spiffworkflow_output_collection_keeps_its_behaviour(api, start):
    body = ('<bpmn:loopDataInputRef>numbers</bpmn:loopDataInputRef>'
            '<bpmn:loopDataOutputRef>doubled</bpmn:loopDataOutputRef>'
            '<bpmn:inputDataItem id="n" name="n"/><bpmn:outputDataItem id="twice" name="twice"/>')
    started = start(model(script_task(loop(body=body), "twice = n * 2")), {"numbers": [1, 2, 3]})
    assert instance(api, started["id"])["data"]["doubled"] == [2, 4, 6]


def test_deploy_refuses_a_collection_outside_the_juel_subset(api, people):
    xml = model(user_task(loop('camunda:collection="${userService.findReviewers()}" camunda:elementVariable="a"')))
    (problem,) = deploy_problems(api, people, xml)
    assert problem["element_id"] == "Act" and problem["line"] and "camunda:collection" in problem["message"]


def test_deploy_refuses_multi_instance_without_collection_or_cardinality(api, people):
    (problem,) = deploy_problems(api, people, model(user_task(loop('camunda:elementVariable="assignee"'))))
    assert problem["element_id"] == "Act" and "loopCardinality" in problem["message"]


def test_deploy_refuses_an_element_variable_that_is_not_a_name(api, people):
    xml = model(user_task(loop('camunda:collection="assigneeList" camunda:elementVariable="the assignee"')))
    (problem,) = deploy_problems(api, people, xml)
    assert "elementVariable" in problem["message"]


def test_instances_finish_after_the_engine_restarts(api, start):
    """A new process restores the spec and the state from the database and still merges the instances."""
    started = start(model(user_task(loop(EACH_REVIEWER)), after="done = True"), REVIEWERS)
    for task in open_tasks(api, started["id"]):
        runtime.forget()
        spiff_state._spec_cache.clear()  # as a new process would: specs restored from their JSON again
        complete(api, task)
    finished = instance(api, started["id"])
    assert finished["status"] == "completed" and finished["data"]["done"] is True


def test_camunda_loan_granting_example_one_subprocess_per_credit_score(api, start):
    """Camunda's loan-granting example (camunda-bpm-examples): an external task finds the credit scores, then a
    parallel multi-instance subprocess (camunda:collection="${creditScores}", elementVariable "score") grants or
    rejects through external tasks, one per score. Its Quartz timer start and JavaScript input parameter
    (not what this test is about) are replaced by a plain start."""
    xml = (CORPUS / "camunda-bpm-examples" / "loan-granting.bpmn").read_text(encoding="utf-8")
    xml = re.sub(r"<bpmn:extensionElements>\s*<camunda:inputOutput>.*?</bpmn:extensionElements>", "", xml, flags=re.S)
    xml = re.sub(r"<bpmn:timerEventDefinition>.*?</bpmn:timerEventDefinition>", "", xml, flags=re.S)
    xml = xml.replace('id="loan_process"', 'id="mi"')
    started = start(xml)

    def fetch(topic: str) -> list[dict]:
        reply = api("post", "/external-tasks/fetch-and-lock", "root", json={
            "worker_id": "w1", "max_tasks": 10, "topics": [{"name": topic, "lock_duration_ms": 60000}]})
        assert reply.status_code == 200, reply.json
        return reply.json

    (check,) = fetch("creditScoreChecker")
    done = api("post", f"/external-tasks/{check['id']}/complete", "root",
               json={"worker_id": "w1", "variables": {"creditScores": [9, 2, 7]}})
    assert done.status_code == 200, done.json
    granted, rejected = fetch("loanGranter"), fetch("requestRejecter")  # each instance's gateway read its score
    assert len(granted) == 2 and len(rejected) == 1
    assert sorted(t["variables"]["score"] for t in granted) == [7, 9]  # each task sees its instance's own score
    assert [t["variables"]["score"] for t in rejected] == [2]
    for task in granted + rejected:
        assert api("post", f"/external-tasks/{task['id']}/complete", "root",
                   json={"worker_id": "w1", "variables": {}}).status_code == 200
    finished = instance(api, started["id"])
    assert finished["status"] == "completed" and "score" not in finished["data"]
