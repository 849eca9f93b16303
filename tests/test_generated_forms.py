"""Generated forms and missing forms (issue 12, item 4): camunda:formData / flowable: and activiti:formProperty
become Liucheng forms at deploy; a form key that names no deployed form deploys with a note and the generic
form; a task without a form takes variables; embedded: HTML forms stay refused. Through the REST API and CLI."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from webui.cli import main

NAMESPACES = {"camunda": "http://camunda.org/schema/1.0/bpmn", "flowable": "http://flowable.org/bpmn",
              "activiti": "http://activiti.org/bpmn"}


def model(task: str, start: str = "", prefix: str = "camunda", process_id: str = "gen") -> str:
    """start (``start`` inside it) → ``task`` (a userTask with id Task_do, candidate group warehouse) → end."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:{prefix}="{NAMESPACES[prefix]}"
    id="d" targetNamespace="http://example.com/gen">
  <bpmn:process id="{process_id}" name="Generated" isExecutable="true">
    <bpmn:startEvent id="s">{start}<bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    {task}
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Task_do"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Task_do" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


def user_task(attributes: str = "", body: str = "", prefix: str = "camunda") -> str:
    return (f'<bpmn:userTask id="Task_do" name="Check the invoice" {prefix}:candidateGroups="warehouse" {attributes}>'
            f'{body}<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>')


def extensions(inner: str) -> str:
    return f"<bpmn:extensionElements>{inner}</bpmn:extensionElements>"


CAMUNDA_FIELDS = extensions("""<camunda:formData>
  <camunda:formField id="invoiceNumber" label="Invoice number" type="string" defaultValue="INV-1">
    <camunda:validation><camunda:constraint name="required"/><camunda:constraint name="minlength" config="3"/>
      <camunda:constraint name="maxlength" config="10"/></camunda:validation>
  </camunda:formField>
  <camunda:formField id="amount" label="Amount" type="long">
    <camunda:validation><camunda:constraint name="min" config="1"/><camunda:constraint name="max" config="500"/>
    </camunda:validation>
  </camunda:formField>
  <camunda:formField id="approved" label="Approved" type="boolean" defaultValue="false"/>
  <camunda:formField id="due" label="Due" type="date" defaultValue="24/12/2026"/>
  <camunda:formField id="category" label="Category" type="enum" defaultValue="travel">
    <camunda:value id="travel" name="Travel"/><camunda:value id="office" name="Office"/>
  </camunda:formField>
  <camunda:formField id="creditor" label="Creditor" type="string">
    <camunda:validation><camunda:constraint name="readonly"/></camunda:validation>
  </camunda:formField>
</camunda:formData>""")


@pytest.fixture
def people(make_user):
    for name, roles in [("wang", ["warehouse"]), ("root", ["admin"])]:
        make_user(name, *roles)


@pytest.fixture
def run(api, people, clock):
    """``run(xml, data)`` deploys over the API (as root), starts the process; → (deploy reply, instance)."""
    def go(xml: str, data: dict | None = None, process_id: str = "gen"):
        deployed = api("post", "/definitions", "root", json={"files": {"gen.bpmn": xml}})
        assert deployed.status_code == 201, deployed.json
        started = api("post", "/instances", "root", json={"process_id": process_id, "data": data or {}})
        assert started.status_code == 201, started.json
        return deployed.json, started.json
    return go


def the_task(api, instance: dict) -> dict:
    (task,) = instance["open_tasks"]
    return api("get", f"/tasks/{task['id']}", "wang").json


def variables(api, instance: dict) -> dict:
    return api("get", f"/instances/{instance['id']}", "root").json["data"]


def test_camunda_form_data_becomes_a_typed_form_that_validates_and_stores_typed_values(api, run):
    deployed, instance = run(model(user_task(body=CAMUNDA_FIELDS)))
    assert "notes" not in deployed[0]
    task = the_task(api, instance)
    form = task["form"]
    assert form["id"] == "generated:gen/Task_do" and form["title"] == {"zh": "Check the invoice", "en": "Check the invoice"}
    by_name = {f["name"]: f for f in form["fields"]}
    assert by_name["invoiceNumber"] == {"name": "invoiceNumber", "type": "str", "required": True, "default": "INV-1",
                                        "label": {"zh": "Invoice number", "en": "Invoice number"},
                                        "min_length": 3, "max_length": 10}
    assert by_name["amount"]["type"] == "int" and (by_name["amount"]["min"], by_name["amount"]["max"]) == (1, 500)
    assert by_name["approved"]["type"] == "bool" and by_name["approved"]["default"] is False
    assert by_name["due"] == {"name": "due", "type": "date", "default": "2026-12-24", "label": {"zh": "Due", "en": "Due"}}
    assert [c["value"] for c in by_name["category"]["choices"]] == ["travel", "office"]
    assert by_name["category"]["default"] == "travel" and by_name["creditor"]["readonly"] is True

    bad = api("post", f"/tasks/{task['id']}/complete", "wang",
              json={"data": {"invoiceNumber": "X", "amount": 900, "due": "24/12/2026", "category": "food",
                             "creditor": "me"}})
    assert bad.status_code == 422, bad.json
    assert set(bad.json["details"]) == {"invoiceNumber", "amount", "due", "category", "creditor"}
    assert api("get", f"/tasks/{task['id']}", "wang").json["status"] in ("open", "claimed")
    assert "invoiceNumber" not in variables(api, instance)

    good = api("post", f"/tasks/{task['id']}/complete", "wang",
               json={"data": {"invoiceNumber": "INV-77", "amount": "12", "approved": True, "due": "2026-12-31",
                              "category": "office"}})
    assert good.status_code == 200, good.json
    data = variables(api, instance)
    assert data["invoiceNumber"] == "INV-77" and data["amount"] == 12 and data["approved"] is True
    assert data["due"] == "2026-12-31" and data["category"] == "office"
    assert api("get", f"/instances/{instance['id']}", "root").json["status"] == "completed"


@pytest.mark.parametrize("prefix", ["flowable", "activiti"])
def test_flowable_and_activiti_form_properties_become_a_form(api, run, prefix):
    body = extensions(f"""
      <{prefix}:formProperty id="days" name="Number of days" type="long" required="true"/>
      <{prefix}:formProperty id="start" name="First day" type="date" datePattern="dd-MM-yyyy"/>
      <{prefix}:formProperty id="motivation" name="Motivation" type="string" variable="reason"/>
      <{prefix}:formProperty id="managerNote" name="Manager" type="string" expression="${{managerName}}" writable="false"/>
      <{prefix}:formProperty id="secret" type="string" readable="false"/>
      <{prefix}:formProperty id="kind" name="Kind" type="enum">
        <{prefix}:value id="paid" name="Paid"/><{prefix}:value id="unpaid" name="Unpaid"/>
      </{prefix}:formProperty>""")
    _, instance = run(model(user_task(body=body, prefix=prefix), prefix=prefix))
    task = the_task(api, instance)
    fields = {f["name"]: f for f in task["form"]["fields"]}
    assert set(fields) == {"days", "start", "reason", "managerName", "kind"}
    assert fields["days"]["required"] is True and fields["days"]["type"] == "int"
    assert fields["managerName"]["readonly"] is True and fields["reason"]["label"]["en"] == "Motivation"
    refused = api("post", f"/tasks/{task['id']}/complete", "wang", json={"data": {"kind": "paid"}})
    assert refused.status_code == 422 and "days" in refused.json["details"]
    done = api("post", f"/tasks/{task['id']}/complete", "wang",
               json={"data": {"days": 3, "reason": "holiday", "kind": "unpaid", "start": "2026-12-01"}})
    assert done.status_code == 200, done.json
    data = variables(api, instance)
    assert (data["days"], data["reason"], data["kind"], data["start"]) == (3, "holiday", "unpaid", "2026-12-01")


def test_a_start_event_with_form_data_has_a_start_form(api, run):
    start = extensions('<camunda:formData><camunda:formField id="customer" label="Customer" type="string">'
                       '<camunda:validation><camunda:constraint name="required"/></camunda:validation>'
                       '</camunda:formField></camunda:formData>')
    deployed = api("post", "/definitions", "root", json={"files": {"gen.bpmn": model(user_task(), start)}})
    assert deployed.status_code == 201, deployed.json
    definition = api("get", "/definitions/gen", "root").json
    assert definition["start_form"]["id"] == "generated:gen/s"
    assert api("post", "/instances", "root", json={"process_id": "gen", "data": {}}).status_code == 422
    started = api("post", "/instances", "root", json={"process_id": "gen", "data": {"customer": "ACME"}})
    assert started.status_code == 201 and variables(api, started.json)["customer"] == "ACME"


def test_a_deployed_form_key_wins_over_form_data_with_a_note(api, run):
    form = {"id": "check", "title": {"zh": "检查", "en": "Check"},
            "fields": [{"name": "ok", "type": "bool", "required": True}]}
    xml = model(user_task('camunda:formKey="check"', CAMUNDA_FIELDS))
    deployed = api("post", "/definitions", "root", json={"files": {"gen.bpmn": xml}, "forms": {"check.json": form}})
    assert deployed.status_code == 201, deployed.json
    assert any("generated form fields are ignored" in n["message"] for n in deployed.json[0]["notes"])
    started = api("post", "/instances", "root", json={"process_id": "gen", "data": {}}).json
    assert the_task(api, started)["form"]["id"] == "check"


def test_form_data_wins_over_a_form_key_that_names_no_deployed_form(api, run):
    deployed, instance = run(model(user_task('camunda:formKey="FirstTaskForm"', CAMUNDA_FIELDS)))
    (note,) = deployed[0]["notes"]
    assert note["element_id"] == "Task_do" and "FirstTaskForm" in note["message"] and note["line"]
    assert the_task(api, instance)["form"]["id"] == "generated:gen/Task_do"


@pytest.mark.parametrize("key", ["approveInvoice", "app:approveInvoice.jsf", "vacation-request"])
def test_a_form_key_that_names_no_form_deploys_with_a_note_and_the_generic_form(api, run, key):
    deployed, instance = run(model(user_task(f'camunda:formKey="{key}"')))
    (note,) = deployed[0]["notes"]
    assert key in note["message"] and "generic form" in note["message"] and note["element_id"] == "Task_do"
    task = the_task(api, instance)
    assert task["form"] is None
    done = api("post", f"/tasks/{task['id']}/complete", "wang",
               json={"data": {"approved": True, "comment": "ok", "lines": [{"sku": "A", "qty": 2}], "ref": None}})
    assert done.status_code == 200, done.json
    data = variables(api, instance)
    assert data["approved"] is True and data["lines"] == [{"sku": "A", "qty": 2}] and data["comment"] == "ok"


def test_the_generic_form_refuses_bad_names_and_too_many_variables_and_changes_nothing(api, run):
    _, instance = run(model(user_task()))
    task = the_task(api, instance)
    for data in ({"_secret": 1}, {"not a name": 1}, {"1x": 1}, {f"v{i}": i for i in range(101)}):
        refused = api("post", f"/tasks/{task['id']}/complete", "wang", json={"data": data})
        assert refused.status_code == 422, refused.json
        assert refused.json["error"] == "form_invalid" or refused.json["details"]
    assert api("get", f"/tasks/{task['id']}", "wang").json["status"] in ("open", "claimed")
    assert api("post", f"/tasks/{task['id']}/complete", "wang", json={"data": {}}).status_code == 200


def test_embedded_html_forms_are_still_refused_naming_the_alternatives(api, people):
    xml = model(user_task('camunda:formKey="embedded:app:forms/approve.html"'))
    refused = api("post", "/definitions", "root", json={"files": {"gen.bpmn": xml}})
    assert refused.status_code == 422
    (problem,) = refused.json["details"]["problems"]
    assert problem["element_id"] == "Task_do" and problem["line"]
    assert "forms/approve.json" in problem["message"] and "formData" in problem["message"]
    assert ".form" in problem["message"]


def test_the_cli_deploys_form_data_and_prints_the_note(tmp_path, app, people, database_url):
    path = tmp_path / "gen.bpmn"
    path.write_text(model(user_task('flowable:formKey="missing"', prefix="flowable"), prefix="flowable"))
    result = CliRunner().invoke(main, ["--database", database_url, "deploy", str(path)])
    assert result.exit_code == 0, result.output
    assert "missing" in result.output and "generic form" in result.output
