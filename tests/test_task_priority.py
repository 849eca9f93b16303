"""Priority and follow-up date (issue 14 item 6): every task has a priority 0-100 (50, or the model's
``camunda:priority``, an expression allowed) and an optional follow-up date (``camunda:followUpDate``);
the assignee, the owner, a supervisor or an admin sets them (``PATCH /api/v1/tasks/<id>``); the task
list sorts by them and filters by ``min_priority`` and ``follow_up`` (``due``: on or before today;
``current``: none or on or before today, Camunda's followUpBeforeOrNotExistent). Over the REST API, on
SQLite and PostgreSQL; the clock is frozen (tests/conftest.py)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import CLOCK_START
from work_support import ids, people, work  # noqa: F401 (fixtures)

TODAY = CLOCK_START.date()


def patch(api, task_id: int, who: str, **body):
    return api("patch", f"/tasks/{task_id}", who, json=body)


def test_a_task_has_priority_50_and_no_follow_up_date_by_default(work):
    task = work.deploy().start()
    assert (task["priority"], task["follow_up"]) == (50, None)


def test_priority_and_follow_up_date_come_from_the_model(work):
    task = work.deploy('camunda:candidateGroups="warehouse" camunda:priority="${urgent ? 90 : 20}" '
                       'camunda:followUpDate="${follow}"').start({"urgent": True, "follow": "2027-01-05"})
    assert (task["priority"], task["follow_up"]) == (90, "2027-01-05")
    literal = work.deploy('camunda:candidateGroups="warehouse" camunda:priority="70" '
                          'camunda:followUpDate="2027-02-01T09:00:00"', process_id="lit").start()
    assert (literal["priority"], literal["follow_up"]) == (70, "2027-02-01")


def test_a_priority_the_model_cannot_give_is_the_default(work):
    task = work.deploy('camunda:candidateGroups="warehouse" camunda:priority="${missing}" '
                       'camunda:followUpDate="soon"').start()
    assert (task["priority"], task["follow_up"]) == (50, None)


def test_the_assignee_sets_priority_and_follow_up_date(api, work):
    task = work.deploy().start()
    api("post", f"/tasks/{task['id']}/claim", "wang")
    changed = patch(api, task["id"], "wang", priority=80, follow_up="2026-12-24")
    assert changed.status_code == 200, changed.json
    assert (changed.json["priority"], changed.json["follow_up"]) == (80, "2026-12-24")
    only_priority = patch(api, task["id"], "wang", priority=10)
    assert (only_priority.json["priority"], only_priority.json["follow_up"]) == (10, "2026-12-24")
    cleared = patch(api, task["id"], "wang", follow_up=None)
    assert (cleared.json["priority"], cleared.json["follow_up"]) == (10, None)


def test_who_may_set_them(api, work):
    task = work.deploy().start()
    assert patch(api, task["id"], "wang", priority=60).status_code == 403  # open: not theirs yet
    assert patch(api, task["id"], "zhao", priority=60).status_code == 200
    assert patch(api, task["id"], "root", priority=61).status_code == 200
    api("post", f"/tasks/{task['id']}/claim", "wang")
    assert patch(api, task["id"], "li", priority=62).status_code == 403
    assert patch(api, task["id"], "audrey", priority=62).status_code == 403
    api("post", f"/tasks/{task['id']}/delegate", "wang", json={"user": "fang"})
    assert patch(api, task["id"], "wang", priority=63).status_code == 200  # the owner
    assert patch(api, task["id"], "fang", priority=64).status_code == 200  # the delegate holds it
    assert api("get", f"/tasks/{task['id']}", "root").json["priority"] == 64


@pytest.mark.parametrize("body", [{"priority": 101}, {"priority": -1}, {"priority": "high"}, {"priority": 1.5},
                                  {"priority": True}, {"priority": None}, {"follow_up": "tomorrow"},
                                  {"follow_up": 20261224}, {"priority": 70, "follow_up": "2026-13-01"}])
def test_bad_values_are_refused_and_change_nothing(api, work, body):
    task = work.deploy().start()
    refused = api("patch", f"/tasks/{task['id']}", "zhao", json=body)
    assert refused.status_code == 422, refused.json
    assert set(refused.json["details"]) <= {"priority", "follow_up"}
    after = api("get", f"/tasks/{task['id']}", "root").json
    assert (after["priority"], after["follow_up"]) == (50, None)


def test_a_completed_task_cannot_be_changed(api, work):
    task = work.deploy().start()
    api("post", f"/tasks/{task['id']}/claim", "wang")
    api("post", f"/tasks/{task['id']}/complete", "wang", json={"data": {"note": "好", "qty": 1}})
    assert patch(api, task["id"], "zhao", priority=90).status_code == 409


@pytest.fixture
def three(api, work):
    """Three claimable warehouse tasks: priority 20 / 80 / 50, follow-up yesterday / tomorrow / none."""
    work.deploy()
    tasks = [work.start() for _ in range(3)]
    for task, priority, follow_up in zip(tasks, (20, 80, 50), (TODAY - timedelta(days=1),
                                                                TODAY + timedelta(days=1), None)):
        body = {"priority": priority, "follow_up": follow_up.isoformat() if follow_up else None}
        assert patch(api, task["id"], "zhao", **body).status_code == 200
    return [t["id"] for t in tasks]


def test_the_list_sorts_by_priority_and_follow_up_date(api, three):
    low, high, middle = three
    listed = lambda sort: ids(api("get", f"/tasks?scope=claimable&sort={sort}", "wang"))  # noqa: E731
    assert listed("-priority") == [high, middle, low]
    assert listed("priority") == [low, middle, high]
    assert listed("follow_up") == [low, high, middle]  # no date last
    assert listed("-follow_up") == [high, low, middle]
    assert api("get", "/tasks?sort=importance", "wang").status_code == 400


def test_the_list_filters_by_priority_and_follow_up_date(api, three):
    low, high, middle = three
    listed = lambda query: sorted(ids(api("get", f"/tasks?scope=claimable&{query}", "wang")))  # noqa: E731
    assert listed("min_priority=50") == sorted([high, middle])
    assert listed("follow_up=due") == [low]
    assert listed("follow_up=current") == sorted([low, middle])  # tomorrow's is not yet
    assert api("get", "/tasks?min_priority=101", "wang").status_code == 400
    assert api("get", "/tasks?follow_up=later", "wang").status_code == 400


def test_a_change_is_in_the_history_and_no_change_is_not(api, work):
    task = work.deploy().start()
    patch(api, task["id"], "zhao", priority=75, follow_up="2026-12-24")
    patch(api, task["id"], "zhao", priority=75)  # the same: nothing to record
    history = api("get", f"/instances/{task['instance_id']}/history", "root").json
    (event,) = [e for e in history if e["type"] == "task_updated"]
    assert event["actor"] == "zhao" and event["task_id"] == task["id"]
    assert event["data"] == {"priority": {"from": 50, "to": 75}, "follow_up": {"from": None, "to": "2026-12-24"}}
