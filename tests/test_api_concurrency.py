"""Two users acting on the same task at the same moment: exactly one wins, the other gets 409.

Real threads, each with its own test client (so its own request, session and
connection), released together by a ``threading.Barrier``. Each race is run on
several instances to give the losing side many chances to slip through.
"""
from __future__ import annotations

import threading
from collections import Counter

import pytest

from conftest import DATA

ROUNDS = 5
START = {"order_no": "SO-9", "item": "碗", "amount": "3.00"}
CHECKED = {"data": {"checked_qty": 2, "condition": "good"}}


@pytest.fixture
def setup(deploy, make_user, clock):
    deploy(DATA / "approval.bpmn", DATA / "forms")
    for name, role in [("wang", "warehouse"), ("li", "warehouse"), ("root", "admin")]:
        make_user(name, role)


def start_instance(client, auth) -> tuple[int, int]:
    """A new approval instance and the id of its open Task_check."""
    body = client.post("/api/v1/instances", headers=auth("wang"), json={"process_id": "approval", "data": START}).json
    return body["id"], body["open_tasks"][0]["id"]


def race(app, auth, *requests: tuple[str, str, dict | None]) -> list:
    """Send ``(user, path, json)`` requests at once from separate threads; the responses in order."""
    barrier = threading.Barrier(len(requests))
    responses: list = [None] * len(requests)

    def send(index: int, user: str, path: str, body: dict | None) -> None:
        client = app.test_client()
        barrier.wait(timeout=30)
        responses[index] = client.post(path, headers=auth(user), json=body)

    threads = [threading.Thread(target=send, args=(i, *request)) for i, request in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(r is not None for r in responses), "a request did not finish"
    return responses


def history(client, auth, instance_id: int) -> list[dict]:
    return client.get(f"/api/v1/instances/{instance_id}/history", headers=auth("root")).json


def test_two_claims_at_once_one_wins(app, client, auth, setup):
    for _ in range(ROUNDS):
        instance_id, task_id = start_instance(client, auth)
        path = f"/api/v1/tasks/{task_id}/claim"
        responses = race(app, auth, ("wang", path, None), ("li", path, None))
        assert sorted(r.status_code for r in responses) == [200, 409], [r.json for r in responses]
        winner = next(r for r in responses if r.status_code == 200).json["assignee"]
        loser = next(r for r in responses if r.status_code == 409)
        assert loser.json["error"] == "conflict"
        task = client.get(f"/api/v1/tasks/{task_id}", headers=auth("root")).json
        assert (task["status"], task["assignee"]) == ("claimed", winner)
        claims = [e for e in history(client, auth, instance_id) if e["type"] == "task_claimed"]
        assert [e["actor"] for e in claims] == [winner]


def test_two_completions_at_once_advance_the_instance_once(app, client, auth, setup):
    for _ in range(ROUNDS):
        instance_id, task_id = start_instance(client, auth)
        path = f"/api/v1/tasks/{task_id}/complete"
        responses = race(app, auth, ("wang", path, CHECKED), ("li", path, CHECKED))
        assert sorted(r.status_code for r in responses) == [200, 409], [r.json for r in responses]
        events = history(client, auth, instance_id)
        assert Counter(e["type"] for e in events)["task_completed"] == 1
        assert [e["element_id"] for e in events if e["type"] == "task_created"] == ["Task_check", "Task_decide"]
        instance = client.get(f"/api/v1/instances/{instance_id}", headers=auth("root")).json
        assert instance["status"] == "running"
        assert [t["element_id"] for t in instance["open_tasks"]] == ["Task_decide"]


def test_a_claim_racing_a_completion_leaves_the_task_consistent(app, client, auth, setup):
    for _ in range(ROUNDS):
        instance_id, task_id = start_instance(client, auth)
        responses = race(app, auth, ("wang", f"/api/v1/tasks/{task_id}/claim", None),
                         ("li", f"/api/v1/tasks/{task_id}/complete", CHECKED))
        claim, complete = (r.status_code for r in responses)
        assert sorted([claim, complete]) == [200, 409], [r.json for r in responses]
        task = client.get(f"/api/v1/tasks/{task_id}", headers=auth("root")).json
        expected = ("claimed", "wang") if claim == 200 else ("completed", "li")
        assert (task["status"], task["assignee"]) == expected
        completions = [e for e in history(client, auth, instance_id) if e["type"] == "task_completed"]
        assert len(completions) == (1 if complete == 200 else 0)


def test_a_claim_racing_a_cancel_never_revives_the_task(app, client, auth, setup):
    for _ in range(ROUNDS):
        instance_id, task_id = start_instance(client, auth)
        responses = race(app, auth, ("li", f"/api/v1/tasks/{task_id}/claim", None),
                         ("wang", f"/api/v1/instances/{instance_id}/cancel", {"reason": "客户撤回"}))
        claim, cancel = (r.status_code for r in responses)
        assert cancel == 200 and claim in (200, 409), [r.json for r in responses]
        task = client.get(f"/api/v1/tasks/{task_id}", headers=auth("root")).json
        instance = client.get(f"/api/v1/instances/{instance_id}", headers=auth("root")).json
        assert (task["status"], instance["status"], instance["open_tasks"]) == ("cancelled", "cancelled", [])
