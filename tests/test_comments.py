"""Comments on tasks and instances (issue 14 item 4): the API, who may, append-only on both databases,
the history event, and the pages (task page and instance page, with a form)."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from web_support import refund_world, web, browser_as  # noqa: F401 (fixtures)


def post(client, auth, path, user, **kwargs):
    return client.post("/api/v1" + path, headers=auth(user), **kwargs)


def get(client, auth, path, user):
    return client.get("/api/v1" + path, headers=auth(user))


def test_comment_on_task_then_listed_oldest_first_with_author(client, auth, refund_world, clock, make_user):
    w = refund_world
    first = post(client, auth, f"/tasks/{w.task_id}/comments", "zhuguan", json={"text": "  请核实物流单号  "})
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["text"] == "请核实物流单号" and body["author"] == "zhuguan" and body["task_id"] == w.task_id
    assert body["instance_id"] == w.instance_id and body["at"].endswith("+00:00")
    assert set(body) == {"id", "instance_id", "task_id", "author", "author_name", "text", "at"}
    clock.advance(minutes=5)
    second = post(client, auth, f"/instances/{w.instance_id}/comments", "kefu", json={"text": "买家已补充照片"})
    assert second.status_code == 201 and second.get_json()["task_id"] is None
    listed = get(client, auth, f"/instances/{w.instance_id}/comments", "cangku").get_json()
    assert [c["text"] for c in listed] == ["请核实物流单号", "买家已补充照片"]
    on_task = get(client, auth, f"/tasks/{w.task_id}/comments", "zhuguan").get_json()
    assert [c["text"] for c in on_task] == ["请核实物流单号"]


def test_comment_is_in_the_history(client, auth, refund_world):
    w = refund_world
    made = post(client, auth, f"/tasks/{w.task_id}/comments", "zhuguan", json={"text": "同意"}).get_json()
    history = get(client, auth, f"/instances/{w.instance_id}/history", "zhuguan").get_json()
    [event] = [e for e in history if e["type"] == "comment_added"]
    assert event["actor"] == "zhuguan" and event["task_id"] == w.task_id
    assert event["data"]["text"] == "同意" and event["data"]["comment_id"] == made["id"]


@pytest.mark.parametrize("body", [{"text": "   "}, {"text": ""}, {}, {"text": 5}, {"text": "长" * 2001}])
def test_blank_or_too_long_comment_is_refused_and_nothing_changes(client, auth, refund_world, body):
    w = refund_world
    response = post(client, auth, f"/tasks/{w.task_id}/comments", "zhuguan", json=body)
    assert response.status_code == 422, response.get_json()
    assert "text" in response.get_json()["details"]
    assert get(client, auth, f"/instances/{w.instance_id}/comments", "zhuguan").get_json() == []
    history = get(client, auth, f"/instances/{w.instance_id}/history", "zhuguan").get_json()
    assert "comment_added" not in [e["type"] for e in history]


def test_two_thousand_characters_are_accepted(client, auth, refund_world):
    response = post(client, auth, f"/tasks/{refund_world.task_id}/comments", "zhuguan", json={"text": "长" * 2000})
    assert response.status_code == 201


def test_who_may_comment_and_read(client, auth, refund_world, make_user):
    w = refund_world
    make_user("pmwang", "pm")  # no lane of the refund, no task in it
    assert post(client, auth, f"/tasks/{w.task_id}/comments", "pmwang", json={"text": "x"}).status_code == 403
    assert post(client, auth, f"/instances/{w.instance_id}/comments", "pmwang", json={"text": "x"}).status_code == 403
    assert get(client, auth, f"/instances/{w.instance_id}/comments", "pmwang").status_code == 403
    # the auditor reads but does not comment
    assert post(client, auth, f"/tasks/{w.task_id}/comments", "shenji", json={"text": "x"}).status_code == 403
    assert post(client, auth, f"/instances/{w.instance_id}/comments", "shenji", json={"text": "x"}).status_code == 403
    assert get(client, auth, f"/instances/{w.instance_id}/comments", "shenji").status_code == 200
    # a warehouse clerk sees the refund through its lane, and may comment on the supervisor's task
    assert post(client, auth, f"/tasks/{w.task_id}/comments", "cangku", json={"text": "包裹未到"}).status_code == 201
    assert post(client, auth, "/tasks/999999/comments", "zhuguan", json={"text": "x"}).status_code == 404
    assert post(client, auth, "/instances/999999/comments", "zhuguan", json={"text": "x"}).status_code == 404


def test_comments_cannot_be_edited_or_deleted(client, auth, refund_world):
    made = post(client, auth, f"/tasks/{refund_world.task_id}/comments", "zhuguan", json={"text": "a"}).get_json()
    for method in ("put", "patch", "delete"):
        response = getattr(client, method)(f"/api/v1/tasks/{refund_world.task_id}/comments", headers=auth("guanli"),
                                           json={"text": "b"})
        assert response.status_code == 405
        response = getattr(client, method)(f"/api/v1/comments/{made['id']}", headers=auth("guanli"), json={"text": "b"})
        assert response.status_code in (404, 405)


@pytest.mark.parametrize("statement", ["UPDATE comments SET text = 'changed'", "DELETE FROM comments"])
def test_the_database_refuses_update_and_delete_of_comments(client, auth, refund_world, db_session, statement):
    post(client, auth, f"/tasks/{refund_world.task_id}/comments", "zhuguan", json={"text": "原文"})
    with pytest.raises(DBAPIError, match="append-only"):
        db_session.execute(text(statement))
    db_session.rollback()
    assert db_session.execute(text("SELECT text FROM comments")).scalars().all() == ["原文"]


def test_comment_through_the_task_page_and_the_instance_page(refund_world, browser_as):
    w = refund_world
    boss = browser_as("zhuguan")
    response = boss.post(f"/tasks/{w.task_id}/comments", data={"text": "先联系买家确认"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/tasks/{w.task_id}#comments")
    page = boss.get(f"/tasks/{w.task_id}").get_data(as_text=True)
    assert "先联系买家确认" in page and "评论已添加" in page
    response = boss.post(f"/instances/{w.instance_id}/comments", data={"text": "本单加急"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/instances/{w.instance_id}#comments")
    page = boss.get(f"/instances/{w.instance_id}").get_data(as_text=True)
    assert "先联系买家确认" in page and "本单加急" in page and 'name="text"' in page
    blank = boss.post(f"/instances/{w.instance_id}/comments", data={"text": "  "}, follow_redirects=True)
    assert "评论不能为空" in blank.get_data(as_text=True)


def test_auditor_sees_comments_on_the_page_without_a_form(refund_world, browser_as, client, auth):
    w = refund_world
    post(client, auth, f"/tasks/{w.task_id}/comments", "zhuguan", json={"text": "审计可见"})
    auditor = browser_as("shenji")
    page = auditor.get(f"/instances/{w.instance_id}").get_data(as_text=True)
    assert "审计可见" in page and 'name="text"' not in page
    assert auditor.post(f"/instances/{w.instance_id}/comments", data={"text": "x"}).status_code == 403
