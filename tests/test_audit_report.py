"""An instance's audit report (issue 15 item 7): ``/instances/<id>/report`` (printable page) and
``/api/v1/instances/<id>/report.json`` — the path taken, every task with who/when/data, comments and
attachments with their SHA-256, the variable history, the operations and the chain proof; who may read it;
a tampered history shows in it; an instance with 5,000 events renders."""
from __future__ import annotations

import hashlib
import io
import json
import re
from datetime import datetime

from sqlalchemy import select, text

from engine import audit_report, chain_verify, hash_chain, history
from engine.models import HistoryEvent
from web_support import browser_as, open_task, refund_world, web  # noqa: F401 (fixtures)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(200)


def walk(client, auth, web, browser_as, world) -> None:
    """A comment and a photo on the supervisor's task, the supervisor approves, finance pays."""
    assert client.post(f"/api/v1/tasks/{world.task_id}/comments", headers=auth("zhuguan"),
                       json={"text": "请核实物流单号"}).status_code == 201
    assert client.post(f"/api/v1/tasks/{world.task_id}/attachments", headers=auth("zhuguan"),
                       data={"file": [(io.BytesIO(PNG), "退货照片.png")]},
                       content_type="multipart/form-data").status_code == 201
    boss = browser_as("zhuguan")
    boss.post(f"/tasks/{world.task_id}/claim")
    assert boss.post(f"/tasks/{world.task_id}/complete", data={"approved": "true", "approval_comment": "同意"}
                     ).status_code == 302
    finance_task = open_task(web, world.instance_id).id
    assert browser_as("caiwu").post(f"/tasks/{finance_task}/complete", data={"payment_ref": "ALI-9"}).status_code == 302


def report_of(client, auth, instance_id: int, user: str = "shenji"):
    return client.get(f"/api/v1/instances/{instance_id}/report.json", headers=auth(user))


def naive_utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso).replace(tzinfo=None)


def test_the_json_report_holds_path_tasks_files_variables_and_the_chain(client, auth, web, browser_as, refund_world,
                                                                         clock, db_session):
    walk(client, auth, web, browser_as, refund_world)
    response = report_of(client, auth, refund_world.instance_id)
    assert response.status_code == 200 and response.mimetype == "application/json"
    report = response.get_json()
    assert set(report) == {"report", "instance", "path", "tasks", "comments", "attachments", "variables",
                           "operations", "chain"}
    head, count = chain_verify.current_head(db_session)
    assert report["report"]["head"] == {"hash": head, "events": count}
    assert report["report"]["generated_by"] == "shenji" and report["report"]["generated_at"].endswith("+00:00")
    assert report["report"]["verify"] == {
        "instance": f"liucheng audit verify --instance {refund_world.instance_id}",
        "against": f"liucheng audit verify --against {head}:{count}"}
    assert report["instance"]["business_key"] == "W-1001" and report["instance"]["definition"]["process_id"] == "refund"
    # the path: steps in the order they happened, each proven by an event; the flows of the decisions taken
    steps = report["path"]["steps"]
    assert [s["event_id"] for s in steps] == sorted(s["event_id"] for s in steps)
    assert steps[0]["element_type"] == "startEvent"
    done_tasks = [s for s in steps if s["event"] == "task_completed"]
    assert [s["actor"] for s in done_tasks] == ["zhuguan", "caiwu"]
    flows = {f["flow_id"] for f in report["path"]["flows"]}
    assert flows and all(f["source"] in report["path"]["counts"] for f in report["path"]["flows"])
    # tasks: who and when, the data submitted with its values before
    boss_task = next(t for t in report["tasks"] if t["id"] == refund_world.task_id)
    assert boss_task["completed_by"] == "zhuguan" and boss_task["completed_at"].endswith("+00:00")
    assert boss_task["submitted"]["approved"] is True and "approved" in boss_task["before"]
    assert [e["type"] for e in boss_task["events"]][-2:] == ["task_claimed", "task_completed"]
    # comments and attachments, with the file's checksum
    assert [c["text"] for c in report["comments"]] == ["请核实物流单号"]
    [photo] = report["attachments"]
    assert photo["sha256"] == hashlib.sha256(PNG).hexdigest() and photo["name"] == "退货照片.png"
    # the variable history: the supervisor's decision, with who made it
    variables = {v["name"]: v["changes"] for v in report["variables"]}
    assert variables["approved"][-1]["new"] is True and variables["approved"][-1]["actor"] == "zhuguan"
    assert variables["payment_ref"][-1]["new"] == "ALI-9"
    # the chain: every event of the instance, each hash recomputable from what the report says
    events = report["chain"]["events"]
    stored = db_session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == refund_world.instance_id)
                                .order_by(HistoryEvent.id)).all()
    assert [e["id"] for e in events] == [e.id for e in stored] and report["report"]["instance_events"] == len(stored)
    for event in events:
        content = {**event, "at": naive_utc(event["at"])}
        assert hash_chain.event_hash(content, event["prev_hash"]) == event["hash"]
    assert report["chain"]["verification"]["intact"] is True and report["chain"]["verification"]["checked"] is True
    assert report["chain"]["verification"]["events"] == len(events)
    assert report["chain"]["verification"]["first_broken"] is None
    # the head the report names is an anchor: the history up to it still proves unchanged after more events
    assert client.post(f"/api/v1/instances/{refund_world.instance_id}/comments", headers=auth("kefu"),
                       json={"text": "已结案"}).status_code == 201
    db_session.rollback()
    assert chain_verify.current_head(db_session)[1] > count
    assert chain_verify.verify_against(db_session, head, count).intact


def test_operations_on_the_instance_are_in_the_report(client, auth, refund_world, app):
    with app.extensions["liucheng_db"].session() as session:
        history.record_operation(session, "zhuguan", "reassign", "task", refund_world.task_id,
                                 instance_id=refund_world.instance_id, property="assignee", old=None, new="cangku",
                                 reason="主管休假")
        history.record_operation(session, "guanli", "role_change", "user", "kefu", property="roles")  # not this one's
        session.commit()
    report = report_of(client, auth, refund_world.instance_id, "guanli").get_json()
    [operation] = report["operations"]
    assert (operation["operation"], operation["actor"], operation["entity_id"], operation["new"],
            operation["reason"]) == ("reassign", "zhuguan", str(refund_world.task_id), "cangku", "主管休假")
    task = next(t for t in report["tasks"] if t["id"] == refund_world.task_id)
    assert task["events"][-1]["operation"] == "reassign"


def test_the_page_labels_everything_and_says_how_to_check_it(client, auth, web, browser_as, refund_world, clock):
    walk(client, auth, web, browser_as, refund_world)
    response = browser_as("shenji").get(f"/instances/{refund_world.instance_id}/report")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "审计报告" in page and "W-1001" in page
    assert f"liucheng audit verify --instance {refund_world.instance_id}" in page
    assert re.search(r"liucheng audit verify --against [0-9a-f]{64}:\d+", page)
    assert "report-print.css" in page and 'class="bpmn-diagram"' in page
    assert "主管是否同意" in page and "ALI-9" in page  # field labels, values as people read them
    assert hashlib.sha256(PNG).hexdigest() in page and "请核实物流单号" in page
    assert "链校验通过" in page and "变更来源" in page and "任务表单" in page
    assert "shenji" in page  # who generated it
    auditor = browser_as("shenji")
    auditor.get("/lang/en")
    english = auditor.get(f"/instances/{refund_world.instance_id}/report").get_data(as_text=True)
    assert "Audit report" in english and "The chain verifies" in english and "Variable history" in english
    assert "审计报告" not in english


def test_print_stylesheet_leaves_out_the_menu_and_prints_a4(web):
    css = web.test_client().get("/static/report-print.css").get_data(as_text=True)
    printed = css[css.index("@media print"):]
    assert "size: A4" in printed and ".topbar" in printed and "display: none" in printed
    assert "attr(href)" in printed and "break-inside: avoid" in printed


def test_who_may_read_the_report(client, auth, web, browser_as, refund_world, make_user):
    """An audit document (its operations' reasons and values, the chain's verdict): auditors and admins only,
    not the supervisor or the starter who read the instance itself."""
    make_user("outsider", "pm")
    for user in ("shenji", "guanli"):  # auditor, admin
        assert report_of(client, auth, refund_world.instance_id, user).status_code == 200, user
        assert browser_as(user).get(f"/instances/{refund_world.instance_id}/report").status_code == 200, user
    for user in ("zhuguan", "kefu", "outsider"):  # supervisor, who started it, someone else
        assert browser_as(user).get(f"/instances/{refund_world.instance_id}").status_code == (
            403 if user == "outsider" else 200), user
        refused = report_of(client, auth, refund_world.instance_id, user)
        assert refused.status_code == 403 and "operations" not in refused.get_json(), user
        assert browser_as(user).get(f"/instances/{refund_world.instance_id}/report").status_code == 403, user
    assert report_of(client, auth, 999_999, "kefu").status_code == 403  # refused before the instance is looked at
    assert report_of(client, auth, 999_999).status_code == 404
    assert browser_as("shenji").get("/instances/999999/report").status_code == 404
    assert client.get(f"/api/v1/instances/{refund_world.instance_id}/report.json").status_code == 401
    assert client.get(f"/instances/{refund_world.instance_id}/report").status_code == 302  # to sign in


def test_a_history_edited_in_sql_shows_in_the_report(client, auth, browser_as, refund_world, app):
    database = app.extensions["liucheng_db"]
    with database.session() as session:
        target = session.scalars(select(HistoryEvent.id).where(HistoryEvent.instance_id == refund_world.instance_id)
                                 .order_by(HistoryEvent.id)).first()
    with database.engine.begin() as connection:
        drop_triggers(connection)
        connection.execute(text("UPDATE history_events SET actor = 'mallory' WHERE id = :i"), {"i": target})
    report = report_of(client, auth, refund_world.instance_id).get_json()
    assert report["chain"]["verification"]["intact"] is False
    assert report["chain"]["verification"]["first_broken"]["id"] == target
    assert report["chain"]["verification"]["first_broken"]["reason"] == "changed"
    page = browser_as("shenji").get(f"/instances/{refund_world.instance_id}/report").get_data(as_text=True)
    assert "链校验未通过" in page and str(target) in page


def test_an_instance_with_5000_events_renders(client, auth, browser_as, refund_world, app):
    with app.extensions["liucheng_db"].session() as session:
        for number in range(5000):
            history.record(session, refund_world.instance_id, "comment_added", "zhuguan",
                           data={"text": f"第 {number} 条", "comment_id": number})
        session.commit()
    response = report_of(client, auth, refund_world.instance_id)
    assert response.status_code == 200
    report = json.loads(response.get_data(as_text=True))  # streamed in chunks, whole when read
    assert len(report["chain"]["events"]) > 5000 and report["chain"]["verification"]["intact"] is True
    page = browser_as("shenji").get(f"/instances/{refund_world.instance_id}/report")
    assert page.status_code == 200 and page.get_data(as_text=True).count('<td class="hash">') > 2 * 5000


def test_the_instance_page_and_the_audit_timeline_link_to_the_report_for_auditors_and_admins(browser_as,
                                                                                             refund_world):
    link = f'href="/instances/{refund_world.instance_id}/report"'
    for user in ("shenji", "guanli"):
        assert link in browser_as(user).get(f"/instances/{refund_world.instance_id}").get_data(as_text=True)
        assert link in browser_as(user).get(f"/audit/instances/{refund_world.instance_id}").get_data(as_text=True)
    for user in ("zhuguan", "kefu"):  # they read the instance page, without the link to a report they may not read
        page = browser_as(user).get(f"/instances/{refund_world.instance_id}")
        assert page.status_code == 200 and link not in page.get_data(as_text=True), user


def test_a_stretch_longer_than_a_report_walks_is_not_checked_and_says_so(client, auth, browser_as, refund_world,
                                                                           app, monkeypatch):
    with app.extensions["liucheng_db"].session() as session:
        own = len(history.events_of(session, refund_world.instance_id))
    monkeypatch.setattr(audit_report, "LONGEST_STRETCH", own - 1)
    check = report_of(client, auth, refund_world.instance_id).get_json()["chain"]["verification"]
    assert (check["checked"], check["stretch"], check["intact"], check["first_broken"]) == (False, own, None, None)
    page = browser_as("shenji").get(f"/instances/{refund_world.instance_id}/report").get_data(as_text=True)
    assert 'id="report-not-checked"' in page and f"共有 {own} 条事件" in page and "链校验通过" not in page
    assert f"liucheng audit verify --instance {refund_world.instance_id}" in page  # how to check it instead
    monkeypatch.setattr(audit_report, "LONGEST_STRETCH", own)
    check = report_of(client, auth, refund_world.instance_id).get_json()["chain"]["verification"]
    assert (check["checked"], check["intact"], check["events"]) == (True, True, own)


def drop_triggers(connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("DROP TRIGGER IF EXISTS history_events_no_change ON history_events"))
    else:
        for verb in ("update", "delete"):
            connection.execute(text(f"DROP TRIGGER IF EXISTS history_events_no_{verb}"))


def test_printed_the_report_has_no_menu_shows_links_as_text_and_fills_a4_pages(client, auth, web, browser_as,
                                                                                refund_world, sign_in, live_server):
    walk(client, auth, web, browser_as, refund_world)
    page = sign_in("shenji")
    page.goto(f"{live_server}/instances/{refund_world.instance_id}/report")
    assert page.locator(".topbar").is_visible() and page.locator("#report-json").is_visible()
    page.emulate_media(media="print")
    assert not page.locator(".topbar").is_visible() and not page.locator("#report-json").is_visible()
    assert page.locator("#verify-against").is_visible() and page.locator("#report-chain").is_visible()
    after = page.evaluate("getComputedStyle(document.querySelector('.report-attachments a'), '::after').content")
    assert "/attachments/" in after  # the link's address printed after its text
    pdf = page.pdf(format="A4")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pdf.startswith(b"%PDF") and pages >= 2


def test_an_instance_recorded_before_variable_history_has_its_changes_derived_from_its_steps():
    at = datetime(2026, 11, 2, 9, 0)
    events = [HistoryEvent(id=1, type="instance_started", actor="kefu", at=at, element_id="start",
                           data={"version": 1, "data": {"amount": "88.00", "reason": "没有收到货"}}),
              HistoryEvent(id=2, type="task_completed", actor="zhuguan", at=at, element_id="review", task_id=7,
                           data={"submitted": {"approved": True, "reason": "没有收到货"},
                                 "before": {"approved": None, "reason": "没有收到货"}}),
              HistoryEvent(id=3, type="script_changed_data", actor="system", at=at, element_id="calc",
                           data={"changed": {"amount": "80.00"}, "removed": ["reason"],
                                 "before": {"amount": "88.00"}})]
    changes = {}
    for name, change in audit_report.derived_changes(events):
        changes.setdefault(name, []).append((change["source"], change["actor"], change["old"], change["new"],
                                             change.get("removed", False)))
    assert changes["amount"] == [("start_form", "kefu", None, "88.00", False),
                                 ("script", "system", "88.00", "80.00", False)]
    assert changes["approved"] == [("task_form", "zhuguan", None, True, False)]
    assert changes["reason"] == [("start_form", "kefu", None, "没有收到货", False),  # submitted unchanged: no change
                                 ("script", "system", "没有收到货", None, True)]
