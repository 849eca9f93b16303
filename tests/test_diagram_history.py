"""The instance diagram shows what happened, read from the history only (issue 14, item 9): elements
that never ran are not marked, an element that ran twice carries "×2", the flows a gateway did not
take stay grey, an incident is marked, open work is active; the page has a legend."""
from __future__ import annotations

from lxml import etree

from scenario import Scenario
from web_support import FORMS, REFUND, START_DATA, browser_as, web  # noqa: F401 (fixtures)

from conftest import DATA

SVG = "{http://www.w3.org/2000/svg}"
FAILING = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="D_fail" targetNamespace="http://liucheng.example/tests">
  <bpmn:process id="diagram_fail" name="会失败 (test)" isExecutable="true">
    <bpmn:startEvent id="S"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="Script_divide" name="除法" scriptFormat="python"><bpmn:incoming>F1</bpmn:incoming>
      <bpmn:outgoing>F2</bpmn:outgoing><bpmn:script>ratio = total / quantity</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="E"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="Script_divide"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Script_divide" targetRef="E"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="DD"><bpmndi:BPMNPlane id="P" bpmnElement="diagram_fail">
    <bpmndi:BPMNShape id="S_di" bpmnElement="S"><dc:Bounds x="10" y="32" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="T_di" bpmnElement="Script_divide"><dc:Bounds x="100" y="10" width="100" height="80"/>
    </bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="E_di" bpmnElement="E"><dc:Bounds x="260" y="32" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="F1_di" bpmnElement="F1"><di:waypoint x="46" y="50"/><di:waypoint x="100" y="50"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="F2_di" bpmnElement="F2"><di:waypoint x="200" y="50"/><di:waypoint x="260" y="50"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>"""


def world(client, make_user, auth, clock, app, deploy, *paths) -> Scenario:
    deploy(*paths)
    driver = Scenario(client, make_user, auth, clock, app.extensions["liucheng_db"])
    driver.user("admin")
    return driver


def diagram(browser_as, driver: Scenario, instance_id: int):  # noqa: F811 (fixture passed in)
    response = browser_as(driver.user("admin")).get(f"/instances/{instance_id}/diagram.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    return etree.fromstring(response.get_data())


def state(svg, element_id: str) -> str:
    """The highlight class of a shape ('' when unmarked)."""
    node = svg.find(f".//{SVG}g[@data-element-id='{element_id}']")
    assert node is not None, element_id
    classes = node.get("class").split()
    return next((c for c in ("completed", "active", "failed") if c in classes), "")


def taken(svg) -> set[str]:
    return {g.get("data-element-id") for g in svg.iter(f"{SVG}g")
            if "edge" in (g.get("class") or "").split() and "taken" in g.get("class").split()}


def counts(svg) -> dict[str, str]:
    return {g.get("data-count-of"): "".join(g.itertext()) for g in svg.iter(f"{SVG}g")
            if g.get("class") == "count-badge"}


def test_only_what_ran_is_marked_and_the_gateway_flow_not_taken_stays_grey(client, make_user, auth, clock, app,
                                                                           deploy, web, browser_as):  # noqa: F811
    driver = world(client, make_user, auth, clock, app, deploy, DATA / "approval.bpmn", DATA / "forms")
    iid = driver.start("approval", {"order_no": "D-1", "item": "茶叶", "amount": "5.00"})["id"]
    svg = diagram(browser_as, driver, iid)
    assert state(svg, "StartEvent_request") == "completed"  # its step is recorded
    assert state(svg, "Task_check") == "active"
    assert [state(svg, e) for e in ("Task_decide", "Gateway_approved", "EndEvent_approved", "EndEvent_rejected")] \
        == ["", "", "", ""]  # never ran: not guessed
    assert taken(svg) == {"Flow_start"}

    driver.complete(iid, "Task_check", {"checked_qty": 2, "condition": "good"})
    driver.complete(iid, "Task_decide", {"approved": False})
    svg = diagram(browser_as, driver, iid)
    assert {e: state(svg, e) for e in ("Task_check", "Task_decide", "Gateway_approved", "EndEvent_rejected",
                                       "EndEvent_approved")} == {
        "Task_check": "completed", "Task_decide": "completed", "Gateway_approved": "completed",
        "EndEvent_rejected": "completed", "EndEvent_approved": ""}
    assert taken(svg) == {"Flow_start", "Flow_checked", "Flow_decided", "Flow_no"}  # not Flow_yes
    assert counts(svg) == {}  # each ran once: no badge


def test_a_second_start_event_that_never_fired_is_not_marked(client, make_user, auth, clock, app, deploy, web,
                                                             browser_as):  # noqa: F811
    driver = world(client, make_user, auth, clock, app, deploy, REFUND, FORMS)
    iid = driver.start("refund", START_DATA, as_role="aftersales_cs")["id"]
    svg = diagram(browser_as, driver, iid)
    assert state(svg, "StartEvent_refund_applied") == "completed"
    assert state(svg, "StartEvent_refund_by_message") == ""
    assert state(svg, "Task_aftersales_late_return") == "" and state(svg, "End_rejected_late") == ""


def test_a_loop_shows_how_often_each_element_ran(client, make_user, auth, clock, app, deploy, web,
                                                 browser_as):  # noqa: F811
    driver = world(client, make_user, auth, clock, app, deploy, DATA / "loop.bpmn")
    iid = driver.start("bench_loop", {"rounds": 0, "limit": 2})["id"]
    driver.complete(iid, "Task_work")
    svg = diagram(browser_as, driver, iid)
    assert state(svg, "Task_work") == "active" and counts(svg) == {}  # once done, open again
    driver.complete(iid, "Task_work")
    svg = diagram(browser_as, driver, iid)
    assert counts(svg) == {"Task_work": "×2", "Script_count": "×2", "Gateway_more": "×2"}
    assert {e: state(svg, e) for e in ("StartEvent_loop", "Task_work", "EndEvent_loop")} == {
        "StartEvent_loop": "completed", "Task_work": "completed", "EndEvent_loop": "completed"}
    assert taken(svg) == {"Flow_1", "Flow_2", "Flow_3", "Flow_again", "Flow_done"}


def test_an_incident_is_marked_and_what_follows_it_is_not(client, make_user, auth, clock, app, deploy, web,
                                                          browser_as, tmp_path):  # noqa: F811
    path = tmp_path / "diagram_fail.bpmn"
    path.write_text(FAILING, encoding="utf-8")
    driver = world(client, make_user, auth, clock, app, deploy, path)
    iid = driver.start("diagram_fail", {"total": 1, "quantity": 0})["id"]
    svg = diagram(browser_as, driver, iid)
    assert [state(svg, e) for e in ("S", "Script_divide", "E")] == ["completed", "failed", ""]
    assert taken(svg) == {"F1"}
    page = browser_as(driver.user("admin")).get(f"/instances/{iid}").get_data(as_text=True)
    legend = page[page.index('class="legend"'):][:600]
    assert all(word in legend for word in ("已完成", "进行中或等待中", "故障", "已走路径", "执行次数"))
