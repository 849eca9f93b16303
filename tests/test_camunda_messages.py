"""Messages as Camunda 7 correlates them (issue 13, item 4), through ``POST /api/v1/messages``:
standard BPMN correlation properties, one catch event per message (409 when several wait, or
``"all": true``), business keys, non-interrupting message events that fire again, message starts."""
from __future__ import annotations

from pathlib import Path

import pytest

HEAD = '''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:tns="http://liucheng.example/tests"
    id="D_{pid}" targetNamespace="http://liucheng.example/tests">
{extra}
<bpmn:process id="{pid}" isExecutable="true">
{body}
</bpmn:process>
</bpmn:definitions>'''

PAYMENT = '<bpmn:message id="M_pay" name="payment"/>'
CORRELATED_PAYMENT = PAYMENT + '''
<bpmn:collaboration id="col"><bpmn:participant id="pp" processRef="{pid}"/>
  <bpmn:correlationKey id="ck_order" name="order"><bpmn:correlationPropertyRef>cp_order</bpmn:correlationPropertyRef>
  </bpmn:correlationKey></bpmn:collaboration>
<bpmn:correlationProperty id="cp_order" name="order id">
  <bpmn:correlationPropertyRetrievalExpression messageRef="M_pay">
    <bpmn:messagePath>order_no</bpmn:messagePath></bpmn:correlationPropertyRetrievalExpression>
</bpmn:correlationProperty>'''
WAIT_THEN_TASK = '''<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="c"/>
<bpmn:intermediateCatchEvent id="c"><bpmn:messageEventDefinition messageRef="M_pay"/></bpmn:intermediateCatchEvent>
<bpmn:sequenceFlow id="f2" sourceRef="c" targetRef="t"/><bpmn:userTask id="t"/>
<bpmn:sequenceFlow id="f3" sourceRef="t" targetRef="e"/><bpmn:endEvent id="e"/>'''
TWO_WAITING = '''<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="split"/>
<bpmn:parallelGateway id="split"/>
<bpmn:sequenceFlow id="fa" sourceRef="split" targetRef="ca"/><bpmn:sequenceFlow id="fb" sourceRef="split" targetRef="cb"/>
<bpmn:intermediateCatchEvent id="ca"><bpmn:messageEventDefinition messageRef="M_pay"/></bpmn:intermediateCatchEvent>
<bpmn:intermediateCatchEvent id="cb"><bpmn:messageEventDefinition messageRef="M_pay"/></bpmn:intermediateCatchEvent>
<bpmn:sequenceFlow id="fa2" sourceRef="ca" targetRef="ta"/><bpmn:sequenceFlow id="fb2" sourceRef="cb" targetRef="tb"/>
<bpmn:userTask id="ta"/><bpmn:userTask id="tb"/>
<bpmn:sequenceFlow id="fa3" sourceRef="ta" targetRef="ea"/><bpmn:sequenceFlow id="fb3" sourceRef="tb" targetRef="eb"/>
<bpmn:endEvent id="ea"/><bpmn:endEvent id="eb"/>'''


@pytest.fixture
def people(make_user):
    make_user("shop", "integrator")
    make_user("root", "admin")


@pytest.fixture
def model(deploy, tmp_path, people, clock):
    """``model("pid", body, extra)`` deploys one process written in a few lines."""
    def write(pid: str, body: str, extra: str = "") -> Path:
        path = tmp_path / f"{pid}.bpmn"
        path.write_text(HEAD.format(pid=pid, body=body, extra=extra.format(pid=pid)), encoding="utf-8")
        deploy(path)
        return path
    return write


def start(api, process_id: str, data: dict | None = None) -> int:
    body = {"process_id": process_id, "data": data or {}}
    response = api("post", "/instances", json=body)
    assert response.status_code == 201, response.json
    return response.json["id"]


def send(api, name, correlation=None, data=None, **more):
    return api("post", "/messages", "shop", json={"name": name, "correlation": correlation or {},
                                                  "data": data or {}, **more})


def open_elements(api, instance_id: int) -> list[str]:
    return sorted(t["element_id"] for t in api("get", f"/instances/{instance_id}").json["open_tasks"])


def status(api, instance_id: int) -> str:
    return api("get", f"/instances/{instance_id}").json["status"]


# -- standard BPMN correlation -------------------------------------------------------------------

def test_a_correlation_property_value_reaches_the_instance_whose_data_retrieves_it(api, model):
    model("cp_wait", WAIT_THEN_TASK, CORRELATED_PAYMENT)
    first, second = start(api, "cp_wait", {"order_no": "A1"}), start(api, "cp_wait", {"order_no": "A2"})

    reply = send(api, "payment", {"cp_order": "A2"}, {"paid": True})

    assert reply.status_code == 200, reply.json
    assert reply.json["instance_ids"] == [second]
    assert open_elements(api, second) == ["t"] and status(api, second) == "running"
    assert open_elements(api, first) == []
    assert api("get", f"/instances/{second}").json["data"]["paid"] is True


def test_a_message_carrying_the_retrieved_variable_correlates_through_the_property(api, model):
    model("cp_wait", WAIT_THEN_TASK, CORRELATED_PAYMENT)
    first, second = start(api, "cp_wait", {"order_no": "A1"}), start(api, "cp_wait", {"order_no": "A2"})

    reply = send(api, "payment", {}, {"order_no": "A1"})

    assert reply.status_code == 200, reply.json
    assert reply.json["instance_ids"] == [first]
    assert open_elements(api, first) == ["t"] and open_elements(api, second) == []


def test_a_correlation_property_value_no_instance_has_is_kept(api, model):
    model("cp_wait", WAIT_THEN_TASK, CORRELATED_PAYMENT)
    waiting = start(api, "cp_wait", {"order_no": "A1"})

    reply = send(api, "payment", {"cp_order": "Z9"})

    assert reply.status_code == 202, reply.json
    assert reply.json["status"] == "kept"
    assert open_elements(api, waiting) == [] and status(api, waiting) == "running"


def test_a_kept_correlation_property_message_reaches_the_instance_that_later_waits_for_it(api, model):
    model("cp_wait", WAIT_THEN_TASK, CORRELATED_PAYMENT)
    assert send(api, "payment", {"cp_order": "A5"}, {"paid": True}).status_code == 202

    other, waiting = start(api, "cp_wait", {"order_no": "A4"}), start(api, "cp_wait", {"order_no": "A5"})

    assert open_elements(api, other) == []
    assert open_elements(api, waiting) == ["t"]


def test_camunda_style_correlation_by_process_variable_still_works(api, model):
    model("plain_wait", WAIT_THEN_TASK, PAYMENT)
    first, second = start(api, "plain_wait", {"order_no": "A1"}), start(api, "plain_wait", {"order_no": "A2"})

    reply = send(api, "payment", {"order_no": "A2"})

    assert reply.json["instance_ids"] == [second]
    assert open_elements(api, second) == ["t"] and open_elements(api, first) == []


def test_business_key_narrows_the_instances_a_message_reaches(api, model):
    model("plain_wait", WAIT_THEN_TASK, PAYMENT)
    first = start(api, "plain_wait", {"po_no": "PO-1"})  # the instance's business key (Liucheng: its key field)
    second = start(api, "plain_wait", {"po_no": "PO-2"})

    reply = send(api, "payment", {}, business_key="PO-2")

    assert reply.status_code == 200, reply.json
    assert reply.json["instance_ids"] == [second]
    assert open_elements(api, first) == []


# -- one catch event per message ----------------------------------------------------------------

def test_a_message_several_catch_events_of_an_instance_wait_for_is_a_conflict(api, model):
    model("two_wait", TWO_WAITING, PAYMENT)
    instance_id = start(api, "two_wait")

    reply = send(api, "payment")

    assert reply.status_code == 409, reply.json
    assert sorted(reply.json["details"]["elements"]) == ["ca", "cb"]
    assert "all" in reply.json["message"]
    assert open_elements(api, instance_id) == []


def test_a_message_sent_with_all_reaches_every_waiting_catch_event(api, model):
    model("two_wait", TWO_WAITING, PAYMENT)
    instance_id = start(api, "two_wait")

    reply = send(api, "payment", all=True)

    assert reply.status_code == 200, reply.json
    assert open_elements(api, instance_id) == ["ta", "tb"]


def test_a_thrown_message_reaches_one_catch_event_of_the_instance(api, model):
    model("two_wait", TWO_WAITING, PAYMENT)
    model("payer", '''<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="throw"/>
<bpmn:intermediateThrowEvent id="throw"><bpmn:messageEventDefinition messageRef="M_pay"/></bpmn:intermediateThrowEvent>
<bpmn:sequenceFlow id="f2" sourceRef="throw" targetRef="e"/><bpmn:endEvent id="e"/>''', PAYMENT)
    waiting = start(api, "two_wait")

    start(api, "payer")

    assert len(open_elements(api, waiting)) == 1
    send(api, "payment")  # the other one still waits, alone now: no conflict
    assert open_elements(api, waiting) == ["ta", "tb"]


# -- non-interrupting message events fire again ------------------------------------------------------

NON_INTERRUPTING_BOUNDARY = '''<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
<bpmn:userTask id="work"/><bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="e"/><bpmn:endEvent id="e"/>
<bpmn:boundaryEvent id="b" attachedToRef="work" cancelActivity="false">
  <bpmn:messageEventDefinition messageRef="M_pay"/></bpmn:boundaryEvent>
<bpmn:sequenceFlow id="fb" sourceRef="b" targetRef="note"/><bpmn:userTask id="note"/>
<bpmn:sequenceFlow id="fn" sourceRef="note" targetRef="en"/><bpmn:endEvent id="en"/>'''

EVENT_SUBPROCESS = '''<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
<bpmn:userTask id="work"/><bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="e"/><bpmn:endEvent id="e"/>
<bpmn:subProcess id="on_payment" triggeredByEvent="true">
  <bpmn:startEvent id="es" isInterrupting="false"><bpmn:messageEventDefinition messageRef="M_pay"/></bpmn:startEvent>
  <bpmn:sequenceFlow id="ef1" sourceRef="es" targetRef="note"/><bpmn:userTask id="note"/>
  <bpmn:sequenceFlow id="ef2" sourceRef="note" targetRef="ee"/><bpmn:endEvent id="ee"/>
</bpmn:subProcess>'''


def test_a_non_interrupting_message_boundary_event_fires_again_on_the_next_message(api, model):
    model("ni_boundary", NON_INTERRUPTING_BOUNDARY, PAYMENT)
    instance_id = start(api, "ni_boundary")

    assert send(api, "payment").status_code == 200
    assert send(api, "payment").status_code == 200

    assert open_elements(api, instance_id) == ["note", "note", "work"]


def test_a_non_interrupting_message_event_subprocess_subscribes_and_fires_again(api, model):
    model("ni_subprocess", EVENT_SUBPROCESS, PAYMENT)
    instance_id = start(api, "ni_subprocess")

    first, second = send(api, "payment"), send(api, "payment")

    assert first.status_code == 200, first.json
    assert second.status_code == 200, second.json
    assert open_elements(api, instance_id) == ["note", "note", "work"]


# -- message starts ----------------------------------------------------------------------------

MESSAGE_START_ONLY = '''<bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="tns:M_order"/></bpmn:startEvent>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/><bpmn:userTask id="t"/>
<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/><bpmn:endEvent id="e"/>'''


def test_a_message_ref_with_a_namespace_prefix_starts_its_process(api, model):
    model("by_message", MESSAGE_START_ONLY, '<bpmn:message id="M_order" name="order_placed"/>')

    reply = send(api, "order_placed", {}, {"order_no": "A7"})

    assert reply.status_code == 201, reply.json
    [instance_id] = reply.json["instance_ids"]
    assert open_elements(api, instance_id) == ["t"]


def test_a_process_whose_only_start_is_a_message_start_starts_by_key(api, model):
    model("by_message", MESSAGE_START_ONLY, '<bpmn:message id="M_order" name="order_placed"/>')

    instance_id = start(api, "by_message", {"order_no": "A8"})

    assert open_elements(api, instance_id) == ["t"]
