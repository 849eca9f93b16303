"""Signals as Camunda 7 broadcasts them (issue 13, item 4), through ``POST /api/v1/signals``: every
waiting signal catch event of every instance takes one, signal start events start instances, a
signal thrown by one instance reaches the others in the same command; integrators and admins only. History
has ``signal_received`` and ``signal_sent`` events; a broadcast locks only the instances waiting for it."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.runtime import workflows
from web_support import browser_as, web  # noqa: F401 (fixtures)

HEAD = '''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D_{pid}" targetNamespace="http://liucheng.example/tests">
<bpmn:signal id="S_recall" name="recall"/>
<bpmn:process id="{pid}" isExecutable="true">
{body}
</bpmn:process>
</bpmn:definitions>'''

WAIT_FOR_RECALL = '''<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="c"/>
<bpmn:intermediateCatchEvent id="c"><bpmn:signalEventDefinition signalRef="S_recall"/></bpmn:intermediateCatchEvent>
<bpmn:sequenceFlow id="f2" sourceRef="c" targetRef="t"/><bpmn:userTask id="t"/>
<bpmn:sequenceFlow id="f3" sourceRef="t" targetRef="e"/><bpmn:endEvent id="e"/>'''

BOUNDARY_RECALL = '''<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
<bpmn:userTask id="work"/><bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="e"/><bpmn:endEvent id="e"/>
<bpmn:boundaryEvent id="b" attachedToRef="work"><bpmn:signalEventDefinition signalRef="S_recall"/></bpmn:boundaryEvent>
<bpmn:sequenceFlow id="fb" sourceRef="b" targetRef="recalled"/><bpmn:userTask id="recalled"/>
<bpmn:sequenceFlow id="fr" sourceRef="recalled" targetRef="er"/><bpmn:endEvent id="er"/>'''

STARTED_BY_RECALL = '''<bpmn:startEvent id="s"><bpmn:signalEventDefinition signalRef="S_recall"/></bpmn:startEvent>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/><bpmn:userTask id="t"/>
<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/><bpmn:endEvent id="e"/>'''

THROW_RECALL = '''<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="throw"/>
<bpmn:intermediateThrowEvent id="throw"><bpmn:signalEventDefinition signalRef="S_recall"/></bpmn:intermediateThrowEvent>
<bpmn:sequenceFlow id="f2" sourceRef="throw" targetRef="t"/><bpmn:userTask id="t"/>
<bpmn:sequenceFlow id="f3" sourceRef="t" targetRef="e"/><bpmn:endEvent id="e"/>'''

END_THROW_RECALL = '''<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="e"/>
<bpmn:endEvent id="e"><bpmn:signalEventDefinition signalRef="S_recall"/></bpmn:endEvent>'''


SIGNAL_EVENT_SUBPROCESS = '''<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
<bpmn:userTask id="work"/><bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="e"/><bpmn:endEvent id="e"/>
<bpmn:subProcess id="on_recall" triggeredByEvent="true">
  <bpmn:startEvent id="es" isInterrupting="false"><bpmn:signalEventDefinition signalRef="S_recall"/></bpmn:startEvent>
  <bpmn:sequenceFlow id="ef1" sourceRef="es" targetRef="check"/><bpmn:userTask id="check"/>
  <bpmn:sequenceFlow id="ef2" sourceRef="check" targetRef="ee"/><bpmn:endEvent id="ee"/>
</bpmn:subProcess>'''


@pytest.fixture
def people(make_user):
    make_user("shop", "integrator")
    make_user("root", "admin")
    make_user("chen", "aftersales_cs")


@pytest.fixture
def model(deploy, tmp_path, people, clock):
    def write(pid: str, body: str) -> Path:
        path = tmp_path / f"{pid}.bpmn"
        path.write_text(HEAD.format(pid=pid, body=body), encoding="utf-8")
        deploy(path)
        return path
    return write


def start(api, process_id: str, data: dict | None = None) -> int:
    response = api("post", "/instances", json={"process_id": process_id, "data": data or {}})
    assert response.status_code == 201, response.json
    return response.json["id"]


def signal(api, name, variables=None, user="shop"):
    return api("post", "/signals", user, json={"name": name, "variables": variables or {}})


def instances(api) -> list[dict]:
    listed = api("get", "/instances").json
    return listed["items"] if isinstance(listed, dict) else listed


def open_elements(api, instance_id: int) -> list[str]:
    return sorted(t["element_id"] for t in api("get", f"/instances/{instance_id}").json["open_tasks"])


def test_a_signal_reaches_every_waiting_instance(api, model):
    model("wait_recall", WAIT_FOR_RECALL)
    first, second = start(api, "wait_recall"), start(api, "wait_recall")

    reply = signal(api, "recall", {"reason": "batch 7"})

    assert reply.status_code == 200, reply.json
    assert sorted(reply.json["instance_ids"]) == [first, second]
    for instance_id in (first, second):
        assert open_elements(api, instance_id) == ["t"]
        assert api("get", f"/instances/{instance_id}").json["data"]["reason"] == "batch 7"


def test_a_signal_boundary_event_interrupts_the_task_it_is_attached_to(api, model):
    model("boundary_recall", BOUNDARY_RECALL)
    instance_id = start(api, "boundary_recall")

    assert signal(api, "recall").status_code == 200

    assert open_elements(api, instance_id) == ["recalled"]


def test_a_signal_start_event_starts_an_instance(api, model):
    model("started_by_recall", STARTED_BY_RECALL)

    reply = signal(api, "recall", {"batch": 7})

    assert reply.status_code == 200, reply.json
    [instance_id] = reply.json["started_instance_ids"]
    assert open_elements(api, instance_id) == ["t"]
    assert api("get", f"/instances/{instance_id}").json["data"]["batch"] == 7


def test_a_signal_nobody_waits_for_reaches_nothing_and_is_not_kept(api, model):
    model("wait_recall", WAIT_FOR_RECALL)

    reply = signal(api, "other")

    assert reply.status_code == 200
    assert reply.json["instance_ids"] == [] and reply.json["started_instance_ids"] == []
    waiting = start(api, "wait_recall")
    assert open_elements(api, waiting) == []


def test_an_intermediate_signal_throw_event_reaches_other_instances(api, model):
    model("wait_recall", WAIT_FOR_RECALL)
    model("throw_recall", THROW_RECALL)
    waiting = start(api, "wait_recall")

    thrower = start(api, "throw_recall")

    assert open_elements(api, waiting) == ["t"]
    assert open_elements(api, thrower) == ["t"]


def test_an_end_signal_event_reaches_other_instances_and_starts_processes(api, model):
    model("wait_recall", WAIT_FOR_RECALL)
    model("started_by_recall", STARTED_BY_RECALL)
    model("end_recall", END_THROW_RECALL)
    waiting = start(api, "wait_recall")

    start(api, "end_recall")

    assert open_elements(api, waiting) == ["t"]
    assert [i["process_id"] for i in instances(api)].count("started_by_recall") == 1


def test_only_integrators_and_admins_send_signals(api, model):
    model("wait_recall", WAIT_FOR_RECALL)
    waiting = start(api, "wait_recall")

    refused = signal(api, "recall", user="chen")

    assert refused.status_code == 403
    assert open_elements(api, waiting) == []
    assert signal(api, "recall", user="root").status_code == 200
    assert open_elements(api, waiting) == ["t"]


def test_a_signal_without_a_name_is_a_bad_request(api, model):
    response = api("post", "/signals", "shop", json={"variables": {}})

    assert response.status_code == 400


def test_a_signal_starts_an_event_subprocess_of_each_running_instance(api, model):
    model("recall_subprocess", SIGNAL_EVENT_SUBPROCESS)
    first, second = start(api, "recall_subprocess"), start(api, "recall_subprocess")

    reply = signal(api, "recall")

    assert sorted(reply.json["instance_ids"]) == [first, second]
    assert open_elements(api, first) == ["check", "work"]
    assert open_elements(api, second) == ["check", "work"]


def test_history_records_a_signal_received_and_a_signal_sent_labelled_on_the_timeline(api, model, browser_as):
    model("waiter", WAIT_FOR_RECALL)
    model("thrower", THROW_RECALL)
    waiter = start(api, "waiter")
    thrower = start(api, "thrower")
    received = [e for e in api("get", f"/instances/{waiter}/history", "root").json if e["type"] == "signal_received"]
    assert [e["data"] for e in received] == [{"name": "recall", "data": {}}]
    sent = [e for e in api("get", f"/instances/{thrower}/history", "root").json if e["type"] == "signal_sent"]
    assert [(e["data"]["name"], e["data"]["instance_ids"]) for e in sent] == [("recall", [waiter])]
    types = {e["type"] for i in (waiter, thrower) for e in api("get", f"/instances/{i}/history", "root").json}
    assert not types & {"message_correlated", "message_sent"}
    browser = browser_as("root")
    assert "收到信号" in browser.get(f"/audit/instances/{waiter}").get_data(as_text=True)
    assert "发出信号" in browser.get(f"/audit/instances/{thrower}").get_data(as_text=True)


def test_a_signal_locks_only_the_instances_waiting_for_it(api, model, monkeypatch):
    model("waiter", WAIT_FOR_RECALL)
    model("worker", BOUNDARY_RECALL)
    first, second = start(api, "waiter"), start(api, "waiter")
    moved_on = start(api, "worker")
    assert signal(api, "recall").status_code == 200  # moved_on's boundary event took it: it waits no more
    third = start(api, "waiter")
    locked: list[int] = []
    lock_instance = workflows.lock_instance
    monkeypatch.setattr(workflows, "lock_instance", lambda session, iid: locked.append(iid) or lock_instance(
        session, iid))
    reply = signal(api, "recall")
    assert reply.status_code == 200, reply.json
    assert reply.json["instance_ids"] == [third]
    assert set(locked) == {third} and moved_on not in locked and first not in locked and second not in locked
