"""Variable history (issue 15 item 5): every change of a process variable is a ``variables_changed`` event in
the chain, with old and new value, who or which element changed it and when — from the start form, a task
form, a script, a message, a signal and an external task — read back per variable (``engine.variable_history``,
``GET /api/v1/instances/<id>/variables/<name>/history``, the instance page), and how a step's changes are
attributed to their sources. The admin's edit is in tests/test_variable_edit.py; the model in
tests/variable_support.py."""
from __future__ import annotations

from sqlalchemy import select

from engine import chain_verify, runtime, variable_history
from engine.models import HistoryEvent

from conftest import DATA
from variable_support import at_close, deployed, people, started  # noqa: F401 (fixtures)
from variable_support import changes, events, open_task, page_of, user
from web_support import browser_as, web  # noqa: F401 (fixtures)


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

# -- the API and the instance page -------------------------------------------------------------------

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
