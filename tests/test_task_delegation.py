"""Delegate and resolve, with Camunda 7's semantics (issue 14 item 6): the assignee (or a supervisor or an
admin) delegates a claimed task: its owner keeps it, the delegate holds it (``delegation`` pending) and
nobody may complete it until the delegate resolves it, which gives it back to the owner with the data
entered kept as the task's draft. The assignee may also hand their claimed task to another user with the
role (reassign). Over the REST API, on SQLite and PostgreSQL."""
from __future__ import annotations

import re

import pytest

from engine import users, worklist
from web_support import browser_as, text, web  # noqa: F401 (fixtures)
from work_support import ids, people, work  # noqa: F401 (fixtures)

FULL = {"note": "已核对", "qty": 3}


@pytest.fixture
def claimed(api, work):
    """A warehouse task claimed by wang."""
    task = work.deploy().start()
    assert api("post", f"/tasks/{task['id']}/claim", "wang").status_code == 200
    return task


def delegate(api, task_id: int, to: str, by: str = "wang"):
    return api("post", f"/tasks/{task_id}/delegate", by, json={"user": to})


def history_of(api, task) -> list[dict]:
    return api("get", f"/instances/{task['instance_id']}/history", "root").json


def note_field(client, task_id: int) -> str:
    """The task page's "note" input (or textarea) with its value."""
    note = re.search(r'<(input|textarea) id="f-note"[^>]*>([^<]*)', text(client.get(f"/tasks/{task_id}")))
    assert note, "no note field on the task page"
    return note.group(0)


def test_delegating_makes_the_assignee_the_owner_and_the_delegate_the_assignee(api, claimed):
    response = delegate(api, claimed["id"], "fang")
    assert response.status_code == 200, response.json
    task = response.json
    assert (task["owner"], task["assignee"], task["delegation"], task["status"]) == ("wang", "fang", "pending",
                                                                                     "claimed")
    assert claimed["id"] in ids(api("get", "/tasks?scope=mine", "fang"))  # fang has no warehouse role
    assert claimed["id"] in ids(api("get", "/tasks?scope=mine", "wang"))  # the owner keeps seeing it
    assert ids(api("get", "/tasks?scope=delegated", "wang")) == [claimed["id"]]
    assert ids(api("get", "/tasks?scope=delegated", "fang")) == []
    assert api("get", f"/tasks/{claimed['id']}", "fang").status_code == 200
    (event,) = [e for e in history_of(api, claimed) if e["type"] == "task_delegated"]
    assert event["actor"] == "wang" and event["data"] == {"owner": "wang", "from": "wang", "to": "fang"}


def test_a_pending_delegation_cannot_be_completed(api, claimed):
    delegate(api, claimed["id"], "fang")
    for who in ("fang", "wang"):
        refused = api("post", f"/tasks/{claimed['id']}/complete", who, json={"data": FULL})
        assert refused.status_code == 409, refused.json
        assert "must resolve it" in refused.json["message"]
    assert api("get", f"/tasks/{claimed['id']}", "root").json["status"] == "claimed"
    back = api("post", f"/tasks/{claimed['id']}/unclaim", "fang")
    assert back.status_code == 409 and "resolve" in back.json["message"]


def test_resolving_gives_the_task_back_with_the_data_as_draft(api, claimed):
    delegate(api, claimed["id"], "fang")
    resolved = api("post", f"/tasks/{claimed['id']}/resolve", "fang", json={"data": {"note": "数量待定"}})
    assert resolved.status_code == 200, resolved.json
    task = resolved.json
    assert (task["assignee"], task["owner"], task["delegation"]) == ("wang", "wang", "resolved")
    assert task["draft"] == {"note": "数量待定"}
    assert claimed["id"] not in ids(api("get", "/tasks?scope=mine", "fang"))
    assert ids(api("get", "/tasks?scope=delegated", "wang")) == []
    (event,) = [e for e in history_of(api, claimed) if e["type"] == "task_resolved"]
    assert event["actor"] == "fang" and event["data"]["draft"] == {"note": "数量待定"}
    done = api("post", f"/tasks/{claimed['id']}/complete", "wang", json={"data": FULL})
    assert done.status_code == 200, done.json


def test_resolving_without_data_keeps_no_draft(api, claimed):
    delegate(api, claimed["id"], "fang")
    resolved = api("post", f"/tasks/{claimed['id']}/resolve", "fang")
    assert resolved.status_code == 200 and resolved.json["draft"] is None


@pytest.mark.parametrize("data", [{"qty": "很多"}, {"unknown": 1}, ["note"]])
def test_resolving_with_data_not_fitting_the_form_changes_nothing(api, claimed, data):
    delegate(api, claimed["id"], "fang")
    refused = api("post", f"/tasks/{claimed['id']}/resolve", "fang", json={"data": data})
    assert refused.status_code == 422, refused.json
    task = api("get", f"/tasks/{claimed['id']}", "root").json
    assert (task["assignee"], task["delegation"], task["draft"]) == ("fang", "pending", None)


def test_only_the_delegate_resolves(api, claimed):
    delegate(api, claimed["id"], "fang")
    for who in ("wang", "root", "zhao", "li"):
        assert api("post", f"/tasks/{claimed['id']}/resolve", who, json={}).status_code == 403, who
    assert api("post", f"/tasks/{claimed['id']}/resolve", "fang").status_code == 200
    again = api("post", f"/tasks/{claimed['id']}/resolve", "fang")
    assert again.status_code == 409


def test_who_may_delegate(api, work, claimed):
    assert delegate(api, claimed["id"], "fang", by="li").status_code == 403
    assert api("post", f"/tasks/{claimed['id']}/delegate", "audrey", json={"user": "fang"}).status_code == 403
    by_supervisor = delegate(api, claimed["id"], "fang", by="zhao")
    assert by_supervisor.status_code == 200 and by_supervisor.json["owner"] == "wang"
    open_task = work.start()
    assert delegate(api, open_task["id"], "fang", by="zhao").status_code == 409


@pytest.mark.parametrize("target", ["nobody", "audrey", "wang", ""])
def test_delegating_to_someone_who_cannot_take_it_is_refused(api, claimed, target):
    refused = delegate(api, claimed["id"], target)
    assert refused.status_code == 400, refused.json
    assert api("get", f"/tasks/{claimed['id']}", "root").json["delegation"] is None


def test_a_delegate_delegating_further_keeps_the_first_owner(api, claimed):
    delegate(api, claimed["id"], "fang")
    onward = delegate(api, claimed["id"], "li", by="fang")
    assert onward.status_code == 200
    assert (onward.json["owner"], onward.json["assignee"]) == ("wang", "li")
    resolved = api("post", f"/tasks/{claimed['id']}/resolve", "li")
    assert resolved.json["assignee"] == "wang"


def test_the_assignee_hands_their_task_to_another_member_of_the_role(api, claimed):
    refused = api("post", f"/tasks/{claimed['id']}/reassign", "wang", json={"user": "fang", "reason": "休假"})
    assert refused.status_code == 400  # fang has no warehouse role
    handed = api("post", f"/tasks/{claimed['id']}/reassign", "wang", json={"user": "li", "reason": "休假"})
    assert handed.status_code == 200 and handed.json["assignee"] == "li"
    assert api("post", f"/tasks/{claimed['id']}/reassign", "wang",
               json={"user": "wang", "reason": "休假"}).status_code == 403


def test_counts_of_what_a_user_can_act_on(app, api, work, claimed):
    other = work.start()
    delegate(api, claimed["id"], "fang")
    with app.extensions["liucheng_db"].session() as session:
        wang, fang, li = (users.get_user(session, n) for n in ("wang", "fang", "li"))
        assert worklist.counts(session, wang) == {"mine": 1, "claimable": 1, "delegated": 1, "overdue": 0}
        assert worklist.counts(session, fang) == {"mine": 1, "claimable": 0, "delegated": 0, "overdue": 0}
        assert worklist.counts(session, li)["claimable"] == 1
    assert other["id"] in ids(api("get", "/tasks?scope=claimable", "li"))


def test_a_supervisor_reassigning_a_delegated_task_ends_the_delegation(api, claimed):
    """wang delegated to fang, who is away: zhao gives the task to li, who completes it (not stuck pending)."""
    delegate(api, claimed["id"], "fang")
    moved = api("post", f"/tasks/{claimed['id']}/reassign", "zhao", json={"user": "li", "reason": "休假"})
    assert moved.status_code == 200, moved.json
    task = moved.json
    assert (task["assignee"], task["owner"], task["delegation"], task["draft"]) == ("li", None, None, None)
    assert claimed["id"] not in ids(api("get", "/tasks?scope=mine", "fang"))
    assert claimed["id"] not in ids(api("get", "/tasks?scope=mine", "wang"))
    assert ids(api("get", "/tasks?scope=delegated", "wang")) == []
    assert api("post", f"/tasks/{claimed['id']}/resolve", "fang").status_code == 409
    assert api("patch", f"/tasks/{claimed['id']}", "wang", json={"priority": 90}).status_code == 403
    (event,) = [e for e in history_of(api, claimed) if e["type"] == "task_reassigned"]
    assert event["actor"] == "zhao"
    assert event["data"] == {"from": "fang", "to": "li", "owner": "wang", "delegation": "pending"}
    done = api("post", f"/tasks/{claimed['id']}/complete", "li", json={"data": FULL})
    assert done.status_code == 200, done.json


def test_a_delegate_still_cannot_reassign_a_pending_delegation(api, claimed):
    delegate(api, claimed["id"], "li")
    refused = api("post", f"/tasks/{claimed['id']}/reassign", "li", json={"user": "wang", "reason": "休假"})
    assert refused.status_code == 403
    assert api("get", f"/tasks/{claimed['id']}", "root").json["delegation"] == "pending"


def test_reassigning_after_a_resolve_clears_the_owner_and_the_draft(api, claimed):
    delegate(api, claimed["id"], "fang")
    api("post", f"/tasks/{claimed['id']}/resolve", "fang", json={"data": {"note": "数量待定"}})
    moved = api("post", f"/tasks/{claimed['id']}/reassign", "wang", json={"user": "li", "reason": "休假"})
    assert moved.status_code == 200, moved.json
    assert (moved.json["owner"], moved.json["delegation"], moved.json["draft"]) == (None, None, None)
    (event,) = [e for e in history_of(api, claimed) if e["type"] == "task_reassigned"]
    assert event["data"] == {"from": "wang", "to": "li", "owner": "wang", "delegation": "resolved",
                             "draft_cleared": True}


def test_giving_a_resolved_task_back_leaves_the_old_owner_no_rights_and_the_next_holder_no_draft(
        api, claimed, web, browser_as):
    delegate(api, claimed["id"], "fang")
    api("post", f"/tasks/{claimed['id']}/resolve", "fang", json={"data": {"note": "数量待定"}})
    assert "数量待定" in note_field(browser_as("wang"), claimed["id"])  # the owner's form shows the draft
    back = api("post", f"/tasks/{claimed['id']}/unclaim", "wang")
    assert back.status_code == 200, back.json
    assert (back.json["owner"], back.json["delegation"], back.json["draft"]) == (None, None, None)
    (event,) = [e for e in history_of(api, claimed) if e["type"] == "task_unclaimed"]
    assert event["data"] == {"previous_assignee": "wang", "owner": "wang", "delegation": "resolved",
                             "draft_cleared": True}
    assert api("post", f"/tasks/{claimed['id']}/claim", "li").status_code == 200
    assert api("patch", f"/tasks/{claimed['id']}", "wang", json={"priority": 90}).status_code == 403
    assert api("patch", f"/tasks/{claimed['id']}", "li", json={"priority": 90}).status_code == 200
    assert claimed["id"] not in ids(api("get", "/tasks?scope=mine", "wang"))
    assert "数量待定" not in note_field(browser_as("li"), claimed["id"])  # li's form has no old draft


def test_a_plain_unclaim_and_reassign_record_no_delegation(api, claimed):
    assert api("post", f"/tasks/{claimed['id']}/unclaim", "wang").status_code == 200
    assert api("post", f"/tasks/{claimed['id']}/reassign", "zhao",
               json={"user": "li", "reason": "休假"}).status_code == 200
    events = {e["type"]: e["data"] for e in history_of(api, claimed)}
    assert events["task_unclaimed"] == {"previous_assignee": "wang"}
    assert events["task_reassigned"] == {"from": None, "to": "li"}
