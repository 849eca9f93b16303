"""Routed tasks are theirs without claiming (issue 14 item 6): a user task whose assignee resolves to one
user (camunda:assignee, a ``${var}``) is created claimed by that user, who completes it at once; giving it
back puts it in its role's queue, the user it was routed to staying a candidate (Camunda's
``setAssignee(null)``). Over the REST API, on SQLite and PostgreSQL."""
from __future__ import annotations

from work_support import ids, people, work  # noqa: F401 (fixtures)

ROUTED = 'camunda:assignee="${pm}" camunda:candidateGroups="warehouse"'
DATA = {"note": "好", "qty": 1}


def test_a_task_routed_by_expression_is_created_claimed_by_that_user(api, work):
    task = work.deploy(ROUTED).start({"pm": "wang"})
    assert (task["status"], task["assignee"]) == ("claimed", "wang")
    assert task["claimed_at"] == task["created_at"]
    assert task["id"] in ids(api("get", "/tasks?scope=mine", "wang"))
    assert task["id"] not in ids(api("get", "/tasks?scope=claimable", "li"))
    assert task["id"] not in ids(api("get", "/tasks?scope=claimable", "wang"))
    done = api("post", f"/tasks/{task['id']}/complete", "wang", json={"data": DATA})
    assert done.status_code == 200, done.json
    assert done.json["status"] == "completed" and done.json["completed_by"] == "wang"


def test_only_the_routed_user_may_work_on_it(api, work):
    task = work.deploy(ROUTED).start({"pm": "wang"})
    assert api("post", f"/tasks/{task['id']}/claim", "li").status_code == 403
    assert api("post", f"/tasks/{task['id']}/complete", "li", json={"data": DATA}).status_code == 403
    again = api("post", f"/tasks/{task['id']}/claim", "wang")  # as Camunda: the assignee's claim is a no-op
    assert again.status_code == 200 and again.json["assignee"] == "wang" and again.json["status"] == "claimed"
    events = api("get", f"/instances/{task['instance_id']}/history", "root").json
    assert [e["type"] for e in events].count("task_claimed") == 0
    assert api("get", f"/tasks/{task['id']}", "root").json["assignee"] == "wang"


def test_a_literal_assignee_is_routed_the_same_way(api, work):
    task = work.deploy('camunda:assignee="wang"').start()
    assert (task["status"], task["assignee"]) == ("claimed", "wang")
    history = api("get", f"/instances/{task['instance_id']}/history", "root").json
    created = [e for e in history if e["type"] == "task_created"]
    assert created and created[0]["data"]["assignee"] == "wang"


def test_an_assignee_expression_that_gives_no_one_leaves_the_task_in_the_queue(api, work):
    task = work.deploy(ROUTED).start({})
    assert (task["status"], task["assignee"], task["claimed_at"]) == ("open", None, None)
    assert task["id"] in ids(api("get", "/tasks?scope=claimable", "li"))


def test_giving_a_routed_task_back_puts_it_in_its_roles_queue(api, work):
    task = work.deploy('camunda:assignee="${pm}" camunda:candidateGroups="warehouse"').start({"pm": "chen"})
    assert task["assignee"] == "chen"  # chen has no warehouse role: routed by name only
    back = api("post", f"/tasks/{task['id']}/unclaim", "chen")
    assert back.status_code == 200, back.json
    assert (back.json["status"], back.json["assignee"], back.json["claimed_at"]) == ("open", None, None)
    assert task["id"] in ids(api("get", "/tasks?scope=claimable", "li"))
    assert task["id"] in ids(api("get", "/tasks?scope=claimable", "chen"))  # still a candidate
    taken = api("post", f"/tasks/{task['id']}/claim", "li")
    assert taken.status_code == 200 and taken.json["assignee"] == "li"


def test_the_routed_user_may_take_a_given_back_task_again(api, work):
    task = work.deploy(ROUTED).start({"pm": "chen"})
    assert api("post", f"/tasks/{task['id']}/unclaim", "chen").status_code == 200
    taken = api("post", f"/tasks/{task['id']}/claim", "chen")
    assert taken.status_code == 200 and (taken.json["status"], taken.json["assignee"]) == ("claimed", "chen")
    assert api("post", f"/tasks/{task['id']}/complete", "chen", json={"data": DATA}).status_code == 200


def test_a_supervisor_gives_a_routed_task_back_for_its_user(api, work):
    task = work.deploy(ROUTED).start({"pm": "wang"})
    back = api("post", f"/tasks/{task['id']}/unclaim", "zhao")
    assert back.status_code == 200 and back.json["status"] == "open"
    history = api("get", f"/instances/{task['instance_id']}/history", "root").json
    assert [e["data"].get("previous_assignee") for e in history if e["type"] == "task_unclaimed"] == ["wang"]


def test_one_click_completion_is_only_for_a_form_without_any_field(api, work):
    with_fields = work.deploy(ROUTED).start({"pm": "wang"})
    assert with_fields["completes_without_input"] is False
    empty = work.deploy('camunda:assignee="wang"', form_key="empty_form", process_id="confirm").start()
    assert empty["completes_without_input"] is True
    no_form = work.deploy('camunda:assignee="wang"', form_key="", process_id="bare").start()
    assert no_form["completes_without_input"] is True
    assert api("post", f"/tasks/{empty['id']}/complete", "wang", json={"data": {}}).status_code == 200
