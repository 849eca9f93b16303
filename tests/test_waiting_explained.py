"""Waiting is explained (issue 14 item 8): an instance with no open task says what it waits for (a message and how
to deliver it, a timer and when in local time, an external task, a receive task waiting for a signal, an
incident), on its page and as ``waiting_for`` in ``GET /api/v1/instances/<id>``; members of the roles of its
lanes open it while it waits."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from web_support import browser_as, text, web  # noqa: F401 (fixtures)

WAITS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  id="Definitions_waits" targetNamespace="http://liucheng.example/tests">
  <bpmn:process id="waits_demo" name="等待演示" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="split"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:serviceTask id="Pay" name="扣款" camunda:type="external" camunda:topic="payments"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:receiveTask id="Wait_ack" name="等待仓库回执"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:receiveTask>
    <bpmn:parallelGateway id="join"><bpmn:incoming>f4</bpmn:incoming><bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:endEvent id="e"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="split"/>
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="Pay"/>
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="Wait_ack"/>
    <bpmn:sequenceFlow id="f4" sourceRef="Pay" targetRef="join"/>
    <bpmn:sequenceFlow id="f5" sourceRef="Wait_ack" targetRef="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""
DATA = Path(__file__).resolve().parent / "data"
APPLICATION = {"order_no": "RF-W1", "buyer": "小李", "amount": "100.00", "shipping_fee": "12.00",
               "free_shipping": False, "goods_received": True, "quality_issue": False, "days_since_signed": 3,
               "reason": "尺码不合适"}


def refund_waiting_for_the_parcel(scenario) -> int:
    started = scenario.start("refund", APPLICATION, as_role="aftersales_cs")
    iid = started["id"]
    scenario.complete(iid, "Task_aftersales_offer_exchange", {"exchange_instead": False})
    scenario.complete(iid, "Task_supervisor_approve_return", {"approved": True, "approval_comment": "同意"})
    scenario.complete(iid, "Task_aftersales_send_return_address", {})
    assert scenario.open_elements(iid) == []
    return iid


def test_the_api_says_the_refund_waits_for_the_parcel_message_or_the_timer(scenario):
    iid = refund_waiting_for_the_parcel(scenario)
    body = scenario.instance(iid)
    assert body["open_tasks"] == []
    by_kind = {w["kind"]: w for w in body["waiting_for"]}
    assert set(by_kind) == {"message", "timer"}
    message = by_kind["message"]
    assert message["element_id"] == "Event_return_parcel_received" and message["element_name"] == "收到退货包裹"
    assert message["message"] == "return_parcel_received" and message["correlation"] == {"order_no": "RF-W1"}
    assert message["delivery"]["name"] == "return_parcel_received"
    assert message["delivery"]["correlation"] == {"order_no": "RF-W1"}
    timer = by_kind["timer"]
    assert timer["due_at"] == "2026-11-09T09:00:00+00:00" and "due" not in timer
    # the delivery shown is the one that works
    delivered = scenario.client.post("/api/v1/messages", headers=scenario.headers("integrator"), json={
        **message["delivery"], "data": {"tracking_no": "SF-1"}})
    assert delivered.status_code == 200, delivered.get_json()
    assert scenario.open_elements(iid) == ["Task_warehouse_inspect"]
    assert [w["kind"] for w in scenario.instance(iid)["waiting_for"]] == ["task", "timer"]


def test_the_page_names_the_message_and_the_local_time_of_the_timer_with_the_delivery_folded(scenario, web,
                                                                                           browser_as):
    iid = refund_waiting_for_the_parcel(scenario)
    scenario.user("warehouse", "cangku")
    page = text(browser_as("cangku").get(f"/instances/{iid}"))  # warehouse: a lane of refund, no task there yet
    assert "没有待办任务" in page and "正在等待" in page
    assert "等待消息" in page and "收到退货包裹" in page and "系统会在收到「收到退货包裹」后继续" in page
    panel = waiting_panel(page)  # which message, and how it is delivered, folded for staff
    assert "return_parcel_received" in panel and "<details><summary>集成人员如何发送</summary>" in panel
    assert "POST /api/v1/messages" in panel and "order_no" in panel
    assert "等待定时器" in page and "2026-11-09 17:00" in page  # 09:00 UTC in Beijing time


@pytest.mark.parametrize("roles", [("admin",), ("warehouse", "integrator"), ("warehouse", "designer")])
def test_integrators_admins_and_designers_see_the_message_and_how_to_deliver_it(scenario, web, browser_as, roles):
    """(Integrators and designers alone do not open instance pages: one who also works in a lane does.)"""
    iid = refund_waiting_for_the_parcel(scenario)
    scenario.make_user("tech", *roles)
    page = browser_as("tech").get(f"/instances/{iid}")
    assert page.status_code == 200
    panel = waiting_panel(text(page))
    assert "return_parcel_received" in panel and "收到退货包裹" in panel
    assert "POST /api/v1/messages" in panel and "RF-W1" in panel and "order_no" in panel and "wait-body" in panel
    assert "<details open><summary>集成人员如何发送</summary>" in panel  # open for those who deliver it


def waiting_panel(page: str) -> str:
    """The waiting section of an instance page."""
    match = re.search(r'<section class="waiting".*?</section>', page, re.S)
    assert match, "no waiting panel"
    return match.group(0)


def test_a_role_without_a_lane_in_the_process_is_still_refused(scenario, web, browser_as):
    iid = refund_waiting_for_the_parcel(scenario)
    scenario.user("warehouse", "cangku")
    scenario.user("purchasing", "caigou")
    assert browser_as("cangku").get(f"/instances/{iid}").status_code == 200
    assert scenario.client.get(f"/api/v1/instances/{iid}", headers=scenario.auth("cangku")).status_code == 200
    assert browser_as("caigou").get(f"/instances/{iid}").status_code == 403
    assert scenario.client.get(f"/api/v1/instances/{iid}", headers=scenario.auth("caigou")).status_code == 403


def test_an_external_task_and_a_receive_task_are_explained(api, make_user, web, browser_as, clock):
    make_user("root", "admin")
    make_user("ivan", "integrator")
    assert api("post", "/definitions", json={"files": {"waits_demo.bpmn": WAITS}}).status_code == 201
    iid = api("post", "/instances", json={"process_id": "waits_demo", "data": {}}).get_json()["id"]
    waits = {w["kind"]: w for w in api("get", f"/instances/{iid}").get_json()["waiting_for"]}
    assert waits["external_task"]["topic"] == "payments" and waits["external_task"]["worker_id"] is None
    assert waits["signal"]["element_id"] == "Wait_ack" and waits["signal"]["element_name"] == "等待仓库回执"
    fetched = api("post", "/external-tasks/fetch-and-lock", "ivan", json={
        "worker_id": "w1", "max_tasks": 1, "topics": [{"name": "payments", "lock_duration_ms": 600_000}]})
    assert fetched.status_code == 200 and len(fetched.get_json()) == 1
    waits = {w["kind"]: w for w in api("get", f"/instances/{iid}").get_json()["waiting_for"]}
    assert waits["external_task"]["worker_id"] == "w1"
    assert waits["external_task"]["lock_expires_at"] == "2026-11-02T09:10:00+00:00"
    page = text(browser_as("root").get(f"/instances/{iid}"))
    assert "等待外部任务" in page and "payments" in page and "已由 w1 锁定至 2026-11-02 17:10" in page
    assert "等待信号" in page and f"/api/v1/instances/{iid}/signal" in page and "Wait_ack" in page
    json.dumps(waits)  # plain JSON values
    make_user("zhang", "supervisor")  # staff: the steps by name and when the system goes on, no codes
    panel = waiting_panel(text(browser_as("zhang").get(f"/instances/{iid}")))
    assert "等待外部任务" in panel and "系统会在外部系统完成「扣款」后继续" in panel
    assert "等待信号" in panel and "系统会在收到「等待仓库回执」的信号后继续" in panel
    assert "payments" not in panel and "w1" not in panel and "/signal" not in panel and "Wait_ack" not in panel


def test_an_incident_is_explained(api, make_user, deploy, web, browser_as, clock):
    make_user("root", "admin")
    deploy(DATA / "incidents_script_error.bpmn")
    started = api("post", "/instances", json={"process_id": "incidents_script_error",
                                              "data": {"total": 100, "quantity": 0}}).get_json()
    (wait,) = api("get", f"/instances/{started['id']}").get_json()["waiting_for"]
    assert wait["kind"] == "incident" and wait["element_id"] == "Script_compute"
    assert wait["status"] == "retrying" and "division" in wait["message"]
    page = text(browser_as("root").get(f"/instances/{started['id']}"))
    assert "因故障停止" in page and "division" in page


def test_the_waiting_panel_speaks_english(scenario, web, browser_as):
    iid = refund_waiting_for_the_parcel(scenario)
    scenario.user("warehouse", "cangku")
    client = browser_as("cangku")
    client.get("/lang/en")
    page = text(client.get(f"/instances/{iid}"))
    assert "What it waits for" in page and "Waits for message" in page and "Waits for a timer" in page
    assert "due 2026-11-09 17:00" in page and "The system continues once it receives “收到退货包裹”." in page
