"""The operation log over the API (issue 15 item 4): GET /api/v1/operations, its filters, paging and who may
read it; engine.operation_log's labels."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from engine import database, error_texts, history, operation_log
from engine.models import HistoryEvent


@pytest.fixture
def logged(app, make_user, clock):
    """Three operations an hour apart (09:00, 10:00, 11:00 UTC on 2026-11-03), by root and boss; returns the
    id of the last operation before them (making users records operations too)."""
    for name, role in (("root", "admin"), ("shenji", "auditor"), ("boss", "supervisor"), ("wang", "warehouse")):
        make_user(name, role)
    db = app.extensions["liucheng_db"]
    clock.advance(days=1)
    with db.session() as session:
        for actor, operation, entity_type, entity_id, old, new, reason in (
                ("root", "role_change", "user", "wang", ["warehouse"], ["warehouse", "finance"], None),
                ("boss", "reassign", "task", 7, "wang", "li", "wang is on leave"),
                ("root", "variable_edit", "variable", "amount", {"amount": "12.50"}, {"amount": "15.00"},
                 "typo in the order")):
            with database.command(session):
                history.record_operation(session, actor, operation, entity_type, entity_id, property="value",
                                         old=old, new=new, reason=reason, note="kept")
            clock.advance(hours=1)
        return session.scalar(select(func.min(HistoryEvent.id)).where(HistoryEvent.at >= datetime(2026, 11, 3)))


def ours(rows: list[dict], first: int) -> list[str]:
    return [row["operation"] for row in rows if row["id"] >= first]


def test_an_auditor_reads_every_operation_newest_first_with_old_new_and_reason(api, logged):
    response = api("get", "/operations", "shenji")
    assert response.status_code == 200
    rows = response.get_json()
    assert ours(rows, logged) == ["variable_edit", "reassign", "role_change"]
    assert rows[3]["id"] < logged  # then the older ones (the users made)
    reassign = rows[1]
    assert reassign["at"] == "2026-11-03T10:00:00+00:00"
    assert {k: reassign[k] for k in ("actor", "entity_type", "entity_id", "property", "old", "new", "reason",
                                     "instance_id")} == {
        "actor": "boss", "entity_type": "task", "entity_id": "7", "property": "value", "old": "wang", "new": "li",
        "reason": "wang is on leave", "instance_id": None}
    assert reassign["details"] == {"note": "kept"}
    assert rows[2]["new"] == ["warehouse", "finance"] and rows[0]["old"] == {"amount": "12.50"}
    assert rows[0]["id"] > rows[1]["id"] > rows[2]["id"]


@pytest.mark.parametrize("query, expected", [
    ("actor=root", ["variable_edit", "role_change"]),
    ("operation=reassign", ["reassign"]),
    ("entity_type=user", ["role_change"]),
    ("entity_type=task&entity_id=7", ["reassign"]),
    ("entity_id=8", []),
    ("since=2026-11-03T10:00:00%2B00:00", ["variable_edit", "reassign"]),
    ("until=2026-11-03T10:00:00Z", ["role_change"]),  # until is exclusive
    ("since=2026-11-03T18:00:00%2B08:00&until=2026-11-03T19:00:00%2B08:00", ["reassign"]),  # offsets converted
    ("since=2026-11-03T10:00:00", ["variable_edit", "reassign"]),  # no offset: UTC
    ("actor=%20root%20&operation=", ["variable_edit", "role_change"]),  # spaces trimmed, blank is no filter
    ("limit=1", ["variable_edit"]),
    ("limit=2&offset=1", ["reassign", "role_change"]),
])
def test_the_filters_and_paging(api, logged, query, expected):
    response = api("get", "/operations?" + query, "root")
    assert response.status_code == 200
    rows = response.get_json()
    assert ours(rows, logged) == expected
    if "since=" in query:
        assert len(rows) == len(expected)
    if "limit=" in query:
        assert len(rows) == int(query.split("limit=")[1][0])


@pytest.mark.parametrize("query, field", [
    ("since=yesterday", "since"), ("until=2026-13-40", "until"), ("limit=0", "limit"), ("offset=-1", "offset"),
    ("instance_id=abc", "instance_id"), ("actor=" + "x" * 65, "actor"),
])
def test_bad_parameters_are_400_naming_the_parameter(api, logged, query, field):
    response = api("get", "/operations?" + query, "shenji")
    assert response.status_code == 400
    body = response.get_json()
    assert field in body["message"] and field in body["details"]


@pytest.mark.parametrize("user", ["boss", "wang"])
def test_only_auditors_and_admins_read_the_log(api, logged, user):
    response = api("get", "/operations?since=nonsense", user)  # refused before the query is read
    assert response.status_code == 403
    assert "auditors and admins" in response.get_json()["message"]


def test_the_refusal_reads_in_chinese(client, auth, logged):
    response = client.get("/api/v1/operations", headers={**auth("wang"), "Accept-Language": "zh-CN"})
    assert response.status_code == 403
    assert "只有审计员和管理员可以查看操作日志和审计链" in error_texts.translate(response.get_json()["message"], "zh")


def test_without_credentials_401(client, logged):
    assert client.get("/api/v1/operations").status_code == 401


def test_the_openapi_document_lists_the_audit_routes(client, logged):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/operations", "/api/v1/audit/verify", "/api/v1/audit/head", "/api/v1/audit/anchors"):
        assert "get" in paths[path], path
    assert any(p["name"] == "since" for p in paths["/api/v1/operations"]["get"]["parameters"])


def test_operation_labels_in_both_languages():
    assert operation_log.label("reassign", "zh") == "转派" and operation_log.label("reassign", "en") == "Reassign"
    assert operation_log.label("something_new", "zh") == "something_new"
    names = [o.name for o in operation_log.OPERATIONS]
    for wanted in ("claim_for", "reassign", "delegate", "unclaim", "cancel", "incident_retry", "incident_resolve",
                   "deploy", "user_create", "user_update", "role_change", "attribute_change", "token_issue",
                   "token_revoke", "login_lockout", "variable_edit", "history_cleanup"):
        assert wanted in names
