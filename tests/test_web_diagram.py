"""The server-side BPMN diagram: every DI shape drawn, names as text only, highlights from the history."""
from __future__ import annotations

import re

import pytest
from lxml import etree

from engine import history
from engine.models import Definition, Instance
from web_support import (  # noqa: F401 (fixtures)
    REFUND, browser_as, open_task, refund_world, text, web,
)
from webui import diagram

from conftest import ROOT
from webui.pages.history import highlight_of

SVG = "{http://www.w3.org/2000/svg}"
TINY = """<?xml version="1.0" encoding="UTF-8"?>{doctype}
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="D" targetNamespace="x">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="S" name="{name}"/><bpmn:userTask id="T" name="{name}"/>
    <bpmn:sequenceFlow id="F" sourceRef="S" targetRef="T"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="DD"><bpmndi:BPMNPlane id="P" bpmnElement="p">
    <bpmndi:BPMNShape id="S_di" bpmnElement="S"><dc:Bounds x="10" y="10" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="T_di" bpmnElement="T"><dc:Bounds x="100" y="0" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="F_di" bpmnElement="F"><di:waypoint x="46" y="28"/><di:waypoint x="100" y="40"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>"""


def parse(svg: str):
    return etree.fromstring(svg.encode())


def test_every_shape_and_edge_of_the_refund_is_drawn():
    xml = REFUND.read_bytes()
    source = etree.fromstring(xml)
    shapes = {s.get("bpmnElement") for s in source.iter("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNShape")}
    edges = {e.get("bpmnElement") for e in source.iter("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNEdge")}
    svg = parse(diagram.render(xml, lane_label=lambda name: f"lane:{name}"))
    drawn = {g.get("data-element-id") for g in svg.iter(SVG + "g") if g.get("data-element-id")}
    assert shapes | edges <= drawn
    assert svg.get("viewBox").startswith("138 48") and svg.get("role") == "img"
    texts = "".join(svg.itertext())
    assert "买家申请退款" in texts and "lane:supervisor" in texts and "财务退款（当天完成）" in texts
    assert not list(svg.iter(SVG + "script")) and not list(svg.iter(SVG + "foreignObject"))
    end = svg.find(f".//{SVG}g[@data-element-id='End_refunded']")
    assert "endEvent" in end.get("class")
    timer = svg.find(f".//{SVG}g[@data-element-id='Boundary_inspection_24h']")
    assert "dashed" in etree.tostring(timer).decode()  # non-interrupting boundary timer


def test_names_are_text_never_markup_and_entities_are_not_resolved(tmp_path):
    svg = diagram.render(TINY.format(doctype="", name="&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;"))
    assert "<script" not in svg and "&lt;script&gt;" in svg
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    doctype = f'<!DOCTYPE d [<!ENTITY e SYSTEM "file://{secret}">]>'
    try:
        drawn = diagram.render(TINY.format(doctype=doctype, name="&e;"))
    except diagram.DiagramError:  # lxml refuses an external entity in an attribute
        drawn = ""
    assert "TOP-SECRET" not in drawn


def test_documents_without_a_diagram_are_reported():
    with pytest.raises(diagram.DiagramError):
        diagram.render(b"<not-closed>")
    without = re.sub(r"<bpmndi:BPMNDiagram.*</bpmndi:BPMNDiagram>", "", TINY.format(doctype="", name="n"), flags=re.S)
    with pytest.raises(diagram.DiagramError, match="diagram interchange"):
        diagram.render(without)


def test_long_chinese_names_wrap_inside_their_box():
    lines = diagram.wrap("核实质量问题凭证并登记支付宝账号", 108)
    assert len(lines) == 2 and "".join(lines) == "核实质量问题凭证并登记支付宝账号"
    assert diagram.wrap("已拒绝（超七天）", 60)[-1].endswith("）")  # closing brackets stay on the line
    assert diagram.wrap("Approve the refund", 60) == ["Approve", "the", "refund"]


def test_highlights_follow_the_history(refund_world, browser_as, web):
    boss = browser_as("zhuguan")
    boss.post(f"/tasks/{refund_world.task_id}/claim")
    boss.post(f"/tasks/{refund_world.task_id}/complete", data={"approved": "true"})
    finance = open_task(web, refund_world.instance_id)
    with web.extensions["liucheng_db"].session() as session:
        instance = session.get(Instance, refund_world.instance_id)
        definition = session.get(Definition, instance.definition_id)
        events = history.events_of(session, instance.id)
        marks = highlight_of(definition.elements, events, {finance.element_id}, set(), instance.status)
        assert {"StartEvent_refund_applied", "Gateway_goods_received", "Task_supervisor_approve_refund_only",
                "Script_refund_only_amount"} <= marks.completed
        assert marks.active == {"Task_finance_refund"}
        assert not {"Task_aftersales_late_return", "End_refunded", "Task_finance_refund"} & marks.completed
        assert "Flow_goods_not_received" in marks.flows and "Flow_goods_received" not in marks.flows
        failed = highlight_of(definition.elements, events, set(), {"Task_finance_refund"}, "failed")
        assert failed.failed == {"Task_finance_refund"} and "Task_finance_refund" not in failed.completed
        svg = parse(diagram.render(definition.bpmn_xml, failed))
        node = svg.find(f".//{SVG}g[@data-element-id='Task_finance_refund']")
        assert node.get("class") == "el userTask failed"

    browser_as("caiwu").post(f"/tasks/{finance.id}/complete", data={"payment_ref": "P-1"})
    page = text(browser_as("kefu").get(f"/instances/{refund_world.instance_id}"))
    assert 'data-element-id="End_refunded" class="el endEvent completed"' in page
    assert 'data-element-id="End_rejected_late" class="el endEvent"' in page
    assert "el userTask active" not in page


def test_flows_inside_an_expanded_subprocess_are_drawn_above_it():
    xml = (ROOT / "processes" / "order_dispatch.bpmn").read_bytes()
    source = etree.fromstring(xml)
    expanded = [s.get("bpmnElement") for s in source.iter("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNShape")
                if s.get("isExpanded") == "true"]
    assert expanded
    svg = parse(diagram.render(xml))
    layers = {g.get("class"): g for g in svg.iter(f"{SVG}g") if (g.get("class") or "").startswith("layer-")}
    order = [g.get("class") for g in svg if g.tag == f"{SVG}g"]
    assert order.index("layer-containers") < order.index("layer-edges") < order.index("layer-shapes")
    beneath = {g.get("data-element-id") for g in layers["layer-containers"].iter(f"{SVG}g")}
    above = {g.get("data-element-id") for g in layers["layer-shapes"].iter(f"{SVG}g")}
    assert set(expanded) <= beneath and not set(expanded) & above
