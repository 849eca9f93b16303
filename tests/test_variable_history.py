"""Variable history (issue 15 item 5): every change of a process variable is a ``variables_changed`` event in
the chain, with old and new value, who or which element changed it and when — from the start form, a task
form, a script, a message, an external task and an admin's edit — read back per variable
(``engine.variable_history``, ``GET /api/v1/instances/<id>/variables/<name>/history``, the instance page);
and the admin's edit itself (``PUT /api/v1/instances/<id>/variables/<name>``, the page's form)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import chain_verify, history, runtime, users, variable_history
from engine.errors import ConflictError, FormValidationError, PermissionDeniedError
from engine.models import HistoryEvent, HumanTask

from conftest import DATA
from web_support import browser_as, web  # noqa: F401 (fixtures)


CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
MODEL = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" {CAMUNDA} id="d"
    targetNamespace="http://example.com/vh">
  <bpmn:message id="M_paid" name="vh_paid"/>
  <bpmn:process id="vh" name="Variable history" isExecutable="true">
    <bpmn:startEvent id="Start" name="Request" camunda:formKey="vh_start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="Start" targetRef="Calc"/>
    <bpmn:scriptTask id="Calc" name="Work out the total" scriptFormat="python"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>total = amount * 2
items = items + ["checked"]</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="Calc" targetRef="Review"/>
    <bpmn:userTask id="Review" name="Review" camunda:formKey="vh_review" camunda:candidateGroups="warehouse">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="Review" targetRef="Paid"/>
    <bpmn:intermediateCatchEvent id="Paid" name="Paid"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="M_paid"/></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="Paid" targetRef="Ship"/>
    <bpmn:serviceTask id="Ship" name="Ship" camunda:type="external" camunda:topic="shipping">
      <bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:sequenceFlow id="f5" sourceRef="Ship" targetRef="Close"/>
    <bpmn:userTask id="Close" name="Close" camunda:formKey="vh_close" camunda:candidateGroups="warehouse">
      <bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing></bpmn:userTask>
    <bpmn:sequenceFlow id="f6" sourceRef="Close" targetRef="End"/>
    <bpmn:endEvent id="End"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""
FORMS = {
    "vh_start.json": {"id": "vh_start", "title": {"zh": "申请", "en": "Request"}, "fields": [
        {"name": "order_no", "type": "str", "label": {"zh": "订单号", "en": "Order no."}, "required": True},
        {"name": "amount", "type": "decimal", "label": {"zh": "金额", "en": "Amount"}, "required": True, "min": 0},
        {"name": "items", "type": "list", "item_type": "str", "label": {"zh": "货品", "en": "Items"}}]},
    "vh_review.json": {"id": "vh_review", "title": {"zh": "审核", "en": "Review"}, "fields": [
        {"name": "approved", "type": "bool", "label": {"zh": "批准", "en": "Approved"}, "required": True},
        {"name": "amount", "type": "decimal", "label": {"zh": "金额", "en": "Amount"}, "min": 0}]},
    "vh_close.json": {"id": "vh_close", "title": {"zh": "结案", "en": "Close"}, "fields": [
        {"name": "note", "type": "text", "label": {"zh": "备注", "en": "Note"}}]},
    "vh_variables.json": {"process_id": "vh", "variables": [
        {"name": "total", "type": "decimal", "label": {"zh": "合计", "en": "Total"}},
        {"name": "paid_ref", "type": "str", "label": {"zh": "付款单号", "en": "Payment ref."}},
        {"name": "tracking", "type": "str", "label": {"zh": "运单号", "en": "Tracking no."}}]},
}


@pytest.fixture
def people(make_user):
    make_user("root", "admin")
    make_user("wang", "warehouse")
    make_user("ivan", "integrator")
    make_user("audrey", "auditor")
    make_user("sam", "supervisor")
    make_user("li", "finance")


@pytest.fixture
def deployed(api, people, clock):
    reply = api("post", "/definitions", "root", json={"files": {"vh.bpmn": MODEL}, "forms": FORMS})
    assert reply.status_code == 201, reply.json


@pytest.fixture
def started(api, deployed):
    """An instance started by wang with the start form; the script has run; Review waits."""
    reply = api("post", "/instances", "wang", json={"process_id": "vh", "data": {
        "order_no": "V-1", "amount": "10.00", "items": ["tea"]}})
    assert reply.status_code == 201, reply.json
    return reply.json["id"]


def fresh(db_session):
    """The test's session, its read transaction ended: it sees what the commands committed since."""
    db_session.rollback()
    return db_session


def events(db_session, instance_id: int) -> list[HistoryEvent]:
    return history.events_of(fresh(db_session), instance_id)


def open_task(db_session, instance_id: int, element_id: str) -> int:
    fresh(db_session)
    return db_session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                        HumanTask.element_id == element_id,
                                                        HumanTask.status.in_(("open", "claimed"))))


@pytest.fixture
def at_close(api, db_session, started):
    """The instance moved on to Close: Review completed (amount corrected), the payment message delivered
    and the external task completed by ivan's worker."""
    review = open_task(db_session, started, "Review")
    reply = api("post", f"/tasks/{review}/complete", "wang", json={"data": {"approved": True, "amount": "12.00"}})
    assert reply.status_code == 200, reply.json
    sent = api("post", "/messages", "ivan", json={"name": "vh_paid", "correlation": {"order_no": "V-1"},
                                                  "data": {"paid_ref": "P-9"}})
    assert sent.status_code in (200, 202), sent.json
    fetched = api("post", "/external-tasks/fetch-and-lock", "ivan", json={
        "worker_id": "w1", "max_tasks": 1, "topics": [{"name": "shipping", "lock_duration_ms": 60000}]})
    assert len(fetched.json) == 1, fetched.json
    done = api("post", f"/external-tasks/{fetched.json[0]['id']}/complete", "ivan",
               json={"worker_id": "w1", "variables": {"tracking": "SF-1"}})
    assert done.status_code in (200, 204), done.json
    return started


def changes(db_session, instance_id: int, name: str) -> list[dict]:
    return variable_history.changes_of(fresh(db_session), instance_id, name)


# -- each source ------------------------------------------------------------------------------------

def test_the_start_form_records_each_value_with_the_starter_and_the_start_event(db_session, started):
    (order_no,) = changes(db_session, started, "order_no")
    assert order_no["source"] == "start_form" and order_no["actor"] == "wang" and order_no["element_id"] == "Start"
    assert order_no["old"] is None and order_no["new"] == "V-1" and order_no.get("added") is True
    assert order_no["at"] is not None and order_no["event_id"]


def test_a_script_records_its_own_changes_old_and_new(db_session, started):
    (total,) = changes(db_session, started, "total")
    assert total["source"] == "script" and total["element_id"] == "Calc" and total["actor"] == "system"
    assert total["new"] == 20 and total["old"] is None and total["added"] is True
    first, by_script = changes(db_session, started, "items")  # a list: the start form's, then the script's
    assert (first["source"], first["new"]) == ("start_form", ["tea"])
    assert (by_script["source"], by_script["old"], by_script["new"]) == ("script", ["tea"], ["tea", "checked"])


def test_one_event_per_source_of_a_step_not_one_per_variable(db_session, started):
    found = [e for e in events(db_session, started) if e.type == "variables_changed"]
    assert [(e.data["source"], sorted(e.data["changes"])) for e in found] == [
        ("start_form", ["amount", "items", "order_no"]), ("script", ["items", "total"])]


def test_task_form_message_and_external_task_each_name_who_and_where(db_session, at_close):
    amount = changes(db_session, at_close, "amount")
    assert [(c["source"], c["old"], c["new"]) for c in amount] == [("start_form", None, 10), ("task_form", 10, 12)]
    by_task = amount[1]
    assert by_task["actor"] == "wang" and by_task["element_id"] == "Review" and by_task["task_id"]
    (approved,) = changes(db_session, at_close, "approved")
    assert approved["source"] == "task_form" and approved["new"] is True
    (paid_ref,) = changes(db_session, at_close, "paid_ref")
    assert (paid_ref["source"], paid_ref["actor"], paid_ref["element_id"], paid_ref["new"]) == (
        "message", "ivan", "Paid", "P-9")
    (tracking,) = changes(db_session, at_close, "tracking")
    assert (tracking["source"], tracking["actor"], tracking["element_id"], tracking["new"]) == (
        "external_task", "ivan", "Ship", "SF-1")
    assert variable_history.names_changed(db_session, at_close)[:3] == ["order_no", "amount", "items"]


def test_the_changes_are_in_the_chain(db_session, at_close):
    verdict = chain_verify.verify(db_session, at_close)
    assert verdict.intact
    rows = db_session.scalars(select(HistoryEvent).where(HistoryEvent.type == "variables_changed")).all()
    assert rows and all(r.hash and r.prev_hash for r in rows)


def test_a_step_that_changes_nothing_records_no_change(api, db_session, started):
    before = len(events(db_session, started))
    review = open_task(db_session, started, "Review")
    assert api("post", f"/tasks/{review}/claim", "wang").status_code == 200
    found = events(db_session, started)[before:]
    assert found and "variables_changed" not in {e.type for e in found}


def test_a_cold_cache_still_records_old_values_of_lists(api, db_session, started):
    runtime.forget()  # the next step reads the data as saved from the row, lists included
    review = open_task(db_session, started, "Review")
    assert api("post", f"/tasks/{review}/complete", "wang", json={"data": {"approved": False}}).status_code == 200
    assert len(changes(db_session, started, "items")) == 2  # unchanged: no spurious change from the row's copy
    assert [c["source"] for c in changes(db_session, started, "approved")] == ["task_form"]


def test_a_signalled_receive_task_names_its_signaller(api, db_session, make_user, deploy):
    make_user("root", "admin")
    make_user("ivan", "integrator")
    deploy(DATA / "receive_signal.bpmn")
    instance_id = api("post", "/instances", json={"process_id": "receive_signal", "data": {}}).json["id"]
    reply = api("post", f"/instances/{instance_id}/signal", "ivan",
                json={"element_id": "Wait_confirmation", "data": {"confirmed_by": "shop"}})
    assert reply.status_code == 200, reply.json
    (confirmed,) = changes(db_session, instance_id, "confirmed_by")
    assert (confirmed["source"], confirmed["actor"], confirmed["element_id"], confirmed["new"]) == (
        "signal", "ivan", "Wait_confirmation", "shop")


# -- the admin's edit -------------------------------------------------------------------------------

def user(db_session, name: str):
    return users.get_user(db_session, name)


def test_an_admin_edits_a_variable_with_a_reason(db_session, started):
    reply = runtime.edit_variable(db_session, started, "amount", "15.50", "  typo in the amount ",
                                  user(db_session, "root"))
    assert reply == {"instance_id": started, "name": "amount", "value": 15.5, "old": 10, "changed": True}
    last = changes(db_session, started, "amount")[-1]
    assert (last["source"], last["actor"], last["old"], last["new"]) == ("admin_edit", "root", 10, 15.5)
    (operation,) = [e for e in events(db_session, started) if e.type == "operation"]
    assert (operation.operation, operation.entity_type, operation.entity_id) == (
        "variable_edit", "variable", f"{started}:amount")
    assert operation.data["property"] == "amount" and operation.data["reason"] == "typo in the amount"
    assert (operation.data["old"], operation.data["new"]) == (10, 15.5)
    fresh(db_session)
    assert runtime.get_instance(db_session, started).data["amount"] == 15.5


def test_the_edited_value_is_what_the_next_step_sees(api, db_session, started):
    runtime.edit_variable(db_session, started, "order_no", "V-2", "wrong order", user(db_session, "root"))
    review = open_task(db_session, started, "Review")
    form = api("get", f"/tasks/{review}", "wang").json
    assert api("post", f"/tasks/{review}/complete", "wang", json={"data": {"approved": True}}).status_code == 200
    fresh(db_session)
    assert runtime.get_instance(db_session, started).data["order_no"] == "V-2", form


def test_a_declared_variable_not_set_yet_may_be_set(db_session, started):
    runtime.edit_variable(db_session, started, "tracking", "SF-0", "known early", user(db_session, "root"))
    (change,) = changes(db_session, started, "tracking")
    assert change["source"] == "admin_edit" and change["new"] == "SF-0" and change.get("added")


def test_an_equal_value_changes_nothing(db_session, started):
    before = len(events(db_session, started))
    reply = runtime.edit_variable(db_session, started, "order_no", "V-1", "no change", user(db_session, "root"))
    assert reply["changed"] is False and len(events(db_session, started)) == before


@pytest.mark.parametrize("who", ["wang", "sam", "audrey", "ivan"])
def test_only_admins_edit(db_session, started, who):
    with pytest.raises(PermissionDeniedError):
        runtime.edit_variable(db_session, started, "amount", "1", "why not", user(db_session, who))


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_reason_is_required(db_session, started, reason):
    with pytest.raises(FormValidationError, match="reason"):
        runtime.edit_variable(db_session, started, "amount", "1", reason, user(db_session, "root"))


def test_a_wrong_type_is_refused_naming_the_field_and_nothing_changes(db_session, started):
    before = len(events(db_session, started))
    with pytest.raises(FormValidationError) as refused:
        runtime.edit_variable(db_session, started, "amount", "lots", "typo", user(db_session, "root"))
    assert "amount" in refused.value.details
    with pytest.raises(FormValidationError):
        runtime.edit_variable(db_session, started, "amount", "-3", "below the form's minimum", user(db_session, "root"))
    assert len(events(db_session, started)) == before
    fresh(db_session)
    assert runtime.get_instance(db_session, started).data["amount"] == 10


def test_an_unknown_variable_is_refused_naming_the_known_ones(db_session, started):
    with pytest.raises(FormValidationError, match="declares a variable 'colour'.*amount, approved, items"):
        runtime.edit_variable(db_session, started, "colour", "red", "new", user(db_session, "root"))


def test_an_ended_instance_is_not_edited(api, db_session, started):
    assert api("post", f"/instances/{started}/cancel", "root", json={"reason": "test"}).status_code == 200
    with pytest.raises(ConflictError, match="only a running instance"):
        runtime.edit_variable(db_session, started, "amount", "1", "late", user(db_session, "root"))


# -- the API -----------------------------------------------------------------------------------------

def test_the_api_gives_a_variables_history_to_who_may_read_the_instance(api, at_close):
    for reader in ("wang", "audrey", "root", "sam"):
        reply = api("get", f"/instances/{at_close}/variables/amount/history", reader)
        assert reply.status_code == 200, (reader, reply.json)
        assert reply.json["name"] == "amount"
        assert [(c["source"], c["actor"], c["new"]) for c in reply.json["changes"]] == [
            ("start_form", "wang", 10), ("task_form", "wang", 12)]
        assert reply.json["changes"][0]["at"].endswith("+00:00") and reply.json["changes"][0]["event_id"]
    assert api("get", f"/instances/{at_close}/variables/colour/history", "wang").json == {"name": "colour",
                                                                                       "changes": []}
    assert api("get", f"/instances/{at_close}/variables/amount/history", "li").status_code == 403
    assert api("get", "/instances/999/variables/amount/history", "root").status_code == 404


def test_the_api_edit(api, db_session, started):
    path = f"/instances/{started}/variables/amount"
    reply = api("put", path, "root", json={"value": "11.25", "reason": "the buyer paid 11.25"})
    assert reply.status_code == 200, reply.json
    assert reply.json == {"instance_id": started, "name": "amount", "value": 11.25, "old": 10, "changed": True}
    last = api("get", f"{path}/history", "audrey").json["changes"][-1]
    assert (last["source"], last["actor"], last["old"], last["new"]) == ("admin_edit", "root", 10, 11.25)
    operations = api("get", "/operations?operation=variable_edit", "audrey")
    if operations.status_code == 200:  # the operation log's API (issue 15 item 4)
        (logged,) = operations.json
        assert (logged["entity_id"], logged["reason"], logged["old"], logged["new"]) == (
            f"{started}:amount", "the buyer paid 11.25", 10, 11.25)


@pytest.mark.parametrize("who, body, status, field", [
    ("wang", {"value": "1", "reason": "x"}, 403, None),
    ("audrey", {"value": "1", "reason": "x"}, 403, None),
    ("root", {"value": "1"}, 422, "reason"),
    ("root", {"value": "1", "reason": "  "}, 422, "reason"),
    ("root", {"value": "many", "reason": "x"}, 422, "amount"),
    ("root", {"reason": "x"}, 400, "value"),
])
def test_the_api_edit_refuses_and_changes_nothing(api, db_session, started, who, body, status, field):
    before = len(events(db_session, started))
    reply = api("put", f"/instances/{started}/variables/amount", who, json=body)
    assert reply.status_code == status, reply.json
    if field:
        assert field in str(reply.json["details"])
    assert len(events(db_session, started)) == before


def test_the_api_edit_of_an_unknown_variable_or_instance_or_an_ended_one(api, started):
    unknown = api("put", f"/instances/{started}/variables/colour", "root", json={"value": "red", "reason": "x"})
    assert unknown.status_code == 422 and "amount, approved, items" in unknown.json["message"]
    assert api("put", "/instances/999/variables/amount", "root",
               json={"value": "1", "reason": "x"}).status_code == 404
    assert api("post", f"/instances/{started}/cancel", "root", json={"reason": "test"}).status_code == 200
    ended = api("put", f"/instances/{started}/variables/amount", "root", json={"value": "1", "reason": "x"})
    assert ended.status_code == 409, ended.json


# -- the instance page ------------------------------------------------------------------------------

def page_of(client, instance_id: int) -> str:
    response = client.get(f"/instances/{instance_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_page_shows_each_variables_history_folded(web, browser_as, at_close):
    page = page_of(browser_as("wang"), at_close)
    section = page[page.index('id="variable-history"'):]
    assert '<details class="variable" id="variable-amount">' in section  # folded: no "open"
    amount = section[section.index('id="variable-amount"'):section.index("</details>", section.index('id="variable-amount"'))]
    assert "金额" in amount and "Review" in amount and "任务表单" in amount and "发起表单" in amount and "Request" in amount
    assert "10.00 → 12.00" in amount.replace("\n", "").replace("  ", "") or "10 → 12" in amount
    assert "Work out the total" in section  # the script's change is named by its step
    assert "variable-edit" not in section and "?edit=" not in section  # only admins edit
    asked = browser_as("wang").get(f"/instances/{at_close}?edit=amount").get_data(as_text=True)
    assert "/variables/amount" not in asked


def test_an_admin_edits_on_the_page(web, browser_as, db_session, started):
    admin = browser_as("root")
    page = page_of(admin, started)
    assert "/variables/" not in page and f"?edit=amount#variable-amount" in page  # a link; the form when asked
    assert f"?edit=tracking#variable-tracking" in page  # declared, not set yet
    asked = admin.get(f"/instances/{started}?edit=amount").get_data(as_text=True)
    assert f'action="/instances/{started}/variables/amount"' in asked and 'name="reason"' in asked
    assert '<details class="variable" id="variable-amount" open>' in asked and 'value="10.0"' in asked
    assert f'action="/instances/{started}/variables/tracking"' not in asked  # one form at a time
    done = admin.post(f"/instances/{started}/variables/amount", data={"value": "13.50", "reason": "typo"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/instances/{started}#variable-history")
    assert runtime.get_instance(fresh(db_session), started).data["amount"] == 13.5
    assert changes(db_session, started, "amount")[-1]["source"] == "admin_edit"
    listed = admin.post(f"/instances/{started}/variables/items", data={"value": '["tea", "cups"]', "reason": "more"})
    assert listed.status_code == 302
    assert runtime.get_instance(fresh(db_session), started).data["items"] == ["tea", "cups"]


def test_a_refused_edit_comes_back_with_its_form_open_and_nothing_changed(web, browser_as, db_session, started):
    admin = browser_as("root")
    refused = admin.post(f"/instances/{started}/variables/amount", data={"value": "lots", "reason": "typo"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert '<details class="variable" id="variable-amount" open>' in page and 'value="lots"' in page
    assert 'role="alert"' in page and ">typo</textarea>" in page
    no_reason = admin.post(f"/instances/{started}/variables/amount", data={"value": "1", "reason": " "})
    assert no_reason.status_code == 422 and "原因" in no_reason.get_data(as_text=True)
    bad_json = admin.post(f"/instances/{started}/variables/items", data={"value": "[tea", "reason": "x"})
    assert bad_json.status_code == 422
    assert runtime.get_instance(fresh(db_session), started).data["amount"] == 10
    assert len(changes(db_session, started, "amount")) == 1


def test_others_may_not_edit_on_the_page_and_an_ended_instance_shows_no_form(web, api, browser_as, db_session,
                                                                              started):
    assert browser_as("wang").post(f"/instances/{started}/variables/amount",
                                   data={"value": "1", "reason": "x"}).status_code == 403
    assert browser_as("audrey").post(f"/instances/{started}/variables/amount",
                                     data={"value": "1", "reason": "x"}).status_code == 403
    assert api("post", f"/instances/{started}/cancel", "root", json={"reason": "test"}).status_code == 200
    page = browser_as("root").get(f"/instances/{started}?edit=amount").get_data(as_text=True)
    assert 'id="variable-history"' in page and "/variables/amount" not in page and "?edit=" not in page


def test_the_timeline_shows_what_no_step_event_shows_and_does_not_double_the_rest(web, browser_as, at_close):
    page = page_of(browser_as("audrey"), at_close)
    timeline = page[page.index('id="history"'):]
    shown = timeline.split('data-event-type="variables_changed"')[1:]
    assert len(shown) == 2  # the message's and the worker's; the start, the task form and the script show their own
    message, worker = (item[:item.index("</li>")] for item in shown)
    assert "付款单号" in message and "P-9" in message and "Paid" in message
    assert "运单号" in worker and "SF-1" in worker and "Ship" in worker


def test_commands_one_after_the_other_in_one_session_each_name_their_own_source(db_session, started):
    root, wang = user(db_session, "root"), user(db_session, "wang")
    runtime.edit_variable(db_session, started, "order_no", "V-2", "typo", root)
    runtime.complete_task(db_session, open_task(db_session, started, "Review"), {"approved": True, "amount": "9"}, wang)
    (approved,) = changes(db_session, started, "approved")
    assert (approved["source"], approved["actor"], approved["element_id"]) == ("task_form", "wang", "Review")
    assert changes(db_session, started, "amount")[-1]["source"] == "task_form"


# -- attribution, as a function ---------------------------------------------------------------------

def queued(type_, actor="system", element_id=None, task_id=None, **data):
    return {"type": type_, "actor": actor, "element_id": element_id, "task_id": task_id, "data": data,
            "operation": None}


def test_what_no_event_explains_is_the_engines():
    changes = variable_history.diff({"score": 1}, {"score": 2})
    assert variable_history.attribute(changes, {"score": 1}, {"score": 2}, []) == {
        ("engine", "system", None, None): {"score": {"old": 1, "new": 2}}}


def test_each_variable_goes_to_the_latest_event_that_brought_it_else_to_the_commands_first():
    before, after = {"a": 1, "b": 1}, {"a": 2, "b": 2, "c": 3}
    events = [queued("task_completed", "wang", "Review", 7, submitted={"a": 2}),
              queued("message_correlated", "ivan", "Paid", data={"b": 2})]
    assert variable_history.attribute(variable_history.diff(before, after), before, after, events) == {
        ("task_form", "wang", "Review", 7): {"a": {"old": 1, "new": 2}, "c": {"old": None, "new": 3, "added": True}},
        ("message", "ivan", "Paid", None): {"b": {"old": 1, "new": 2}}}


def test_a_removed_variable_says_so():
    assert variable_history.diff({"a": 1, "b": [1]}, {"a": 1}) == {"b": {"old": [1], "removed": True}}


def test_a_script_run_twice_in_a_step_keeps_the_value_its_first_run_found():
    before, after = {"n": 0}, {"n": 2}
    events = [queued("script_changed_data", element_id="Count", changed={"n": 1}, removed=[], before={"n": 0}),
              queued("script_changed_data", element_id="Count", changed={"n": 2}, removed=[], before={"n": 1})]
    assert variable_history.attribute(variable_history.diff(before, after), before, after, events) == {
        ("script", "system", "Count", None): {"n": {"old": 0, "new": 2}}}
