"""Event subprocesses as Camunda 7 runs them (issue 13, item 4), through the REST API: an interrupting
event subprocess (``isInterrupting="true"``, the default) started by a message, a signal, a timer or an
error cancels every other activity of its scope (user tasks, timers, message waits) and the scope ends
when the event subprocess ends; a non-interrupting one runs beside the main path."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from engine import scheduler
from engine.models import HumanTask, Timer

HEAD = '''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D_{pid}" targetNamespace="http://liucheng.example/tests">
<bpmn:message id="M_cancel" name="cancel_order"/><bpmn:message id="M_other" name="other"/>
<bpmn:signal id="S_recall" name="recall"/><bpmn:error id="E_bad" errorCode="bad"/>
<bpmn:process id="{pid}" isExecutable="true">
{body}
</bpmn:process>
</bpmn:definitions>'''

MAIN = '''<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="split"/>
<bpmn:parallelGateway id="split"/>
<bpmn:sequenceFlow id="fa" sourceRef="split" targetRef="work"/><bpmn:sequenceFlow id="fb" sourceRef="split" targetRef="wait"/>
<bpmn:userTask id="work"/><bpmn:sequenceFlow id="fa2" sourceRef="work" targetRef="ea"/><bpmn:endEvent id="ea"/>
<bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="M_other"/></bpmn:intermediateCatchEvent>
<bpmn:sequenceFlow id="fb2" sourceRef="wait" targetRef="eb"/><bpmn:endEvent id="eb"/>
<bpmn:boundaryEvent id="deadline" attachedToRef="work">
  <bpmn:timerEventDefinition><bpmn:timeDuration>P3D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
<bpmn:sequenceFlow id="fd" sourceRef="deadline" targetRef="ed"/><bpmn:endEvent id="ed"/>'''

EVENT_SUBPROCESS = '''<bpmn:subProcess id="handler" triggeredByEvent="true">
  <bpmn:startEvent id="es" {interrupting}>{definition}</bpmn:startEvent>
  <bpmn:sequenceFlow id="ef1" sourceRef="es" targetRef="handle"/><bpmn:userTask id="handle"/>
  <bpmn:sequenceFlow id="ef2" sourceRef="handle" targetRef="ee"/><bpmn:endEvent id="ee"/>
</bpmn:subProcess>'''

MESSAGE = '<bpmn:messageEventDefinition messageRef="M_cancel"/>'
SIGNAL = '<bpmn:signalEventDefinition signalRef="S_recall"/>'
TIMER = '<bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>'
ERROR = '<bpmn:errorEventDefinition errorRef="E_bad"/>'

FAILING_MAIN = '''<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="split"/>
<bpmn:parallelGateway id="split"/>
<bpmn:sequenceFlow id="fa" sourceRef="split" targetRef="work"/><bpmn:sequenceFlow id="fb" sourceRef="split" targetRef="check"/>
<bpmn:userTask id="work"/><bpmn:sequenceFlow id="fa2" sourceRef="work" targetRef="ea"/><bpmn:endEvent id="ea"/>
<bpmn:userTask id="check"/><bpmn:sequenceFlow id="fb2" sourceRef="check" targetRef="eb"/>
<bpmn:endEvent id="eb"><bpmn:errorEventDefinition errorRef="E_bad"/></bpmn:endEvent>'''


@pytest.fixture
def database(app):
    return app.extensions["liucheng_db"]


@pytest.fixture
def people(make_user):
    make_user("shop", "integrator")
    make_user("root", "admin")


@pytest.fixture
def model(deploy, tmp_path, people, clock):
    """``model(pid, definition, interrupting=True, main=MAIN)`` deploys the main path with one event
    subprocess started by ``definition``."""
    def write(pid: str, definition: str, interrupting: bool = True, main: str = MAIN) -> Path:
        flag = "" if interrupting else 'isInterrupting="false"'
        body = main + EVENT_SUBPROCESS.format(interrupting=flag, definition=definition)
        path = tmp_path / f"{pid}.bpmn"
        path.write_text(HEAD.format(pid=pid, body=body), encoding="utf-8")
        deploy(path)
        return path
    return write


def start(api, process_id: str) -> int:
    response = api("post", "/instances", json={"process_id": process_id, "data": {}})
    assert response.status_code == 201, response.json
    return response.json["id"]


def view(api, instance_id: int) -> dict:
    response = api("get", f"/instances/{instance_id}")
    assert response.status_code == 200, response.json
    return response.json


def open_elements(api, instance_id: int) -> list[str]:
    return sorted(t["element_id"] for t in view(api, instance_id)["open_tasks"])


def complete(api, instance_id: int, element_id: str, data: dict | None = None) -> None:
    [task] = [t for t in view(api, instance_id)["open_tasks"] if t["element_id"] == element_id]
    if task["status"] == "open":
        claimed = api("post", f"/tasks/{task['id']}/claim")
        assert claimed.status_code == 200, claimed.json
    response = api("post", f"/tasks/{task['id']}/complete", json={"data": data or {}})
    assert response.status_code == 200, response.json


def history(api, instance_id: int, type_: str) -> list[str]:
    return [e["element_id"] for e in api("get", f"/instances/{instance_id}/history").json if e["type"] == type_]


def task_status(database, instance_id: int, element_id: str) -> str:
    with database.session() as session:
        return session.scalar(select(HumanTask.status).where(HumanTask.instance_id == instance_id,
                                                             HumanTask.element_id == element_id))


def waiting_timers(database, instance_id: int) -> list[str]:
    with database.session() as session:
        return sorted(session.scalars(select(Timer.element_id).where(Timer.instance_id == instance_id,
                                                                     Timer.status == "waiting")))


def send(api, name: str):
    return api("post", "/messages", "shop", json={"name": name, "correlation": {}, "data": {"why": name}})


def signal(api, name: str):
    return api("post", "/signals", "shop", json={"name": name, "variables": {"why": name}})


def assert_main_path_cancelled(api, database, instance_id: int) -> None:
    assert open_elements(api, instance_id) == ["handle"]
    assert task_status(database, instance_id, "work") == "cancelled"
    assert "work" in history(api, instance_id, "task_cancelled")
    assert "deadline" not in waiting_timers(database, instance_id)
    assert view(api, instance_id)["status"] == "running"


def assert_ends_with_the_event_subprocess(api, database, instance_id: int) -> None:
    complete(api, instance_id, "handle")
    assert view(api, instance_id)["status"] == "completed"
    assert open_elements(api, instance_id) == []
    assert waiting_timers(database, instance_id) == []


def test_an_interrupting_message_event_subprocess_cancels_the_main_path(api, model, database):
    model("msg_interrupt", MESSAGE)
    instance_id = start(api, "msg_interrupt")
    assert open_elements(api, instance_id) == ["work"]

    reply = send(api, "cancel_order")

    assert reply.status_code == 200, reply.json
    assert_main_path_cancelled(api, database, instance_id)
    assert view(api, instance_id)["data"]["why"] == "cancel_order"
    assert send(api, "other").status_code == 202  # the main path's message wait is gone too: kept, not delivered
    assert_ends_with_the_event_subprocess(api, database, instance_id)


def test_an_interrupting_event_subprocess_fires_once(api, model, database):
    model("msg_once", MESSAGE)
    instance_id = start(api, "msg_once")
    assert send(api, "cancel_order").status_code == 200

    again = send(api, "cancel_order")  # its scope is interrupted: no subscription left, so nobody takes it
    assert again.status_code == 202 and again.json["status"] == "kept", again.json

    assert open_elements(api, instance_id) == ["handle"]


def test_an_interrupting_signal_event_subprocess_cancels_the_main_path(api, model, database):
    model("sig_interrupt", SIGNAL)
    instance_id = start(api, "sig_interrupt")

    reply = signal(api, "recall")

    assert reply.status_code == 200, reply.json
    assert reply.json["instance_ids"] == [instance_id]
    assert_main_path_cancelled(api, database, instance_id)
    assert_ends_with_the_event_subprocess(api, database, instance_id)


def test_an_interrupting_timer_event_subprocess_cancels_the_main_path(api, model, database, clock):
    model("timer_interrupt", TIMER)
    instance_id = start(api, "timer_interrupt")
    assert open_elements(api, instance_id) == ["work"]
    assert waiting_timers(database, instance_id) == ["deadline", "es"]

    clock.advance(hours=1, seconds=1)
    assert scheduler.tick(database) == 1

    assert_main_path_cancelled(api, database, instance_id)
    assert_ends_with_the_event_subprocess(api, database, instance_id)


def test_an_error_event_subprocess_cancels_the_rest_of_its_scope(api, model, database):
    model("error_interrupt", ERROR, main=FAILING_MAIN)
    instance_id = start(api, "error_interrupt")
    assert open_elements(api, instance_id) == ["check", "work"]

    complete(api, instance_id, "check")  # its path ends with an error end event

    assert open_elements(api, instance_id) == ["handle"]
    assert task_status(database, instance_id, "work") == "cancelled"
    complete(api, instance_id, "handle")
    assert view(api, instance_id)["status"] == "completed"


def test_a_non_interrupting_message_event_subprocess_keeps_the_main_path(api, model, database):
    model("msg_beside", MESSAGE, interrupting=False)
    instance_id = start(api, "msg_beside")

    assert send(api, "cancel_order").status_code == 200

    assert open_elements(api, instance_id) == ["handle", "work"]
    complete(api, instance_id, "handle")
    assert open_elements(api, instance_id) == ["work"]
    assert view(api, instance_id)["status"] == "running"
    assert task_status(database, instance_id, "work") != "cancelled"


def test_a_non_interrupting_signal_event_subprocess_keeps_the_main_path(api, model):
    model("sig_beside", SIGNAL, interrupting=False)
    instance_id = start(api, "sig_beside")

    assert signal(api, "recall").status_code == 200

    assert open_elements(api, instance_id) == ["handle", "work"]


def test_a_non_interrupting_timer_event_subprocess_keeps_the_main_path(api, model, database, clock):
    model("timer_beside", TIMER, interrupting=False)
    instance_id = start(api, "timer_beside")

    clock.advance(hours=1, seconds=1)
    assert scheduler.tick(database) == 1

    assert open_elements(api, instance_id) == ["handle", "work"]
    assert waiting_timers(database, instance_id) == ["deadline"]
