"""The history's proofs over the API and on the audit pages (issue 15 items 2 and 3): GET /api/v1/audit/verify
(whole chain and one instance; intact, then after an edit, a deletion and an insertion in SQL with the
triggers dropped), /audit/head, /audit/anchors, who may read them; the verification state on the timeline and
the instance page; the anchors page and the operation log page."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text

from conftest import DATA
from engine import anchors, chain_verify, database as engine_database, hash_chain, history, runtime, users
from engine.models import HistoryEvent

from web_support import browser_as, web  # noqa: F401 (fixtures)


@pytest.fixture
def db(app):
    return app.extensions["liucheng_db"]


@pytest.fixture
def started(db_session, deploy, make_user, clock):
    """Three approval instances started by wang; root (admin), shenji (auditor), boss (supervisor) exist."""
    deploy(DATA / "approval.bpmn", DATA / "forms")
    for name, role in (("root", "admin"), ("shenji", "auditor"), ("boss", "supervisor"), ("wang", "warehouse")):
        make_user(name, role)
    wang = users.get_user(db_session, "wang")
    ids = [runtime.start_instance(db_session, "approval", {"order_no": f"H-{n}", "item": "茶叶", "amount": "12.50"},
                                  wang).id for n in range(3)]
    db_session.commit()
    return ids


def events_of(db_session, instance_id: int) -> list[HistoryEvent]:
    return list(db_session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
                                   .order_by(HistoryEvent.id)))


def tamper(db, statement: str, **params) -> None:
    """Run ``statement`` as a database administrator would: the append-only triggers dropped first. (The
    caller's session must hold no transaction: PostgreSQL's DROP TRIGGER waits for the table's readers.)"""
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP TRIGGER IF EXISTS history_events_no_change ON history_events"))
        else:
            for verb in ("update", "delete"):
                connection.execute(text(f"DROP TRIGGER IF EXISTS history_events_no_{verb}"))
        connection.execute(text(statement), params)


def test_an_intact_chain_verifies_whole_and_per_instance(api, started, db_session):
    body = api("get", "/audit/verify", "shenji").get_json()
    head, count = chain_verify.current_head(db_session)
    assert body["intact"] is True and body["first_broken"] is None
    assert (body["head"], body["events"]) == (head, count) and count >= 9
    one = api("get", f"/audit/verify?instance_id={started[1]}", "root").get_json()
    own = events_of(db_session, started[1])
    assert one["intact"] is True and one["events"] == len(own) and one["head"] == own[-1].hash


def test_the_head_is_what_an_auditor_writes_down(api, started, db_session):
    body = api("get", "/audit/head", "shenji").get_json()
    head, count = chain_verify.current_head(db_session)
    assert body == {"head": head, "events": count, "against": f"{head}:{count}"}
    assert len(head) == 64


@pytest.mark.parametrize("how", ["edit", "delete", "insert"])
def test_tampering_in_sql_is_named_by_the_api(api, started, db_session, db, how):
    own = events_of(db_session, started[1])
    target, after_id = own[1], own[2].id
    target_id, target_at, target_hash = target.id, target.at, target.hash
    db_session.rollback()
    if how == "edit":
        tamper(db, "UPDATE history_events SET actor = 'mallory' WHERE id = :i", i=target_id)
    elif how == "delete":
        tamper(db, "DELETE FROM history_events WHERE id = :i", i=target_id)
    else:  # room made after the target, and a forged event with a well-made hash put in it
        tamper(db, "UPDATE history_events SET id = id + 1000000 WHERE id > :i", i=target_id)
        forged = {"instance_id": started[1], "type": "task_completed", "actor": "mallory", "element_id": None,
                  "task_id": None, "data": {}, "at": target_at, "operation": None, "entity_type": None,
                  "entity_id": None}
        tamper(db, "INSERT INTO history_events (id, instance_id, at, type, actor, data, prev_hash, hash) "
                   "VALUES (:id, :instance, :at, 'task_completed', 'mallory', '{}', :prev, :hash)",
               id=target_id + 1, instance=started[1], at=target_at, prev=target_hash,
               hash=hash_chain.event_hash(forged, target_hash))
    db_session.rollback()  # end the read transaction: see the tampering
    expected = {"edit": (target_id, "changed"), "delete": (after_id, "missing"),
                "insert": (None, None)}[how]
    body = api("get", "/audit/verify", "shenji").get_json()
    assert body == chain_verify.as_dict(chain_verify.verify(db_session))
    assert body["intact"] is False and body["first_broken"]["reason"] in chain_verify.REASONS
    if expected[0] is not None:
        assert (body["first_broken"]["id"], body["first_broken"]["reason"]) == expected
    one = api("get", f"/audit/verify?instance_id={started[1]}", "shenji").get_json()
    assert one["intact"] is False and one == chain_verify.as_dict(chain_verify.verify(db_session, started[1]))
    other = api("get", f"/audit/verify?instance_id={started[0]}", "shenji").get_json()
    assert other["intact"] is True  # the stretch of an instance before the tampering still verifies


def test_anchors_listed_newest_first_with_the_text_to_verify_against(api, started, db_session, clock):
    first = anchors.record_anchor(db_session, "daily")
    clock.advance(days=1)
    with engine_database.command(db_session):
        history.record_operation(db_session, "root", "role_change", "user", "wang", old=[], new=["finance"])
    second = anchors.record_anchor(db_session, "manual")
    db_session.commit()
    body = api("get", "/audit/anchors", "shenji").get_json()
    assert [a["id"] for a in body] == [second.id, first.id]
    assert body[1]["against"] == f"{first.head}:{first.events}" and body[1]["signature_valid"] is True
    assert body[0]["events"] == first.events + 1 and body[0]["kind"] == "manual"
    assert body[0]["at"].endswith("+00:00")
    assert [a["id"] for a in api("get", "/audit/anchors?limit=1", "root").get_json()] == [second.id]
    assert chain_verify.verify_against(db_session, first.head, first.events).intact


@pytest.mark.parametrize("path", ["/audit/verify", "/audit/head", "/audit/anchors",
                                  "/audit/verify?instance_id=1"])
@pytest.mark.parametrize("user", ["boss", "wang"])
def test_only_auditors_and_admins(api, started, path, user):
    response = api("get", path, user)
    assert response.status_code == 403 and "auditors and admins" in response.get_json()["message"]


@pytest.mark.parametrize("query, status", [
    ("instance_id=99999", 404), ("instance_id=abc", 400), ("instance_id=0", 400), ("instance_id=99999999999", 400)])
def test_bad_or_unknown_instances(api, started, query, status):
    response = api("get", "/audit/verify?" + query, "shenji")
    assert response.status_code == status
    if status == 400:
        assert "instance_id" in response.get_json()["message"]


def test_bad_anchor_limit_is_400(api, started):
    response = api("get", "/audit/anchors?limit=0", "shenji")
    assert response.status_code == 400 and "limit" in response.get_json()["message"]


# -- the pages ----------------------------------------------------------------------------------

def verification_box(html: str) -> str:
    found = re.search(r'<[^>]+class="[^"]*chain-verification.*?</(?:section|div)>', html, re.S)
    assert found, "no verification state on the page"
    return found.group(0)


@pytest.mark.parametrize("path", ["/audit/instances/{id}", "/instances/{id}"])
def test_the_timeline_and_instance_page_show_intact(started, browser_as, db_session, path):
    own = events_of(db_session, started[0])
    box = verification_box(browser_as("shenji").get(path.format(id=started[0])).get_data(as_text=True))
    assert "完整" in box and own[-1].hash[:16] in box and f"共 {len(own)} 条事件" in box


def test_the_timeline_shows_broken_with_the_first_event_and_reason(started, browser_as, db_session, db):
    target_id = events_of(db_session, started[0])[1].id
    db_session.rollback()
    tamper(db, "UPDATE history_events SET actor = 'mallory' WHERE id = :i", i=target_id)
    box = verification_box(browser_as("shenji").get(f"/audit/instances/{started[0]}").get_data(as_text=True))
    assert "已被篡改" in box and f"#{target_id}" in box and "内容被修改" in box
    english = browser_as("root")
    english.get("/lang/en")
    box = verification_box(english.get(f"/audit/instances/{started[0]}").get_data(as_text=True))
    assert "Tampered" in box and "its content was changed" in box


def test_a_worker_sees_no_verification_on_the_instance_page(started, browser_as):
    page = browser_as("wang").get(f"/instances/{started[0]}").get_data(as_text=True)
    assert "chain-verification" not in page


def test_the_anchors_page_lists_anchors_and_the_current_head(started, browser_as, db_session):
    anchor = anchors.record_anchor(db_session, "daily")
    db_session.commit()
    page = browser_as("shenji").get("/audit/anchors").get_data(as_text=True)
    head, count = chain_verify.current_head(db_session)
    assert anchor.head in page and f"{head}:{count}" in page
    assert "liucheng audit verify --against" in page
    assert "2026-11-02 17:00" in page  # 09:00 UTC in Beijing time
    assert browser_as("boss").get("/audit/anchors").status_code == 403


def test_the_operation_log_page_filters_and_reads(started, browser_as, db_session, clock):
    make = engine_database.command
    with make(db_session):
        history.record_operation(db_session, "boss", "reassign", "task", 7, instance_id=started[1],
                                 property="assignee", old="wang", new="li", reason="请假")
        history.record_operation(db_session, "root", "variable_edit", "variable", "amount", instance_id=started[2],
                                 property="amount", old={"amount": 12.5}, new=True, reason="更正")
        history.record_operation(db_session, "root", "variable_edit", "variable", f"{started[0]}:status",
                                 instance_id=started[0], property="status", old="open", new="completed", reason="x")
        history.record_operation(db_session, "system", "history_cleanup", "history", None,
                                 new={"instance_ids": list(range(1, 31)), "first_hash": "a" * 64})
    shenji = browser_as("shenji")
    page = shenji.get("/audit/operations").get_data(as_text=True)
    assert ">open</span> → <span class=\"after\">completed<" in page  # a variable's values as they are
    assert "、19、20 … (30)" in page  # a long list cut after 20, its length said
    assert '<code title="' + "a" * 64 + '">' + "a" * 16 + "…</code>" in page
    assert "转派" in page and "修改变量" in page and "请假" in page and "更正" in page
    assert f'/audit/instances/{started[1]}"' in page
    assert "{&#34;amount&#34;" not in page and '{"amount"' not in page  # not raw JSON
    only = shenji.get("/audit/operations?operation=reassign").get_data(as_text=True)
    assert "请假" in only and "更正" not in only
    assert '<option value="reassign" selected' in only
    none = shenji.get("/audit/operations?since=2030-01-01").get_data(as_text=True)
    assert "请假" not in none
    bad = shenji.get("/audit/operations?since=garbage")
    assert bad.status_code == 200  # a date the browser cannot send is no filter, never a 500
    assert browser_as("boss").get("/audit/operations").status_code == 403
    index = shenji.get("/audit/").get_data(as_text=True)
    assert "/audit/operations" in index and "/audit/anchors" in index
