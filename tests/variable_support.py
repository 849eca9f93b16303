"""Variable history (issue 15 item 5): the model the variable tests share (a start form, a script, a task form,
a message, an external task and a closing task), the people, the instance at its first task or at Close, and the
calls that read its history back. Used by tests/test_variable_history.py and tests/test_variable_edit.py; no
tests here."""
from __future__ import annotations

import copy

import pytest
from sqlalchemy import select

from engine import history, runtime, users, variable_history
from engine.models import HistoryEvent, HumanTask

CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
MODEL = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" {CAMUNDA} id="d"
    targetNamespace="http://example.com/vh">
  <bpmn:message id="M_paid" name="vh_paid"/>
  <bpmn:process id="vh" name="Variable history" isExecutable="true">
    <bpmn:startEvent id="Start" name="Request" camunda:formKey="vh_start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="Start" targetRef="Calc"/>
    <bpmn:scriptTask id="Calc" name="Work out the total" scriptFormat="python"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>total = amount * 2
items = items + ["checked"]</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="Calc" targetRef="Review"/>
    <bpmn:userTask id="Review" name="Review" camunda:formKey="vh_review" camunda:candidateGroups="warehouse">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="Review" targetRef="Paid"/>
    <bpmn:intermediateCatchEvent id="Paid" name="Paid"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="M_paid"/></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="Paid" targetRef="Ship"/>
    <bpmn:serviceTask id="Ship" name="Ship" camunda:type="external" camunda:topic="shipping">
      <bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:sequenceFlow id="f5" sourceRef="Ship" targetRef="Close"/>
    <bpmn:userTask id="Close" name="Close" camunda:formKey="vh_close" camunda:candidateGroups="warehouse">
      <bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing></bpmn:userTask>
    <bpmn:sequenceFlow id="f6" sourceRef="Close" targetRef="End"/>
    <bpmn:endEvent id="End"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""
FORMS = {
    "vh_start.json": {"id": "vh_start", "title": {"zh": "申请", "en": "Request"}, "fields": [
        {"name": "order_no", "type": "str", "label": {"zh": "订单号", "en": "Order no."}, "required": True},
        {"name": "amount", "type": "decimal", "label": {"zh": "金额", "en": "Amount"}, "required": True, "min": 0},
        {"name": "items", "type": "list", "item_type": "str", "label": {"zh": "货品", "en": "Items"}}]},
    "vh_review.json": {"id": "vh_review", "title": {"zh": "审核", "en": "Review"}, "fields": [
        {"name": "approved", "type": "bool", "label": {"zh": "批准", "en": "Approved"}, "required": True},
        {"name": "amount", "type": "decimal", "label": {"zh": "金额", "en": "Amount"}, "min": 0}]},
    "vh_close.json": {"id": "vh_close", "title": {"zh": "结案", "en": "Close"}, "fields": [
        {"name": "note", "type": "text", "label": {"zh": "备注", "en": "Note"}}]},
    "vh_variables.json": {"process_id": "vh", "variables": [
        {"name": "total", "type": "decimal", "label": {"zh": "合计", "en": "Total"}},
        {"name": "paid_ref", "type": "str", "label": {"zh": "付款单号", "en": "Payment ref."}},
        {"name": "tracking", "type": "str", "label": {"zh": "运单号", "en": "Tracking no."}}]},
}


@pytest.fixture
def people(make_user):
    make_user("root", "admin")
    make_user("wang", "warehouse")
    make_user("ivan", "integrator")
    make_user("audrey", "auditor")
    make_user("sam", "supervisor")
    make_user("li", "finance")


@pytest.fixture
def deployed(api, people, clock):
    reply = api("post", "/definitions", "root", json={"files": {"vh.bpmn": MODEL}, "forms": FORMS})
    assert reply.status_code == 201, reply.json


@pytest.fixture
def started(api, deployed):
    """An instance started by wang with the start form; the script has run; Review waits."""
    reply = api("post", "/instances", "wang", json={"process_id": "vh", "data": {
        "order_no": "V-1", "amount": "10.00", "items": ["tea"]}})
    assert reply.status_code == 201, reply.json
    return reply.json["id"]


def fresh(db_session):
    """The test's session, its read transaction ended: it sees what the commands committed since."""
    db_session.rollback()
    return db_session


def events(db_session, instance_id: int) -> list[HistoryEvent]:
    return history.events_of(fresh(db_session), instance_id)


def open_task(db_session, instance_id: int, element_id: str) -> int:
    fresh(db_session)
    return db_session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                        HumanTask.element_id == element_id,
                                                        HumanTask.status.in_(("open", "claimed"))))


@pytest.fixture
def at_close(api, db_session, started):
    """The instance moved on to Close: Review completed (amount corrected), the payment message delivered
    and the external task completed by ivan's worker."""
    review = open_task(db_session, started, "Review")
    reply = api("post", f"/tasks/{review}/complete", "wang", json={"data": {"approved": True, "amount": "12.00"}})
    assert reply.status_code == 200, reply.json
    sent = api("post", "/messages", "ivan", json={"name": "vh_paid", "correlation": {"order_no": "V-1"},
                                                  "data": {"paid_ref": "P-9"}})
    assert sent.status_code in (200, 202), sent.json
    fetched = api("post", "/external-tasks/fetch-and-lock", "ivan", json={
        "worker_id": "w1", "max_tasks": 1, "topics": [{"name": "shipping", "lock_duration_ms": 60000}]})
    assert len(fetched.json) == 1, fetched.json
    done = api("post", f"/external-tasks/{fetched.json[0]['id']}/complete", "ivan",
               json={"worker_id": "w1", "variables": {"tracking": "SF-1"}})
    assert done.status_code in (200, 204), done.json
    return started


def changes(db_session, instance_id: int, name: str) -> list[dict]:
    return variable_history.changes_of(fresh(db_session), instance_id, name)


def user(db_session, name: str):
    return users.get_user(db_session, name)


def snapshot(db_session, instance_id: int) -> tuple[dict, int]:
    """The instance's data as committed and how many history events it has: unchanged after a refusal."""
    data = copy.deepcopy(runtime.get_instance(fresh(db_session), instance_id).data)
    return data, len(events(db_session, instance_id))


def page_of(client, instance_id: int) -> str:
    response = client.get(f"/instances/{instance_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)
