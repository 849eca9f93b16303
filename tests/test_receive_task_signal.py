"""A receive task without a message waits until it is signalled through the API (issue 12, item 6;
Camunda 7's ``runtimeService.signal``): ``POST /api/v1/instances/<id>/signal {"element_id", "data"}``
by an integrator or admin moves it on in one command, with a history event; an unknown instance is
404, a receive task that does not wait 409, a malformed body 400, data that cannot be stored 422.
Messages cannot reach such a task. Ids SpiffWorkflow keeps for itself (``Start``, ``End``) show as the
designer wrote them in history, tasks and the definition's elements."""
from __future__ import annotations

from conftest import DATA

PROCESS = "receive_signal"


def started(api, make_user, deploy, data=None) -> int:
    make_user("root", "admin")
    make_user("ivan", "integrator")
    make_user("wang", "warehouse")
    deploy(DATA / "receive_signal.bpmn")
    response = api("post", "/instances", json={"process_id": PROCESS, "data": data or {}})
    assert response.status_code == 201, response.json
    return response.json["id"]


def test_a_receive_task_without_a_message_waits_until_signalled(api, make_user, deploy):
    instance_id = started(api, make_user, deploy)
    assert api("get", f"/instances/{instance_id}").json["status"] == "running"
    response = api("post", f"/instances/{instance_id}/signal", "ivan",
                   json={"element_id": "Wait_confirmation", "data": {"confirmed_by": "shop"}})
    assert response.status_code == 200, response.json
    assert response.json == {"instance_id": instance_id, "element_id": "Wait_confirmation", "status": "completed"}
    view = api("get", f"/instances/{instance_id}").json
    assert view["status"] == "completed"
    assert view["data"]["confirmed_note"] == "confirmed by shop"
    events = api("get", f"/instances/{instance_id}/history").json
    (signalled,) = [e for e in events if e["type"] == "receive_task_signalled"]
    assert signalled["element_id"] == "Wait_confirmation" and signalled["actor"] == "ivan"
    assert signalled["data"]["data"] == {"confirmed_by": "shop"}


def test_an_admin_may_signal_and_other_roles_may_not(api, make_user, deploy):
    instance_id = started(api, make_user, deploy)
    refused = api("post", f"/instances/{instance_id}/signal", "wang", json={"element_id": "Wait_confirmation"})
    assert refused.status_code == 403
    assert api("get", f"/instances/{instance_id}").json["status"] == "running"
    done = api("post", f"/instances/{instance_id}/signal", "root",
               json={"element_id": "Wait_confirmation", "data": {"confirmed_by": "root"}})
    assert done.status_code == 200 and done.json["status"] == "completed"


def test_an_unknown_instance_is_404_and_a_task_that_does_not_wait_409(api, make_user, deploy):
    instance_id = started(api, make_user, deploy)
    assert api("post", "/instances/999999/signal", json={"element_id": "Wait_confirmation"}).status_code == 404
    wrong = api("post", f"/instances/{instance_id}/signal", json={"element_id": "Script_note"})
    assert wrong.status_code == 409
    assert "Wait_confirmation" in wrong.json["message"]
    assert api("post", f"/instances/{instance_id}/signal",
               json={"element_id": "Wait_confirmation", "data": {"confirmed_by": "x"}}).status_code == 200
    again = api("post", f"/instances/{instance_id}/signal", json={"element_id": "Wait_confirmation"})
    assert again.status_code == 409


def test_a_malformed_body_changes_nothing(api, make_user, deploy):
    instance_id = started(api, make_user, deploy)
    for body in ({}, {"element_id": ""}, {"element_id": "Wait_confirmation", "data": [1]}, {"element_id": 3}):
        response = api("post", f"/instances/{instance_id}/signal", json=body)
        assert response.status_code == 400, (body, response.json)
    assert api("get", f"/instances/{instance_id}").json["status"] == "running"
    assert not [e for e in api("get", f"/instances/{instance_id}/history").json
                if e["type"] == "receive_task_signalled"]


def test_a_message_does_not_reach_a_receive_task_without_a_message(api, make_user, deploy):
    instance_id = started(api, make_user, deploy)
    reply = api("post", "/messages", "ivan", json={"name": "liucheng.trigger:Wait_confirmation", "data": {}})
    assert reply.status_code == 202 and reply.json["status"] == "kept"
    assert api("get", f"/instances/{instance_id}").json["status"] == "running"


def test_ids_spiffworkflow_keeps_for_itself_show_as_the_designer_wrote_them(api, make_user, deploy):
    instance_id = started(api, make_user, deploy)
    api("post", f"/instances/{instance_id}/signal", json={"element_id": "Wait_confirmation",
                                                           "data": {"confirmed_by": "x"}})
    elements = api("get", f"/definitions/{PROCESS}").json
    text = str(elements)
    assert "Start_" not in text and "End_" not in text
    history_elements = {e["element_id"] for e in api("get", f"/instances/{instance_id}/history").json}
    assert "Start_" not in history_elements and "End_" not in history_elements


def test_the_deploy_reply_notes_the_receive_task_waits_for_a_signal(api, make_user):
    make_user("root", "admin")
    reply = api("post", "/definitions", data=(DATA / "receive_signal.bpmn").read_bytes(),
                content_type="application/xml", query_string={"filename": "receive_signal.bpmn"})
    assert reply.status_code in (200, 201), reply.json
    notes = [n for d in reply.json if isinstance(reply.json, list) for n in d.get("notes", [])] \
        if isinstance(reply.json, list) else reply.json.get("notes", [])
    assert any(n["element_id"] == "Wait_confirmation" and "/signal" in n["message"] for n in notes), reply.json


def test_a_receive_task_in_a_subprocess_with_a_timer_boundary_event_waits_for_the_signal(api, make_user, deploy,
                                                                                          tmp_path):
    make_user("root", "admin")
    path = tmp_path / "nested_receive.bpmn"
    path.write_text("""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="http://x">
  <bpmn:process id="nested_receive" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:subProcess id="sub">
      <bpmn:startEvent id="ss"/>
      <bpmn:receiveTask id="wait_inside"/>
      <bpmn:endEvent id="se"/>
      <bpmn:sequenceFlow id="sf1" sourceRef="ss" targetRef="wait_inside"/>
      <bpmn:sequenceFlow id="sf2" sourceRef="wait_inside" targetRef="se"/>
    </bpmn:subProcess>
    <bpmn:boundaryEvent id="too_late" attachedToRef="sub">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:scriptTask id="late" scriptFormat="python"><bpmn:script>path = "late"</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="on_time" scriptFormat="python"><bpmn:script>path = "on time"</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sub"/>
    <bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="on_time"/>
    <bpmn:sequenceFlow id="f3" sourceRef="too_late" targetRef="late"/>
  </bpmn:process>
</bpmn:definitions>
""", encoding="utf-8")
    deploy(path)
    instance_id = api("post", "/instances", json={"process_id": "nested_receive", "data": {}}).json["id"]
    assert api("get", f"/instances/{instance_id}").json["status"] == "running"
    reply = api("post", f"/instances/{instance_id}/signal", json={"element_id": "wait_inside", "data": {"n": 1}})
    assert reply.status_code == 200 and reply.json["status"] == "completed", reply.json
    view = api("get", f"/instances/{instance_id}").json
    assert view["data"]["path"] == "on time" and view["data"]["n"] == 1
