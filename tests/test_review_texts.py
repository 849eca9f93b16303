"""Texts a Chinese reader meets after issue 14's review: the variables filter's refusals on the API and the
pages, field messages in the API's ``details``, the bulk claim's refusals (``refused[].message`` in the
reader's language, as error responses are), the follow-up date a person sets (``YYYY-MM-DD`` only) and
the export row's time (UTC with ``+00:00``). Over the REST API and the pages, on SQLite and PostgreSQL."""
from __future__ import annotations

import re
from datetime import datetime

import pytest

from engine import history
from engine.models import HistoryEvent
from web_support import browser_as, text, web  # noqa: F401 (fixtures)
from work_support import people, work  # noqa: F401 (fixtures)

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def both(client, auth, method: str, path: str, user: str, **kwargs):
    """The response in English (no Accept-Language) and for a Chinese reader."""
    english = getattr(client, method)("/api/v1" + path, headers=auth(user), **kwargs)
    chinese = getattr(client, method)("/api/v1" + path, headers={**auth(user), **ZH}, **kwargs)
    return english, chinese


@pytest.mark.parametrize("path", ["/tasks", "/instances"])
@pytest.mark.parametrize("expression", ["x_zz", "\\", "amount_gt_abc,", "flag_gt_true"])
def test_a_bad_variables_filter_is_refused_in_the_readers_language(client, auth, people, path, expression):
    english, chinese = both(client, auth, "get", path, "zhao", query_string={"variables": expression})
    assert english.status_code == chinese.status_code == 400, english.json
    assert "variables filter" in english.json["message"] and not CHINESE.search(english.json["message"])
    assert "变量筛选" in chinese.json["message"] and "variables filter" not in chinese.json["message"]
    assert all("变量筛选" in m and "filter" not in m for m in chinese.json["details"]["variables"])


@pytest.mark.parametrize("page", ["/worklist", "/instances"])
def test_a_bad_variables_filter_reads_in_chinese_on_the_pages(web, people, browser_as, page):
    shown = text(browser_as("zhao").get(page, query_string={"variables": "amount_gt_abc,"}))
    assert "变量筛选的第 2 个条件为空；请删去多余的逗号。" in shown
    assert "remove the extra comma" not in shown
    shown = text(browser_as("zhao").get(page, query_string={"variables": "\\"}))
    assert "变量筛选以单个反斜杠结尾" in shown and "lone backslash" not in shown


def test_field_messages_in_details_read_in_chinese(client, auth, work):
    task = work.deploy().start()
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=auth("wang")).status_code == 200
    english, chinese = both(client, auth, "post", f"/tasks/{task['id']}/delegate", "wang", json={"user": "wang"})
    assert english.status_code == chinese.status_code == 400, english.json
    assert english.json["details"]["user"] == ["Already theirs."]
    assert chinese.json["details"]["user"] == ["任务已在该用户手中。"]
    english, chinese = both(client, auth, "post", "/filters", "wang",
                            json={"name": "mine", "query": {"colour": "red", "tab": "everything"}})
    assert english.status_code == chinese.status_code == 400, english.json
    for key, messages in chinese.json["details"]["query"].items():
        assert messages and all(CHINESE.search(m) for m in messages), (key, messages)
    english, chinese = both(client, auth, "patch", f"/tasks/{task['id']}", "wang", json={"follow_up": "soon"})
    assert english.json["details"]["follow_up"] == ["Give a date as YYYY-MM-DD, or null to clear it."]
    assert chinese.json["details"]["follow_up"] == ["请按 YYYY-MM-DD 填写日期，或填 null 清除。"]


def test_the_bulk_claims_refusals_read_in_the_readers_language(client, auth, work):
    work.deploy()
    first, taken = work.start()["id"], work.start()["id"]
    finance = work.deploy('camunda:candidateGroups="finance"', process_id="pay").start()["id"]
    assert client.post(f"/api/v1/tasks/{taken}/claim", headers=auth("li")).status_code == 200
    body = {"task_ids": [taken, finance, 999999]}
    english = client.post("/api/v1/tasks/claim", headers=auth("wang"), json=body)
    chinese = client.post("/api/v1/tasks/claim", headers={**auth("wang"), **ZH},
                          json={"task_ids": [first, *body["task_ids"]]})
    assert english.status_code == chinese.status_code == 200
    assert chinese.json["claimed"] == [first]
    assert [r["id"] for r in english.json["refused"]] == [r["id"] for r in chinese.json["refused"]]
    assert [r["error"] for r in english.json["refused"]] == [r["error"] for r in chinese.json["refused"]]
    assert "Task 999999 does not exist." in [r["message"] for r in english.json["refused"]]
    messages = {r["id"]: r["message"] for r in chinese.json["refused"]}
    assert messages[999999] == "任务 999999 不存在。"
    assert messages[taken].startswith(f"任务 {taken} 已被 li 认领")
    assert all(CHINESE.search(m) and not re.search(r"[A-Za-z]{3,} [A-Za-z]{3,}", m)
               for m in messages.values()), messages


@pytest.mark.parametrize("follow_up", ["2026-12-01T10:00:00", "2026-12-01 10:00", "2026-12-01T00:00:00+08:00",
                                       "20261201", "2026-W49-2", " 2026-12-01", "2026-12-01Z", "２０２６-12-01"])
def test_a_follow_up_date_set_by_a_person_is_a_calendar_date_only(api, work, follow_up):
    task = work.deploy().start()
    refused = api("patch", f"/tasks/{task['id']}", "zhao", json={"follow_up": follow_up})
    assert refused.status_code == 422, refused.json
    assert refused.json["details"] == {"follow_up": ["Give a date as YYYY-MM-DD, or null to clear it."]}
    assert api("get", f"/tasks/{task['id']}", "root").json["follow_up"] is None


def test_a_calendar_date_is_taken_and_the_models_date_time_still_gives_its_date(api, work):
    task = work.deploy().start()
    changed = api("patch", f"/tasks/{task['id']}", "zhao", json={"follow_up": "2026-12-01"})
    assert changed.status_code == 200 and changed.json["follow_up"] == "2026-12-01"
    modelled = work.deploy('camunda:candidateGroups="warehouse" camunda:followUpDate="2027-02-01T09:00:00"',
                           process_id="dated").start()
    assert modelled["follow_up"] == "2027-02-01"  # camunda:followUpDate: a date-time becomes its date


def test_an_export_row_writes_its_time_in_utc_with_the_offset():
    event = HistoryEvent(id=1, instance_id=2, at=datetime(2026, 12, 6, 1, 26), type="task_claimed", actor="wang",
                         element_id="Task_a", task_id=3, data={})
    row = history.export_row(event, "pay", "A1")
    assert row["at"] == "2026-12-06T01:26:00+00:00"
    assert (row["process_id"], row["business_key"]) == ("pay", "A1")
