"""Structure Camunda accepts, continued (issue 12, item 6): a task's conditioned outgoing flows split
inclusively (each true condition taken, unconditioned flows always, the default when none is true, an
incident when nothing can be taken), deploy notes for what the rewrite ignores or changes (data stores,
undeclared errors, splits), and ids renamed for SpiffWorkflow shown as the designer wrote them."""
from __future__ import annotations

from engine import bpmn

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="D" targetNamespace="http://x">
  <bpmn:process id="PID" isExecutable="true">
"""
TAIL = "  </bpmn:process>\n</bpmn:definitions>\n"


def script(node_id: str, line: str) -> str:
    return f'<bpmn:scriptTask id="{node_id}" scriptFormat="python"><bpmn:script>{line}</bpmn:script></bpmn:scriptTask>'


def flow(source: str, target: str, flow_id: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'
    return (f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
            f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>'
            '</bpmn:sequenceFlow>')


def document(process_id: str, body: str) -> bytes:
    return (HEAD.replace("PID", process_id) + body + TAIL).encode("utf-8")


def deployed(api, make_user, process_id: str, body: str) -> dict:
    make_user("root", "admin")
    reply = api("post", "/definitions", data=document(process_id, body), content_type="application/xml",
                query_string={"filename": f"{process_id}.bpmn"})
    assert reply.status_code in (200, 201), reply.json
    return reply.json


def started(api, process_id: str, data: dict) -> dict:
    response = api("post", "/instances", json={"process_id": process_id, "data": data})
    assert response.status_code == 201, response.json
    return api("get", f"/instances/{response.json['id']}").json


def notes_of(reply) -> list[dict]:
    replies = reply if isinstance(reply, list) else reply.get("deployed", [reply])
    return [note for each in replies for note in each.get("notes", [])]


INCLUSIVE = ('<bpmn:startEvent id="s"/>' + script("check", "checked = True")
             + script("ship", "shipped = True") + script("invoice", "invoiced = True")
             + script("log", "logged = True") + script("fallback", "fell_back = True")
             + '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/><bpmn:endEvent id="e3"/>'
             '<bpmn:endEvent id="e4"/><bpmn:endEvent id="e5"/>'
             + flow("s", "check", "f0") + flow("check", "ship", "to_ship", "amount &gt; 100")
             + flow("check", "invoice", "to_invoice", "needs_invoice") + flow("check", "log", "to_log")
             + flow("ship", "e1", "f1") + flow("invoice", "e2", "f2") + flow("log", "e3", "f3")
             + flow("fallback", "e5", "f5"))


def test_conditioned_flows_of_a_task_take_every_true_condition_and_the_unconditioned(api, make_user):
    deployed(api, make_user, "inclusive_task", INCLUSIVE.replace(script("fallback", "fell_back = True"), "")
             .replace(flow("fallback", "e5", "f5"), ""))
    view = started(api, "inclusive_task", {"amount": 150, "needs_invoice": True})
    assert view["status"] == "completed", view
    assert (view["data"]["shipped"], view["data"]["invoiced"], view["data"]["logged"]) == (True, True, True)
    view = started(api, "inclusive_task", {"amount": 50, "needs_invoice": False})
    assert view["status"] == "completed", view
    assert view["data"]["logged"] is True and "shipped" not in view["data"] and "invoiced" not in view["data"]


def test_the_default_flow_of_a_task_is_taken_only_when_no_condition_is_true(api, make_user):
    body = ('<bpmn:startEvent id="s"/><bpmn:scriptTask id="check" scriptFormat="python" default="to_fallback">'
            '<bpmn:script>checked = True</bpmn:script></bpmn:scriptTask>'
            + script("ship", "shipped = True") + script("fallback", "fell_back = True")
            + '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>'
            + flow("s", "check", "f0") + flow("check", "ship", "to_ship", "amount &gt; 100")
            + flow("check", "fallback", "to_fallback") + flow("ship", "e1", "f1") + flow("fallback", "e2", "f2"))
    deployed(api, make_user, "default_task", body)
    high = started(api, "default_task", {"amount": 150})
    assert high["status"] == "completed" and high["data"].get("shipped") and "fell_back" not in high["data"]
    low = started(api, "default_task", {"amount": 10})
    assert low["status"] == "completed" and low["data"].get("fell_back") and "shipped" not in low["data"]


def test_no_flow_to_take_stops_the_instance_with_an_incident(api, make_user):
    body = ('<bpmn:startEvent id="s"/>' + script("check", "checked = True") + script("ship", "shipped = True")
            + '<bpmn:endEvent id="e1"/>' + flow("s", "check", "f0")
            + flow("check", "ship", "to_ship", "amount &gt; 100") + flow("ship", "e1", "f1"))
    deployed(api, make_user, "stuck_task", body)
    view = started(api, "stuck_task", {"amount": 1})
    assert view["status"] != "completed"
    incidents = api("get", "/incidents").json
    assert [i for i in incidents if i["instance_id"] == view["id"]], incidents


def test_the_deploy_reply_notes_what_the_rewrite_ignored_or_changed(api, make_user):
    body = ('<bpmn:startEvent id="s"/><bpmn:scriptTask id="a" scriptFormat="python">'
            '<bpmn:dataOutputAssociation id="out"><bpmn:targetRef>Stock</bpmn:targetRef>'
            '</bpmn:dataOutputAssociation><bpmn:script>x = 3</bpmn:script></bpmn:scriptTask>'
            '<bpmn:dataStoreReference id="Stock" name="Stock database"/>'
            + script("b", "y = 1") + script("c", "z = 1")
            + '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>'
            '<bpmn:endEvent id="fails"><bpmn:errorEventDefinition errorRef="OUT_OF_STOCK"/></bpmn:endEvent>'
            + flow("s", "a", "f1") + flow("a", "b", "f2") + flow("a", "c", "f3")
            + flow("b", "e1", "f4") + flow("c", "fails", "f5"))
    notes = {(n["element_id"], n["message"].split(":")[0]) for n in notes_of(deployed(api, make_user, "noted", body))}
    by_element = {element for element, _ in notes}
    assert {"Stock", "out", "a", "fails"} <= by_element, notes
    messages = " ".join(m for _, m in notes)
    assert "data store is ignored" in messages and "data association to a data store is ignored" in messages


def test_notes_are_located_and_flow_ids_are_not_noted():
    body = ('<bpmn:startEvent id="s"/>' + script("a", "x = 1") + '<bpmn:endEvent id="e"/>'
            '<bpmn:sequenceFlow sourceRef="s" targetRef="a"/><bpmn:sequenceFlow sourceRef="a" targetRef="e"/>'
            '<bpmn:dataStoreReference id="Archive"/>')
    (model,) = bpmn.read_document("located.bpmn", document("located", body), {}, {"admin"})
    assert [(n.element_id, n.file) for n in model.notes] == [("Archive", "located.bpmn")]
    assert model.notes[0].line == 5  # the line the data store is written on
    assert "Liucheng does not run data stores" in model.notes[0].message


def test_renamed_ids_keep_the_designers_id_in_elements_history_and_tasks(api, make_user):
    body = ('<bpmn:startEvent id="Start"/>' + script("Root", "x = 2")
            + '<bpmn:userTask id="End"/><bpmn:endEvent id="done"/>'
            + flow("Start", "Root", "f1") + flow("Root", "End", "f2") + flow("End", "done", "f3"))
    deployed(api, make_user, "designer_ids", body)
    definition = api("get", "/definitions/designer_ids").json
    assert "Start_" not in str(definition) and "Root_" not in str(definition) and "End_" not in str(definition)
    view = started(api, "designer_ids", {})
    assert [t["element_id"] for t in view["open_tasks"]] == ["End"]
    events = api("get", f"/instances/{view['id']}/history").json
    assert not {e["element_id"] for e in events} & {"Start_", "Root_", "End_"}
    assert api("post", f"/tasks/{view['open_tasks'][0]['id']}/complete", json={"data": {}}).status_code == 200
    assert api("get", f"/instances/{view['id']}").json["status"] == "completed"
