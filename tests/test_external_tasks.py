"""External tasks (issue 13, item 1), as Camunda 7's external task service: a ``camunda:type="external"``
service task waits for a worker that fetches and locks it, then completes it, reports a failure or a BPMN
error, or extends its lock; plus ``camunda:expression``, ``camunda:class``/``delegateExpression`` service
tasks. Everything through the REST API (and the client in ``engine.external_client`` against a live server
in ``test_client_against_a_server``)."""
from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from engine import connectors, runtime
from engine.external_client import ExternalTaskClient, ExternalTaskError

CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
FLOWABLE = 'xmlns:flowable="http://flowable.org/bpmn"'


def model(service: str, extra: str = "", process_id: str = "charge", ns: str = CAMUNDA) -> str:
    """start → ``service`` (a serviceTask with id Pay) → end (``extra``: boundary events and their ends)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" {ns} id="d"
    targetNamespace="http://example.com/ext">
  <bpmn:error id="Err_declined" name="Declined" errorCode="CARD_DECLINED"/>
  <bpmn:process id="{process_id}" name="Charge" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Pay"/>
    {service}
    <bpmn:sequenceFlow id="f2" sourceRef="Pay" targetRef="e"/>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    {extra}
  </bpmn:process>
</bpmn:definitions>"""


def external(topic: str = "payments", attributes: str = "") -> str:
    return (f'<bpmn:serviceTask id="Pay" name="Charge the card" camunda:type="external" camunda:topic="{topic}" '
            f'{attributes}><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>')


ERROR_BOUNDARY = """
    <bpmn:boundaryEvent id="Declined" attachedToRef="Pay"><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:errorEventDefinition errorRef="Err_declined"/></bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="Declined" targetRef="Note"/>
    <bpmn:scriptTask id="Note" scriptFormat="python"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>declined = True</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f4" sourceRef="Note" targetRef="e_declined"/>
    <bpmn:endEvent id="e_declined"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>"""
TIMER_BOUNDARY = """
    <bpmn:boundaryEvent id="TooLate" attachedToRef="Pay"><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="TooLate" targetRef="e_late"/>
    <bpmn:endEvent id="e_late"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>"""
TOPIC = {"name": "payments", "lock_duration_ms": 60_000}


@pytest.fixture
def people(make_user):
    """ivan: integrator; root: admin; wang: warehouse."""
    make_user("ivan", "integrator")
    make_user("root", "admin")
    make_user("wang", "warehouse")


@pytest.fixture
def start(api, people, clock):
    """``start(xml, data)`` deploys the model (as root), starts it and returns the instance."""
    def go(xml: str, data: dict | None = None, process_id: str = "charge") -> dict:
        deployed = api("post", "/definitions", "root", json={"files": {f"{process_id}.bpmn": xml}})
        assert deployed.status_code == 201, deployed.json
        started = api("post", "/instances", "root", json={"process_id": process_id, "data": data or {}})
        assert started.status_code == 201, started.json
        return started.json
    return go


@pytest.fixture
def fetch(api):
    def go(worker: str = "w1", topics: list | None = None, max_tasks: int = 10, user: str = "ivan") -> list:
        reply = api("post", "/external-tasks/fetch-and-lock", user,
                    json={"worker_id": worker, "max_tasks": max_tasks, "topics": topics or [TOPIC]})
        assert reply.status_code == 200, reply.json
        return reply.json
    return go


def instance(api, instance_id: int) -> dict:
    return api("get", f"/instances/{instance_id}", "root").json


# -- waiting, fetching, completing ------------------------------------------------------------------

def test_an_external_task_makes_the_instance_wait_until_a_worker_completes_it(api, start, fetch):
    started = start(model(external()), {"order_no": "A1", "amount": 30})
    assert started["status"] == "running"
    (task,) = fetch()
    assert task["topic"] == "payments" and task["element_id"] == "Pay" and task["worker_id"] == "w1"
    assert task["instance_id"] == started["id"] and task["process_id"] == "charge"
    assert task["variables"] == {"order_no": "A1", "amount": 30}
    assert task["lock_expires_at"] == "2026-11-02T09:01:00+00:00"
    done = api("post", f"/external-tasks/{task['id']}/complete", "ivan",
               json={"worker_id": "w1", "variables": {"paid": True, "receipt": "R-9"}})
    assert done.status_code == 200, done.json
    after = instance(api, started["id"])
    assert after["status"] == "completed"
    assert after["data"]["paid"] is True and after["data"]["receipt"] == "R-9"
    assert fetch() == []


def test_fetch_returns_only_the_variables_the_topic_asks_for(start, fetch):
    start(model(external()), {"order_no": "A1", "amount": 30, "buyer": "小李"})
    (task,) = fetch(topics=[{**TOPIC, "variables": ["amount", "missing"]}])
    assert task["variables"] == {"amount": 30}


def test_a_locked_task_is_not_fetched_by_another_worker_until_its_lock_expires(api, start, fetch, clock):
    start(model(external()))
    (task,) = fetch("w1")
    assert fetch("w2") == []
    clock.advance(seconds=61)
    (again,) = fetch("w2")
    assert again["id"] == task["id"] and again["worker_id"] == "w2"
    late = api("post", f"/external-tasks/{task['id']}/complete", "ivan", json={"worker_id": "w1"})
    assert late.status_code == 409
    assert "another worker" in late.json["message"]


def test_only_the_worker_holding_the_lock_may_complete(api, start, fetch):
    started = start(model(external()))
    (task,) = fetch("w1")
    other = api("post", f"/external-tasks/{task['id']}/complete", "ivan", json={"worker_id": "w2"})
    assert other.status_code == 409
    assert instance(api, started["id"])["status"] == "running"


def test_extend_lock_keeps_the_task_from_other_workers(api, start, fetch, clock):
    start(model(external()))
    (task,) = fetch("w1")
    clock.advance(seconds=50)
    extended = api("post", f"/external-tasks/{task['id']}/extend-lock", "ivan",
                   json={"worker_id": "w1", "new_duration_ms": 120_000})
    assert extended.status_code == 200, extended.json
    assert extended.json["lock_expires_at"] == "2026-11-02T09:02:50+00:00"
    clock.advance(seconds=60)
    assert fetch("w2") == []
    assert api("post", f"/external-tasks/{task['id']}/extend-lock", "ivan",
               json={"worker_id": "w2", "new_duration_ms": 1000}).status_code == 409


def test_extend_lock_after_the_lock_expired_is_refused(api, start, fetch, clock):
    start(model(external()))
    (task,) = fetch("w1")
    clock.advance(minutes=2)
    reply = api("post", f"/external-tasks/{task['id']}/extend-lock", "ivan",
                json={"worker_id": "w1", "new_duration_ms": 1000})
    assert reply.status_code == 409 and "expired" in reply.json["message"]


def test_higher_priority_tasks_are_fetched_first(api, start, fetch):
    start(model(external(attributes='camunda:taskPriority="1"'), process_id="low"), process_id="low")
    start(model(external(attributes='camunda:taskPriority="9"'), process_id="high"), process_id="high")
    (first,) = fetch(max_tasks=1)
    assert first["process_id"] == "high"


def test_a_flowable_external_worker_task_is_an_external_task(api, start, fetch):
    service = ('<bpmn:serviceTask id="Pay" flowable:type="external-worker" flowable:topic="payments">'
               '<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>')
    started = start(model(service, ns=FLOWABLE))
    (task,) = fetch()
    assert api("post", f"/external-tasks/{task['id']}/complete", "ivan", json={"worker_id": "w1"}).status_code == 200
    assert instance(api, started["id"])["status"] == "completed"


def test_completing_with_data_that_cannot_be_stored_is_refused_and_changes_nothing(api, start, fetch):
    started = start(model(external()))
    (task,) = fetch()
    reply = api("post", f"/external-tasks/{task['id']}/complete", "ivan",
                json={"worker_id": "w1", "variables": {"text": "x" * 2_000_000}})
    assert reply.status_code in (400, 413, 422)
    assert instance(api, started["id"])["status"] == "running"
    assert api("post", f"/external-tasks/{task['id']}/complete", "ivan", json={"worker_id": "w1"}).status_code == 200


def test_an_external_task_without_topic_is_a_located_deploy_error(api, people):
    xml = model('<bpmn:serviceTask id="Pay" camunda:type="external"><bpmn:incoming>f1</bpmn:incoming>'
                '<bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>')
    reply = api("post", "/definitions", "root", json={"files": {"charge.bpmn": xml}})
    assert reply.status_code in (400, 422)
    (problem,) = reply.json["details"]["problems"]
    assert problem["element_id"] == "Pay" and "topic" in problem["message"] and problem["line"]


# -- failures, incidents, BPMN errors ----------------------------------------------------------------

def test_a_failure_with_retries_left_frees_the_task_after_the_retry_timeout(api, start, fetch, clock):
    start(model(external()))
    (task,) = fetch()
    failed = api("post", f"/external-tasks/{task['id']}/failure", "ivan",
                 json={"worker_id": "w1", "error_message": "gateway timeout", "retries": 2,
                       "retry_timeout_ms": 30_000})
    assert failed.status_code == 200, failed.json
    assert failed.json["retries"] == 2 and failed.json["error_message"] == "gateway timeout"
    assert fetch("w2") == []
    clock.advance(seconds=31)
    (again,) = fetch("w2")
    assert again["retries"] == 2


def test_a_failure_without_retries_opens_an_incident_and_its_retry_frees_the_task_with_one_retry(
        api, start, fetch):
    started = start(model(external()))
    (task,) = fetch()
    failed = api("post", f"/external-tasks/{task['id']}/failure", "ivan",
                 json={"worker_id": "w1", "error_message": "card service down", "error_details": "trace…",
                       "retries": 0, "retry_timeout_ms": 0})
    assert failed.status_code == 200, failed.json
    assert instance(api, started["id"])["status"] == "failed"
    (incident,) = api("get", f"/incidents?instance_id={started['id']}", "root").json
    assert incident["status"] == "open" and incident["element_id"] == "Pay"
    assert "card service down" in incident["message"]
    assert fetch() == []
    retried = api("post", f"/incidents/{incident['id']}/retry", "root")
    assert retried.status_code == 200, retried.json
    assert retried.json["status"] == "resolved"
    (again,) = fetch()
    assert again["id"] == task["id"] and again["retries"] == 1
    assert api("post", f"/external-tasks/{task['id']}/complete", "ivan", json={"worker_id": "w1"}).status_code == 200
    assert instance(api, started["id"])["status"] == "completed"


def test_a_bpmn_error_is_caught_by_the_error_boundary_event_of_its_code(api, start, fetch):
    started = start(model(external(), ERROR_BOUNDARY))
    (task,) = fetch()
    reply = api("post", f"/external-tasks/{task['id']}/bpmn-error", "ivan",
                json={"worker_id": "w1", "error_code": "CARD_DECLINED", "variables": {"reason": "insufficient"}})
    assert reply.status_code == 200, reply.json
    assert reply.json["status"] == "error_caught"
    after = instance(api, started["id"])
    assert after["status"] == "completed"
    assert after["data"]["reason"] == "insufficient" and after["data"]["declined"] is True
    assert fetch() == []


def test_an_uncaught_bpmn_error_opens_an_incident_on_the_task(api, start, fetch):
    started = start(model(external(), ERROR_BOUNDARY))
    (task,) = fetch()
    reply = api("post", f"/external-tasks/{task['id']}/bpmn-error", "ivan",
                json={"worker_id": "w1", "error_code": "OTHER_CODE"})
    assert reply.status_code == 200 and reply.json["status"] == "incident"
    assert instance(api, started["id"])["status"] == "failed"
    (incident,) = api("get", f"/incidents?instance_id={started['id']}", "root").json
    assert "OTHER_CODE" in incident["message"] and incident["element_id"] == "Pay"


# -- interrupted and cancelled ------------------------------------------------------------------------

def test_a_boundary_timer_interrupting_the_task_removes_it(api, start, fetch, clock, app):
    started = start(model(external(), TIMER_BOUNDARY))
    (task,) = fetch()
    clock.advance(hours=2)
    runtime.fire_due_timers(app.extensions["liucheng_db"])
    assert instance(api, started["id"])["status"] == "completed"
    assert api("post", f"/external-tasks/{task['id']}/complete", "ivan", json={"worker_id": "w1"}).status_code == 404
    assert fetch() == []


def test_cancelling_the_instance_removes_its_external_tasks(api, start, fetch):
    started = start(model(external()))
    assert api("post", f"/instances/{started['id']}/cancel", "root", json={"reason": "test"}).status_code == 200
    assert fetch() == []
    assert api("get", "/external-tasks", "root").json == []


# -- who may ----------------------------------------------------------------------------------------

def test_only_integrators_and_admins_work_on_external_tasks(api, start, fetch):
    start(model(external()))
    body = {"worker_id": "w", "max_tasks": 1, "topics": [TOPIC]}
    assert api("post", "/external-tasks/fetch-and-lock", "wang", json=body).status_code == 403
    (task,) = fetch(user="root")
    for action, extra in (("complete", {}), ("failure", {"error_message": "x", "retries": 1}),
                          ("bpmn-error", {"error_code": "X"}), ("extend-lock", {"new_duration_ms": 5})):
        reply = api("post", f"/external-tasks/{task['id']}/{action}", "wang", json={"worker_id": "w1", **extra})
        assert reply.status_code == 403, action


def test_admins_list_external_tasks_by_topic_instance_and_lock(api, start, fetch):
    started = start(model(external()))
    assert api("get", "/external-tasks", "ivan").status_code == 403
    (row,) = api("get", "/external-tasks?topic=payments", "root").json
    assert row["instance_id"] == started["id"] and row["worker_id"] is None
    assert api("get", "/external-tasks?locked=true", "root").json == []
    fetch()
    assert len(api("get", f"/external-tasks?locked=true&instance_id={started['id']}", "root").json) == 1
    assert api("get", "/external-tasks?topic=other", "root").json == []


def test_bad_fetch_requests_are_refused(api, people):
    for body in ({"worker_id": "w", "max_tasks": 0, "topics": [TOPIC]}, {"worker_id": "w", "max_tasks": 1},
                 {"worker_id": "", "max_tasks": 1, "topics": [TOPIC]},
                 {"worker_id": "w", "max_tasks": 1, "topics": [{"name": "t", "lock_duration_ms": 0}]}):
        assert api("post", "/external-tasks/fetch-and-lock", "ivan", json=body).status_code == 400, body


# -- expressions and delegates ----------------------------------------------------------------------

def test_a_camunda_expression_runs_in_the_sandbox_into_its_result_variable(api, start):
    service = ('<bpmn:serviceTask id="Pay" camunda:expression="${amount * 2 + 1}" camunda:resultVariable="total">'
               '<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>')
    started = start(model(service), {"amount": 20})
    assert started["status"] == "completed"
    assert instance(api, started["id"])["data"]["total"] == 41


def test_an_expression_outside_the_juel_subset_is_a_located_deploy_error(api, people):
    xml = model('<bpmn:serviceTask id="Pay" camunda:expression="${myBean.charge(execution)}">'
                '<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>')
    reply = api("post", "/definitions", "root", json={"files": {"charge.bpmn": xml}})
    assert reply.status_code in (400, 422)
    (problem,) = reply.json["details"]["problems"]
    assert problem["element_id"] == "Pay" and "camunda:expression" in problem["message"]


def test_a_java_class_without_a_connector_of_its_name_says_to_use_an_external_task(api, people):
    xml = model('<bpmn:serviceTask id="Pay" camunda:class="com.shop.ChargeDelegate">'
                '<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>')
    reply = api("post", "/definitions", "root", json={"files": {"charge.bpmn": xml}})
    (problem,) = reply.json["details"]["problems"]
    assert problem["element_id"] == "Pay" and problem["line"]
    assert "external task" in problem["message"] and "register a connector" in problem["message"]


@pytest.fixture
def charge_connector():
    connectors.connector("chargeDelegate", inputs={})(lambda context: {"charged": True})
    yield
    connectors.REGISTRY.pop("chargeDelegate", None)


def test_a_delegate_expression_runs_the_connector_of_its_name(api, start, charge_connector):
    service = ('<bpmn:serviceTask id="Pay" camunda:delegateExpression="${chargeDelegate}" '
               'camunda:resultVariable="charge"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>'
               '</bpmn:serviceTask>')
    started = start(model(service))
    assert started["status"] == "completed"
    assert instance(api, started["id"])["data"]["charge"] == {"charged": True}


# -- the Python client ------------------------------------------------------------------------------

class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def test_client_against_a_server(app, start):
    started = start(model(external(), ERROR_BOUNDARY), {"amount": 5})
    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = ExternalTaskClient(f"http://127.0.0.1:{server.server_port}", "w1", username="ivan",
                                    password="secret-ivan")
        (task,) = client.fetch_and_lock([{"name": "payments", "lock_duration_ms": 10_000}], max_tasks=5)
        assert task["variables"] == {"amount": 5}
        client.extend_lock(task["id"], 20_000)
        with pytest.raises(ExternalTaskError) as refused:
            ExternalTaskClient(client.base_url, "w2", username="ivan", password="secret-ivan").complete(task["id"])
        assert refused.value.status == 409
        assert client.bpmn_error(task["id"], "CARD_DECLINED", variables={"why": "no"})["status"] == "error_caught"
    finally:
        server.shutdown()


# -- service tasks naming no implementation, or another engine's ------------------------------------

def test_a_service_task_naming_no_implementation_is_an_external_task_of_its_id(api, people, clock, fetch):
    xml = model('<bpmn:serviceTask id="Pay" name="Charge"><bpmn:incoming>f1</bpmn:incoming>'
                '<bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>')
    deployed = api("post", "/definitions", "root", json={"files": {"charge.bpmn": xml}})
    assert deployed.status_code == 201, deployed.json
    notes = [note for file in deployed.json for note in file.get("notes", [])] if isinstance(deployed.json, list) \
        else deployed.json.get("notes", [])
    assert any(note["element_id"] == "Pay" and "external task of topic 'Pay'" in note["message"] for note in notes)
    started = api("post", "/instances", "root", json={"process_id": "charge", "data": {}}).json
    (task,) = fetch(topics=[{"name": "Pay", "lock_duration_ms": 1000}])
    assert api("post", f"/external-tasks/{task['id']}/complete", "ivan", json={"worker_id": "w1"}).status_code == 200
    assert instance(api, started["id"])["status"] == "completed"


@pytest.mark.parametrize("service, says", [
    ('<bpmn:serviceTask id="Pay"><bpmn:extensionElements><camunda:connector><camunda:connectorId>http-connector'
     '</camunda:connectorId></camunda:connector></bpmn:extensionElements>', "register a connector named 'http-connector'"),
    ('<bpmn:serviceTask id="Pay" camunda:type="mail">', 'camunda:type="mail"'),
])
def test_camunda_connect_and_other_engines_services_are_refused_saying_what_to_do(api, people, service, says):
    xml = model(service + '<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>')
    reply = api("post", "/definitions", "root", json={"files": {"charge.bpmn": xml}})
    (problem,) = reply.json["details"]["problems"]
    assert problem["element_id"] == "Pay" and says in problem["message"] and "external task" in problem["message"]
