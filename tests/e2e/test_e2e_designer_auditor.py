"""A designer uploads a broken BPMN and reads the error; an auditor exports a history."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from engine import runtime, users
from engine.models import HumanTask

expect = pytest.importorskip("playwright.sync_api").expect

DATA = Path(__file__).resolve().parents[1] / "data"


def test_a_designer_uploads_a_broken_bpmn_reads_the_error_then_deploys(make_user, sign_in):
    make_user("sheji", "admin")
    page = sign_in("sheji")
    page.click("text=流程定义")
    expect(page.locator("h1")).to_have_text("流程定义")
    page.set_input_files("#files", str(DATA / "broken.bpmn"))
    page.click("#deploy")
    problems = page.locator("#problems")
    expect(problems).to_contain_text("未部署任何内容")
    row = problems.locator("tr.problem").first
    expect(row.locator("td").nth(0)).to_have_text("broken.bpmn")
    expect(row.locator("td.line")).to_have_text("12")
    expect(row.locator("td.element")).to_have_text("Task_orphan")
    expect(row).to_contain_text("no_such_role")
    expect(row.locator("pre.source")).to_contain_text('<bpmn:userTask id="Task_orphan"')

    # fixed: the model with its forms deploys and its diagram is shown
    forms = sorted(str(p) for p in (DATA / "forms").glob("approval_*.json"))
    page.set_input_files("#files", [str(DATA / "approval.bpmn"), *forms])
    page.click("#deploy")
    expect(page.locator(".flash-success")).to_contain_text("已部署 approval 第 1 版")
    page.click("tr[data-process=approval] a >> nth=0")
    expect(page.locator(".diagram svg [data-element-id=Task_check]")).to_contain_text("检查货物")


def test_an_auditor_exports_the_history_of_an_instance(app, deploy, make_user, sign_in, tmp_path):
    deploy()
    make_user("kefu", "aftersales_cs")
    make_user("zhuguan", "supervisor")
    make_user("shenji", "auditor")
    with app.extensions["liucheng_db"].session() as session:
        instance = runtime.start_instance(session, "refund", {
            "order_no": "AUD-7", "buyer": "买家甲", "amount": "66.00", "shipping_fee": "6.00", "free_shipping": False,
            "goods_received": False, "quality_issue": False, "days_since_signed": 0, "reason": "未收到"},
            users.get_user(session, "kefu"))
        task = session.query(HumanTask).filter_by(instance_id=instance.id, status="open").one()
        boss = users.get_user(session, "zhuguan")
        runtime.claim_task(session, task.id, boss)
        runtime.complete_task(session, task.id, {"approved": True, "approval_comment": "同意"}, boss)

    page = sign_in("shenji")
    assert page.url.endswith("/audit/")
    page.select_option("select[name=user]", "zhuguan")
    page.click("text=搜索")
    expect(page.locator("table.audit tbody tr")).to_have_count(3)  # claimed, completed, the variables it changed
    page.locator("table.audit a", has_text=f"#{instance.id}").first.click()
    expect(page.locator("h1")).to_contain_text("时间线")
    completed = page.locator(".timeline li[data-event-type=task_completed]")
    expect(completed).to_contain_text("zhuguan")
    expect(completed.locator("table.changes")).to_contain_text("主管是否同意")

    with page.expect_download() as info:
        page.click("#export-csv")
    path = tmp_path / "history.csv"
    info.value.save_as(path)
    assert info.value.suggested_filename == f"liucheng-instance-{instance.id}-history.csv"
    body = path.read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))[:-1]  # the last line counts the rows (issue 15)
    assert body.rstrip().endswith(f"# rows: {len(rows)}")
    assert [r["type"] for r in rows][0] == "instance_started"
    done = [r for r in rows if r["type"] == "task_completed"]
    assert done[0]["actor"] == "zhuguan" and json.loads(done[0]["data"])["submitted"]["approved"] is True
    assert "买家甲" in rows[0]["data"]

    with page.expect_download() as info:
        page.click("#export-json")
    events = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))["rows"]
    assert len(events) == len(rows) and all(re.match(r"\d{4}-\d\d-\d\dT", e["at"]) for e in events)
