"""Camunda Forms (issue 12, item 4): form-js JSON (.form files, Camunda 8's zeebe:userTaskForm) deploys with the
BPMN and becomes a Liucheng form: every component type, its validation, FEEL and layout parts ignored with notes;
linked by camunda:formRef, camunda-forms:deployment:/app:NAME.form and zeebe:formDefinition. Through the REST
API and the CLI."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from webui.cli import main

INVOICE_FORM = {
    "id": "Form_invoice", "type": "default", "schemaVersion": 16, "executionPlatform": "Camunda Platform",
    "components": [
        {"type": "text", "id": "Intro", "text": "# Check the invoice"},
        {"type": "textfield", "id": "F_number", "key": "invoiceNumber", "label": "Invoice number",
         "validate": {"required": True, "minLength": 3, "maxLength": 12, "pattern": "INV-[0-9]+"}},
        {"type": "textfield", "id": "F_mail", "key": "email", "label": "E-mail", "validate": {"validationType": "email"}},
        {"type": "textarea", "id": "F_comment", "key": "comment", "label": "Comment", "description": "Why?"},
        {"type": "number", "id": "F_count", "key": "count", "label": "Count", "decimalDigits": 0,
         "validate": {"min": 1, "max": 10}},
        {"type": "number", "id": "F_amount", "key": "amount", "label": "Amount", "decimalDigits": 2},
        {"type": "checkbox", "id": "F_urgent", "key": "urgent", "label": "Urgent"},
        {"type": "checklist", "id": "F_checks", "key": "checks", "label": "Checks",
         "values": [{"label": "Stamp", "value": "stamp"}, {"label": "Signature", "value": "signature"}]},
        {"type": "radio", "id": "F_decision", "key": "decision", "label": "Decision", "validate": {"required": True},
         "values": [{"label": "Approve", "value": "approve"}, {"label": "Reject", "value": "reject"}]},
        {"type": "select", "id": "F_approver", "key": "approver", "label": "Approver", "valuesKey": "approvers"},
        {"type": "taglist", "id": "F_tags", "key": "tags", "label": "Tags",
         "values": [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}]},
        {"type": "datetime", "id": "F_due", "key": "due", "subtype": "date", "dateLabel": "Due date"},
        {"type": "datetime", "id": "F_at", "key": "at", "subtype": "time", "timeLabel": "At"},
        {"type": "datetime", "id": "F_when", "key": "when", "subtype": "datetime", "dateLabel": "When"},
        {"type": "group", "id": "G_flat", "label": "Flat", "components": [
            {"type": "textfield", "id": "F_ref", "key": "reference", "label": "Reference", "defaultValue": "R-1"}]},
        {"type": "group", "id": "G_supplier", "label": "Supplier", "path": "supplier", "components": [
            {"type": "textfield", "id": "F_sname", "key": "name", "label": "Name", "validate": {"required": True}},
            {"type": "textfield", "id": "F_city", "key": "city", "label": "City", "readonly": True}]},
        {"type": "dynamiclist", "id": "L_lines", "label": "Lines", "path": "lines", "isRepeating": True,
         "defaultRepetitions": 2, "allowAddRemove": False, "components": [
             {"type": "textfield", "id": "F_sku", "key": "sku", "label": "SKU", "validate": {"required": True}},
             {"type": "number", "id": "F_qty", "key": "qty", "label": "Qty", "decimalDigits": 0}]},
        {"type": "textfield", "id": "F_hidden", "key": "hiddenNote", "label": "Hidden",
         "conditional": {"hide": "=urgent = false"}},
        {"type": "separator", "id": "Sep"}, {"type": "spacer", "id": "Space", "height": 30},
        {"type": "image", "id": "Logo", "source": "https://example.com/logo.png"},
        {"type": "html", "id": "Html", "content": "<b>hi</b>"},
        {"type": "button", "id": "Submit", "action": "submit", "label": "Submit"},
    ],
}
GOOD = {"invoiceNumber": "INV-42", "email": "a@b.cn", "comment": "fine", "count": 3, "amount": "12.50",
        "urgent": True, "checks": ["stamp"], "decision": "approve", "approver": "wang", "tags": ["a", "b"],
        "due": "2026-12-24", "at": "09:30", "when": "2026-12-24T09:30:00", "reference": "R-9",
        "supplier": {"name": "ACME"}, "lines": [{"sku": "A1", "qty": 2}, {"sku": "B2", "qty": 1}],
        "hiddenNote": None}


def model(link: str, extensions: str = "", start: str = "") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
    id="d" targetNamespace="http://example.com/forms">
  <bpmn:process id="invoice" name="Invoice" isExecutable="true">
    {extensions}
    <bpmn:startEvent id="s" {start}><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_check" name="Check" camunda:candidateGroups="warehouse" {link}>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Task_check"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Task_check" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture
def people(make_user):
    for name, roles in [("wang", ["warehouse"]), ("root", ["admin"])]:
        make_user(name, *roles)


@pytest.fixture
def started(api, people, clock):
    """``started(body)`` deploys ``body`` over the API and starts 'invoice'; → (deploy reply, task JSON, instance)."""
    def go(body: dict):
        deployed = api("post", "/definitions", "root", json=body)
        assert deployed.status_code == 201, deployed.json
        instance = api("post", "/instances", "root", json={"process_id": "invoice", "data": {}}).json
        (task,) = instance["open_tasks"]
        return deployed.json, api("get", f"/tasks/{task['id']}", "wang").json, instance
    return go


def test_every_component_of_a_camunda_form_becomes_a_field(started):
    deployed, task, _ = started({"files": {"invoice.bpmn": model('camunda:formRef="Form_invoice" '
                                                                 'camunda:formRefBinding="latest"')},
                                 "forms": {"invoice.form": INVOICE_FORM}})
    form = task["form"]
    assert form["id"] == "Form_invoice"
    fields = {f["name"]: f for f in form["fields"]}
    assert list(fields) == ["note_Intro", "invoiceNumber", "email", "comment", "count", "amount", "urgent", "checks",
                            "decision", "approver", "tags", "due", "at", "when", "reference", "supplier", "lines",
                            "hiddenNote"]
    assert fields["note_Intro"] == {"name": "note_Intro", "type": "note",
                                    "text": {"zh": "# Check the invoice", "en": "# Check the invoice"}}
    assert fields["invoiceNumber"] | {} == {"name": "invoiceNumber", "type": "str", "required": True, "min_length": 3,
                                            "max_length": 12, "pattern": "INV-[0-9]+",
                                            "label": {"zh": "Invoice number", "en": "Invoice number"}}
    assert fields["email"]["pattern_message"]["en"] == "Must be an email address."
    assert fields["comment"]["type"] == "text" and fields["comment"]["widget"] == "textarea"
    assert fields["comment"]["help"] == {"zh": "Why?", "en": "Why?"}
    assert (fields["count"]["type"], fields["count"]["min"], fields["count"]["max"]) == ("int", 1, 10)
    assert (fields["amount"]["type"], fields["amount"]["places"]) == ("decimal", 2)
    assert fields["urgent"]["type"] == "bool" and fields["urgent"]["default"] is False
    assert fields["checks"]["type"] == "list" and fields["checks"]["item_type"] == "str"
    assert fields["checks"]["widget"] == "checkboxes" and [c["value"] for c in fields["checks"]["choices"]] == \
        ["stamp", "signature"]
    assert fields["decision"]["widget"] == "radio" and fields["decision"]["required"] is True
    assert fields["approver"]["widget"] == "select" and fields["approver"]["choices_from"] == "approvers"
    assert fields["tags"]["type"] == "list" and "widget" not in fields["tags"]
    assert [fields[n]["type"] for n in ("due", "at", "when")] == ["date", "str", "datetime"]
    assert fields["at"]["widget"] == "time" and fields["due"]["label"]["en"] == "Due date"
    assert fields["reference"]["default"] == "R-1"
    supplier = fields["supplier"]
    assert supplier["type"] == "object" and supplier["required"] is True
    assert [(f["name"], f.get("readonly", False)) for f in supplier["fields"]] == [("name", False), ("city", True)]
    lines = fields["lines"]
    assert (lines["type"], lines["add_remove"], lines["default_rows"]) == ("list", False, 2)
    assert [f["name"] for f in lines["fields"]] == ["sku", "qty"]
    messages = " ".join(n["message"] for n in deployed[0]["notes"])
    for ignored in ("conditional hiding", "(image)", "(html)", "(button)", "'approvers'"):
        assert ignored in messages


def test_a_camunda_form_validates_with_details_and_stores_typed_values(api, started):
    _, task, instance = started({"files": {"invoice.bpmn": model('camunda:formRef="Form_invoice"')},
                                 "forms": {"invoice.form": INVOICE_FORM}})
    bad = dict(GOOD, invoiceNumber="X-1", email="nope", count=11, checks=["stamp", "forged"], decision="maybe",
               tags=["c"], at="25:00", supplier={"city": "Hangzhou"}, lines=[{"qty": 1.5}], note_Intro="x")
    refused = api("post", f"/tasks/{task['id']}/complete", "wang", json={"data": bad})
    assert refused.status_code == 422, refused.json
    details = refused.json["details"]
    assert set(details) == {"invoiceNumber", "email", "count", "checks", "decision", "tags", "at", "supplier",
                            "lines", "note_Intro"}
    assert details["email"] == ["Must be an email address."]
    assert "approve" not in api("get", f"/instances/{instance['id']}", "root").json["data"].values()

    done = api("post", f"/tasks/{task['id']}/complete", "wang", json={"data": GOOD})
    assert done.status_code == 200, done.json
    data = api("get", f"/instances/{instance['id']}", "root").json["data"]
    assert data["count"] == 3 and data["amount"] == 12.5 and data["urgent"] is True
    assert data["checks"] == ["stamp"] and data["tags"] == ["a", "b"] and data["at"] == "09:30"
    assert data["due"] == "2026-12-24" and data["when"] == "2026-12-24T09:30:00"
    assert data["supplier"] == {"name": "ACME"} and data["lines"] == [{"sku": "A1", "qty": 2}, {"sku": "B2", "qty": 1}]
    assert "note_Intro" not in data


def test_form_files_in_files_and_the_deployment_and_app_keys(started):
    link = 'camunda:formKey="camunda-forms:deployment:invoice.form"'
    deployed, task, _ = started({"files": {"invoice.bpmn": model(link), "invoice.form": json.dumps(INVOICE_FORM)}})
    assert task["form"]["id"] == "Form_invoice"
    app_link = 'camunda:formKey="camunda-forms:app:invoice.form"'
    deployed, task, _ = started({"files": {"invoice.bpmn": model(app_link)}, "forms": {"invoice.form": INVOICE_FORM}})
    assert task["form"]["id"] == "Form_invoice"
    assert any("app: form" in n["message"] for n in deployed[0]["notes"])


def test_a_form_ref_to_a_form_not_deployed_is_a_note_and_the_generic_form(started):
    deployed, task, _ = started({"files": {"invoice.bpmn": model('camunda:formRef="Form_gone" '
                                                                 'camunda:formRefBinding="version" '
                                                                 'camunda:formRefVersion="3"')}})
    messages = [n["message"] for n in deployed[0]["notes"]]
    assert any("Form_gone" in m and "generic form" in m for m in messages)
    assert any("formRefVersion 3 is not kept" in m for m in messages)
    assert task["form"] is None


def test_a_form_embedded_in_a_camunda_8_model(api, started):
    embedded = json.dumps({"id": "Approve", "components": [
        {"type": "radio", "key": "Vacation Approval", "label": "Approval", "validate": {"required": True},
         "values": [{"label": "Approved", "value": "Approved"}, {"label": "Refused", "value": "Refused"}]},
        {"type": "textfield", "key": "Current Status.name", "label": "Employee", "disabled": True}]})
    extensions = (f'<bpmn:extensionElements><zeebe:userTaskForm id="userTaskForm_1">{embedded.replace("<", "&lt;")}'
                  '</zeebe:userTaskForm></bpmn:extensionElements>')
    link = '><bpmn:extensionElements><zeebe:formDefinition formKey="camunda-forms:bpmn:userTaskForm_1"/>' \
           '</bpmn:extensionElements'
    xml = model("", extensions).replace('camunda:candidateGroups="warehouse" >', 'camunda:candidateGroups="warehouse"'
                                        + link + ">")
    deployed, task, instance = started({"files": {"invoice.bpmn": xml}})
    assert task["form"]["id"] == "generated:invoice/Task_check/bpmn"
    fields = {f["name"]: f for f in task["form"]["fields"]}
    assert fields["Vacation_Approval"]["required"] is True
    assert fields["Current_Status"]["readonly"] is True
    assert any("Vacation_Approval" in n["message"] for n in deployed[0]["notes"])
    assert api("post", f"/tasks/{task['id']}/complete", "wang", json={"data": {}}).status_code == 422
    done = api("post", f"/tasks/{task['id']}/complete", "wang", json={"data": {"Vacation_Approval": "Refused"}})
    assert done.status_code == 200, done.json


def test_a_camunda_form_with_a_component_without_key_is_refused_located(api, people):
    broken = {"id": "Form_broken", "components": [{"type": "textfield", "id": "F_nokey", "label": "No key"}]}
    refused = api("post", "/definitions", "root", json={"files": {"invoice.bpmn": model('camunda:formRef="Form_broken"')},
                                                       "forms": {"broken.form": broken}})
    assert refused.status_code == 422
    (problem,) = refused.json["details"]["problems"]
    assert problem["file"] == "broken.form" and problem["element_id"] == "F_nokey" and "key" in problem["message"]


def test_the_cli_deploys_form_files_next_to_the_bpmn(tmp_path, app, people, database_url, api):
    (tmp_path / "invoice.bpmn").write_text(model('camunda:formKey="camunda-forms:deployment:invoice.form"'))
    (tmp_path / "invoice.form").write_text(json.dumps(INVOICE_FORM))
    result = CliRunner().invoke(main, ["--database", database_url, "deploy", str(tmp_path)])
    assert result.exit_code == 0, result.output
    definition = api("get", "/definitions/invoice", "root").json
    assert definition["version"] == 1
    instance = api("post", "/instances", "root", json={"process_id": "invoice", "data": {}}).json
    (task,) = instance["open_tasks"]
    assert api("get", f"/tasks/{task['id']}", "wang").json["form"]["id"] == "Form_invoice"
