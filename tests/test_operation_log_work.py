"""The operation log, work and instance actions (issue 15, item 4): a supervisor's claim for someone, a reassign,
a delegation, a supervisor's give-back, a cancel and a person's incident retry or resolve are each an operation
event (``type`` operation: actor, operation, entity, property, old, new, reason) in the history chain, written in
the same transaction as the task's or instance's own event; a reassign and a cancel need a non-blank reason
(422 naming the field, nothing changed). Over the REST API and the pages, on SQLite and PostgreSQL."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from conftest import DATA
from engine import chain_verify, scheduler
from engine.models import HistoryEvent, HumanTask, Instance
from test_incidents import FLAKY, flaky_reset  # noqa: F401 (the failing connector and its reset fixture)
from test_web_task_actions import claimed_by, task_row
from web_support import browser_as, refund_world, text, web  # noqa: F401 (fixtures)
from work_support import people, work  # noqa: F401 (fixtures)

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
WORK_OPERATIONS = ("claim_for", "reassign", "delegate", "unclaim", "cancel", "incident_retry", "incident_resolve")


def operations(app, operation: str | None = None) -> list[dict]:
    """The operation events on work and instances as stored (deploys and user changes are others'), oldest
    first: the columns an auditor reads."""
    with app.extensions["liucheng_db"].session() as session:
        query = select(HistoryEvent).where(HistoryEvent.type == "operation",
                                           HistoryEvent.operation.in_([operation] if operation else WORK_OPERATIONS))
        query = query.order_by(HistoryEvent.id)
        return [{"actor": e.actor, "operation": e.operation, "entity_type": e.entity_type, "entity_id": e.entity_id,
                 "instance_id": e.instance_id, "property": e.data.get("property"), "old": e.data.get("old"),
                 "new": e.data.get("new"), "reason": e.data.get("reason"), "hash": e.hash, "prev_hash": e.prev_hash,
                 "data": e.data} for e in session.scalars(query)]


def event_count(app) -> int:
    with app.extensions["liucheng_db"].session() as session:
        return session.scalar(select(func.count()).select_from(HistoryEvent))


def the_only(app, operation: str) -> dict:
    found = operations(app, operation)
    assert len(found) == 1, found
    return found[0]


def chain_intact(app) -> bool:
    with app.extensions["liucheng_db"].session() as session:
        return chain_verify.verify(session).intact


def history_types(api, instance_id: int) -> list[str]:
    return [e["type"] for e in api("get", f"/instances/{instance_id}/history", "root").json]


@pytest.fixture
def claimed(api, work):
    """A warehouse task claimed by wang."""
    task = work.deploy().start()
    assert api("post", f"/tasks/{task['id']}/claim", "wang").status_code == 200
    return task


# -- reassign -------------------------------------------------------------------------------------------

def test_a_reassign_is_an_operation_with_the_old_and_new_assignee_and_the_reason(api, app, claimed):
    moved = api("post", f"/tasks/{claimed['id']}/reassign", "zhao", json={"user": "li", "reason": " 王休假 "})
    assert moved.status_code == 200, moved.json
    assert moved.json["assignee"] == "li"
    operation = the_only(app, "reassign")
    assert {k: operation[k] for k in ("actor", "entity_type", "entity_id", "instance_id", "property", "old", "new",
                                      "reason")} == {
        "actor": "zhao", "entity_type": "task", "entity_id": str(claimed["id"]), "instance_id": claimed["instance_id"],
        "property": "assignee", "old": "wang", "new": "li", "reason": "王休假"}
    types = history_types(api, claimed["instance_id"])
    assert types[-2:] == ["task_reassigned", "operation"]  # the task's event stays, the operation beside it
    assert operation["hash"] and operation["prev_hash"] and chain_intact(app)


def test_the_assignee_handing_their_task_on_is_a_reassign_too(api, app, claimed):
    assert api("post", f"/tasks/{claimed['id']}/reassign", "wang", json={"user": "li", "reason": "换班"}).status_code \
        == 200
    operation = the_only(app, "reassign")
    assert (operation["actor"], operation["old"], operation["new"], operation["reason"]) == ("wang", "wang", "li", "换班")


@pytest.mark.parametrize("body", [{"user": "li"}, {"user": "li", "reason": ""}, {"user": "li", "reason": "  \n "}])
def test_a_reassign_without_a_reason_is_refused_and_changes_nothing(api, app, client, auth, claimed, body):
    before = event_count(app)
    refused = api("post", f"/tasks/{claimed['id']}/reassign", "zhao", json=body)
    assert refused.status_code == 422, refused.json
    assert refused.json["error"] == "invalid_data" and refused.json["details"] == {"reason": ["Required."]}
    assert refused.json["message"] == "Give a reason for reassigning the task."
    chinese = client.post(f"/api/v1/tasks/{claimed['id']}/reassign", headers={**auth("zhao"), **ZH}, json=body)
    assert chinese.status_code == 422
    assert chinese.json["message"] == "请填写转派任务的原因。" and chinese.json["details"] == {"reason": ["必填。"]}
    assert api("get", f"/tasks/{claimed['id']}", "root").json["assignee"] == "wang"
    assert event_count(app) == before


def test_a_refused_reassign_writes_no_operation(api, app, claimed):
    assert api("post", f"/tasks/{claimed['id']}/reassign", "li", json={"user": "li", "reason": "x"}).status_code \
        == 403
    assert api("post", f"/tasks/{claimed['id']}/reassign", "zhao", json={"user": "fang", "reason": "x"}).status_code \
        == 400  # fang has no warehouse role
    assert operations(app) == []


# -- claim on behalf of someone ----------------------------------------------------------------------------

def test_a_supervisor_giving_an_open_task_to_someone_claims_it_for_them(api, app, work):
    task = work.deploy().start()
    moved = api("post", f"/tasks/{task['id']}/reassign", "zhao", json={"user": "wang", "reason": "他熟悉这个客户"})
    assert moved.status_code == 200, moved.json
    assert (moved.json["status"], moved.json["assignee"]) == ("claimed", "wang")
    operation = the_only(app, "claim_for")
    assert (operation["actor"], operation["entity_type"], operation["entity_id"], operation["property"],
            operation["old"], operation["new"], operation["reason"]) == (
        "zhao", "task", str(task["id"]), "assignee", None, "wang", "他熟悉这个客户")
    assert operation["instance_id"] == task["instance_id"]
    assert operations(app, "reassign") == []


def test_a_claim_for_someone_needs_a_reason_too(api, app, work):
    task = work.deploy().start()
    refused = api("post", f"/tasks/{task['id']}/reassign", "zhao", json={"user": "wang"})
    assert refused.status_code == 422 and refused.json["details"] == {"reason": ["Required."]}
    assert api("get", f"/tasks/{task['id']}", "root").json["status"] == "open"
    assert operations(app) == []


def test_claiming_for_oneself_is_no_operation(api, app, work):
    task = work.deploy().start()
    assert api("post", f"/tasks/{task['id']}/claim", "wang").status_code == 200
    assert api("post", "/tasks/claim", "li", json={"task_ids": [task["id"]]}).status_code == 200  # refused, no change
    assert operations(app) == []


# -- delegate ------------------------------------------------------------------------------------------------

def test_a_delegation_is_an_operation_with_the_reason_when_given(api, app, claimed):
    done = api("post", f"/tasks/{claimed['id']}/delegate", "wang", json={"user": "fang", "reason": "请财务核对金额"})
    assert done.status_code == 200, done.json
    operation = the_only(app, "delegate")
    assert (operation["actor"], operation["entity_type"], operation["entity_id"], operation["instance_id"],
            operation["property"], operation["old"], operation["new"], operation["reason"]) == (
        "wang", "task", str(claimed["id"]), claimed["instance_id"], "assignee", "wang", "fang", "请财务核对金额")
    assert operation["data"]["owner"] == "wang"
    assert history_types(api, claimed["instance_id"])[-2:] == ["task_delegated", "operation"]


def test_a_delegation_without_a_reason_is_an_operation_without_one(api, app, claimed):
    assert api("post", f"/tasks/{claimed['id']}/delegate", "zhao", json={"user": "fang"}).status_code == 200
    operation = the_only(app, "delegate")
    assert (operation["actor"], operation["old"], operation["new"], operation["reason"]) == (
        "zhao", "wang", "fang", None)


# -- unclaim -------------------------------------------------------------------------------------------------

def test_a_supervisor_giving_back_someone_elses_task_is_an_operation(api, app, claimed):
    done = api("post", f"/tasks/{claimed['id']}/unclaim", "zhao", json={"reason": "王出差，放回队列"})
    assert done.status_code == 200, done.json
    assert (done.json["status"], done.json["assignee"]) == ("open", None)
    operation = the_only(app, "unclaim")
    assert (operation["actor"], operation["entity_type"], operation["entity_id"], operation["instance_id"],
            operation["property"], operation["old"], operation["new"], operation["reason"]) == (
        "zhao", "task", str(claimed["id"]), claimed["instance_id"], "assignee", "wang", None, "王出差，放回队列")


def test_a_supervisors_give_back_without_a_body_has_no_reason(api, app, claimed):
    assert api("post", f"/tasks/{claimed['id']}/unclaim", "root").status_code == 200
    assert the_only(app, "unclaim")["reason"] is None


def test_the_assignees_own_give_back_is_work_not_an_operation(api, app, claimed):
    assert api("post", f"/tasks/{claimed['id']}/unclaim", "wang").status_code == 200
    assert "task_unclaimed" in history_types(api, claimed["instance_id"])
    assert operations(app) == []


# -- cancel --------------------------------------------------------------------------------------------------

def test_a_cancel_is_an_operation_on_the_instance_status(api, app, work):
    task = work.deploy().start()
    instance_id = task["instance_id"]
    done = api("post", f"/instances/{instance_id}/cancel", "zhao", json={"reason": " 客户撤单 "})
    assert done.status_code == 200, done.json
    assert (done.json["status"], done.json["cancel_reason"]) == ("cancelled", "客户撤单")
    operation = the_only(app, "cancel")
    assert (operation["actor"], operation["entity_type"], operation["entity_id"], operation["instance_id"],
            operation["property"], operation["old"], operation["new"], operation["reason"]) == (
        "zhao", "instance", str(instance_id), instance_id, "status", "running", "cancelled", "客户撤单")
    assert history_types(api, instance_id)[-2:] == ["instance_cancelled", "operation"]
    assert chain_intact(app)


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}])
def test_a_cancel_without_a_reason_is_refused_and_changes_nothing(api, app, client, auth, work, body):
    task = work.deploy().start()
    instance_id = task["instance_id"]
    before = event_count(app)
    refused = api("post", f"/instances/{instance_id}/cancel", "zhao", json=body)
    assert refused.status_code == 422, refused.json
    assert refused.json["error"] == "invalid_data" and refused.json["details"] == {"reason": ["Required."]}
    chinese = client.post(f"/api/v1/instances/{instance_id}/cancel", headers={**auth("zhao"), **ZH}, json=body)
    assert chinese.status_code == 422 and chinese.json["message"] == "请填写撤销实例的原因。"
    instance = api("get", f"/instances/{instance_id}", "root").json
    assert instance["status"] == "running" and instance["cancel_reason"] is None
    assert api("get", f"/tasks/{task['id']}", "root").json["status"] == "open"
    assert event_count(app) == before


def test_who_may_not_cancel_hears_so_before_being_asked_for_a_reason(api, app, work):
    task = work.deploy().start()
    assert api("post", f"/instances/{task['instance_id']}/cancel", "wang", json={}).status_code == 403
    assert operations(app) == []


# -- incidents -------------------------------------------------------------------------------------------------

@pytest.fixture
def incident(api, deploy, people, clock, app):
    """An open incident: the connector of incidents_service.bpmn failed every time the worker tried."""
    deploy(DATA / "incidents_service.bpmn")
    FLAKY["failures_left"] = 99
    started = api("post", "/instances", "root", json={"process_id": "incidents_service", "data": {"order_no": "A1"}})
    assert started.status_code == 201, started.json
    database = app.extensions["liucheng_db"]
    for _ in range(5):
        clock.advance(hours=24)
        scheduler.tick(database)
    (found,) = api("get", f"/incidents?instance_id={started.json['id']}", "root").json
    assert found["status"] == "open", found
    return found


def test_the_workers_retries_are_not_operations(api, app, incident):
    assert incident["attempts"] > 1
    assert operations(app) == []


def test_a_persons_retry_is_an_operation_with_the_incident_status_before_and_after(api, app, incident):
    FLAKY["failures_left"] = 0
    retried = api("post", f"/incidents/{incident['id']}/retry", "zhao")
    assert retried.status_code == 200, retried.json
    assert retried.json["status"] == "resolved"
    operation = the_only(app, "incident_retry")
    assert (operation["actor"], operation["entity_type"], operation["entity_id"], operation["instance_id"],
            operation["property"], operation["old"], operation["new"]) == (
        "zhao", "incident", str(incident["id"]), incident["instance_id"], "status", "open", "resolved")
    assert operation["data"]["element_id"] == "Service_call"
    assert "incident_retried" in history_types(api, incident["instance_id"])


def test_a_retry_that_fails_again_is_an_operation_too(api, app, incident):
    retried = api("post", f"/incidents/{incident['id']}/retry", "root", json={"reason": "接口已恢复"})
    assert retried.status_code == 200 and retried.json["status"] == "open"
    operation = the_only(app, "incident_retry")
    assert (operation["actor"], operation["old"], operation["new"], operation["reason"]) == (
        "root", "open", "open", "接口已恢复")


def test_a_resolve_is_an_operation_with_the_comment_as_its_reason(api, app, incident):
    resolved = api("post", f"/incidents/{incident['id']}/resolve", "zhao", json={"comment": "已在库存系统手工入账"})
    assert resolved.status_code == 200, resolved.json
    operation = the_only(app, "incident_resolve")
    assert (operation["actor"], operation["entity_type"], operation["entity_id"], operation["instance_id"],
            operation["property"], operation["old"], operation["new"], operation["reason"]) == (
        "zhao", "incident", str(incident["id"]), incident["instance_id"], "status", "open", "resolved",
        "已在库存系统手工入账")
    assert history_types(api, incident["instance_id"])[-2:] == ["incident_resolved", "operation"]
    assert chain_intact(app)


def test_refused_incident_actions_write_no_operation(api, app, incident):
    assert api("post", f"/incidents/{incident['id']}/retry", "wang").status_code in (403, 404)
    assert api("post", f"/incidents/{incident['id']}/resolve", "audrey", json={"comment": "x"}).status_code == 403
    assert operations(app) == []


# -- the pages -------------------------------------------------------------------------------------------------

def reassign_form(page: str) -> str:
    start = page.index('id="reassign-box"')
    return page[start:page.index("</details>", start)]


def test_the_task_pages_reassign_form_asks_for_a_reason(refund_world, browser_as, make_user, app):
    make_user("zhuguan2", "supervisor")
    task = refund_world.task_id
    claimed_by(browser_as("zhuguan"), task)
    admin = browser_as("guanli")
    form = reassign_form(text(admin.get(f"/tasks/{task}")))
    assert re.search(r'<textarea name="reason" id="reassign-reason"[^>]*required', form)
    done = admin.post(f"/tasks/{task}/reassign", data={"user": "zhuguan2", "reason": "主管休假"})
    assert done.status_code == 302 and done.headers["Location"] == f"/tasks/{task}"
    operation = the_only(app, "reassign")
    assert (operation["actor"], operation["old"], operation["new"], operation["reason"]) == (
        "guanli", "zhuguan", "zhuguan2", "主管休假")


@pytest.mark.parametrize("who, body, status, shown", [
    # no reason: said so, the person chosen still chosen
    ("guanli", {"user": "zhuguan2", "reason": " "}, 422, ["请填写转派任务的原因", '<option value="zhuguan2" selected>']),
    # someone without the task's role: the refusal beside the form, the reason typed kept
    ("zhuguan", {"user": "caiwu", "reason": "财务来处理"}, 400, ["caiwu 没有角色", "财务来处理</textarea>"]),
])
def test_a_refused_reassign_on_the_page_keeps_the_form_open_as_typed_and_changes_nothing(
        refund_world, browser_as, make_user, app, who, body, status, shown):
    make_user("zhuguan2", "supervisor")
    task = refund_world.task_id
    claimed_by(browser_as("zhuguan"), task)
    refused = browser_as(who).post(f"/tasks/{task}/reassign", data=body)
    assert refused.status_code == status
    form = reassign_form(text(refused))
    assert 'id="reassign-box" open' in form
    assert all(part in form for part in shown), form
    assert task_row(app, task).assignee == "zhuguan" and operations(app) == []


def test_the_task_pages_delegate_form_takes_an_optional_reason(refund_world, browser_as, make_user, app):
    make_user("zhuguan2", "supervisor")
    task = refund_world.task_id
    owner = browser_as("zhuguan")
    claimed_by(owner, task)
    assert 'id="delegate-reason"' in text(owner.get(f"/tasks/{task}"))
    assert owner.post(f"/tasks/{task}/delegate", data={"user": "zhuguan2", "reason": "帮我核对"}).status_code == 302
    assert the_only(app, "delegate")["reason"] == "帮我核对"


def test_a_supervisors_give_back_on_the_page_takes_a_reason(refund_world, browser_as, app):
    task = refund_world.task_id
    claimed_by(browser_as("zhuguan"), task)
    admin = browser_as("guanli")
    assert 'id="unclaim-reason"' in text(admin.get(f"/tasks/{task}"))
    assert admin.post(f"/tasks/{task}/unclaim", data={"reason": "人员调整"}).status_code == 302
    operation = the_only(app, "unclaim")
    assert (operation["actor"], operation["old"], operation["reason"]) == ("guanli", "zhuguan", "人员调整")
    assert task_row(app, task).assignee is None


def test_the_instance_pages_cancel_without_a_reason_stays_open_and_changes_nothing(refund_world, browser_as, app):
    client = browser_as("guanli")
    url = f"/instances/{refund_world.instance_id}"
    refused = client.post(url + "/cancel", data={"reason": "  "})
    assert refused.status_code == 422
    page = text(refused)
    assert 'id="cancel-box" open' in page and "请填写撤销实例的原因" in page
    assert operations(app) == []
    with app.extensions["liucheng_db"].session() as session:
        assert session.get(Instance, refund_world.instance_id).status == "running"
    assert client.post(url + "/cancel", data={"reason": "重复提交"}).status_code == 302
    operation = the_only(app, "cancel")
    assert (operation["actor"], operation["entity_id"], operation["old"], operation["new"], operation["reason"]) == (
        "guanli", str(refund_world.instance_id), "running", "cancelled", "重复提交")
    with app.extensions["liucheng_db"].session() as session:
        assert session.scalar(select(HumanTask.status).where(HumanTask.id == refund_world.task_id)) == "cancelled"


def test_the_incident_pages_retry_takes_an_optional_reason(browser_as, app, incident):
    client = browser_as("zhao")
    assert 'id="retry-reason"' in text(client.get(f"/incidents/{incident['id']}"))
    FLAKY["failures_left"] = 0
    assert client.post(f"/incidents/{incident['id']}/retry", data={"reason": "库存系统已恢复"}).status_code == 302
    operation = the_only(app, "incident_retry")
    assert (operation["actor"], operation["old"], operation["new"], operation["reason"]) == (
        "zhao", "open", "resolved", "库存系统已恢复")
