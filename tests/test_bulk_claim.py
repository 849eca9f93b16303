"""Bulk claim (issue 14 item 6): ``POST /api/v1/tasks/claim {"task_ids": [...]}`` (1 to 100 ids) claims
each task in its own command and answers 200 ``{"claimed": [ids], "refused": [{"id", "error",
"message"}]}``: a refusal is what claiming that task alone would have said. On SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from work_support import ids, people, work  # noqa: F401 (fixtures)


def claim(api, who: str, task_ids):
    return api("post", "/tasks/claim", who, json={"task_ids": task_ids})


def test_open_tasks_of_my_role_are_claimed_and_the_others_refused(api, work):
    work.deploy()
    a, b, c = (work.start()["id"] for _ in range(3))
    finance = work.deploy('camunda:candidateGroups="finance"', process_id="pay").start()["id"]
    assert api("post", f"/tasks/{c}/claim", "li").status_code == 200
    answer = claim(api, "wang", [a, b, c, finance, 999, a])
    assert answer.status_code == 200, answer.json
    assert answer.json["claimed"] == [a, b]
    refused = {r["id"]: r["error"] for r in answer.json["refused"]}
    assert refused == {c: "conflict", finance: "permission_denied", 999: "not_found"}
    assert all(r["message"] for r in answer.json["refused"])
    assert sorted(ids(api("get", "/tasks?scope=mine", "wang"))) == sorted([a, b])
    history = api("get", f"/instances/{api('get', f'/tasks/{a}', 'root').json['instance_id']}/history", "root").json
    assert [e["actor"] for e in history if e["type"] == "task_claimed"] == ["wang"]


def test_a_refusal_does_not_undo_the_claims_before_it(api, work):
    work.deploy()
    a = work.start()["id"]
    answer = claim(api, "wang", [999, a])
    assert answer.json["claimed"] == [a] and [r["id"] for r in answer.json["refused"]] == [999]
    assert api("get", f"/tasks/{a}", "root").json["assignee"] == "wang"


@pytest.mark.parametrize("body", [{}, {"task_ids": []}, {"task_ids": list(range(1, 102))}, {"task_ids": ["a"]},
                                  {"task_ids": [0]}, {"task_ids": 5}])
def test_a_malformed_request_claims_nothing(api, work, body):
    work.deploy()
    task = work.start()["id"]
    refused = api("post", "/tasks/claim", "wang", json=body)
    assert refused.status_code == 400, refused.json
    assert api("get", f"/tasks/{task}", "root").json["status"] == "open"


def test_at_most_one_hundred_ids(api, work):
    work.deploy()
    task = work.start()["id"]
    answer = claim(api, "wang", [task] + list(range(10_000, 10_099)))
    assert answer.status_code == 200 and answer.json["claimed"] == [task] and len(answer.json["refused"]) == 99


def test_an_auditor_claims_nothing(api, work):
    work.deploy()
    task = work.start()["id"]
    assert claim(api, "audrey", [task]).status_code == 403
    assert api("get", f"/tasks/{task}", "root").json["status"] == "open"
