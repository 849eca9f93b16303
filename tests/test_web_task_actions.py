"""The task page's actions (issue 14, item 6): give back (放回), reassign, delegate and resolve, priority and
follow-up date; each a form with a CSRF token, going back to the right page, refusals said and nothing changed."""
from __future__ import annotations

import re

from engine.models import HumanTask, User
from web_support import (  # noqa: F401 (fixtures)
    FORMS, REFUND, browser_as, csrf_token_of, open_task, refund_world, start_refund, text, web,
)


def task_row(app, task_id: int) -> HumanTask:
    with app.extensions["liucheng_db"].session() as session:
        return session.get(HumanTask, task_id)


def task_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-task-id="(\d+)"', html)]


def claimed_by(client, task_id: int) -> None:
    assert client.post(f"/tasks/{task_id}/claim").headers["Location"] == f"/tasks/{task_id}"


def test_unclaim_is_give_back_everywhere(refund_world, browser_as):
    client = browser_as("zhuguan")
    task = refund_world.task_id
    claimed_by(client, task)
    page = text(client.get(f"/tasks/{task}"))
    assert re.search(r'id="unclaim">放回</button>', page) and "把此任务放回角色的待办队列？" in page
    listed = text(client.get("/worklist"))
    assert "放回</button>" in listed and "退回" not in listed
    back = client.post(f"/tasks/{task}/unclaim", data={"next": "/worklist"})
    assert back.headers["Location"] == "/worklist"
    assert "已放回角色的待办队列" in text(client.get("/worklist"))
    history = text(client.get(f"/instances/{refund_world.instance_id}"))
    assert "任务已放回" in history and "任务已退回" not in history


def test_a_supervisor_reassigns_a_task_to_a_user_with_its_role(refund_world, browser_as, make_user):
    make_user("zhuguan2", "supervisor")
    task = refund_world.task_id
    claimed_by(browser_as("zhuguan"), task)
    admin = browser_as("guanli")
    page = text(admin.get(f"/tasks/{task}"))
    picker = page[page.index('id="reassign-user"'):page.index("</select>", page.index('id="reassign-user"'))]
    assert 'value="zhuguan2"' in picker and 'value="zhuguan"' not in picker  # not who holds it
    done = admin.post(f"/tasks/{task}/reassign", data={"user": "zhuguan2", "reason": "休假"})
    assert done.headers["Location"] == f"/tasks/{task}"
    assert "已转派给 zhuguan2" in text(admin.get(f"/tasks/{task}"))
    assert task_row(admin.application, task).assignee == "zhuguan2"


def test_reassigning_to_someone_without_the_role_is_refused_and_changes_nothing(refund_world, browser_as):
    task = refund_world.task_id
    client = browser_as("zhuguan")
    claimed_by(client, task)
    refused = client.post(f"/tasks/{task}/reassign", data={"user": "caiwu", "reason": "休假"})
    assert refused.status_code == 400 and "caiwu" in text(refused)  # the page again, the refusal on it
    assert task_row(client.application, task).assignee == "zhuguan"


def test_a_clerk_without_the_right_sees_no_hand_over_forms(refund_world, browser_as):
    page = text(browser_as("zhuguan").get(f"/tasks/{refund_world.task_id}"))  # open, not yet claimed
    assert 'id="delegate-box"' not in page
    kefu = browser_as("kefu")
    assert kefu.get(f"/tasks/{refund_world.task_id}").status_code == 403


def test_delegate_and_resolve_bring_the_task_back_to_its_owner_with_a_draft(refund_world, browser_as, make_user):
    make_user("zhuguan2", "supervisor")
    task = refund_world.task_id
    owner, helper = browser_as("zhuguan"), browser_as("zhuguan2")
    claimed_by(owner, task)
    page = text(owner.get(f"/tasks/{task}"))
    assert 'id="delegate-box"' in page and 'action="/tasks/%d/delegate"' % task in page
    delegated = owner.post(f"/tasks/{task}/delegate", data={"user": "zhuguan2"})
    assert delegated.headers["Location"] == f"/tasks/{task}"
    page = text(owner.get(f"/tasks/{task}"))
    assert "已委托给 zhuguan2" in page and '委托给 <span class="person" title="zhuguan2">zhuguan2</span> 处理中' in page and 'id="complete"' not in page
    mine = text(owner.get("/worklist?tab=delegated"))
    assert task_ids(mine) == [task] and re.search(r'我委托的 <span class="count">1</span>', mine)

    helper_list = text(helper.get("/worklist"))
    assert task in task_ids(helper_list) and '由 <span class="person" title="zhuguan">zhuguan</span> 委托' in helper_list
    assert f'action="/tasks/{task}/complete"' not in helper_list  # a delegate resolves, never completes
    form = text(helper.get(f"/tasks/{task}"))
    assert 'id="resolve"' in form and '<span class="person" title="zhuguan">zhuguan</span> 将此任务委托给您' in form
    resolved = helper.post(f"/tasks/{task}/resolve", data={"approval_comment": "核实过，可以退"})
    assert resolved.headers["Location"] == "/worklist"
    row = task_row(owner.application, task)
    assert row.assignee == "zhuguan" and row.delegation == "resolved"

    page = text(owner.get(f"/tasks/{task}"))
    assert "受托人已交回此任务" in page and "核实过，可以退" in page and 'id="complete"' in page


def test_priority_and_follow_up_are_set_on_the_task_and_shown_in_the_list(refund_world, browser_as, clock):
    task = refund_world.task_id
    client = browser_as("zhuguan")
    claimed_by(client, task)
    page = text(client.get(f"/tasks/{task}"))
    assert 'id="plan-priority"' in page and 'value="50"' in page
    saved = client.post(f"/tasks/{task}/plan", data={"priority": "80", "follow_up": "2026-11-05"})
    assert saved.headers["Location"] == f"/tasks/{task}"
    page = text(client.get(f"/tasks/{task}"))
    assert "优先级和跟进日期已保存" in page and "高 80" in page and "2026-11-05" in page
    listed = text(client.get("/worklist"))
    assert "高 80" in listed and 'data-label="跟进日期">2026-11-05' in listed
    assert task_ids(text(client.get("/worklist?follow_up=due"))) == []  # follow-up on 11-05, today 11-02
    assert task_ids(text(client.get("/worklist?min_priority=70"))) == [task]
    assert task_ids(text(client.get("/worklist?min_priority=90"))) == []

    bad = client.post(f"/tasks/{task}/plan", data={"priority": "150", "follow_up": ""}, follow_redirects=True)
    assert "优先级和跟进日期已保存" not in text(bad)
    assert task_row(client.application, task).priority == 80
    cleared = client.post(f"/tasks/{task}/plan", data={"priority": "20", "follow_up": ""}, follow_redirects=True)
    assert "低 20" in text(cleared)
    row = task_row(client.application, task)
    assert row.priority == 20 and row.follow_up is None


def test_someone_who_may_not_plan_the_task_sees_no_form_and_is_refused(refund_world, browser_as):
    task = refund_world.task_id
    claimed_by(browser_as("zhuguan"), task)
    auditor = browser_as("shenji")
    assert 'id="plan-priority"' not in text(auditor.get(f"/tasks/{task}"))
    auditor.post(f"/tasks/{task}/plan", data={"priority": "90"})
    assert task_row(auditor.application, task).priority == 50


def test_the_hand_over_forms_need_their_csrf_token(app, deploy, make_user):
    deploy(REFUND, FORMS)
    make_user("kefu", "aftersales_cs")
    make_user("zhuguan", "supervisor")
    make_user("zhuguan2", "supervisor")
    task = open_task(app, start_refund(app, "kefu")).id
    client = app.test_client()
    token = csrf_token_of(text(client.get("/login")))
    assert client.post("/login", data={"username": "zhuguan", "password": "secret-zhuguan",
                                       "csrf_token": token}).status_code == 302
    assert client.post(f"/tasks/{task}/claim").status_code == 400
    token = csrf_token_of(text(client.get(f"/tasks/{task}")))
    assert client.post(f"/tasks/{task}/claim", data={"csrf_token": token}).headers["Location"] == f"/tasks/{task}"
    for action, data in (("reassign", {"user": "zhuguan2"}), ("delegate", {"user": "zhuguan2"}),
                         ("plan", {"priority": "90"}), ("resolve", {})):
        assert client.post(f"/tasks/{task}/{action}", data=data).status_code == 400
    row = task_row(app, task)
    assert row.assignee == "zhuguan" and row.priority == 50 and row.delegation is None


def test_a_resolve_with_a_bad_value_keeps_the_delegation_and_what_was_typed(refund_world, browser_as, make_user):
    make_user("zhuguan2", "supervisor")
    task = refund_world.task_id
    owner, helper = browser_as("zhuguan"), browser_as("zhuguan2")
    claimed_by(owner, task)
    owner.post(f"/tasks/{task}/delegate", data={"user": "zhuguan2"})
    refused = helper.post(f"/tasks/{task}/resolve", data={"approved": "maybe", "approval_comment": "再核实一下"})
    assert refused.status_code == 422
    page = text(refused)
    assert "再核实一下" in page and 'id="resolve"' in page
    row = task_row(helper.application, task)
    assert row.assignee == "zhuguan2" and row.delegation == "pending" and not row.draft
    stranger = browser_as("guanli").post(f"/tasks/{task}/resolve", data={"approval_comment": "x"})
    assert stranger.status_code == 403  # only the delegate resolves
    assert task_row(helper.application, task).delegation == "pending"


def renamed(app, username: str, display_name: str) -> None:
    with app.extensions["liucheng_db"].session() as session:
        session.query(User).filter_by(username=username).one().display_name = display_name
        session.commit()


def test_reassign_and_delegate_flashes_name_the_user_by_display_name(refund_world, browser_as, make_user, app):
    make_user("zhuguan2", "supervisor")
    renamed(app, "zhuguan2", "王主管")
    renamed(app, "zhuguan", "李主管")
    task = refund_world.task_id
    owner = browser_as("zhuguan")
    claimed_by(owner, task)
    owner.post(f"/tasks/{task}/delegate", data={"user": "zhuguan2"})
    assert "已委托给 王主管" in text(owner.get(f"/tasks/{task}"))
    resolved = browser_as("zhuguan2").post(f"/tasks/{task}/resolve", data={"approval_comment": "好"},
                                           follow_redirects=True)
    assert "李主管" in text(resolved)
    admin = browser_as("guanli")
    admin.post(f"/tasks/{task}/reassign", data={"user": "zhuguan2", "reason": "休假"})
    assert "已转派给 王主管" in text(admin.get(f"/tasks/{task}"))
