"""Structure Camunda 7 accepts (issue 12, item 6), deployed and run to the end through the API:
sequence flows without ids, ids SpiffWorkflow keeps for itself (Start, End), a task with several
unconditioned outgoing flows (a parallel split), a process and a subprocess without start or end
events (implicit start at activities without incoming flow, implicit end), an errorRef to an
undeclared error, data stores; compensation is refused with a located problem."""
from __future__ import annotations

import pytest

from engine.errors import DefinitionError

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="http://x">
  <bpmn:process id="PID" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1"><bpmn:lane id="Lane_w" name="warehouse">LANE</bpmn:lane></bpmn:laneSet>
"""
TAIL = "  </bpmn:process>\n</bpmn:definitions>\n"


def script(node_id: str, line: str) -> str:
    return f'<bpmn:scriptTask id="{node_id}" scriptFormat="python"><bpmn:script>{line}</bpmn:script></bpmn:scriptTask>'


def flow(source: str, target: str, flow_id: str | None = None) -> str:
    named = f' id="{flow_id}"' if flow_id else ""
    return f'<bpmn:sequenceFlow{named} sourceRef="{source}" targetRef="{target}"/>'


def run(api, make_user, deploy, tmp_path, process_id: str, body: str, lane: list[str] = ()):
    """Deploy one process, start it and return its instance view."""
    make_user("root", "admin")
    make_user("wang", "warehouse")
    refs = "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in lane)
    path = tmp_path / f"{process_id}.bpmn"
    path.write_text(HEAD.replace("PID", process_id).replace("LANE", refs) + body + TAIL, encoding="utf-8")
    deploy(path)
    response = api("post", "/instances", json={"process_id": process_id, "data": {}})
    assert response.status_code == 201, response.json
    return api("get", f"/instances/{response.json['id']}").json


def test_sequence_flows_without_ids_get_ids_and_the_process_runs(api, make_user, deploy, tmp_path):
    body = ('<bpmn:startEvent id="s"/>' + script("a", "x = 1") + '<bpmn:endEvent id="e"/>'
            + flow("s", "a") + flow("a", "e"))
    view = run(api, make_user, deploy, tmp_path, "no_flow_ids", body)
    assert view["status"] == "completed", view
    assert view["data"]["x"] == 1


def test_ids_start_and_end_are_accepted(api, make_user, deploy, tmp_path):
    body = ('<bpmn:startEvent id="Start"/>' + script("Root", "x = 2") + '<bpmn:endEvent id="End"/>'
            + flow("Start", "Root", "f1") + flow("Root", "End", "f2"))
    view = run(api, make_user, deploy, tmp_path, "reserved_ids", body)
    assert view["status"] == "completed", view
    assert view["data"]["x"] == 2


def test_several_outgoing_flows_of_a_task_split_in_parallel(api, make_user, deploy, tmp_path):
    body = ('<bpmn:startEvent id="s"/>' + script("a", "x = 1")
            + '<bpmn:userTask id="left"/><bpmn:userTask id="right"/>'
            + '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>'
            + flow("s", "a", "f0") + flow("a", "left", "f1") + flow("a", "right", "f2")
            + flow("left", "e1", "f3") + flow("right", "e2", "f4"))
    view = run(api, make_user, deploy, tmp_path, "task_split", body, ["left", "right"])
    assert sorted(t["element_id"] for t in view["open_tasks"]) == ["left", "right"]
    for task in view["open_tasks"]:
        assert api("post", f"/tasks/{task['id']}/complete", json={"data": {}}, user="wang").status_code == 200
    assert api("get", f"/instances/{view['id']}").json["status"] == "completed"


def test_a_process_without_start_or_end_events_starts_at_activities_without_incoming_flow(
        api, make_user, deploy, tmp_path):
    body = (script("a", "x = 1") + script("b", "y = 2") + '<bpmn:userTask id="c"/>' + flow("a", "c", "f1"))
    view = run(api, make_user, deploy, tmp_path, "implicit", body, ["c"])
    (task,) = view["open_tasks"]
    assert task["element_id"] == "c"
    assert api("post", f"/tasks/{task['id']}/complete", json={"data": {}}, user="wang").status_code == 200
    done = api("get", f"/instances/{view['id']}").json
    assert done["status"] == "completed"
    assert (done["data"]["x"], done["data"]["y"]) == (1, 2)


def test_a_subprocess_without_start_or_end_event_runs_and_the_process_goes_on(api, make_user, deploy, tmp_path):
    body = ('<bpmn:startEvent id="s"/><bpmn:subProcess id="sub">' + script("inner", "x = 5")
            + '</bpmn:subProcess>' + script("after", "y = x + 1") + '<bpmn:endEvent id="e"/>'
            + flow("s", "sub", "f1") + flow("sub", "after", "f2") + flow("after", "e", "f3"))
    view = run(api, make_user, deploy, tmp_path, "sub_implicit", body)
    assert view["status"] == "completed", view
    assert view["data"]["y"] == 6


def test_an_empty_subprocess_ends_as_soon_as_it_starts(api, make_user, deploy, tmp_path):
    body = ('<bpmn:startEvent id="s"/><bpmn:subProcess id="sub"/>' + script("after", "y = 1")
            + flow("s", "sub", "f1") + flow("sub", "after", "f2"))
    view = run(api, make_user, deploy, tmp_path, "sub_empty", body)
    assert view["status"] == "completed", view
    assert view["data"]["y"] == 1


def test_an_error_ref_to_an_undeclared_error_is_the_error_with_that_code(api, make_user, deploy, tmp_path):
    body = ('<bpmn:startEvent id="s"/><bpmn:subProcess id="sub"><bpmn:startEvent id="ss"/>'
            '<bpmn:endEvent id="fails"><bpmn:errorEventDefinition errorRef="OUT_OF_STOCK"/></bpmn:endEvent>'
            + flow("ss", "fails", "fs") + '</bpmn:subProcess>'
            '<bpmn:boundaryEvent id="caught" attachedToRef="sub">'
            '<bpmn:errorEventDefinition errorRef="OUT_OF_STOCK"/></bpmn:boundaryEvent>'
            + script("normal", "path = 'normal'") + script("handled", "path = 'error'")
            + flow("s", "sub", "f1") + flow("sub", "normal", "f2") + flow("caught", "handled", "f3"))
    view = run(api, make_user, deploy, tmp_path, "undeclared_error", body)
    assert view["status"] == "completed", view
    assert view["data"]["path"] == "error"


def test_data_stores_and_their_associations_are_ignored(api, make_user, deploy, tmp_path):
    body = ('<bpmn:startEvent id="s"/><bpmn:scriptTask id="a" scriptFormat="python">'
            '<bpmn:dataInputAssociation id="in"><bpmn:sourceRef>Stock</bpmn:sourceRef>'
            '<bpmn:targetRef>a</bpmn:targetRef></bpmn:dataInputAssociation>'
            '<bpmn:dataOutputAssociation id="out"><bpmn:targetRef>Stock</bpmn:targetRef>'
            '</bpmn:dataOutputAssociation><bpmn:script>x = 3</bpmn:script></bpmn:scriptTask>'
            '<bpmn:dataStoreReference id="Stock" name="Stock database"/><bpmn:endEvent id="e"/>'
            + flow("s", "a", "f1") + flow("a", "e", "f2"))
    view = run(api, make_user, deploy, tmp_path, "data_store", body)
    assert view["status"] == "completed", view
    assert view["data"]["x"] == 3


def test_compensation_is_refused_with_a_located_problem(deploy, tmp_path):
    body = ('<bpmn:startEvent id="s"/><bpmn:task id="t"/><bpmn:boundaryEvent id="undo_on" attachedToRef="t">'
            '<bpmn:compensateEventDefinition/></bpmn:boundaryEvent><bpmn:task id="undo" isForCompensation="true"/>'
            '<bpmn:intermediateThrowEvent id="compensate"><bpmn:compensateEventDefinition/>'
            '</bpmn:intermediateThrowEvent><bpmn:endEvent id="e"/>'
            + flow("s", "t", "f1") + flow("t", "compensate", "f2") + flow("compensate", "e", "f3"))
    path = tmp_path / "compensation.bpmn"
    path.write_text(HEAD.replace("PID", "compensation").replace("LANE", "") + body + TAIL, encoding="utf-8")
    with pytest.raises(DefinitionError) as refused:
        deploy(path)
    problems = {p["element_id"]: p["message"] for p in refused.value.details["problems"]}
    assert set(problems) == {"undo_on", "compensate"}
    assert "does not support compensation" in problems["undo_on"]
    assert all(p["line"] for p in refused.value.details["problems"])
