"""The admin's edit of a process variable (issue 15 item 5): ``runtime.edit_variable``,
``PUT /api/v1/instances/<id>/variables/<name>`` and the instance page's form. Only an admin edits, with a
reason, a value of the variable's declared type, on a running instance; the edit is a ``variables_changed``
event (source admin_edit) and a ``variable_edit`` operation in the chain; a refusal changes nothing. The model
is in tests/variable_support.py."""
from __future__ import annotations

import pytest

from engine import runtime
from engine.errors import ConflictError, FormValidationError, PermissionDeniedError

from variable_support import deployed, people, started  # noqa: F401 (fixtures)
from variable_support import changes, events, fresh, open_task, page_of, snapshot, user
from web_support import browser_as, web  # noqa: F401 (fixtures)


# -- the command ------------------------------------------------------------------------------------

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
    before = snapshot(db_session, started)
    with pytest.raises(PermissionDeniedError):
        runtime.edit_variable(db_session, started, "amount", "1", "why not", user(db_session, who))
    assert snapshot(db_session, started) == before


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_reason_is_required(db_session, started, reason):
    before = snapshot(db_session, started)
    with pytest.raises(FormValidationError, match="reason"):
        runtime.edit_variable(db_session, started, "amount", "1", reason, user(db_session, "root"))
    assert snapshot(db_session, started) == before


def test_a_wrong_type_is_refused_naming_the_field_and_nothing_changes(db_session, started):
    before = snapshot(db_session, started)
    with pytest.raises(FormValidationError) as refused:
        runtime.edit_variable(db_session, started, "amount", "lots", "typo", user(db_session, "root"))
    assert "amount" in refused.value.details
    with pytest.raises(FormValidationError):
        runtime.edit_variable(db_session, started, "amount", "-3", "below the form's minimum", user(db_session, "root"))
    assert snapshot(db_session, started) == before and before[0]["amount"] == 10


def test_an_unknown_variable_is_refused_naming_the_known_ones(db_session, started):
    before = snapshot(db_session, started)
    with pytest.raises(FormValidationError, match="declares a variable 'colour'.*amount, approved, items"):
        runtime.edit_variable(db_session, started, "colour", "red", "new", user(db_session, "root"))
    assert snapshot(db_session, started) == before and "colour" not in before[0]


def test_an_ended_instance_is_not_edited(api, db_session, started):
    assert api("post", f"/instances/{started}/cancel", "root", json={"reason": "test"}).status_code == 200
    before = snapshot(db_session, started)
    with pytest.raises(ConflictError, match="only a running instance"):
        runtime.edit_variable(db_session, started, "amount", "1", "late", user(db_session, "root"))
    assert snapshot(db_session, started) == before


# -- the API -----------------------------------------------------------------------------------------

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


def test_an_admin_edits_on_the_page(web, browser_as, db_session, started):
    admin = browser_as("root")
    page = page_of(admin, started)
    assert "/variables/" not in page and "?edit=amount#variable-amount" in page  # a link; the form when asked
    assert "?edit=tracking#variable-tracking" in page  # declared, not set yet
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


