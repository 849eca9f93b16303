"""``required_if`` (issue 14 item 1): a reason required when rejecting, enforced by the engine (API 422 with the
field's message), said and kept on the page in the user's language, checked at deploy, and applied to the
department's forms (拒绝时请写明理由)."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from engine.models import Instance
from web_support import FORMS, browser_as, refund_world, text, web  # noqa: F401 (fixtures)

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  id="Definitions_ri" targetNamespace="http://liucheng.example/tests">
  <bpmn:process id="required_if_demo" name="条件必填" isExecutable="true">
    <bpmn:startEvent id="Start_ri"><bpmn:outgoing>Flow_a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_decide" name="审批" camunda:formKey="ri_form"><bpmn:incoming>Flow_a</bpmn:incoming><bpmn:outgoing>Flow_b</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="End_ri"><bpmn:incoming>Flow_b</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_a" sourceRef="Start_ri" targetRef="Task_decide"/>
    <bpmn:sequenceFlow id="Flow_b" sourceRef="Task_decide" targetRef="End_ri"/>
  </bpmn:process>
</bpmn:definitions>"""
FORM = {"id": "ri_form", "fields": [
    {"name": "approved", "type": "bool", "label": {"zh": "是否同意", "en": "Approve"}, "required": True},
    {"name": "reason", "type": "text", "label": {"zh": "理由", "en": "Reason"},
     "required_if": {"field": "approved", "equals": False}},
    {"name": "channel", "type": "str", "label": {"zh": "渠道", "en": "Channel"},
     "choices": [{"value": "phone", "label": {"zh": "电话", "en": "Phone"}},
                 {"value": "mail", "label": {"zh": "邮件", "en": "Mail"}}]},
    {"name": "number", "type": "str", "label": {"zh": "号码", "en": "Number"}, "max_length": 20,
     "required_if": [{"field": "channel", "in": ["phone"]}, {"field": "approved", "not_equals": True}]},
    {"name": "lines", "type": "list", "label": {"zh": "明细", "en": "Lines"}, "fields": [
        {"name": "ok", "type": "bool", "label": {"zh": "合格", "en": "OK"}, "required": True},
        {"name": "defect", "type": "str", "label": {"zh": "缺陷", "en": "Defect"},
         "required_if": {"field": "ok", "equals": False}}]},
]}


@pytest.fixture
def root(make_user):
    return make_user("root", "admin")


def deploy_demo(api, form=FORM):
    return api("post", "/definitions", json={"files": {"required_if_demo.bpmn": BPMN}, "forms": {"ri_form": form}})


def start_demo(api) -> int:
    assert deploy_demo(api).status_code in (200, 201)
    started = api("post", "/instances", json={"process_id": "required_if_demo", "data": {}})
    assert started.status_code == 201, started.get_json()
    tasks = api("get", f"/tasks?scope=all&instance_id={started.get_json()['id']}").get_json()
    return tasks[0]["id"]


def complete(api, task_id: int, data: dict):
    api("post", f"/tasks/{task_id}/claim")
    return api("post", f"/tasks/{task_id}/complete", json={"data": data})


# -- the engine, through the API ----------------------------------------------------------------------------

def test_a_rejection_without_a_reason_is_422_naming_the_field(api, root):
    task = start_demo(api)
    response = complete(api, task, {"approved": False, "reason": "  "})
    assert response.status_code == 422
    assert response.get_json()["details"] == {"reason": ["Required when 'approved' is false."]}


def test_all_conditions_must_hold_and_rows_have_their_own(api, root):
    task = start_demo(api)
    response = complete(api, task, {"approved": False, "reason": "缺货", "channel": "phone",
                                    "lines": [{"ok": True}, {"ok": False}, {"ok": False, "defect": "破损"}]})
    assert response.status_code == 422
    details = response.get_json()["details"]
    assert details == {"number": ["Required when 'channel' is one of [\"phone\"] and 'approved' is not true."],
                       "lines": {"1": {"defect": ["Required when 'ok' is false."]}}}


def test_a_value_refused_for_its_own_reason_says_only_that(api, root):
    task = start_demo(api)
    response = complete(api, task, {"approved": False, "reason": "缺货", "channel": "phone", "number": "1" * 30})
    assert response.status_code == 422
    assert response.get_json()["details"] == {"number": ["Longer than maximum length 20."]}


def test_when_the_condition_does_not_hold_the_field_may_be_left_out(api, root):
    task = start_demo(api)
    response = complete(api, task, {"approved": True, "channel": "phone", "lines": [{"ok": True}]})
    assert response.status_code == 200, response.get_json()


def test_a_deploy_refuses_a_required_if_naming_no_field_of_the_form(api, root):
    bad = json.loads(json.dumps(FORM))
    bad["fields"][1]["required_if"] = {"field": "aproved", "equals": False}
    bad["fields"][4]["fields"][1]["required_if"] = {"field": "ok", "equals": "no"}
    response = deploy_demo(api, bad)
    assert response.status_code == 422
    problems = response.get_json()["details"]["problems"]
    located = {p["element_id"]: p["message"] for p in problems}
    assert "aproved" in located["reason"] and "approved" in located["reason"]
    assert "true or false" in located["lines.defect"]


# -- the department's forms --------------------------------------------------------------------------------

def test_the_department_forms_require_a_reason_when_rejecting():
    expected = {"refund_refund_only_approval": ("approval_comment", "approved"),
                "refund_return_approval": ("approval_comment", "approved"),
                "compensation_fund_audit": ("audit_comment", "audit_ok"),
                "daily_report_review": ("review_comment", "report_ok"),
                "distributor_reconciliation_reconcile": ("difference_note", "distributor_confirmed")}
    for form_id, (field, decision) in expected.items():
        form = json.loads((FORMS / f"{form_id}.json").read_text(encoding="utf-8"))
        spec = next(f for f in form["fields"] if f["name"] == field)
        assert spec["required_if"] == {"field": decision, "equals": False}, form_id


def test_the_refund_supervisor_must_say_why_on_the_page(refund_world, browser_as, web):
    client = browser_as("zhuguan")
    task = refund_world.task_id
    page = text(client.get(f"/tasks/{task}"))
    assert "「主管是否同意」为「否」时必填" in page and "data-required-if=" in page
    client.post(f"/tasks/{task}/claim")
    response = client.post(f"/tasks/{task}/complete", data={"approved": "false", "approval_comment": ""})
    assert response.status_code == 422
    page = text(response)
    field = re.search(r'data-field="approval_comment".*?</div>\s*</div>', page, re.S).group(0)
    assert "「主管是否同意」为「否」时必填。" in field and 'id="err-approval_comment"' in field
    assert re.search(r'name="approved" value="false" checked', page)  # what was chosen is kept
    assert 'aria-required="true"' in field  # the condition holds: the field is marked required
    client.get("/lang/en")
    page = text(client.post(f"/tasks/{task}/complete", data={"approved": "false"}))
    assert "Required when “Supervisor approves” is “No”." in page
    with web.extensions["liucheng_db"].session() as session:
        status = session.scalars(select(Instance.status).where(Instance.id == refund_world.instance_id)).one()
    assert status == "running"
    assert client.post(f"/tasks/{task}/complete",
                       data={"approved": "false", "approval_comment": "物流在途"}).status_code == 302


def test_the_refund_api_refuses_a_rejection_without_a_comment(refund_world, client, auth):
    headers = auth("zhuguan")
    task = refund_world.task_id
    client.post(f"/api/v1/tasks/{task}/claim", headers=headers)
    response = client.post(f"/api/v1/tasks/{task}/complete", json={"data": {"approved": False}}, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["details"] == {"approval_comment": ["Required when 'approved' is false."]}
