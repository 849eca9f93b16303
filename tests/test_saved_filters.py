"""Saved filters per user (issue 14 item 6): ``GET/POST /api/v1/filters``, ``DELETE /api/v1/filters/<id>``;
a name of 1-60 characters unique per user, a query of the worklist's keys (checked as the worklist
checks them), at most 20 per user, each user's own only. On SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from work_support import people  # noqa: F401 (fixture)

QUERY = {"tab": "claimable", "process_id": "refund", "role": "warehouse", "due": "overdue",
         "variables": "order_no_eq_A1001,amount_gt_100", "sort": "-priority", "min_priority": 60,
         "follow_up": "current", "text": "A10"}


def save(api, who: str, name: str, query=None):
    return api("post", "/filters", who, json={"name": name, "query": QUERY if query is None else query})


def test_a_user_saves_lists_and_deletes_filters(api, people, clock):
    first = save(api, "wang", "紧急退款")
    assert first.status_code == 201, first.json
    assert first.json["name"] == "紧急退款" and first.json["query"] == QUERY
    assert first.json["created_at"].endswith("+00:00")
    second = save(api, "wang", "我的", {"tab": "mine", "sort": "due"})
    listed = api("get", "/filters", "wang").json
    assert [(f["id"], f["name"], f["position"]) for f in listed] == [(first.json["id"], "紧急退款", 1),
                                                                    (second.json["id"], "我的", 2)]
    assert api("delete", f"/filters/{first.json['id']}", "wang").status_code == 204
    assert [f["name"] for f in api("get", "/filters", "wang").json] == ["我的"]


def test_filters_are_each_users_own(api, people):
    mine = save(api, "wang", "仓库").json
    assert api("get", "/filters", "li").json == []
    assert api("delete", f"/filters/{mine['id']}", "li").status_code == 404
    assert save(api, "li", "仓库").status_code == 201  # the same name for another user
    assert [f["name"] for f in api("get", "/filters", "wang").json] == ["仓库"]
    assert api("delete", "/filters/999", "wang").status_code == 404


def test_empty_values_are_dropped_and_names_trimmed(api, people):
    saved = save(api, "wang", "  只看我的  ", {"tab": "mine", "process_id": "", "role": None})
    assert saved.status_code == 201 and saved.json["name"] == "只看我的" and saved.json["query"] == {"tab": "mine"}


@pytest.mark.parametrize("name", ["", "   ", "x" * 61, 12, None])
def test_a_name_of_1_to_60_characters(api, people, name):
    refused = api("post", "/filters", "wang", json={"name": name, "query": {}})
    assert refused.status_code == 400, refused.json
    assert api("get", "/filters", "wang").json == []


@pytest.mark.parametrize("query", [{"scope": "all"}, {"tab": "everything"}, {"due": "later"},
                                   {"sort": "importance"}, {"follow_up": "later"}, {"min_priority": 101},
                                   {"min_priority": "high"}, {"variables": "amount_between_1"},
                                   {"process_id": 5}, ["tab"], {"text": "x" * 501}])
def test_the_query_keys_and_values_are_checked(api, people, query):
    refused = save(api, "wang", "坏的", query)
    assert refused.status_code == 400, refused.json
    assert api("get", "/filters", "wang").json == []


def test_a_name_is_unique_per_user_and_twenty_at_most(api, people):
    assert save(api, "wang", "f0").status_code == 201
    duplicate = save(api, "wang", "f0")
    assert duplicate.status_code == 409 and "f0" in duplicate.json["message"]
    for n in range(1, 20):
        assert save(api, "wang", f"f{n}").status_code == 201
    over = save(api, "wang", "f20")
    assert over.status_code == 409 and "20" in over.json["message"]
    assert len(api("get", "/filters", "wang").json) == 20


def test_an_auditor_lists_but_saves_nothing(api, people):
    assert api("get", "/filters", "audrey").json == []
    assert save(api, "audrey", "审计").status_code == 403
    assert api("get", "/filters").status_code == 200
    assert api("get", "/filters", "nobody").status_code == 401
