"""External tasks together with the rest of the engine, as Camunda 7 runs them: ``camunda:inputOutput`` on
external, expression and delegate service tasks (a worker sees the input parameters, the output parameters
apply after completion), the variables a worker sees in a multi-instance (each instance's own element
variable), an external task inside a process of another file that a call activity calls, and how reports
lock (the instance before the task's row, as steps do), refuse a task that no longer waits, and keep the
workflow cache. Everything through the REST API."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from engine import connectors
from engine import external_tasks as row_module
from engine.models import ExternalTask
from engine.runtime import workflows
from web_support import browser_as, web  # noqa: F401 (fixtures)

CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'


def document(body: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" {CAMUNDA} id="d"
    targetNamespace="http://example.com/ext-more">
{body}
</bpmn:definitions>"""


def process(service: str, process_id: str = "charge") -> str:
    """start → ``service`` (a serviceTask with id Pay) → end."""
    return document(f"""
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Pay"/>
    {service}
    <bpmn:sequenceFlow id="f2" sourceRef="Pay" targetRef="e"/>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>""")


def service_task(attributes: str, inner: str = "") -> str:
    return (f'<bpmn:serviceTask id="Pay" {attributes}><bpmn:extensionElements>{inner}</bpmn:extensionElements>'
            '<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>')


IO = """<camunda:inputOutput>
  <camunda:inputParameter name="amountCents">${amount * 100}</camunda:inputParameter>
  <camunda:inputParameter name="currency">EUR</camunda:inputParameter>
  <camunda:outputParameter name="receiptNo">${receipt}</camunda:outputParameter>
</camunda:inputOutput>"""


@pytest.fixture
def people(make_user):
    make_user("ivan", "integrator")
    make_user("root", "admin")


@pytest.fixture
def deploy(api, people, clock):
    def go(files: dict[str, str]) -> dict:
        deployed = api("post", "/definitions", "root", json={"files": files})
        assert deployed.status_code == 201, deployed.json
        return deployed.json
    return go


@pytest.fixture
def start(api, deploy):
    """``start(xml, data)`` deploys the model, starts it and returns the instance."""
    def go(xml: str, data: dict | None = None, process_id: str = "charge") -> dict:
        deploy({f"{process_id}.bpmn": xml})
        started = api("post", "/instances", "root", json={"process_id": process_id, "data": data or {}})
        assert started.status_code == 201, started.json
        return started.json
    return go


@pytest.fixture
def fetch(api):
    def go(topic: str = "payments", variables: list | None = None) -> list:
        wanted = {"name": topic, "lock_duration_ms": 60_000, **({"variables": variables} if variables else {})}
        reply = api("post", "/external-tasks/fetch-and-lock", "ivan",
                    json={"worker_id": "w1", "max_tasks": 10, "topics": [wanted]})
        assert reply.status_code == 200, reply.json
        return reply.json
    return go


@pytest.fixture
def complete(api):
    def go(task: dict, variables: dict | None = None) -> None:
        done = api("post", f"/external-tasks/{task['id']}/complete", "ivan",
                   json={"worker_id": "w1", "variables": variables or {}})
        assert done.status_code == 200, done.json
    return go


def instance(api, instance_id: int) -> dict:
    return api("get", f"/instances/{instance_id}", "root").json


# -- camunda:inputOutput on service tasks -----------------------------------------------------------------

def test_a_worker_sees_the_input_parameters_and_the_output_parameters_apply_after_completion(
        api, start, fetch, complete):
    started = start(process(service_task('camunda:type="external" camunda:topic="payments"', IO)), {"amount": 3})
    (task,) = fetch()
    assert task["variables"] == {"amount": 3, "amountCents": 300, "currency": "EUR"}
    complete(task, {"receipt": "R-7"})
    after = instance(api, started["id"])
    assert after["status"] == "completed"
    assert after["data"]["receiptNo"] == "R-7"
    assert "amountCents" not in after["data"] and "currency" not in after["data"]  # local to the task


def test_a_topic_naming_its_variables_gets_the_input_parameters_it_names(start, fetch):
    start(process(service_task('camunda:type="external" camunda:topic="payments"', IO)), {"amount": 3})
    (task,) = fetch(variables=["amountCents"])
    assert task["variables"] == {"amountCents": 300}


def test_an_expression_service_task_reads_its_input_parameters_and_maps_its_result(api, start):
    io = """<camunda:inputOutput>
      <camunda:inputParameter name="rate">${2}</camunda:inputParameter>
      <camunda:outputParameter name="doubled">${total}</camunda:outputParameter>
    </camunda:inputOutput>"""
    started = start(process(service_task('camunda:expression="${amount * rate}" camunda:resultVariable="total"',
                                         io)), {"amount": 21})
    data = instance(api, started["id"])["data"]
    assert started["status"] == "completed" and data["doubled"] == 42 and "rate" not in data


@pytest.fixture
def charge_connector():
    connectors.connector("chargeMore", inputs={})(lambda context: "charged")
    yield
    connectors.REGISTRY.pop("chargeMore", None)


def test_a_delegate_service_task_applies_its_output_parameters(api, start, charge_connector):
    io = """<camunda:inputOutput>
      <camunda:outputParameter name="outcome">${charge}</camunda:outputParameter>
    </camunda:inputOutput>"""
    started = start(process(service_task('camunda:delegateExpression="${chargeMore}" camunda:resultVariable="charge"',
                                         io)))
    assert started["status"] == "completed"
    assert instance(api, started["id"])["data"]["outcome"] == "charged"


# -- multi-instance: each instance's own variables ------------------------------------------------------

def test_each_instance_of_a_multi_instance_external_task_shows_its_own_element_variable(
        api, start, fetch, complete):
    loop = ('<bpmn:multiInstanceLoopCharacteristics camunda:collection="${scores}" '
            'camunda:elementVariable="score"/>')
    service = ('<bpmn:serviceTask id="Pay" camunda:type="external" camunda:topic="payments">'
               f'<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>{loop}</bpmn:serviceTask>')
    started = start(process(service), {"scores": [9, 2, 7]})
    tasks = fetch()
    assert sorted(t["variables"]["score"] for t in tasks) == [2, 7, 9]
    assert all(t["variables"]["scores"] == [9, 2, 7] for t in tasks)
    for task in tasks:
        complete(task)
    assert instance(api, started["id"])["status"] == "completed"


# -- a called process of another file ---------------------------------------------------------------------

def test_an_external_task_in_a_process_called_from_another_file_is_fetched(api, deploy, fetch, complete):
    """Process a (a.bpmn) waits at a user task, then calls b (b.bpmn), which has an external task."""
    called = document("""
  <bpmn:process id="b" isExecutable="true">
    <bpmn:startEvent id="b_start"/>
    <bpmn:serviceTask id="B_pay" camunda:type="external" camunda:topic="payments"/>
    <bpmn:endEvent id="b_end"/>
    <bpmn:sequenceFlow id="b1" sourceRef="b_start" targetRef="B_pay"/>
    <bpmn:sequenceFlow id="b2" sourceRef="B_pay" targetRef="b_end"/>
  </bpmn:process>""")
    calling = document("""
  <bpmn:process id="a" isExecutable="true">
    <bpmn:startEvent id="a_start"/>
    <bpmn:userTask id="Before" name="Before"/>
    <bpmn:callActivity id="Call_b" calledElement="b"/>
    <bpmn:endEvent id="a_end"/>
    <bpmn:sequenceFlow id="a0" sourceRef="a_start" targetRef="Before"/>
    <bpmn:sequenceFlow id="a1" sourceRef="Before" targetRef="Call_b"/>
    <bpmn:sequenceFlow id="a2" sourceRef="Call_b" targetRef="a_end"/>
  </bpmn:process>""")
    deploy({"a.bpmn": calling, "b.bpmn": called})
    started = api("post", "/instances", "root", json={"process_id": "a", "data": {"order_no": "A1"}})
    assert started.status_code == 201, started.json
    assert fetch() == []  # A waits at its user task: its own version, which has no service task, saw no row
    (before,) = instance(api, started.json["id"])["open_tasks"]
    assert api("post", f"/tasks/{before['id']}/complete", "root", json={"data": {}}).status_code == 200
    (task,) = fetch()
    assert task["element_id"] == "B_pay" and task["instance_id"] == started.json["id"]
    assert task["variables"]["order_no"] == "A1"
    complete(task, {"paid": True})
    after = instance(api, started.json["id"])
    assert after["status"] == "completed" and after["data"]["paid"] is True


# -- history ------------------------------------------------------------------------------------------------

EXTERNAL = service_task('camunda:type="external" camunda:topic="payments"')


def test_history_records_what_workers_reported_with_their_worker_and_topic(api, start, fetch, complete, clock):
    started = start(process(EXTERNAL), {"amount": 3})
    (task,) = fetch()
    failed = api("post", f"/external-tasks/{task['id']}/failure", "ivan",
                 json={"worker_id": "w1", "error_message": "Bank offline", "retries": 2, "retry_timeout_ms": 0})
    assert failed.status_code == 200, failed.json
    (again,) = fetch()  # fetchable again (a retry left, no timeout); fetching is not recorded
    complete(again, {"paid": True})
    events = api("get", f"/instances/{started['id']}/history", "root").json
    reported = [e for e in events if e["type"].startswith("external_task_")]
    assert [e["type"] for e in reported] == ["external_task_failed", "external_task_completed"]
    assert all(e["element_id"] == "Pay" and e["actor"] == "ivan" for e in reported)
    assert reported[0]["data"] == {"worker_id": "w1", "topic": "payments", "external_task_id": task["id"],
                                   "error_message": "Bank offline", "retries": 2}
    assert reported[1]["data"]["worker_id"] == "w1" and reported[1]["data"]["variables"] == {"paid": True}
    assert [e["type"] for e in events].index("external_task_completed") < [e["type"] for e in events].index(
        "instance_completed")


def test_an_uncaught_bpmn_error_is_in_the_history_before_its_incident(api, start, fetch):
    started = start(process(EXTERNAL))
    (task,) = fetch()
    reply = api("post", f"/external-tasks/{task['id']}/bpmn-error", "ivan",
                json={"worker_id": "w1", "error_code": "CARD_DECLINED", "error_message": "Declined"})
    assert reply.status_code == 200, reply.json
    types = [e["type"] for e in api("get", f"/instances/{started['id']}/history", "root").json]
    assert "external_task_bpmn_error" in types and "incident_opened" in types
    assert types.index("external_task_bpmn_error") < types.index("incident_opened")
    event = next(e for e in api("get", f"/instances/{started['id']}/history", "root").json
                 if e["type"] == "external_task_bpmn_error")
    assert event["data"]["error_code"] == "CARD_DECLINED" and event["data"]["worker_id"] == "w1"


def test_the_timeline_page_shows_the_worker_and_what_it_reported(start, fetch, complete, browser_as):
    started = start(process(EXTERNAL))
    (task,) = fetch()
    complete(task, {"paid": True})
    page = browser_as("root").get(f"/audit/instances/{started['id']}").get_data(as_text=True)
    assert "外部任务已完成" in page and "工作者" in page and "w1" in page and "payments" in page


# -- one lock order, no report on a task that no longer waits, the workflow cache kept ----------------------

@pytest.fixture
def lock_order(monkeypatch):
    """The locks the commands take, in order: "instance" (its row) and "task" (the external task's row)."""
    taken: list[str] = []
    lock_instance, locked_by = workflows.lock_instance, row_module.locked_by

    def instance_lock(session, instance_id):
        taken.append("instance")
        return lock_instance(session, instance_id)

    def task_lock(session, task_id, worker_id, live=False):
        taken.append("task")
        return locked_by(session, task_id, worker_id, live)

    monkeypatch.setattr(workflows, "lock_instance", instance_lock)
    monkeypatch.setattr(row_module, "locked_by", task_lock)
    return taken


@pytest.mark.parametrize("report, body", [
    ("complete", {"variables": {"paid": True}}),
    ("failure", {"error_message": "Bank offline", "retries": 0}),
    ("bpmn-error", {"error_code": "CARD_DECLINED"}),
])
def test_a_report_locks_the_instance_before_the_task_as_every_step_does(api, start, fetch, lock_order, report, body):
    start(process(EXTERNAL))
    (task,) = fetch()
    lock_order.clear()
    reply = api("post", f"/external-tasks/{task['id']}/{report}", "ivan", json={"worker_id": "w1", **body})
    assert reply.status_code == 200, reply.json
    assert lock_order[:2] == ["instance", "task"]
    assert "task" not in lock_order[2:]


def test_completing_a_task_that_no_longer_waits_is_a_conflict_and_records_nothing(api, start, fetch, db_session):
    started = start(process(EXTERNAL))
    (task,) = fetch()
    db_session.execute(update(ExternalTask).where(ExternalTask.id == task["id"])  # its workflow moved on
                       .values(engine_task_id="00000000-0000-0000-0000-000000000000"))
    db_session.commit()
    reply = api("post", f"/external-tasks/{task['id']}/complete", "ivan", json={"worker_id": "w1"})
    assert reply.status_code == 409, reply.json
    assert "no longer waits" in reply.json["message"] and "fetch and lock again" in reply.json["message"].lower()
    types = [e["type"] for e in api("get", f"/instances/{started['id']}/history", "root").json]
    assert "external_task_completed" not in types
    assert instance(api, started["id"])["status"] == "running"


def test_fetching_keeps_the_cached_workflow_of_the_instance(api, start, fetch, complete, monkeypatch):
    started = start(process(EXTERNAL), {"amount": 3})
    cached = [key for key in workflows._cache if key[1] == started["id"]]
    assert cached
    (task,) = fetch()
    assert task["variables"] == {"amount": 3}
    assert [key for key in workflows._cache if key[1] == started["id"]] == cached
    loads = []
    monkeypatch.setattr(workflows.spiff, "load_state", lambda *a, **k: loads.append(a) or pytest.fail("reloaded"))
    complete(task, {"paid": True})
    assert not loads and instance(api, started["id"])["status"] == "completed"
