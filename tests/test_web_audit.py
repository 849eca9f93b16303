"""Auditors: the timeline of an instance, the search across instances, CSV and JSON exports."""
from __future__ import annotations

import csv
import io
import json
import re

from web_support import browser_as, open_task, refund_world, start_refund, text, web  # noqa: F401 (fixtures)


def walk_refund(web, browser_as, world) -> None:
    boss = browser_as("zhuguan")
    boss.post(f"/tasks/{world.task_id}/claim")
    assert boss.post(f"/tasks/{world.task_id}/complete", data={"approved": "true", "approval_comment": "=1+1 同意"}
                     ).status_code == 302
    finance_task = open_task(web, world.instance_id).id
    assert browser_as("caiwu").post(f"/tasks/{finance_task}/complete", data={"payment_ref": "ALI-9"}).status_code == 302


def test_the_timeline_says_who_when_what_and_the_data_before_and_after(clock, refund_world, browser_as, web):
    walk_refund(web, browser_as, refund_world)
    page = text(browser_as("shenji").get(f"/audit/instances/{refund_world.instance_id}"))
    assert "时间线" in page and "W-1001" in page and "已完成" in page
    assert "2026-11-02 17:00" in page  # 09:00 UTC in Beijing time
    completed = re.findall(r'<li class="event type-task_completed".*?</li>', page, re.S)
    assert len(completed) == 2
    assert "主管审核仅退款申请" in completed[0] and '操作人 <span class="person" title="zhuguan">zhuguan</span>' in completed[0]
    assert "主管是否同意" in completed[0] and "<td class=\"after\">是</td>" in completed[0]
    assert "修改前" in completed[0] and "修改后" in completed[0]
    assert "ALI-9" in completed[1] and '操作人 <span class="person" title="caiwu">caiwu</span>' in completed[1]
    scripts = re.findall(r'<li class="event type-script_changed_data".*?</li>', page, re.S)
    assert any("退款金额" in s and "88.00" in s for s in scripts)
    assert 'id="export-csv"' in page and 'id="export-json"' in page


def test_an_instance_history_exports_as_csv_and_json(clock, refund_world, browser_as, web):
    walk_refund(web, browser_as, refund_world)
    client = browser_as("shenji")
    response = client.get(f"/audit/instances/{refund_world.instance_id}/history.json")
    assert response.mimetype == "application/json" and "attachment" in response.headers["Content-Disposition"]
    exported = json.loads(response.get_data(as_text=True))
    events = exported["rows"]
    assert exported["count"] == len(events)
    assert events[0]["type"] == "instance_started" and events[0]["at"] == "2026-11-02T17:00:00+08:00"  # issue 14: local zone
    done = [e for e in events if e["type"] == "task_completed"]
    assert [e["actor"] for e in done] == ["zhuguan", "caiwu"]
    assert done[0]["data"]["submitted"]["approved"] is True and "before" in done[0]["data"]
    assert {e["business_key"] for e in events} == {"W-1001"}
    response = client.get(f"/audit/instances/{refund_world.instance_id}/history.csv")
    body = response.get_data(as_text=True)
    assert response.mimetype == "text/csv" and body.startswith("\ufeff")  # Excel reads the Chinese text
    assert body.endswith(f"# rows: {len(events)}\r\n")
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))[:-1]
    assert len(rows) == len(events) and rows[0]["type"] == "instance_started"
    completed = [r for r in rows if r["type"] == "task_completed"]
    assert json.loads(completed[1]["data"])["submitted"]["payment_ref"] == "ALI-9"
    assert client.get(f"/audit/instances/{refund_world.instance_id}/history.xml").status_code == 404


def test_search_across_instances_by_user_date_process_and_type(clock, refund_world, browser_as, web):
    walk_refund(web, browser_as, refund_world)
    clock.advance(days=2)
    other = start_refund(web, "kefu", order_no="W-2002")
    client = browser_as("shenji")
    count = lambda **q: int(re.search(r"共 (\d+) 条事件", text(client.get("/audit/", query_string=q))).group(1))  # noqa: E731
    assert count(user="zhuguan") == 3  # claimed, completed, the variables the form changed (issue 15)
    assert count(type="task_completed") == 2
    assert count(type="instance_started") == 2
    assert count(type="instance_started", to="2026-11-02") == 1
    assert count(type="instance_started", **{"from": "2026-11-04"}) == 1
    assert count(process="refund", q="W-2002") == count(instance=str(other))
    assert count(process="no_such") == 0
    page = text(client.get("/audit/", query_string={"user": "caiwu"}))
    assert "任务已完成" in page and "ALI-9" in page and "财务退款" in page
    exported = client.get("/audit/export.json", query_string={"type": "task_completed"})
    assert [e["actor"] for e in json.loads(exported.get_data(as_text=True))["rows"]] == ["zhuguan", "caiwu"]
    csv_body = client.get("/audit/export.csv", query_string={"user": "zhuguan", "type": "task_completed"})
    rows = list(csv.reader(io.StringIO(csv_body.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["id", "instance_id", "process_id"] and len(rows) == 3 and rows[-1] == ["# rows: 1"]


def test_csv_cells_never_run_as_spreadsheet_formulas(refund_world, browser_as, web):
    from webui.pages.audit import cell

    assert cell("=1+1") == "'=1+1" and cell("@SUM(A1)") == "'@SUM(A1)" and cell("普通") == "普通"
    assert cell({"a": "=x"}).startswith("{") and cell(None) == "" and cell(7) == "7"
