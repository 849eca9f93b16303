"""The REST API on the small ``approval`` process of tests/data (warehouse checks, supervisor decides)."""
from __future__ import annotations

import json

import pytest

from conftest import DATA
from engine import users

START = {"order_no": "SO-1", "item": "茶杯", "amount": "12.50", "note": "急"}
API = "/api/v1"


@pytest.fixture
def approval(deploy):
    return deploy(DATA / "approval.bpmn", DATA / "forms")


@pytest.fixture
def people(make_user):
    """wang, li: warehouse; zhao: supervisor; root: admin; audrey: auditor; fang: finance."""
    for name, role in [("wang", "warehouse"), ("li", "warehouse"), ("zhao", "supervisor"), ("root", "admin"),
                       ("audrey", "auditor"), ("fang", "finance")]:
        make_user(name, role)


@pytest.fixture
def api(client, auth):
    """``api("get", "/tasks", "wang", json=...)`` → response, as user ``wang``."""
    def call(method: str, path: str, user: str | None = None, **kwargs):
        headers = {**(auth(user) if user else {}), **kwargs.pop("headers", {})}
        return getattr(client, method)(API + path, headers=headers, **kwargs)
    return call


@pytest.fixture
def started(api, approval, people, clock):
    """An approval instance started by wang; its open Task_check."""
    response = api("post", "/instances", "wang", json={"process_id": "approval", "data": START})
    assert response.status_code == 201, response.json
    return response.json


def check_task(instance: dict) -> dict:
    (task,) = instance["open_tasks"]
    return task


def open_task(api, instance_id: int, element_id: str) -> dict:
    instance = api("get", f"/instances/{instance_id}", "root").json
    return next(t for t in instance["open_tasks"] if t["element_id"] == element_id)


def event_types(api, instance_id: int) -> list[tuple[str, str]]:
    return [(e["type"], e["actor"]) for e in api("get", f"/instances/{instance_id}/history", "root").json]


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json and set(response.json) == {"error", "message", "details"}
    assert response.json["error"] == code and response.json["message"]


# -- authentication ----------------------------------------------------------------------------------

def test_no_or_bad_credentials_get_401_with_a_basic_challenge(api, people):
    for headers in [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Digest x=1"}]:
        response = api("get", "/instances", headers=headers)
        assert_error(response, 401, "unauthenticated")
        assert response.headers["WWW-Authenticate"] == 'Basic realm="liucheng"'
    assert_error(api("get", "/instances", headers={"Authorization": "Basic d2FuZzp3cm9uZw=="}), 401,
                 "unauthenticated")  # wang:wrong
    assert_error(api("get", "/instances", "nobody"), 401, "unauthenticated")
    assert api("get", "/instances", "wang").status_code == 200


def test_a_bearer_token_is_issued_for_basic_credentials_only(api, people):
    response = api("post", "/tokens", "wang", json={"label": "cli"})
    assert response.status_code == 201
    bearer = {"Authorization": f"Bearer {response.json['token']}"}
    assert api("get", "/tasks", headers=bearer).status_code == 200
    assert_error(api("post", "/tokens", headers=bearer), 401, "unauthenticated")


def test_a_verified_password_is_not_hashed_again(api, people, monkeypatch):
    calls = []
    real_check = users.check_password_hash
    monkeypatch.setattr(users, "check_password_hash", lambda *a: calls.append(1) or real_check(*a))
    for _ in range(3):
        assert api("get", "/tasks", "wang").status_code == 200
    assert len(calls) == 1
    assert api("get", "/tasks", "wang", headers={"Authorization": "Basic d2FuZzp3cm9uZw=="}).status_code == 401
    assert len(calls) == 2


# -- instances -----------------------------------------------------------------------------------------

def test_start_returns_the_running_instance_with_its_first_task(started):
    assert started["process_id"] == "approval" and started["version"] == 1
    assert started["status"] == "running" and started["started_by"] == "wang"
    assert started["business_key"] == "SO-1"
    assert started["data"]["amount"] == 12.5 and started["data"]["item"] == "茶杯"
    assert started["started_at"] == "2026-11-02T09:00:00+00:00" and started["ended_at"] is None
    task = check_task(started)
    assert (task["element_id"], task["role"], task["status"], task["assignee"]) == \
        ("Task_check", "warehouse", "open", None)
    assert [f["name"] for f in task["form"]["fields"]] == ["checked_qty", "condition"]


def test_start_with_invalid_data_is_422_per_field_and_creates_nothing(api, approval, people):
    response = api("post", "/instances", "wang", json={"process_id": "approval",
                                                       "data": {"order_no": "SO-2", "amount": "-3", "x": 1}})
    assert_error(response, 422, "invalid_data")
    assert set(response.json["details"]) == {"item", "amount", "x"}
    assert api("get", "/instances", "root").json == []


def test_a_malformed_body_is_400_naming_the_field(api, approval, people):
    response = api("post", "/instances", "wang", json={"process_id": "approval", "data": "no", "version": "1"})
    assert_error(response, 400, "bad_request")
    assert set(response.json["details"]) == {"data", "version"}
    response = api("post", "/instances", "wang", data="{not json", content_type="application/json")
    assert_error(response, 400, "bad_request")
    assert "_body" in response.json["details"]
    assert_error(api("post", "/instances", "wang", json={"data": {}}), 400, "bad_request")
    assert_error(api("get", "/tasks?limit=lots", "wang"), 400, "bad_request")


def test_start_needs_a_deployed_process_and_a_lane_role(api, approval, people):
    assert_error(api("post", "/instances", "wang", json={"process_id": "nope"}), 404, "not_found")
    assert_error(api("post", "/instances", "wang", json={"process_id": "approval", "version": 9}), 404, "not_found")
    assert_error(api("post", "/instances", "fang", json={"process_id": "approval", "data": START}), 403,
                 "permission_denied")


def test_instances_are_read_by_those_involved(api, started):
    path = f"/instances/{started['id']}"
    for user in ("wang", "li", "zhao", "root", "audrey"):
        assert api("get", path, user).json["id"] == started["id"]
    assert_error(api("get", path, "fang"), 403, "permission_denied")
    assert_error(api("get", path + "/history", "fang"), 403, "permission_denied")
    assert_error(api("get", "/instances/999", "root"), 404, "not_found")
    assert [i["id"] for i in api("get", "/instances", "li").json] == [started["id"]]
    assert api("get", "/instances", "fang").json == []
    assert len(api("get", "/instances?status=running&process_id=approval", "zhao").json) == 1
    assert api("get", "/instances?status=completed", "zhao").json == []
    assert_error(api("get", "/instances?status=sleeping", "zhao"), 400, "bad_request")


def test_cancel_needs_a_reason_and_the_right_person(api, started):
    path = f"/instances/{started['id']}/cancel"
    assert_error(api("post", path, "wang", json={}), 422, "invalid_data")  # issue 15: the reason is required
    assert_error(api("post", path, "li", json={"reason": "dup"}), 403, "permission_denied")
    response = api("post", path, "wang", json={"reason": "客户撤回"})
    assert response.status_code == 200
    assert (response.json["status"], response.json["cancel_reason"]) == ("cancelled", "客户撤回")
    assert response.json["open_tasks"] == [] and response.json["ended_at"]
    assert api("get", f"/tasks/{check_task(started)['id']}", "wang").json["status"] == "cancelled"
    assert_error(api("post", path, "zhao", json={"reason": "again"}), 409, "conflict")
    assert ("instance_cancelled", "wang") in event_types(api, started["id"])


# -- tasks ------------------------------------------------------------------------------------------------

def test_task_scopes_follow_roles_and_claims(api, started):
    task_id = check_task(started)["id"]

    def ids(user, scope):
        return [t["id"] for t in api("get", f"/tasks?scope={scope}", user).json]
    assert (ids("wang", "claimable"), ids("wang", "mine"), ids("fang", "all")) == ([task_id], [], [])
    assert api("post", f"/tasks/{task_id}/claim", "wang").json["assignee"] == "wang"
    assert (ids("wang", "mine"), ids("wang", "claimable"), ids("li", "claimable")) == ([task_id], [], [])
    assert ids("li", "all") == ids("zhao", "all") == ids("audrey", "all") == [task_id]
    assert ids("zhao", "claimable") == []
    listed = api("get", f"/tasks?scope=all&instance_id={started['id']}&process_id=approval", "zhao").json
    assert listed[0]["form"]["id"] == "approval_check"
    assert_error(api("get", "/tasks?scope=everything", "wang"), 400, "bad_request")


def test_claim_and_unclaim_permissions(api, started):
    task = f"/tasks/{check_task(started)['id']}"
    assert_error(api("post", task + "/claim", "fang"), 403, "permission_denied")
    assert_error(api("get", task, "fang"), 403, "permission_denied")
    assert_error(api("post", task + "/unclaim", "wang"), 409, "conflict")
    assert api("post", task + "/claim", "wang").json["status"] == "claimed"
    assert_error(api("post", task + "/claim", "li"), 409, "conflict")
    again = api("post", task + "/claim", "wang")  # the assignee's own claim again: as it is (Camunda's ClaimTaskCmd)
    assert (again.status_code, again.json["assignee"], again.json["status"]) == (200, "wang", "claimed")
    assert_error(api("post", task + "/unclaim", "li"), 403, "permission_denied")
    assert api("post", task + "/unclaim", "wang").json["status"] == "open"
    api("post", task + "/claim", "li")
    response = api("post", task + "/unclaim", "zhao")
    assert (response.json["status"], response.json["assignee"]) == ("open", None)
    assert_error(api("post", "/tasks/999/claim", "wang"), 404, "not_found")


def test_reassign_is_for_supervisors_and_admins_to_role_members(api, started):
    task = f"/tasks/{check_task(started)['id']}"
    assert_error(api("post", task + "/reassign", "wang", json={"user": "li", "reason": "休假"}), 403, "permission_denied")
    response = api("post", task + "/reassign", "zhao", json={"user": "li", "reason": "休假"})
    assert (response.status_code, response.json["assignee"], response.json["status"]) == (200, "li", "claimed")
    assert_error(api("post", task + "/reassign", "zhao", json={"user": "fang", "reason": "休假"}), 400, "bad_request")
    assert_error(api("post", task + "/reassign", "zhao", json={}), 400, "bad_request")
    assert_error(api("post", task + "/reassign", "zhao", json={"user": "wang"}), 422, "invalid_data")  # no reason
    assert api("post", task + "/reassign", "root", json={"user": "wang", "reason": "休假"}).json["assignee"] == "wang"
    assert_error(api("post", task + "/complete", "li", json={"data": {"checked_qty": 1, "condition": "good"}}),
                 409, "conflict")


def test_completing_walks_the_process_and_records_history(api, started, clock):
    instance_id, task_id = started["id"], check_task(started)["id"]
    api("post", f"/tasks/{task_id}/claim", "wang")
    clock.advance(minutes=5)
    done = api("post", f"/tasks/{task_id}/complete", "wang", json={"data": {"checked_qty": 3, "condition": "good"}})
    assert (done.status_code, done.json["status"], done.json["completed_by"]) == (200, "completed", "wang")
    assert_error(api("post", f"/tasks/{task_id}/complete", "li", json={"data": {"checked_qty": 1,
                                                                               "condition": "good"}}),
                 409, "conflict")
    decide = open_task(api, instance_id, "Task_decide")
    assert decide["role"] == "supervisor"
    assert_error(api("post", f"/tasks/{decide['id']}/complete", "wang", json={"data": {"approved": True}}),
                 403, "permission_denied")
    api("post", f"/tasks/{decide['id']}/complete", "zhao", json={"data": {"approved": True, "comment": "好"}})
    instance = api("get", f"/instances/{instance_id}", "wang").json
    assert (instance["status"], instance["open_tasks"]) == ("completed", [])
    assert instance["data"]["approved"] is True and instance["data"]["checked_qty"] == 3
    events = event_types(api, instance_id)
    for expected in [("instance_started", "wang"), ("task_created", "system"), ("task_claimed", "wang"),
                     ("task_completed", "wang"), ("task_completed", "zhao"), ("gateway_taken", "system"),
                     ("instance_completed", "system")]:
        assert expected in events
    history = api("get", f"/instances/{instance_id}/history", "audrey").json
    gateway = next(e for e in history if e["type"] == "gateway_taken")
    assert gateway["element_id"] == "Gateway_approved" and gateway["data"]["flows"] == ["Flow_yes"]
    completed = next(e for e in history if e["type"] == "task_completed")
    assert completed["data"]["submitted"] == {"checked_qty": 3, "condition": "good"}
    assert completed["at"] == "2026-11-02T09:05:00+00:00"


def test_completing_with_invalid_data_changes_nothing(api, started):
    instance_id, task_id = started["id"], check_task(started)["id"]
    api("post", f"/tasks/{task_id}/claim", "wang")
    before = event_types(api, instance_id)
    response = api("post", f"/tasks/{task_id}/complete", "wang", json={"data": {"checked_qty": -1,
                                                                               "condition": "lost"}})
    assert_error(response, 422, "invalid_data")
    assert set(response.json["details"]) == {"checked_qty", "condition"}
    assert_error(api("post", f"/tasks/{task_id}/complete", "wang", json={"data": {}}), 422, "invalid_data")
    task = api("get", f"/tasks/{task_id}", "wang").json
    assert (task["status"], task["assignee"]) == ("claimed", "wang")
    assert event_types(api, instance_id) == before
    assert [t["element_id"] for t in api("get", f"/instances/{instance_id}", "wang").json["open_tasks"]] == \
        ["Task_check"]


def test_the_rejected_branch_ends_the_instance_too(api, started):
    api("post", f"/tasks/{check_task(started)['id']}/complete", "li",
        json={"data": {"checked_qty": 0, "condition": "damaged"}})
    decide = open_task(api, started["id"], "Task_decide")
    api("post", f"/tasks/{decide['id']}/complete", "zhao", json={"data": {"approved": "false"}})
    history = api("get", f"/instances/{started['id']}/history", "zhao").json
    assert next(e for e in history if e["type"] == "gateway_taken")["data"]["flows"] == ["Flow_no"]
    assert api("get", f"/instances/{started['id']}", "zhao").json["status"] == "completed"


# -- auditors -----------------------------------------------------------------------------------------------

def test_an_auditor_reads_everything_and_changes_nothing(api, started):
    instance_id, task_id = started["id"], check_task(started)["id"]
    for path in [f"/instances/{instance_id}", "/instances", f"/instances/{instance_id}/history",
                 f"/tasks/{task_id}", "/tasks?scope=all", "/definitions", "/definitions/approval"]:
        assert api("get", path, "audrey").status_code == 200, path
    for path, body in [("/instances", {"process_id": "approval", "data": START}),
                       (f"/instances/{instance_id}/cancel", {"reason": "audit"}),
                       (f"/tasks/{task_id}/claim", {}), (f"/tasks/{task_id}/unclaim", {}),
                       (f"/tasks/{task_id}/complete", {"data": {}}), (f"/tasks/{task_id}/reassign", {"user": "li"}),
                       ("/definitions", {})]:
        assert_error(api("post", path, "audrey", json=body), 403, "permission_denied")
    assert api("post", "/tokens", "audrey").status_code == 201
    assert api("get", f"/tasks/{task_id}", "wang").json["status"] == "open"


# -- definitions ------------------------------------------------------------------------------------------------

def upload(api, user: str, *names: str, forms=("approval_start", "approval_check", "approval_decide"),
           extra_forms=None):
    files = {n: (DATA / n).read_text(encoding="utf-8") for n in names}
    form_files = {f"{f}.json": json.loads((DATA / "forms" / f"{f}.json").read_text(encoding="utf-8")) for f in forms}
    form_files.update(extra_forms or {})
    return api("post", "/definitions", user, json={"files": files, "forms": form_files})


def test_definitions_are_listed_and_read(api, approval, people):
    listed = api("get", "/definitions", "wang").json
    assert [(d["process_id"], d["version"]) for d in listed] == [("approval", 1)]
    assert listed[0]["start_form"]["id"] == "approval_start"
    assert api("get", "/definitions?process_id=other", "wang").json == []
    assert api("get", "/definitions/approval?version=1", "wang").json["name"] == "审批 (test)"
    assert_error(api("get", "/definitions/approval?version=2", "wang"), 404, "not_found")
    xml = api("get", "/definitions/approval/xml", "wang")
    assert xml.mimetype == "application/octet-stream" and b"Gateway_approved" in xml.data
    assert xml.headers["Content-Disposition"] == "attachment; filename=approval-v1.bpmn"


def test_upload_is_for_admins_and_versions_only_changes(api, people):
    assert_error(upload(api, "zhao", "approval.bpmn"), 403, "permission_denied")
    first = upload(api, "root", "approval.bpmn")
    assert first.status_code == 201
    assert first.json == [{"process_id": "approval", "version": 1, "status": "created", "file": "approval.bpmn"}]
    again = upload(api, "root", "approval.bpmn")
    assert (again.status_code, again.json[0]["version"], again.json[0]["status"]) == (201, 1, "unchanged")
    changed = (DATA / "approval.bpmn").read_bytes().replace("审批 (test)".encode(), "审批 v2".encode())
    raw = api("post", "/definitions?filename=approval.bpmn", "root", data=changed, content_type="application/xml")
    assert (raw.status_code, raw.json[0]["version"], raw.json[0]["status"]) == (201, 2, "created")
    assert api("get", "/definitions/approval", "root").json["version"] == 2
    assert_error(api("post", "/definitions", "root", json={}), 400, "bad_request")
    assert_error(upload(api, "root"), 400, "bad_request")


def test_a_broken_upload_is_422_naming_file_line_and_element(api, people):
    response = upload(api, "root", "approval.bpmn", "broken.bpmn")
    assert_error(response, 422, "invalid_definition")
    problems = response.json["details"]["problems"]
    assert any(p["file"] == "broken.bpmn" and p["element_id"] == "Task_orphan" and isinstance(p["line"], int)
               for p in problems), problems
    assert api("get", "/definitions", "root").json == []
    bad_form = upload(api, "root", "approval.bpmn", forms=(), extra_forms={"approval_start.json": {"fields": "x"}})
    assert_error(bad_form, 422, "invalid_definition")
    assert bad_form.json["details"]["problems"][0]["file"] == "approval_start.json"
    formless = upload(api, "root", "approval.bpmn", forms=())  # forms missing: deployed, each step noted
    assert formless.status_code == 201, formless.json
    noted = {n["element_id"]: n["message"] for n in formless.json[0]["notes"]}
    assert {"Task_check", "Task_decide"} <= set(noted) and all("generic form" in m for m in noted.values())


# -- the API itself -----------------------------------------------------------------------------------------------

def test_openapi_document_describes_every_route(api, app):
    response = api("get", "/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert document["openapi"].startswith("3.")
    assert set(document["components"]["securitySchemes"]) == {"basicAuth", "bearerAuth"}
    paths = document["paths"]
    for path, method in [("/api/v1/instances", "post"), ("/api/v1/instances", "get"),
                         ("/api/v1/instances/{instance_id}/cancel", "post"), ("/api/v1/tasks/{task_id}/claim", "post"),
                         ("/api/v1/instances/{instance_id}/history", "get"), ("/api/v1/definitions", "post"),
                         ("/api/v1/tokens", "post")]:
        assert method in paths[path], (path, method)
    start = paths["/api/v1/instances"]["post"]
    body_schema = start["requestBody"]["content"]["application/json"]["schema"]
    assert body_schema == {"$ref": "#/components/schemas/StartInstance"}
    assert "422" in start["responses"] and "open_tasks" in document["components"]["schemas"]["Instance"]["properties"]
    api_rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/")]
    assert len(api_rules) == sum(len(ops) for ops in paths.values())


def test_openapi_document_validates(api):
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(api("get", "/openapi.json").json)


def test_unknown_routes_and_methods_are_json(api, people):
    assert_error(api("get", "/nothing-here", "wang"), 404, "not_found")
    assert_error(api("get", "/instances/abc", "wang"), 404, "not_found")
    assert_error(api("get", "/tasks/1", "wang"), 404, "not_found")
    response = api("delete", "/instances", "wang")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_an_unexpected_failure_is_a_json_500(api, people, monkeypatch):
    from engine import task_listing
    monkeypatch.setattr(task_listing, "list_tasks", lambda *a, **k: 1 / 0)
    response = api("get", "/tasks", "wang")
    assert_error(response, 500, "internal_error")
    assert "Traceback" not in response.get_data(as_text=True)
