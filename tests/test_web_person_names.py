"""Pages name people by their display names, the login id as the tooltip, and the engine's own
``system`` actor as 系统 / System (issue 14); exports keep the login ids."""
from __future__ import annotations

import re

from sqlalchemy import select

from engine import incidents, runtime, users
from engine.models import User
from web_support import ROOT, browser_as, refund_world, text, web  # noqa: F401 (fixtures)

ZHUGUAN = '<span class="person" title="zhuguan">张主管</span>'
KEFU = '<span class="person" title="kefu">李客服</span>'
SYSTEM_ZH = '<span class="person system" title="system">系统</span>'


def name_people(app, **names: str) -> None:
    with app.extensions["liucheng_db"].session() as session:
        for user in session.scalars(select(User).where(User.username.in_(names))):
            user.display_name = names[user.username]
        session.commit()


def claimed_by_zhuguan(app, browser_as, world):
    name_people(app, zhuguan="张主管", kefu="李客服")
    client = browser_as("zhuguan")
    assert client.post(f"/tasks/{world.task_id}/claim").status_code == 302
    return client


def test_the_worklist_names_who_claimed_a_task(web, browser_as, refund_world):
    client = claimed_by_zhuguan(web, browser_as, refund_world)
    page = text(client.get("/worklist"))
    assert f"{ZHUGUAN} 已认领" in page
    assert ">zhuguan<" not in page


def test_the_task_page_names_the_assignee_and_who_started(web, browser_as, refund_world):
    client = claimed_by_zhuguan(web, browser_as, refund_world)
    client.post(f"/tasks/{refund_world.task_id}/comments", data={"text": "请补充照片"})
    page = text(client.get(f"/tasks/{refund_world.task_id}"))
    assert f'<strong class="assignee">{ZHUGUAN}</strong>' in page
    assert KEFU in page  # started by
    assert f"<strong>{ZHUGUAN}</strong>" in page  # the comment's author


def test_the_instance_page_and_its_timeline_name_people_and_the_system(web, browser_as, refund_world):
    client = claimed_by_zhuguan(web, browser_as, refund_world)
    page = text(client.get(f"/instances/{refund_world.instance_id}"))
    assert KEFU in page  # started by
    assert SYSTEM_ZH in page  # the engine's own steps in the timeline
    assert ">system<" not in page
    assert f"<td>{ZHUGUAN}</td>" in page  # the open task's assignee
    assert ZHUGUAN in page.split('class="timeline', 1)[1]  # the claim in the timeline


def test_the_system_reads_system_in_english(web, browser_as, refund_world):
    client = claimed_by_zhuguan(web, browser_as, refund_world)
    with client.session_transaction() as session:
        session["lang"] = "en"
    page = text(client.get(f"/instances/{refund_world.instance_id}"))
    assert '<span class="person system" title="system">System</span>' in page


def test_the_instance_list_and_the_audit_pages_name_people(web, browser_as, refund_world):
    name_people(web, kefu="李客服", zhuguan="张主管")
    assert KEFU in text(browser_as("zhuguan").get("/instances"))
    auditor = browser_as("shenji")
    assert KEFU in text(auditor.get("/audit/"))
    assert KEFU in text(auditor.get(f"/audit/instances/{refund_world.instance_id}"))


def test_a_name_is_escaped_and_an_unknown_id_shows_as_itself(web, browser_as, refund_world):
    name_people(web, kefu="<b>客服</b>")
    page = text(browser_as("zhuguan").get(f"/tasks/{refund_world.task_id}"))
    assert '<span class="person" title="kefu">&lt;b&gt;客服&lt;/b&gt;</span>' in page
    assert "<b>客服</b>" not in page


def test_exports_keep_login_ids(web, browser_as, refund_world):
    name_people(web, kefu="李客服")
    export = text(browser_as("shenji").get(f"/audit/instances/{refund_world.instance_id}/history.csv"))
    assert "kefu" in export and "李客服" not in export


def test_the_audit_user_choice_shows_names_and_keeps_login_ids_as_values(web, browser_as, refund_world):
    name_people(web, kefu="李客服")
    page = text(browser_as("shenji").get("/audit/"))
    assert '<option value="kefu">李客服 (kefu)</option>' in page
    assert '<option value="system">系统</option>' in page
    assert '<option value="zhuguan">zhuguan</option>' in page  # no display name of its own: the id once


def test_an_incident_names_who_resolved_it(web, deploy, make_user, browser_as, monkeypatch, clock):
    monkeypatch.setattr(incidents, "MAX_ATTEMPTS", 1)
    deploy(ROOT / "tests" / "data" / "incidents_script_error.bpmn")
    make_user("cangku", "warehouse")
    make_user("zhuguan", "supervisor")
    name_people(web, zhuguan="张主管")
    with web.extensions["liucheng_db"].session() as session:
        runtime.start_instance(session, "incidents_script_error", {"total": 1, "quantity": 0},
                               users.get_user(session, "cangku"))
    client = browser_as("zhuguan")
    incident_id = int(re.search(r'data-incident-id="(\d+)"', text(client.get("/incidents/"))).group(1))
    client.post(f"/incidents/{incident_id}/resolve", data={"comment": "已人工处理"})
    assert f"已人工处理 ({ZHUGUAN})" in text(client.get("/incidents/?status=resolved"))
    assert f"<dd>{ZHUGUAN} " in text(client.get(f"/incidents/{incident_id}"))


def test_a_reassignment_in_the_timeline_names_both_people(web, browser_as, refund_world, make_user):
    make_user("zhuguan2", "supervisor")
    name_people(web, zhuguan="张主管", zhuguan2="王主管")
    client = claimed_by_zhuguan(web, browser_as, refund_world)
    assert client.post(f"/tasks/{refund_world.task_id}/reassign",
                       data={"user": "zhuguan2", "reason": "休假"}).status_code == 302
    timeline = text(client.get(f"/instances/{refund_world.instance_id}")).split('class="timeline', 1)[1]
    assert '<span class="person" title="zhuguan2">王主管</span>' in timeline  # the event's "to", by name
    assert ">zhuguan2<" not in timeline
