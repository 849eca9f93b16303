"""A model drawn for Camunda 7 (``camunda:``), Flowable (``flowable:``) or Activiti (``activiti:``) behaves the
same: the same forms, the same assignee, the same routing; embedded HTML forms, external script resources and
scripts in other languages are refused with a located problem in all three dialects."""
from __future__ import annotations

import pytest

from engine import runtime
from engine.errors import DefinitionError

DIALECTS = {"camunda": "http://camunda.org/schema/1.0/bpmn", "flowable": "http://flowable.org/bpmn",
            "activiti": "http://activiti.org/bpmn"}
FORMS = {
    "ns_start": {"id": "ns_start", "title": {"zh": "申请", "en": "Request"}, "fields": [
        {"name": "reviewer", "type": "str", "label": {"zh": "审核人", "en": "Reviewer"}, "required": True}]},
    "ns_review": {"id": "ns_review", "title": {"zh": "审核", "en": "Review"}, "fields": [
        {"name": "approved", "type": "bool", "label": {"zh": "同意", "en": "Approved"}, "required": True}]},
}


def model(prefix: str, process_id: str, review: str = 'formKey="ns_review" {p}:assignee="${reviewer}"',
          start: str = 'formKey="ns_start"', script: str = "") -> bytes:
    """Start (start form) → Review (assignee from the start form) → approved? End : Rework → End, in lane warehouse."""
    review = review.replace("formKey", "{p}:formKey", 1) if review.startswith("formKey") else review
    start = start.replace("formKey", "{p}:formKey", 1) if start.startswith("formKey") else start
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:{{p}}="{DIALECTS[prefix]}"
  id="Defs_{process_id}" targetNamespace="http://liucheng.example/tests">
  <bpmn:process id="{process_id}" name="Namespaces" isExecutable="true">
    <bpmn:laneSet id="Lanes"><bpmn:lane id="Lane_warehouse" name="warehouse">
      <bpmn:flowNodeRef>Start_request</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_review</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>Gateway_ok</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_rework</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>End_done</bpmn:flowNodeRef>{'<bpmn:flowNodeRef>Task_script</bpmn:flowNodeRef>' if script else ''}
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="Start_request" {start}><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_review" name="Review" {review}><bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing></bpmn:userTask>
    <bpmn:exclusiveGateway id="Gateway_ok" default="Flow_no"><bpmn:incoming>Flow_2</bpmn:incoming><bpmn:outgoing>Flow_yes</bpmn:outgoing><bpmn:outgoing>Flow_no</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="Task_rework" name="Rework"><bpmn:incoming>Flow_no</bpmn:incoming><bpmn:outgoing>Flow_3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="End_done"><bpmn:incoming>Flow_yes</bpmn:incoming><bpmn:incoming>Flow_3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Start_request" targetRef="Task_review"/>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_review" targetRef="Gateway_ok"/>
    <bpmn:sequenceFlow id="Flow_yes" sourceRef="Gateway_ok" targetRef="End_done"><bpmn:conditionExpression>approved == True</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_no" sourceRef="Gateway_ok" targetRef="Task_rework"/>
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Task_rework" targetRef="End_done"/>
    {script}
  </bpmn:process>
</bpmn:definitions>"""
    return text.replace("{p}", prefix).encode()


def deploy(db_session, documents: dict[str, bytes]):
    return runtime.deploy_definitions(db_session, documents, FORMS)


def refusal(db_session, name: str, content: bytes) -> list[dict]:
    with pytest.raises(DefinitionError) as caught:
        deploy(db_session, {name: content})
    return caught.value.details["problems"]


def work_through(api, process_id: str, answers: list[bool]) -> list[tuple]:
    """Start as li naming wang the reviewer; wang answers; what each step showed."""
    started = api("post", "/instances", "li", json={"process_id": process_id, "data": {"reviewer": "wang"}})
    assert started.status_code == 201, started.json
    trace, instance = [], started.json
    for answer in answers:
        (task,) = instance["open_tasks"]
        trace.append((task["element_id"], (task["form"] or {}).get("id"), task["assignee"], task["status"]))
        if task["element_id"] == "Task_review":
            refused = api("post", f"/tasks/{task['id']}/complete", "li", json={"data": {"approved": answer}})
            assert refused.status_code == 403  # assigned to wang only
        data = {"approved": answer} if task["element_id"] == "Task_review" else {}
        done = api("post", f"/tasks/{task['id']}/complete", "wang", json={"data": data})
        assert done.status_code == 200, done.json
        instance = api("get", f"/instances/{instance['id']}", "li").json
    trace.append(instance["status"])
    return trace


def test_the_same_model_in_three_dialects_deploys_and_runs_alike(api, make_user, db_session, clock):
    make_user("wang", "warehouse")
    make_user("li", "warehouse")
    deployed = deploy(db_session, {f"ns_{p}.bpmn": model(p, f"ns_{p}") for p in DIALECTS})
    assert sorted(d.process_id for d in deployed) == ["ns_activiti", "ns_camunda", "ns_flowable"]
    db_session.commit()
    traces = {p: work_through(api, f"ns_{p}", [False, True]) for p in DIALECTS}
    assert [step[:3] for step in traces["camunda"][:-1]] == [("Task_review", "ns_review", "wang"),
                                                            ("Task_rework", None, None)]
    assert traces["camunda"][-1] == "completed"
    assert traces["flowable"] == traces["camunda"] == traces["activiti"]
    assert all(work_through(api, f"ns_{p}", [True]) == [traces["camunda"][0], "completed"] for p in DIALECTS)


@pytest.mark.parametrize("prefix", DIALECTS)
def test_a_missing_form_is_noted_as_the_designer_wrote_it(db_session, prefix):
    (deployed,) = runtime.deploy_definitions(db_session, {"missing.bpmn": model(prefix, "ns_missing",
                                                          review='formKey="nowhere"')}, {})
    (note,) = [n for n in deployed.notes if n["element_id"] == "Task_review"]
    assert note["line"] and note["file"] == "missing.bpmn"
    assert note["message"].startswith(f"Form 'nowhere' ({prefix}:formKey) is not deployed: the step shows the "
                                      "generic form")


@pytest.mark.parametrize("prefix", DIALECTS)
def test_embedded_html_forms_are_refused_with_the_alternative(db_session, prefix):
    content = model(prefix, "ns_embedded", review='formKey="embedded:app:forms/approve-invoice.html"',
                    start='formKey="embedded:deployment:start.html"')
    problems = refusal(db_session, "embedded.bpmn", content)
    assert [p["element_id"] for p in problems] == ["Start_request", "Task_review"]
    assert all(p["line"] for p in problems)
    review = problems[1]["message"]
    assert f'{prefix}:formKey="embedded:app:forms/approve-invoice.html" is an embedded HTML form' in review
    assert "forms/approve-invoice.json" in review and f'set {prefix}:formKey="approve-invoice"' in review
    assert "forms/start.json" in problems[0]["message"]


SCRIPT = ('<bpmn:scriptTask id="Task_script" name="Compute" scriptFormat="{fmt}">'
          '<bpmn:script>{body}</bpmn:script></bpmn:scriptTask>')


@pytest.mark.parametrize("prefix", DIALECTS)
@pytest.mark.parametrize("fmt", ["javascript", "groovy"])
def test_scripts_in_other_languages_are_refused_naming_element_and_format(db_session, prefix, fmt):
    content = model(prefix, "ns_script", script=SCRIPT.format(fmt=fmt, body="execution.setVariable('x', 1)"))
    (problem,) = refusal(db_session, "script.bpmn", content)
    assert problem["element_id"] == "Task_script" and problem["line"]
    assert f"Script format '{fmt}' is not supported" in problem["message"]
    assert "Script task 'Compute'" in problem["message"] and 'scriptFormat="python"' in problem["message"]


@pytest.mark.parametrize("prefix", DIALECTS)
def test_a_script_from_a_resource_is_refused(db_session, prefix):
    script = (f'<bpmn:scriptTask id="Task_script" name="Compute" scriptFormat="python" '
              f'{prefix}:resource="deployment://compute.py"/>')
    (problem,) = refusal(db_session, "resource.bpmn", model(prefix, "ns_resource", script=script))
    assert problem["element_id"] == "Task_script"
    assert f'{prefix}:resource="deployment://compute.py", which Liucheng does not read' in problem["message"]
