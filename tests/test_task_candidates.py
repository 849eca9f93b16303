"""Who gets a user task (issue 12, item 2): assignee, candidate users and groups (camunda:, flowable:,
activiti:), humanPerformer and potentialOwner, lanes, and the deployment's default role; deployed
through ``runtime.deploy_paths``, the REST API and the CLI, worked over the REST API."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from webui.cli import main

NAMESPACES = {"camunda": "http://camunda.org/schema/1.0/bpmn", "flowable": "http://flowable.org/bpmn",
              "activiti": "http://activiti.org/bpmn"}


def model(task: str, process_id: str = "who", lane: str | None = None, prefix: str = "camunda") -> str:
    """A process start → ``task`` (a userTask with id Task_do) → end, in ``lane`` if given."""
    lanes = (f'<bpmn:laneSet id="ls"><bpmn:lane id="L1" name="{lane}"><bpmn:flowNodeRef>Task_do</bpmn:flowNodeRef>'
             '</bpmn:lane></bpmn:laneSet>') if lane else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:{prefix}="{NAMESPACES[prefix]}"
    id="d" targetNamespace="http://example.com/who">
  <bpmn:process id="{process_id}" name="Who" isExecutable="true">
    {lanes}
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    {task}
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Task_do"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Task_do" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


def user_task(attributes: str = "", body: str = "") -> str:
    return (f'<bpmn:userTask id="Task_do" name="Do it" {attributes}><bpmn:incoming>f1</bpmn:incoming>'
            f'<bpmn:outgoing>f2</bpmn:outgoing>{body}</bpmn:userTask>')


@pytest.fixture
def people(make_user):
    """wang: warehouse; fang: finance; li: purchasing; chen: no role; root: admin; zhao: supervisor."""
    for name, roles in [("wang", ["warehouse"]), ("fang", ["finance"]), ("li", ["purchasing"]), ("chen", []),
                        ("root", ["admin"]), ("zhao", ["supervisor"])]:
        make_user(name, *roles)


@pytest.fixture
def run(api, people, clock):
    """``run(xml, data)`` deploys the model over the API (as root), starts it and returns its open task."""
    def go(xml: str, data: dict | None = None, default_role: str | None = None) -> dict:
        body = {"files": {"who.bpmn": xml}}
        if default_role:
            body["default_role"] = default_role
        deployed = api("post", "/definitions", "root", json=body)
        assert deployed.status_code == 201, deployed.json
        started = api("post", "/instances", "root", json={"process_id": "who", "data": data or {}})
        assert started.status_code == 201, started.json
        (task,) = started.json["open_tasks"]
        return task
    return go


def claimable(api, user: str) -> list[int]:
    return [t["id"] for t in api("get", "/tasks?scope=claimable", user).json]


def mine(api, user: str) -> list[int]:
    return [t["id"] for t in api("get", "/tasks?scope=mine", user).json]


def complete(api, task_id: int, user: str):
    return api("post", f"/tasks/{task_id}/complete", user, json={"data": {}})


@pytest.mark.parametrize("prefix", ["camunda", "flowable", "activiti"])
def test_candidate_groups_are_roles_any_of_them_may_claim(api, run, prefix):
    task = run(model(user_task(f'{prefix}:candidateGroups="warehouse, finance"'), prefix=prefix))
    assert task["role"] == "warehouse"
    assert task["id"] in claimable(api, "wang") and task["id"] in claimable(api, "fang")
    assert claimable(api, "li") == []
    assert api("post", f"/tasks/{task['id']}/claim", "li").status_code == 403
    assert api("get", f"/tasks/{task['id']}", "li").status_code == 403
    assert api("post", f"/tasks/{task['id']}/claim", "fang").json["assignee"] == "fang"
    assert complete(api, task["id"], "wang").status_code in (403, 409)
    assert complete(api, task["id"], "fang").status_code == 200


def test_candidate_users_claim_without_the_role(api, run):
    task = run(model(user_task('flowable:candidateUsers="chen,li"'), prefix="flowable"))
    assert task["id"] in claimable(api, "chen") and task["id"] in claimable(api, "li")
    assert claimable(api, "wang") == []
    assert api("post", f"/tasks/{task['id']}/claim", "wang").status_code == 403
    assert api("get", f"/tasks/{task['id']}", "chen").status_code == 200
    assert api("post", f"/tasks/{task['id']}/claim", "chen").json["assignee"] == "chen"
    assert complete(api, task["id"], "chen").status_code == 200


def test_candidate_groups_and_users_from_expressions(api, run):
    task = run(model(user_task('camunda:candidateGroups="${groups}" camunda:candidateUsers="#{helper}"')),
               {"groups": ["finance", "purchasing"], "helper": "chen"})
    assert task["role"] == "finance"
    for user in ("fang", "li", "chen"):
        assert task["id"] in claimable(api, user)
    assert claimable(api, "wang") == []


@pytest.mark.parametrize("assignee", ["${owner}", "#{owner}", "fang"])
def test_assignee_gets_the_task_directly(api, run, assignee):
    task = run(model(user_task(f'camunda:assignee="{assignee}" camunda:candidateGroups="finance"')),
               {"owner": "fang"})
    assert task["assignee"] == "fang"
    assert mine(api, "fang") == [task["id"]] and claimable(api, "fang") == []
    assert complete(api, task["id"], "wang").status_code == 403
    assert complete(api, task["id"], "fang").status_code == 200


def test_assignee_expression_of_the_subset(api, run):
    task = run(model(user_task('camunda:assignee="${reviewer.name}"')), {"reviewer": {"name": "li"}})
    assert task["assignee"] == "li" and mine(api, "li") == [task["id"]]


def test_human_performer_and_potential_owner(api, run, deploy, tmp_path):
    performer = ('<bpmn:humanPerformer><bpmn:resourceAssignmentExpression><bpmn:formalExpression>chen'
                 '</bpmn:formalExpression></bpmn:resourceAssignmentExpression></bpmn:humanPerformer>')
    task = run(model(user_task(body=performer)))
    assert task["assignee"] == "chen" and complete(api, task["id"], "chen").status_code == 200
    owners = ('<bpmn:potentialOwner><bpmn:resourceAssignmentExpression><bpmn:formalExpression>'
              'user(chen), group(finance), purchasing</bpmn:formalExpression></bpmn:resourceAssignmentExpression>'
              '</bpmn:potentialOwner>')
    task = run(model(user_task(body=owners)))
    assert task["assignee"] is None and task["role"] == "finance"
    for user in ("chen", "fang", "li"):
        assert task["id"] in claimable(api, user)
    assert task["id"] not in claimable(api, "wang")


def test_lane_named_after_a_role_is_a_candidate_group(api, run):
    task = run(model(user_task('camunda:candidateGroups="finance"'), lane="warehouse"))
    assert task["role"] == "warehouse"
    assert task["id"] in claimable(api, "wang") and task["id"] in claimable(api, "fang")


def test_lane_not_a_role_with_candidates_goes_to_the_candidates(api, run):
    task = run(model(user_task('camunda:candidateGroups="finance"'), lane="Sales team"))
    assert task["role"] == "finance" and task["id"] in claimable(api, "fang")


def test_a_bad_candidate_expression_is_refused(api, people):
    response = api("post", "/definitions", "root",
                   json={"files": {"who.bpmn": model(user_task('camunda:candidateUsers="${a +}"'))}})
    assert response.status_code == 422, response.json
    (problem,) = response.json["details"]["problems"]
    assert problem["element_id"] == "Task_do" and "candidateUsers '${a +}'" in problem["message"] and problem["line"]


def test_an_assignee_list_makes_candidate_users_with_a_note(api, run, people):
    response = api("post", "/definitions", "root",
                   json={"files": {"who.bpmn": model(user_task('camunda:assignee="wang, li"'))}})
    assert response.status_code == 201, response.json
    (note,) = [n for n in response.json[0]["notes"] if n["element_id"] == "Task_do"]
    assert "candidate users" in note["message"] and note["line"]
    task = run(model(user_task('camunda:assignee="wang, li"')))
    assert task["assignee"] is None
    assert task["id"] in claimable(api, "wang") and task["id"] in claimable(api, "li")


def test_task_without_lane_or_candidates_goes_to_admin_by_default(api, run, deploy, tmp_path):
    path = tmp_path / "who.bpmn"
    path.write_text(model(user_task()))
    (deployed,) = deploy(path)
    assert deployed.as_dict()["default_role_tasks"] == [{"element_id": "Task_do", "name": "Do it", "roles": ["admin"]}]
    started = api("post", "/instances", "root", json={"process_id": "who", "data": {}})
    (task,) = started.json["open_tasks"]
    assert task["role"] == "admin" and task["id"] in claimable(api, "root")
    assert claimable(api, "fang") == []
    assert api("post", f"/tasks/{task['id']}/claim", "fang").status_code == 403


def test_default_role_of_the_api_deployment(api, run):
    task = run(model(user_task()), default_role="finance,purchasing")
    assert task["role"] == "finance" and task["id"] in claimable(api, "li")
    assert api("post", f"/tasks/{task['id']}/claim", "wang").status_code == 403
    again = api("post", "/definitions", "root", json={"files": {"who.bpmn": model(user_task())},
                                                      "default_role": "finance,purchasing"})
    assert again.json[0]["status"] == "unchanged"
    assert again.json[0]["default_role_tasks"] == [{"element_id": "Task_do", "name": "Do it",
                                                    "roles": ["finance", "purchasing"]}]
    unknown = api("post", "/definitions", "root", json={"files": {"who.bpmn": model(user_task())},
                                                        "default_role": "nobody"})
    assert unknown.status_code == 422 and "Default role 'nobody' is not a known role" in unknown.json["message"]


def test_default_role_of_the_cli_deployment(database_url, db_session, tmp_path):
    path = tmp_path / "who.bpmn"
    path.write_text(model(user_task()))
    result = CliRunner().invoke(main, ["--database", database_url, "deploy", "--default-role", "warehouse", str(path)])
    assert result.exit_code == 0, result.output
    assert "who v1 (new version)" in result.output
    assert "user task Task_do (Do it) has no role lane, assignee or candidates: it goes to role warehouse" in result.output
    result = CliRunner().invoke(main, ["--database", database_url, "deploy", str(path)])
    assert "who v2 (new version)" in result.output and "goes to role admin" in result.output


def test_reassign_to_a_candidate_user(api, run):
    task = run(model(user_task('camunda:candidateUsers="chen"')))
    response = api("post", f"/tasks/{task['id']}/reassign", "zhao", json={"user": "chen", "reason": "休假"})
    assert response.status_code == 200 and response.json["assignee"] == "chen"
    assert api("post", f"/tasks/{task['id']}/reassign", "zhao",
               json={"user": "wang", "reason": "休假"}).status_code == 400


def test_an_assignee_expression_giving_several_users_makes_them_candidates(api, run):
    task = run(model(user_task('camunda:assignee="${approvers}"')), {"approvers": ["wang", "li"]})
    assert task["assignee"] is None
    assert task["id"] in claimable(api, "wang") and task["id"] in claimable(api, "li")
