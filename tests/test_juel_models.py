"""JUEL in deployed models (issue 12, item 3): ``${…}``/``#{…}`` conditions on gateway flows and timer
expressions are translated at deploy time and run in the sandbox; a missing variable opens an
incident naming it; JUEL outside the subset is refused at deploy with a located problem."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine import scheduler
from engine.errors import DefinitionError

T0 = datetime(2026, 11, 2, 9, 0)  # the frozen clock's start, UTC

MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Definitions_juel" targetNamespace="http://x">
  <bpmn:process id="juel_orders" name="JUEL orders" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_warehouse" name="warehouse">
        <bpmn:flowNodeRef>Start_order</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Gateway_vip</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Task_vip</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Timer_due</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Wait_hours</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Task_normal</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Task_late</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>End_vip</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>End_normal</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>End_late</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="Start_order"><bpmn:outgoing>Flow_in</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="Gateway_vip">
      <bpmn:incoming>Flow_in</bpmn:incoming>
      <bpmn:outgoing>Flow_vip</bpmn:outgoing>
      <bpmn:outgoing>Flow_normal</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:userTask id="Task_vip" name="VIP order">
      <bpmn:incoming>Flow_vip</bpmn:incoming><bpmn:outgoing>Flow_vip_done</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="Timer_due" attachedToRef="Task_vip">
      <bpmn:outgoing>Flow_late</bpmn:outgoing>
      <bpmn:timerEventDefinition id="TimerDef_due">
        <bpmn:timeDate xsi:type="bpmn:tFormalExpression">${dueDate}</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:intermediateCatchEvent id="Wait_hours">
      <bpmn:incoming>Flow_normal</bpmn:incoming><bpmn:outgoing>Flow_waited</bpmn:outgoing>
      <bpmn:timerEventDefinition id="TimerDef_hours">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">${'PT' + hours + 'H'}</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="Task_normal" name="Normal order">
      <bpmn:incoming>Flow_waited</bpmn:incoming><bpmn:outgoing>Flow_normal_done</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="Task_late" name="Late VIP order">
      <bpmn:incoming>Flow_late</bpmn:incoming><bpmn:outgoing>Flow_late_done</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="End_vip"><bpmn:incoming>Flow_vip_done</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="End_normal"><bpmn:incoming>Flow_normal_done</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="End_late"><bpmn:incoming>Flow_late_done</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_in" sourceRef="Start_order" targetRef="Gateway_vip"/>
    <bpmn:sequenceFlow id="Flow_vip" sourceRef="Gateway_vip" targetRef="Task_vip">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${amount &gt; 100 &amp;&amp; vip}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_normal" sourceRef="Gateway_vip" targetRef="Wait_hours">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">NORMAL</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_waited" sourceRef="Wait_hours" targetRef="Task_normal"/>
    <bpmn:sequenceFlow id="Flow_vip_done" sourceRef="Task_vip" targetRef="End_vip"/>
    <bpmn:sequenceFlow id="Flow_normal_done" sourceRef="Task_normal" targetRef="End_normal"/>
    <bpmn:sequenceFlow id="Flow_late" sourceRef="Timer_due" targetRef="Task_late"/>
    <bpmn:sequenceFlow id="Flow_late_done" sourceRef="Task_late" targetRef="End_late"/>
  </bpmn:process>
</bpmn:definitions>
"""
NORMAL = "#{not (amount gt 100 and vip)}"


def write_model(tmp_path, normal: str = NORMAL, name: str = "juel_orders.bpmn"):
    path = tmp_path / name
    path.write_text(MODEL.replace("NORMAL", normal.replace("&", "&amp;").replace("<", "&lt;")),
                    encoding="utf-8")
    return path


@pytest.fixture
def start(api, make_user, clock, deploy, tmp_path):
    make_user("wang", "warehouse")
    make_user("root", "admin")
    deploy(write_model(tmp_path))

    def run(data: dict) -> dict:
        response = api("post", "/instances", json={"process_id": "juel_orders", "data": data})
        assert response.status_code == 201, response.json
        return api("get", f"/instances/{response.json['id']}").json
    return run


def open_elements(view: dict) -> list[str]:
    return [t["element_id"] for t in view["open_tasks"]]


def test_a_juel_condition_sends_a_vip_order_over_100_to_the_vip_task(start):
    view = start({"amount": 250, "vip": True, "dueDate": "2026-11-05T09:00:00+00:00", "hours": 2})
    assert open_elements(view) == ["Task_vip"]


@pytest.mark.parametrize("amount, vip", [(250, False), (100, True), (5, False)])
def test_other_orders_take_the_juel_timer_path_and_wait_hours(start, api, clock, app, amount, vip):
    view = start({"amount": amount, "vip": vip, "dueDate": "2026-11-05T09:00:00+00:00", "hours": 2})
    assert open_elements(view) == []
    database = app.extensions["liucheng_db"]
    clock.advance(hours=1, minutes=59)
    assert scheduler.tick(database) == 0
    clock.advance(minutes=2)
    assert scheduler.tick(database) == 1
    assert open_elements(api("get", f"/instances/{view['id']}").json) == ["Task_normal"]


def test_a_juel_time_date_timer_fires_at_the_date_in_the_variable(start, api, clock, app):
    view = start({"amount": 500, "vip": True, "dueDate": "2026-11-03T12:00:00+00:00", "hours": 1})
    database = app.extensions["liucheng_db"]
    clock.advance(hours=26, minutes=59)
    assert scheduler.tick(database) == 0
    clock.advance(minutes=2)
    assert scheduler.tick(database) == 1
    assert open_elements(api("get", f"/instances/{view['id']}").json) == ["Task_late"]


def test_a_condition_naming_a_missing_variable_opens_an_incident_naming_it(api, make_user, clock, deploy,
                                                                            tmp_path):
    make_user("root", "admin")
    deploy(write_model(tmp_path))
    response = api("post", "/instances", json={"process_id": "juel_orders", "data": {"amount": 500}})
    assert response.status_code == 201, response.json
    (incident,) = api("get", "/incidents").json
    assert incident["instance_id"] == response.json["id"] and incident["element_id"] == "Gateway_vip"
    assert "name 'vip' is not defined" in incident["message"]
    assert "${amount > 100 && vip}" in incident["message"]  # the JUEL as the designer wrote it


def test_juel_outside_the_subset_is_refused_at_deploy_with_a_located_problem(deploy, tmp_path):
    path = write_model(tmp_path, "${task.getVariable('amount') > 100}")
    with pytest.raises(DefinitionError) as refused:
        deploy(path)
    (problem,) = refused.value.details["problems"]
    assert problem["file"].endswith("juel_orders.bpmn") and problem["element_id"] == "Flow_normal"
    assert problem["line"] == MODEL.splitlines().index(
        '    <bpmn:sequenceFlow id="Flow_normal" sourceRef="Gateway_vip" targetRef="Wait_hours">') + 2
    assert "JUEL column 3" in problem["message"] and "${amount}" in problem["message"]


def test_a_plain_python_condition_still_works_beside_juel(api, make_user, clock, deploy, tmp_path):
    make_user("root", "admin")
    deploy(write_model(tmp_path, "not (amount > 100 and vip)"))
    response = api("post", "/instances", json={"process_id": "juel_orders",
                                               "data": {"amount": 1, "vip": False, "hours": 1}})
    assert response.status_code == 201, response.json
    assert open_elements(api("get", f"/instances/{response.json['id']}").json) == []


def test_a_juel_timer_on_a_start_event_is_refused_with_a_located_problem(deploy, tmp_path):
    start = '<bpmn:startEvent id="Start_order"><bpmn:outgoing>Flow_in</bpmn:outgoing></bpmn:startEvent>'
    text = MODEL.replace(start,
                         '<bpmn:startEvent id="Start_order"><bpmn:outgoing>Flow_in</bpmn:outgoing>'
                         '<bpmn:timerEventDefinition id="Every"><bpmn:timeCycle>${cycle}</bpmn:timeCycle>'
                         '</bpmn:timerEventDefinition></bpmn:startEvent>').replace("NORMAL", "#{!vip}")
    assert "${cycle}" in text
    path = tmp_path / "juel_start.bpmn"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as refused:
        deploy(path)
    (problem,) = refused.value.details["problems"]
    assert problem["line"] and "start event has no variables" in problem["message"]
    assert "R/PT1H" in problem["message"]
