"""Starting processes, the instance list with its filters, and an instance's page with the diagram."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import update

from engine import incidents
from engine.models import Instance
from web_support import (  # noqa: F401 (fixtures)
    FORMS, REFUND, ROOT, START_FORM, browser_as, refund_world, start_refund, text, web,
)


def instance_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-instance-id="(\d+)"', html)]


def test_only_processes_my_roles_may_start_are_offered(web, deploy, make_user, browser_as):
    deploy(REFUND, FORMS)
    deploy(ROOT / "tests" / "data" / "loop.bpmn")  # warehouse lane only
    make_user("kefu", "aftersales_cs")
    make_user("cangku", "warehouse")
    kefu = text(browser_as("kefu").get("/start"))
    assert 'data-process="refund"' in kefu and 'data-process="bench_loop"' not in kefu
    cangku = text(browser_as("cangku").get("/start"))
    assert 'data-process="refund"' in cangku and 'data-process="bench_loop"' in cangku
    assert browser_as("kefu").get("/start/bench_loop").status_code == 403
    assert browser_as("kefu").get("/start/no_such_process").status_code == 404


def test_the_start_form_checks_and_starts(web, deploy, make_user, browser_as):
    deploy(REFUND, FORMS)
    make_user("kefu", "aftersales_cs")
    client = browser_as("kefu")
    form = text(client.get("/start/refund"))
    assert "退款申请" in form and 'name="order_no"' in form and 'max="1000000"' in form
    bad = client.post("/start/refund", data={**START_FORM, "amount": "2000000", "reason": ""})
    page = text(bad)
    assert bad.status_code == 422 and "必须在 0 至 1000000 之间" in page and "此项为必填项" in page
    assert 'value="W-1001"' in page and 'value="2000000"' in page
    started = client.post("/start/refund", data=START_FORM)
    assert re.fullmatch(r"/instances/\d+", started.headers["Location"])
    detail = text(client.get(started.headers["Location"]))
    assert "已发起" in detail and "W-1001" in detail and "主管审核仅退款申请" in detail


def test_the_list_filters_by_process_status_starter_dates_and_key(web, deploy, make_user, browser_as, clock):
    deploy(REFUND, FORMS)
    make_user("kefu", "aftersales_cs")
    make_user("kefu2", "aftersales_cs")
    make_user("shenji", "auditor")
    make_user("caigou", "purchasing")
    first = start_refund(web, "kefu", order_no="L-1")
    second = start_refund(web, "kefu2", order_no="L-2")
    third = start_refund(web, "kefu", order_no="M-3")
    with web.extensions["liucheng_db"].session() as session:
        session.execute(update(Instance).where(Instance.id == first).values(
            status="completed", started_at=datetime(2026, 10, 30, 17, 0)))  # 10-31 01:00 Beijing time
        session.commit()
    client = browser_as("shenji")
    listed = lambda **q: instance_ids(text(client.get("/instances", query_string=q)))  # noqa: E731
    assert listed() == [third, second, first]
    assert listed(status="running") == [third, second]
    assert listed(status="completed") == [first]
    assert listed(started_by="kefu") == [third, first]
    assert listed(q="L-") == [second, first]
    assert listed(**{"from": "2026-10-31", "to": "2026-10-31"}) == [first]  # Beijing days
    assert listed(**{"from": "2026-11-01"}) == [third, second]
    assert listed(process="refund", to="2026-10-30") == []
    assert listed(status="bogus") == [third, second, first]
    # an after-sales user sees every refund (a lane of theirs); purchasing, with no lane in it, none
    assert instance_ids(text(browser_as("kefu2").get("/instances"))) == [third, second, first]
    assert instance_ids(text(browser_as("caigou").get("/instances"))) == []


def test_the_instance_page_shows_data_tasks_history_and_the_diagram(refund_world, browser_as, web):
    client = browser_as("kefu")
    page = text(client.get(f"/instances/{refund_world.instance_id}"))
    assert "W-1001" in page and "没有收到货" in page and "88.00" in page
    assert "主管审核仅退款申请" in page and "部门主管" in page and "尚无人认领" in page
    assert "流程已发起" in page and "网关已判断" in page and "任务已生成" in page
    assert re.search(r'data-element-id="StartEvent_refund_applied" class="el startEvent completed"', page)
    assert re.search(r'data-element-id="Task_supervisor_approve_refund_only" class="el userTask active"', page)
    assert re.search(r'data-element-id="Task_finance_refund" class="el userTask"', page)
    assert 'data-element-id="Flow_goods_not_received" class="edge taken"' in page
    assert "撤销此流程实例" in page  # the starter may cancel
    browser_as("zhuguan").post(f"/tasks/{refund_world.task_id}/claim")
    assert "zhuguan" in text(client.get(f"/instances/{refund_world.instance_id}"))
    svg = client.get(f"/instances/{refund_world.instance_id}/diagram.svg")
    assert svg.mimetype == "image/svg+xml" and svg.get_data(as_text=True).startswith("<svg")


def test_cancelling_needs_a_reason(refund_world, browser_as, web):
    client = browser_as("kefu")
    url = f"/instances/{refund_world.instance_id}"
    assert "请填写撤销实例的原因" in text(client.post(url + "/cancel", data={"reason": ""}, follow_redirects=True))
    page = text(client.post(url + "/cancel", data={"reason": "买家撤销"}, follow_redirects=True))
    assert "流程实例已撤销" in page and "买家撤销" in page and "撤销此流程实例" not in page
    assert browser_as("shenji").post(url + "/cancel", data={"reason": "x"}).status_code == 403


def test_failed_steps_show_as_incidents_and_in_red(web, deploy, make_user, browser_as, monkeypatch, clock):
    from engine import runtime, users

    monkeypatch.setattr(incidents, "MAX_ATTEMPTS", 1)
    deploy(ROOT / "tests" / "data" / "incidents_script_error.bpmn")
    make_user("cangku", "warehouse")
    make_user("zhuguan", "supervisor")
    with web.extensions["liucheng_db"].session() as session:
        instance = runtime.start_instance(session, "incidents_script_error", {"total": 1, "quantity": 0},
                                          users.get_user(session, "cangku"))
    page = text(browser_as("zhuguan").get(f"/instances/{instance.id}"))
    assert "出错" in page and "计算" in page and "故障已登记" in page
    assert "此流程定义没有可显示的流程图" in page  # the test model has no diagram interchange
