"""Call activities across files and deployments (issue 13, item 2), as Camunda 7 documents them: the called
process is found among the processes deployed (``camunda:calledElementBinding`` latest, deployment, version),
an instance keeps the version it bound, ``camunda:in``/``out`` (and ``flowable:``) map data in and out.
Deployed and worked through the REST API."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine import runtime
from engine.models import Instance

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
FLOWABLE = "http://flowable.org/bpmn"
CORPUS = next((p / "conformance" / "bpmn" for p in (Path(__file__).resolve().parents[2] / "shared", Path("/work/shared"))
               if (p / "conformance" / "bpmn").is_dir()), None)


def document(body: str, namespace: str = CAMUNDA, prefix: str = "camunda") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:{prefix}="{namespace}"
    id="d" targetNamespace="http://example.com/calls">
{body}
</bpmn:definitions>"""


def callee(marker: str = "v1", user_task: bool = False, process_id: str = "callee") -> str:
    """start → (a user task for the warehouse) → script: doubled = x * 2, marker → end."""
    task = ('<bpmn:userTask id="Sub_check" name="Check" camunda:candidateGroups="warehouse"/>'
            if user_task else '<bpmn:scriptTask id="Sub_check" scriptFormat="python"><bpmn:script>pass</bpmn:script></bpmn:scriptTask>')
    return document(f"""
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="sub_start"/>
    {task}
    <bpmn:scriptTask id="Sub_script" scriptFormat="python"><bpmn:script>doubled = (x or 0) * 2
marker = '{marker}'</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="sub_end"/>
    <bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="Sub_check"/>
    <bpmn:sequenceFlow id="s2" sourceRef="Sub_check" targetRef="Sub_script"/>
    <bpmn:sequenceFlow id="s3" sourceRef="Sub_script" targetRef="sub_end"/>
  </bpmn:process>""")


def caller(call_attributes: str = "", mappings: str = "", wait_before: bool = False, namespace: str = CAMUNDA,
           prefix: str = "camunda", called: str = "callee") -> str:
    """start → (a user task 'Before') → call activity Call_it → user task 'After' → end."""
    before = ('<bpmn:userTask id="Before" name="Before"/>' if wait_before
              else '<bpmn:scriptTask id="Before" scriptFormat="python"><bpmn:script>pass</bpmn:script></bpmn:scriptTask>')
    extension = f"<bpmn:extensionElements>{mappings}</bpmn:extensionElements>" if mappings else ""
    return document(f"""
  <bpmn:process id="caller" isExecutable="true">
    <bpmn:startEvent id="start"/>
    {before}
    <bpmn:callActivity id="Call_it" calledElement="{called}" {call_attributes}>{extension}</bpmn:callActivity>
    <bpmn:userTask id="After" name="After"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="Before"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Before" targetRef="Call_it"/>
    <bpmn:sequenceFlow id="f3" sourceRef="Call_it" targetRef="After"/>
    <bpmn:sequenceFlow id="f4" sourceRef="After" targetRef="end"/>
  </bpmn:process>""", namespace, prefix)


@pytest.fixture
def calls(api, make_user, clock):
    make_user("root", "admin")
    make_user("wang", "warehouse")

    class Calls:
        @staticmethod
        def deploy(files: dict[str, str], status: int = 201):
            response = api("post", "/definitions", "root", json={"files": files})
            assert response.status_code == status, response.json
            return response.json

        @staticmethod
        def start(data: dict, process_id: str = "caller") -> dict:
            response = api("post", "/instances", "root", json={"process_id": process_id, "data": data})
            assert response.status_code == 201, response.json
            return response.json

        @staticmethod
        def instance(iid: int) -> dict:
            return api("get", f"/instances/{iid}", "root").json

        @staticmethod
        def task(iid: int, element_id: str) -> dict:
            (task,) = [t for t in Calls.instance(iid)["open_tasks"] if t["element_id"] == element_id]
            return task

        @staticmethod
        def complete(iid: int, element_id: str, data: dict | None = None, user: str = "root") -> dict:
            task = Calls.task(iid, element_id)
            response = api("post", f"/tasks/{task['id']}/complete", user, json={"data": data or {}})
            assert response.status_code == 200, response.json
            return Calls.instance(iid)

    return Calls


# -- finding the called process -------------------------------------------------------------------------------

def test_latest_binding_calls_a_process_deployed_earlier_in_another_file(calls):
    calls.deploy({"callee.bpmn": callee()})
    calls.deploy({"caller.bpmn": caller()})
    started = calls.start({"x": 21})
    assert [t["element_id"] for t in started["open_tasks"]] == ["After"]
    assert started["data"]["doubled"] == 42 and started["data"]["marker"] == "v1"


def test_processes_of_one_deployment_call_each_other_across_files(calls):
    calls.deploy({"caller.bpmn": caller(), "callee.bpmn": callee()})
    assert calls.start({"x": 2})["data"]["doubled"] == 4


def test_latest_binding_takes_the_version_latest_when_the_call_activity_starts(calls):
    calls.deploy({"callee.bpmn": callee("v1"), "caller.bpmn": caller(wait_before=True)})
    iid = calls.start({"x": 1})["id"]
    calls.deploy({"callee.bpmn": callee("v2")})  # after the caller started, before the call activity
    assert calls.complete(iid, "Before")["data"]["marker"] == "v2"


def test_an_instance_keeps_the_called_version_it_bound_also_when_restored(calls):
    calls.deploy({"callee.bpmn": callee("v1", user_task=True), "caller.bpmn": caller()})
    iid = calls.start({"x": 5})["id"]
    calls.deploy({"callee.bpmn": callee("v2", user_task=True)})
    runtime.forget()  # the state is read back from the database
    assert calls.complete(iid, "Sub_check", user="wang")["data"]["marker"] == "v1"
    second = calls.start({"x": 1})["id"]
    assert calls.complete(second, "Sub_check", user="wang")["data"]["marker"] == "v2"


def test_deployment_binding_calls_the_version_deployed_with_the_caller(calls):
    deployed = calls.deploy({"callee.bpmn": callee("v1"),
                             "caller.bpmn": caller('camunda:calledElementBinding="deployment"')})
    calls.deploy({"callee.bpmn": callee("v2")})
    assert calls.start({"x": 1})["data"]["marker"] == "v1"
    again = calls.deploy({"callee.bpmn": callee("v3"),
                          "caller.bpmn": caller('camunda:calledElementBinding="deployment"')})
    versions = {d["process_id"]: (d["version"], d["status"]) for d in again}
    assert versions == {"callee": (3, "created"), "caller": (2, "created")}, (deployed, again)
    assert calls.start({"x": 1})["data"]["marker"] == "v3"


def test_flowable_same_deployment_is_the_deployment_binding(calls):
    calls.deploy({"callee.bpmn": callee("v1"), "caller.bpmn": caller(
        'flowable:sameDeployment="true"', namespace=FLOWABLE, prefix="flowable")})
    calls.deploy({"callee.bpmn": callee("v2")})
    assert calls.start({"x": 1})["data"]["marker"] == "v1"


def test_deployment_binding_to_a_process_outside_the_deployment_is_a_located_problem(calls):
    calls.deploy({"callee.bpmn": callee()})
    refused = calls.deploy({"caller.bpmn": caller('camunda:calledElementBinding="deployment"')}, 422)
    (problem,) = refused["details"]["problems"]
    assert problem["file"] == "caller.bpmn" and problem["element_id"] == "Call_it" and problem["line"]
    assert "deploy the file of 'callee' together" in problem["message"]


def test_version_binding_calls_that_version(calls):
    calls.deploy({"callee.bpmn": callee("v1")})
    calls.deploy({"callee.bpmn": callee("v2")})
    calls.deploy({"caller.bpmn": caller('camunda:calledElementBinding="version" camunda:calledElementVersion="1"')})
    assert calls.start({"x": 1})["data"]["marker"] == "v1"


def test_version_binding_to_a_version_not_deployed_is_a_located_problem(calls):
    calls.deploy({"callee.bpmn": callee("v1")})
    refused = calls.deploy({"caller.bpmn": caller(
        'camunda:calledElementBinding="version" camunda:calledElementVersion="7"')}, 422)
    (problem,) = refused["details"]["problems"]
    assert problem["element_id"] == "Call_it" and "version 7" in problem["message"]
    missing = calls.deploy({"caller.bpmn": caller('camunda:calledElementBinding="version"')}, 422)
    assert "calledElementVersion" in missing["details"]["problems"][0]["message"]


def test_latest_binding_to_a_process_not_deployed_deploys_with_a_note_and_stops_with_an_incident(calls, api):
    (deployed,) = calls.deploy({"caller.bpmn": caller()})
    (note,) = deployed["notes"]
    assert note["element_id"] == "Call_it" and "'callee'" in note["message"]
    started = calls.start({"x": 3})
    assert "The called process 'callee' is not deployed: deploy it" in started["error"]
    (incident,) = api("get", f"/incidents?instance_id={started['id']}", "root").json
    assert incident["element_id"] == "Call_it"
    calls.deploy({"callee.bpmn": callee()})
    assert api("post", f"/incidents/{incident['id']}/retry", "root").status_code == 200
    instance = calls.instance(started["id"])
    assert instance["status"] == "running" and instance["data"]["doubled"] == 6


def test_called_element_expression_and_empty_called_element_are_located_problems(calls):
    refused = calls.deploy({"caller.bpmn": caller(called="${processKey}")}, 422)
    assert "is an expression" in refused["details"]["problems"][0]["message"]
    refused = calls.deploy({"caller.bpmn": caller(called="")}, 422)
    assert "names no process" in refused["details"]["problems"][0]["message"]


def test_a_user_task_of_a_called_process_goes_to_its_own_candidates(calls, api):
    calls.deploy({"callee.bpmn": callee(user_task=True)})
    calls.deploy({"caller.bpmn": caller()})
    iid = calls.start({"x": 4})["id"]
    task = calls.task(iid, "Sub_check")
    assert task["role"] == "warehouse"
    assert calls.complete(iid, "Sub_check", user="wang")["data"]["doubled"] == 8


# -- data in and out ---------------------------------------------------------------------------------------------

def prober(variable: str) -> str:
    """A called process whose script reads ``variable`` (a NameError when it was not passed in)."""
    return document(f"""
  <bpmn:process id="callee" isExecutable="true">
    <bpmn:startEvent id="sub_start"/>
    <bpmn:scriptTask id="Probe" scriptFormat="python"><bpmn:script>seen = {variable}</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="sub_end"/>
    <bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="Probe"/>
    <bpmn:sequenceFlow id="s2" sourceRef="Probe" targetRef="sub_end"/>
  </bpmn:process>""")


def test_in_and_out_map_source_target_and_source_expression(calls):
    mappings = ('<camunda:in source="amount" target="x"/>'
                '<camunda:in sourceExpression="${amount + 1}" target="plus_one"/>'
                '<camunda:out source="doubled" target="total"/>'
                '<camunda:out sourceExpression="${plus_one * 10}" target="tens"/>')
    calls.deploy({"callee.bpmn": callee(user_task=True), "caller.bpmn": caller(mappings=mappings)})
    started = calls.start({"amount": 5, "secret": "caller only"})
    after = calls.complete(started["id"], "Sub_check", user="wang")["data"]
    assert after == {"amount": 5, "secret": "caller only", "total": 10, "tens": 60}


def test_a_called_process_sees_only_the_variables_mapped_in(calls):
    calls.deploy({"callee.bpmn": prober("x"), "caller.bpmn": caller(
        mappings='<camunda:in source="secret" target="x"/><camunda:out source="seen" target="seen"/>')})
    assert calls.start({"secret": "s"})["data"] == {"secret": "s", "seen": "s"}
    calls.deploy({"callee.bpmn": prober("secret")})
    failed = calls.start({"secret": "s"})
    assert "secret" in failed["error"] and "Probe" in failed["error"]


def test_without_any_in_mapping_no_variable_is_passed(calls):
    calls.deploy({"callee.bpmn": prober("x"),
                  "caller.bpmn": caller(mappings='<camunda:out source="seen" target="seen"/>')})
    failed = calls.start({"x": 5})
    assert "'x'" in failed["error"] and "Probe" in failed["error"]


def test_variables_all_passes_every_variable_in_and_out(calls):
    calls.deploy({"callee.bpmn": callee(user_task=True), "caller.bpmn": caller(
        mappings='<camunda:in variables="all"/><camunda:out variables="all"/>')})
    started = calls.start({"x": 5, "note": "n"})
    assert started["data"] == {"x": 5, "note": "n"}
    after = calls.complete(started["id"], "Sub_check", user="wang")["data"]
    assert after == {"x": 5, "note": "n", "doubled": 10, "marker": "v1"}


def test_business_key_mapping_keeps_the_callers_business_key(calls):
    calls.deploy({"callee.bpmn": callee(), "caller.bpmn": caller(
        mappings='<camunda:in businessKey="#{execution.processBusinessKey}"/><camunda:in source="x" target="x"/>'
                 '<camunda:out source="doubled" target="doubled"/>')})
    started = calls.start({"x": 2, "order_no": "PO-1"})
    assert started["business_key"] == "PO-1" and started["data"]["doubled"] == 4


def test_flowable_in_and_out_map_alike(calls):
    calls.deploy({"callee.bpmn": callee(), "caller.bpmn": caller(
        mappings='<flowable:in source="n" target="x"/><flowable:out source="doubled" target="result"/>',
        namespace=FLOWABLE, prefix="flowable")})
    assert calls.start({"n": 7})["data"] == {"n": 7, "result": 14}


def test_a_call_activity_without_mappings_keeps_copying_all_data(calls):
    calls.deploy({"callee.bpmn": callee(), "caller.bpmn": caller()})
    assert calls.start({"x": 3, "keep": True})["data"] == {"x": 3, "keep": True, "doubled": 6, "marker": "v1"}


def test_a_mapping_without_target_is_a_located_problem(calls):
    refused = calls.deploy({"caller.bpmn": caller(mappings='<camunda:in source="x"/>'),
                            "callee.bpmn": callee()}, 422)
    (problem,) = refused["details"]["problems"]
    assert problem["element_id"] == "Call_it" and "has no target" in problem["message"]


# -- the corpus: files that call a process of a sibling file -----------------------------------------------------

@pytest.mark.skipif(CORPUS is None, reason="the conformance corpus is not here")
@pytest.mark.parametrize("files", [
    ["camunda-bpm-examples/mainProcess.bpmn", "camunda-bpm-examples/subProcess.bpmn"],
    ["spiff-sample-process-models/call_activity_test.bpmn", "spiff-sample-process-models/callable_process_and_calls.bpmn",
     "spiff-sample-process-models/callable_process.bpmn", "spiff-sample-process-models/test_form.bpmn"],
])
def test_corpus_files_deploy_with_the_files_they_call(calls, files):
    deployed = calls.deploy({Path(f).name: (CORPUS / f).read_text(encoding="utf-8") for f in files})
    assert {d["status"] for d in deployed} == {"created"}


@pytest.mark.skipif(CORPUS is None, reason="the conformance corpus is not here")
def test_camundas_main_process_runs_the_sub_process_of_another_file(calls):
    calls.deploy({name: (CORPUS / "camunda-bpm-examples" / name).read_text(encoding="utf-8")
                  for name in ("mainProcess.bpmn", "subProcess.bpmn")})
    started = calls.start({}, process_id="mainProcess")
    assert [t["name"] for t in started["open_tasks"]] == ["task in default subprocess"]
    assert calls.complete(started["id"], "UserTask_0zlyiaz")["status"] == "completed"


# -- camunda:inputOutput -------------------------------------------------------------------------------------------

def io_process(task: str) -> str:
    """start → ``task`` (id T) → user task After → end."""
    return document(f"""
  <bpmn:process id="io" isExecutable="true">
    <bpmn:startEvent id="start"/>
    {task}
    <bpmn:userTask id="After" name="After"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="T"/>
    <bpmn:sequenceFlow id="f2" sourceRef="T" targetRef="After"/>
    <bpmn:sequenceFlow id="f3" sourceRef="After" targetRef="end"/>
  </bpmn:process>""")


PARAMETERS = """<bpmn:extensionElements><camunda:inputOutput>
  <camunda:inputParameter name="label">fixed text</camunda:inputParameter>
  <camunda:inputParameter name="twice">${amount * 2}</camunda:inputParameter>
  <camunda:inputParameter name="items"><camunda:list><camunda:value>a</camunda:value><camunda:value>${amount}</camunda:value></camunda:list></camunda:inputParameter>
  <camunda:inputParameter name="limits"><camunda:map><camunda:entry key="low">${amount - 1}</camunda:entry><camunda:entry key="high">9</camunda:entry></camunda:map></camunda:inputParameter>
  <camunda:inputParameter name="nothing"/>
  <camunda:outputParameter name="total">${twice + answer}</camunda:outputParameter>
  <camunda:outputParameter name="label">${label}</camunda:outputParameter>
</camunda:inputOutput></bpmn:extensionElements>"""


def test_input_parameters_are_set_before_a_user_task_and_outputs_after_it(calls):
    calls.deploy({"io.bpmn": io_process(f'<bpmn:userTask id="T" name="T">{PARAMETERS}</bpmn:userTask>')})
    started = calls.start({"amount": 5}, process_id="io")
    assert started["data"] == {"amount": 5, "label": "fixed text", "twice": 10, "items": ["a", 5],
                               "limits": {"low": 4, "high": "9"}, "nothing": None}
    after = calls.complete(started["id"], "T", {"answer": 1})["data"]
    assert after == {"amount": 5, "answer": 1, "total": 11, "label": "fixed text"}  # inputs end with the task


def test_input_and_output_parameters_wrap_a_script_task(calls):
    calls.deploy({"io.bpmn": io_process(
        '<bpmn:scriptTask id="T" scriptFormat="python"><bpmn:extensionElements><camunda:inputOutput>'
        '<camunda:inputParameter name="base">${amount}</camunda:inputParameter>'
        '<camunda:outputParameter name="result">${computed}</camunda:outputParameter>'
        '</camunda:inputOutput></bpmn:extensionElements><bpmn:script>computed = base * 3</bpmn:script></bpmn:scriptTask>')})
    assert calls.start({"amount": 2}, process_id="io")["data"] == {"amount": 2, "computed": 6, "result": 6}


def test_a_script_as_parameter_value_is_a_located_problem(calls):
    refused = calls.deploy({"io.bpmn": io_process(
        '<bpmn:userTask id="T"><bpmn:extensionElements><camunda:inputOutput><camunda:inputParameter name="x">'
        '<camunda:script scriptFormat="groovy">1 + 1</camunda:script></camunda:inputParameter>'
        '</camunda:inputOutput></bpmn:extensionElements></bpmn:userTask>')}, 422)
    (problem,) = refused["details"]["problems"]
    assert problem["element_id"] == "T" and "camunda:script" in problem["message"] and problem["line"]


# -- the cost of a step does not grow with the calls made ---------------------------------------------------------

def looping_caller() -> str:
    """start → user task Round → call activity (callee of another file) → rounds < 1000 → Round again."""
    return document("""
  <bpmn:process id="caller" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="Round" name="Round"/>
    <bpmn:callActivity id="Call_it" calledElement="callee">
      <bpmn:extensionElements><camunda:in source="rounds" target="x"/><camunda:out source="doubled" target="doubled"/>
      </bpmn:extensionElements></bpmn:callActivity>
    <bpmn:scriptTask id="Count" scriptFormat="python"><bpmn:script>rounds = rounds + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="More" default="f_again"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="Round"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Round" targetRef="Call_it"/>
    <bpmn:sequenceFlow id="f3" sourceRef="Call_it" targetRef="Count"/>
    <bpmn:sequenceFlow id="f4" sourceRef="Count" targetRef="More"/>
    <bpmn:sequenceFlow id="f_again" sourceRef="More" targetRef="Round"/>
    <bpmn:sequenceFlow id="f_done" sourceRef="More" targetRef="end">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">rounds &gt;= 1000</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
  </bpmn:process>""")


def test_the_state_of_an_instance_calling_again_and_again_does_not_grow(calls, app):
    calls.deploy({"caller.bpmn": looping_caller(), "callee.bpmn": callee()})
    iid = calls.start({"rounds": 0})["id"]
    database = app.extensions["liucheng_db"]

    def state_size() -> int:
        with database.session() as session:
            return len(session.get(Instance, iid).state)

    sizes = {}
    for round_no in range(1, 41):
        assert calls.complete(iid, "Round")["data"]["doubled"] == 2 * (round_no - 1)
        if round_no in (5, 40):
            sizes[round_no] = state_size()
    assert sizes[40] <= sizes[5] * 1.1, sizes
