"""Service tasks, connectors and incidents (issue 3): a failing connector or script is retried with
back-off by the worker, then opens an incident that a supervisor retries or resolves."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from conftest import DATA
from engine import incidents, scheduler
from engine.runtime import workflows
from engine.connectors import connector
from engine.errors import DefinitionError
from engine.models import Timer

API = "/api/v1"
T0 = datetime(2026, 11, 2, 9, 0)
BACKOFF_1, BACKOFF_2 = incidents.BACKOFF

# The connector the test models call: it fails while FLAKY["failures_left"] > 0.
FLAKY = {"failures_left": 0, "calls": []}


@connector("test.flaky", inputs={"x": "any"}, outputs=["booked"],
           description="Fails FLAKY['failures_left'] times, then books x (tests only).")
def flaky(context, x=None):
    FLAKY["calls"].append({"x": x, "instance_id": context.instance_id, "at": context.now})
    if FLAKY["failures_left"] > 0:
        FLAKY["failures_left"] -= 1
        raise RuntimeError(f"stock system unavailable for {x}")
    return {"booked": x}


# -- helpers ----------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def flaky_reset():
    FLAKY["failures_left"], FLAKY["calls"] = 0, []
    yield
    FLAKY["failures_left"], FLAKY["calls"] = 0, []


@pytest.fixture
def database(app):
    return app.extensions["liucheng_db"]


@pytest.fixture
def people(make_user):
    """wang: warehouse; zhao: supervisor; root: admin; audrey: auditor."""
    for name, role in [("wang", "warehouse"), ("zhao", "supervisor"), ("root", "admin"), ("audrey", "auditor")]:
        make_user(name, role)


@pytest.fixture
def service(deploy, people, clock):
    return deploy(DATA / "incidents_service.bpmn")


@pytest.fixture
def start(api):
    def run(process_id: str = "incidents_service", data: dict | None = None) -> dict:
        response = api("post", "/instances", json={"process_id": process_id, "data": data or {"order_no": "A1"}})
        assert response.status_code == 201, response.json
        return response.json
    return run


def instance(api, instance_id: int) -> dict:
    response = api("get", f"/instances/{instance_id}")
    assert response.status_code == 200, response.json
    return response.json


def history(api, instance_id: int, *types: str) -> list[dict]:
    events = api("get", f"/instances/{instance_id}/history").json
    return [e for e in events if not types or e["type"] in types]


def only_incident(api, **query) -> dict:
    listed = api("get", "/incidents", query_string=query).json
    assert len(listed) == 1, listed
    return listed[0]


def open_timer_elements(database, instance_id: int) -> list[str]:
    with database.session() as session:
        return list(session.scalars(select(Timer.element_id).where(Timer.instance_id == instance_id)))


# -- a failing connector -----------------------------------------------------------------------------

def test_a_connector_gets_its_inputs_and_its_result_joins_the_data(api, service, start):
    started = start(data={"order_no": "A7"})
    assert started["status"] == "running"
    assert started["data"]["flaky_result"] == {"booked": "A7"}
    assert [t["element_id"] for t in started["open_tasks"]] == ["Task_after"]
    assert FLAKY["calls"] == [{"x": "A7", "instance_id": started["id"], "at": T0}]
    assert api("get", "/incidents").json == []


def test_the_first_failure_records_step_failed_and_a_retrying_incident(api, service, start, database):
    FLAKY["failures_left"] = 1
    started = start()
    iid = started["id"]
    assert started["status"] == "running" and started["open_tasks"] == []
    (failed,) = history(api, iid, "step_failed")
    assert failed["element_id"] == "Service_call" and failed["data"]["attempt"] == 1
    assert failed["data"]["retry_at"].startswith((T0 + BACKOFF_1).isoformat())
    assert "stock system unavailable for A1" in failed["data"]["error"]
    incident = only_incident(api)
    assert incident["status"] == "retrying" and incident["attempts"] == 1
    assert incident["instance_id"] == iid and incident["element_id"] == "Service_call"
    assert incident["process_id"] == "incidents_service"
    assert incident["next_retry_at"] == (T0 + BACKOFF_1).isoformat() + "+00:00"
    assert "stock system unavailable for A1" in incident["message"]
    assert "Traceback" not in incident["message"] and "File \"" not in incident["message"]
    assert api("get", f"/incidents/{incident['id']}").json == incident
    assert api("get", "/incidents?status=open").json == []
    assert [i["id"] for i in api("get", f"/incidents?instance_id={iid}").json] == [incident["id"]]
    assert history(api, iid, "incident_opened") == []


def test_the_worker_does_not_retry_before_the_back_off_time(api, service, start, clock, database):
    FLAKY["failures_left"] = 1
    start()
    clock.advance(seconds=BACKOFF_1.total_seconds() - 1)
    scheduler.tick(database)
    assert len(FLAKY["calls"]) == 1
    assert only_incident(api)["attempts"] == 1


def test_the_worker_retries_at_the_back_off_times_until_the_connector_succeeds(api, service, start, clock,
                                                                              database):
    FLAKY["failures_left"] = 2
    iid = start()["id"]
    clock.advance(seconds=BACKOFF_1.total_seconds())
    scheduler.tick(database)
    assert [c["at"] for c in FLAKY["calls"]] == [T0, T0 + BACKOFF_1]
    incident = only_incident(api)
    assert incident["status"] == "retrying" and incident["attempts"] == 2
    assert incident["next_retry_at"] == (T0 + BACKOFF_1 + BACKOFF_2).isoformat() + "+00:00"
    assert instance(api, iid)["status"] == "running"

    clock.advance(seconds=BACKOFF_2.total_seconds() - 1)
    scheduler.tick(database)
    assert len(FLAKY["calls"]) == 2
    clock.advance(seconds=1)
    scheduler.tick(database)
    assert len(FLAKY["calls"]) == 3
    view = instance(api, iid)
    assert view["status"] == "running" and view["data"]["flaky_result"] == {"booked": "A1"}
    assert [t["element_id"] for t in view["open_tasks"]] == ["Task_after"]
    incident = only_incident(api)
    assert incident["status"] == "resolved" and incident["resolved_by"] == "system"
    assert [e["type"] for e in history(api, iid, "step_failed", "incident_retried", "incident_resolved")] == \
        ["step_failed", "incident_retried", "step_failed", "incident_retried", "incident_resolved"]


def test_after_the_last_attempt_the_incident_is_open_and_the_instance_failed(api, service, start, clock,
                                                                             database):
    FLAKY["failures_left"] = 99
    iid = start()["id"]
    clock.advance(seconds=BACKOFF_1.total_seconds())
    scheduler.tick(database)
    clock.advance(seconds=BACKOFF_2.total_seconds())
    scheduler.tick(database)
    assert len(FLAKY["calls"]) == incidents.MAX_ATTEMPTS
    incident = only_incident(api, status="open")
    assert incident["attempts"] == incidents.MAX_ATTEMPTS and incident["next_retry_at"] is None
    assert "Traceback" not in incident["message"]
    view = instance(api, iid)
    assert view["status"] == "failed" and view["open_tasks"] == []
    assert [e["type"] for e in history(api, iid, "incident_opened", "instance_failed")] == \
        ["incident_opened", "instance_failed"]
    clock.advance(days=1)
    scheduler.tick(database)  # an open incident waits for a person
    assert len(FLAKY["calls"]) == incidents.MAX_ATTEMPTS


# -- what a person does with an open incident -------------------------------------------------------------

@pytest.fixture
def opened(api, service, start, monkeypatch):
    """An instance whose service task failed its only attempt: incident open, instance failed."""
    monkeypatch.setattr(incidents, "MAX_ATTEMPTS", 1)
    FLAKY["failures_left"] = 99
    started = start()
    incident = only_incident(api)
    assert incident["status"] == "open" and incident["next_retry_at"] is None
    assert instance(api, started["id"])["status"] == "failed"
    return incident


def test_an_open_incident_is_listed_with_its_message_and_the_instance_failed(api, opened):
    iid = opened["instance_id"]
    assert [i["id"] for i in api("get", "/incidents?status=open", "zhao").json] == [opened["id"]]
    assert opened["element_id"] == "Service_call" and opened["attempts"] == 1
    assert "stock system unavailable" in opened["message"] and "Traceback" not in opened["message"]
    assert [e["element_id"] for e in history(api, iid, "incident_opened")] == ["Service_call"]
    assert len(history(api, iid, "instance_failed")) == 1


def test_a_supervisor_retries_after_the_cause_is_fixed_and_the_instance_runs_on(api, opened, database):
    iid = opened["instance_id"]
    FLAKY["failures_left"] = 0  # the stock system is back
    response = api("post", f"/incidents/{opened['id']}/retry", "zhao")
    assert response.status_code == 200, response.json
    assert response.json["status"] == "resolved"
    view = instance(api, iid)
    assert view["status"] == "running" and view["data"]["flaky_result"] == {"booked": "A1"}
    assert [t["element_id"] for t in view["open_tasks"]] == ["Task_after"]
    retried = history(api, iid, "incident_retried")
    assert [e["actor"] for e in retried] == ["zhao"]


def test_a_retry_that_fails_again_reopens_the_incident(api, opened):
    iid = opened["instance_id"]
    response = api("post", f"/incidents/{opened['id']}/retry", "zhao")
    assert response.status_code == 200, response.json
    assert response.json["status"] == "open"
    assert len(FLAKY["calls"]) == 2
    assert instance(api, iid)["status"] == "failed"


def test_only_supervisors_and_admins_retry_or_resolve(api, opened):
    for user in ("wang", "audrey"):
        response = api("post", f"/incidents/{opened['id']}/retry", user)
        assert response.status_code == 403, response.json
        response = api("post", f"/incidents/{opened['id']}/resolve", user, json={"comment": "手工处理了"})
        assert response.status_code == 403, response.json
    assert len(FLAKY["calls"]) == 1
    assert only_incident(api)["status"] == "open"


def test_resolving_needs_a_comment_and_closes_the_incident_once(api, opened):
    iid = opened["instance_id"]
    for body in [{}, {"comment": ""}, {"comment": "   "}]:
        response = api("post", f"/incidents/{opened['id']}/resolve", "zhao", json=body)
        assert response.status_code == 400, (body, response.json)
    assert only_incident(api)["status"] == "open"
    response = api("post", f"/incidents/{opened['id']}/resolve", "zhao", json={"comment": "库存已手工入账"})
    assert response.status_code == 200, response.json
    resolved = response.json
    assert resolved["status"] == "resolved" and resolved["resolved_by"] == "zhao"
    assert resolved["comment"] == "库存已手工入账" and resolved["resolved_at"] == T0.isoformat() + "+00:00"
    (event,) = history(api, iid, "incident_resolved")
    assert event["actor"] == "zhao" and event["data"]["comment"] == "库存已手工入账"
    assert api("post", f"/incidents/{opened['id']}/resolve", "zhao", json={"comment": "again"}).status_code == 409
    assert api("post", f"/incidents/{opened['id']}/retry", "zhao").status_code == 409
    assert api("post", "/incidents/9999/retry", "zhao").status_code == 404
    assert instance(api, iid)["status"] == "failed"  # resolving leaves the instance as it is


# -- deploy-time checks ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, words", [("incidents_unknown_connector.bpmn", ["test.no_such_connector"]),
                                         ("incidents_missing_input.bpmn", ["test.flaky", "'x'"])])
def test_an_unknown_connector_or_a_missing_input_is_a_deploy_error(api, deploy, people, name, words):
    with pytest.raises(DefinitionError) as raised:
        deploy(DATA / name)
    (problem,) = raised.value.details["problems"]
    assert problem["element_id"] == "Service_call"
    assert all(word in problem["message"] for word in words), problem

    response = api("post", "/definitions", json={"files": {name: (DATA / name).read_text(encoding="utf-8")}})
    assert response.status_code == 422, response.json
    assert response.json["details"]["problems"][0]["element_id"] == "Service_call"
    assert api("get", "/definitions").json == []


# -- failing scripts ---------------------------------------------------------------------------------------

def test_a_script_that_raises_becomes_an_incident(api, deploy, people, clock, start):
    deploy(DATA / "incidents_script_error.bpmn")
    started = start("incidents_script_error", {"total": 100, "quantity": 0})
    assert started["status"] == "running" and started["open_tasks"] == []
    incident = only_incident(api)
    assert incident["element_id"] == "Script_compute" and incident["status"] == "retrying"
    assert "ZeroDivisionError" in incident["message"] or "division" in incident["message"]
    assert "Traceback" not in incident["message"]
    assert [e["element_id"] for e in history(api, started["id"], "step_failed")] == ["Script_compute"]


def test_a_script_that_loops_forever_is_stopped_and_becomes_an_incident(api, deploy, people, clock, start,
                                                                     monkeypatch):
    monkeypatch.setattr(workflows, "SCRIPT_TIMEOUT", 0.2)
    deploy(DATA / "incidents_script_loop.bpmn")
    started = start("incidents_script_loop", {})
    assert started["status"] == "running" and started["open_tasks"] == []
    incident = only_incident(api)
    assert incident["element_id"] == "Script_compute" and incident["status"] == "retrying"
    assert "0.2" in incident["message"] and "Traceback" not in incident["message"]


def test_a_failing_script_is_retried_by_the_worker(api, deploy, people, clock, start, database):
    deploy(DATA / "incidents_script_error.bpmn")
    iid = start("incidents_script_error", {"total": 100, "quantity": 0})["id"]
    clock.advance(seconds=BACKOFF_1.total_seconds())
    scheduler.tick(database)
    # still failing (the data did not change): a second attempt is recorded
    assert [e["data"]["attempt"] for e in history(api, iid, "step_failed")] == [1, 2]


# -- a failed instance keeps its deadlines -------------------------------------------------------------------

def test_a_timer_of_a_failed_instance_is_not_dropped_without_a_trace(api, deploy, people, clock, start, database,
                                                                   monkeypatch):
    monkeypatch.setattr(incidents, "MAX_ATTEMPTS", 1)
    FLAKY["failures_left"] = 99
    deploy(DATA / "incidents_parallel.bpmn")
    iid = start("incidents_parallel")["id"]
    view = instance(api, iid)
    assert view["status"] == "failed"
    assert [t["element_id"] for t in view["open_tasks"]] == ["Task_pack"]
    assert open_timer_elements(database, iid) == ["Timer_pack"]
    clock.advance(hours=5)
    scheduler.tick(database)
    kept = open_timer_elements(database, iid) == ["Timer_pack"]
    traced = bool(history(api, iid, "timer_cancelled", "timer_fired"))
    assert kept or traced
