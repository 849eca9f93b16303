"""Lanes that are not roles, who may start a process, the initiator and task names with JUEL (issue 12,
items 2 and 3): deployed over the REST API, started and worked over the API and the start list page."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from web_support import browser_as, text, web  # noqa: F401 (fixtures)

SHARED = [Path(os.environ["LIUCHENG_SHARED"])] if os.environ.get("LIUCHENG_SHARED") else []
SHARED += [Path(__file__).resolve().parents[2] / "shared", Path("/work/shared")]
VACATION = next((p / "conformance/bpmn/flowable-examples/VacationRequest.bpmn20.xml" for p in SHARED
                 if (p / "conformance/bpmn/flowable-examples/VacationRequest.bpmn20.xml").is_file()), None)
NAMESPACES = {"camunda": "http://camunda.org/schema/1.0/bpmn", "flowable": "http://flowable.org/bpmn",
              "activiti": "http://activiti.org/bpmn"}


def model(tasks: str, lanes: str = "", process: str = "", start: str = "", prefix: str = "camunda",
          process_id: str = "who") -> str:
    """start → ``tasks`` (user tasks Task_a, Task_b… chained by flows f0, f1…) → end."""
    ids = re.findall(r'<bpmn:userTask id="([^"]+)"', tasks)
    chain = ["s", *ids, "e"]
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
                    for i, (a, b) in enumerate(zip(chain, chain[1:])))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:{prefix}="{NAMESPACES[prefix]}"
    id="d" targetNamespace="http://example.com/who">
  <bpmn:process id="{process_id}" name="Who" isExecutable="true" {process}>
    {lanes}
    <bpmn:startEvent id="s" {start}/>
    {tasks}
    <bpmn:endEvent id="e"/>
    {flows}
  </bpmn:process>
</bpmn:definitions>"""


def task(task_id: str = "Task_a", attributes: str = "", name: str = "Do it") -> str:
    return f'<bpmn:userTask id="{task_id}" name="{name}" {attributes}/>'


def lane(name: str | None, *refs: str, lane_id: str = "L1") -> str:
    named = f' name="{name}"' if name is not None else ""
    return (f'<bpmn:laneSet id="ls"><bpmn:lane id="{lane_id}"{named}>'
            + "".join(f"<bpmn:flowNodeRef>{r}</bpmn:flowNodeRef>" for r in refs) + "</bpmn:lane></bpmn:laneSet>")


@pytest.fixture
def people(make_user):
    """wang: warehouse; fang: finance; li: purchasing; chen: no role; root: admin; ji: integrator."""
    for name, roles in [("wang", ["warehouse"]), ("fang", ["finance"]), ("li", ["purchasing"]), ("chen", []),
                        ("root", ["admin"]), ("ji", ["integrator"])]:
        make_user(name, *roles)


@pytest.fixture
def deploy_api(api, people, clock):
    def go(xml: str, default_role: str | None = None) -> dict:
        body = {"files": {"who.bpmn": xml}, **({"default_role": default_role} if default_role else {})}
        deployed = api("post", "/definitions", "root", json=body)
        assert deployed.status_code == 201, deployed.json
        (reply,) = deployed.json
        return reply
    return go


def start(api, user: str = "root", data: dict | None = None):
    return api("post", "/instances", user, json={"process_id": "who", "data": data or {}})


def claimable(api, user: str) -> list[int]:
    return [t["id"] for t in api("get", "/tasks?scope=claimable", user).json]


# -- a lane not named after a role ----------------------------------------------------------------------

def test_lane_not_a_role_is_ignored_task_goes_to_the_default_role_with_a_note(api, deploy_api):
    reply = deploy_api(model(task(), lanes=lane("Boss", "Task_a")))
    assert reply["default_role_tasks"] == [{"element_id": "Task_a", "name": "Do it", "roles": ["admin"]}]
    (note,) = reply["notes"]
    assert note["element_id"] == "L1" and note["line"] and note["file"] == "who.bpmn"
    assert note["message"].startswith("Lane 'Boss' is not a role")
    assert "Do it (Task_a) to the deployment's default role" in note["message"]
    assert "Name the lane after a role" in note["message"]
    (opened,) = start(api).json["open_tasks"]
    assert opened["role"] == "admin" and opened["id"] in claimable(api, "root")
    assert claimable(api, "wang") == []


def test_lane_not_a_role_with_candidates_goes_to_the_candidates(api, deploy_api):
    reply = deploy_api(model(task(attributes='camunda:candidateGroups="finance"'), lanes=lane("Boss", "Task_a")))
    assert "default_role_tasks" not in reply
    assert "Do it (Task_a) to its assignee or candidates" in reply["notes"][0]["message"]
    (opened,) = start(api).json["open_tasks"]
    assert opened["role"] == "finance" and opened["id"] in claimable(api, "fang")


@pytest.mark.parametrize("name", ["", None])
def test_lane_without_a_name_deploys_with_a_note(api, deploy_api, name):
    reply = deploy_api(model(task(), lanes=lane(name, "Task_a")), default_role="warehouse")
    (note,) = reply["notes"]
    assert note["element_id"] == "L1" and note["message"].startswith("Lane L1 has no name")
    (opened,) = start(api).json["open_tasks"]
    assert opened["role"] == "warehouse" and opened["id"] in claimable(api, "wang")


def test_lane_named_after_a_role_is_unchanged_and_has_no_note(api, deploy_api):
    reply = deploy_api(model(task(), lanes=lane("warehouse", "Task_a")))
    assert "notes" not in reply and "default_role_tasks" not in reply
    (opened,) = start(api).json["open_tasks"]
    assert opened["role"] == "warehouse" and opened["id"] in claimable(api, "wang")


def test_nested_lane_named_after_a_role_decides_for_its_tasks(api, deploy_api):
    nested = ('<bpmn:laneSet id="ls"><bpmn:lane id="L1" name="Company"><bpmn:flowNodeRef>Task_a</bpmn:flowNodeRef>'
              '<bpmn:childLaneSet id="cls"><bpmn:lane id="L2" name="warehouse"><bpmn:flowNodeRef>Task_a'
              '</bpmn:flowNodeRef></bpmn:lane></bpmn:childLaneSet></bpmn:lane></bpmn:laneSet>')
    reply = deploy_api(model(task(), lanes=nested))
    assert "notes" not in reply and "default_role_tasks" not in reply
    (opened,) = start(api, "wang").json["open_tasks"]
    assert opened["role"] == "warehouse"


def test_lane_without_user_tasks_has_no_note(deploy_api):
    reply = deploy_api(model(task(attributes='camunda:candidateGroups="finance"'), lanes=lane("Boss", "s", "e")))
    assert "notes" not in reply


# -- who may start -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("prefix", ["camunda", "flowable", "activiti"])
def test_candidate_starters_may_start(api, deploy_api, prefix):
    deploy_api(model(task(attributes=f'{prefix}:candidateGroups="warehouse"'), prefix=prefix,
                     process=f'{prefix}:candidateStarterGroups="finance" {prefix}:candidateStarterUsers="chen"'))
    assert start(api, "fang").status_code == 201
    assert start(api, "chen").status_code == 201
    assert start(api, "ji").status_code == 201 and start(api, "root").status_code == 201
    refused = start(api, "wang")  # the first task's role does not count when starters are given
    assert refused.status_code == 403 and "roles finance; users chen" in refused.json["message"]


def test_flowable_potential_starter_may_start(api, deploy_api):
    starter = ('<bpmn:extensionElements><flowable:potentialStarter><bpmn:resourceAssignmentExpression>'
               '<bpmn:formalExpression>group(finance), user(chen)</bpmn:formalExpression>'
               '</bpmn:resourceAssignmentExpression></flowable:potentialStarter></bpmn:extensionElements>')
    xml = model(task(attributes='flowable:candidateGroups="warehouse"'), prefix="flowable")
    deploy_api(xml.replace('<bpmn:startEvent id="s" />', starter + '<bpmn:startEvent id="s" />'))
    assert start(api, "fang").status_code == 201 and start(api, "chen").status_code == 201
    assert start(api, "wang").status_code == 403


def test_first_user_tasks_candidates_may_start(api, deploy_api):
    deploy_api(model(task("Task_a", 'camunda:candidateGroups="purchasing" camunda:candidateUsers="chen"')
                     + task("Task_b", 'camunda:candidateGroups="finance"')))
    assert start(api, "li").status_code == 201
    assert start(api, "chen").status_code == 201
    assert start(api, "fang").status_code == 403  # the second task's role does not start the process


def test_default_role_starts_what_routes_to_no_one_by_name(api, deploy_api):
    deploy_api(model(task("Task_a", 'camunda:assignee="${reviewer}"')), default_role="finance")
    assert start(api, "fang", {"reviewer": "wang"}).status_code == 201
    assert start(api, "wang").status_code == 403


def test_default_role_task_makes_the_default_role_starters(api, deploy_api):
    deploy_api(model(task()), default_role="purchasing")
    assert start(api, "li").status_code == 201 and start(api, "fang").status_code == 403


def test_start_list_page_shows_what_the_user_may_start(web, deploy_api, browser_as):
    deploy_api(model(task(attributes='camunda:candidateGroups="warehouse"'), process_id="who",
                     process='camunda:candidateStarterUsers="li"'))
    assert 'data-process="who"' in text(browser_as("li").get("/start"))
    assert 'data-process="who"' not in text(browser_as("wang").get("/start"))
    assert browser_as("li").get("/start/who").status_code == 200
    assert browser_as("wang").get("/start/who").status_code == 403


# -- the initiator -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("prefix", ["camunda", "flowable", "activiti"])
def test_initiator_variable_holds_the_starting_user(api, deploy_api, prefix):
    deploy_api(model(task(attributes=f'{prefix}:assignee="${{starter}}"'), prefix=prefix,
                     start=f'{prefix}:initiator="starter"', process=f'{prefix}:candidateStarterUsers="chen"'))
    started = start(api, "chen", {"starter": "someone else"})
    (opened,) = started.json["open_tasks"]
    assert opened["assignee"] == "chen"
    assert api("get", f"/instances/{started.json['id']}", "root").json["data"]["starter"] == "chen"


def test_flowable_initiator_assignee_is_the_starting_user(api, deploy_api):
    deploy_api(model(task("Task_a", 'flowable:candidateGroups="finance"')
                     + task("Task_b", 'flowable:assignee="$INITIATOR"'), prefix="flowable",
                     start='flowable:initiator="employeeName"'))
    started = start(api, "fang")
    (first,) = started.json["open_tasks"]
    assert api("post", f"/tasks/{first['id']}/claim", "fang").status_code == 200
    assert api("post", f"/tasks/{first['id']}/complete", "fang", json={"data": {}}).status_code == 200
    (second,) = [t for t in api("get", "/tasks?scope=mine", "fang").json if t["element_id"] == "Task_b"]
    assert second["assignee"] == "fang"
    assert api("post", f"/tasks/{second['id']}/claim", "wang").status_code in (403, 409)


# -- JUEL in task names ------------------------------------------------------------------------------------

def test_task_name_expression_is_evaluated_when_the_task_is_created(api, deploy_api):
    deploy_api(model(task(name="Review order ${order.no} of #{buyer}", attributes='camunda:candidateGroups="finance"')))
    (opened,) = start(api, data={"order": {"no": "W-1"}, "buyer": "小王"}).json["open_tasks"]
    assert opened["name"] == "Review order W-1 of 小王"
    assert api("get", f"/tasks/{opened['id']}", "fang").json["name"] == "Review order W-1 of 小王"


def test_task_name_that_cannot_be_evaluated_keeps_the_name_as_written(api, deploy_api):
    deploy_api(model(task(name="Review ${missing}", attributes='camunda:candidateGroups="finance"')))
    started = start(api)
    (opened,) = started.json["open_tasks"]
    assert opened["name"] == "Review ${missing}"
    assert api("get", f"/instances/{started.json['id']}", "root").json["status"] == "running"


def test_plain_task_name_unchanged(api, deploy_api):
    deploy_api(model(task(name="Check {stock} $5", attributes='camunda:candidateGroups="finance"')))
    (opened,) = start(api).json["open_tasks"]
    assert opened["name"] == "Check {stock} $5"


def test_task_name_outside_the_juel_subset_is_refused_located(api, people):
    xml = model(task(name="Review ${a +}", attributes='camunda:candidateGroups="finance"'))
    refused = api("post", "/definitions", "root", json={"files": {"who.bpmn": xml}})
    assert refused.status_code == 422
    (problem,) = refused.json["details"]["problems"]
    assert problem["element_id"] == "Task_a" and problem["line"] and "Name 'Review ${a +}'" in problem["message"]


@pytest.mark.skipif(VACATION is None, reason="the conformance corpus is not beside the checkout")
def test_flowable_vacation_request_runs_for_its_initiator(api, people, clock):
    deployed = api("post", "/definitions", "root", json={"files": {"VacationRequest.bpmn20.xml": VACATION.read_text()},
                                                         "default_role": "finance"})
    assert deployed.status_code == 201, deployed.json
    refused = api("post", "/instances", "wang", json={"process_id": "vacationRequest", "data": {}})
    assert refused.status_code == 403  # routed to the initiator only: the default role starts it
    started = api("post", "/instances", "fang", json={"process_id": "vacationRequest",
                                                      "data": {"numberOfDays": 3, "vacationMotivation": "rest"}})
    assert started.status_code == 201, started.json
    (handle,) = started.json["open_tasks"]
    assert handle["element_id"] == "handleRequest" and handle["assignee"] == "fang"
    assert api("get", f"/instances/{started.json['id']}", "fang").json["data"]["employeeName"] == "fang"
    done = api("post", f"/tasks/{handle['id']}/complete", "fang", json={"data": {"vacationApproved": "Approve"}})
    assert done.status_code == 200, done.json
    (mail,) = [t for t in api("get", "/tasks?scope=claimable", "fang").json if t["element_id"] == "sendApprovalMail"]
    assert api("post", f"/tasks/{mail['id']}/claim", "fang").status_code == 200
    assert api("post", f"/tasks/{mail['id']}/complete", "fang", json={"data": {}}).status_code == 200
    assert api("get", f"/instances/{started.json['id']}", "fang").json["status"] == "completed"
