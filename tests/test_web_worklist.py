"""The worklist page: tabs with counts, filters, business key search, sorting, pages; claim/unclaim/complete."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import update

from engine import runtime, users
from engine.models import HumanTask, Instance
from web_support import (  # noqa: F401 (fixtures)
    FORMS, REFUND, ROOT, browser_as, open_task, start_refund, text, web,
)

LOOP = ROOT / "tests" / "data" / "loop.bpmn"


def task_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-task-id="(\d+)"', html)]


def setup_refunds(web, deploy, make_user, count: int = 3) -> list[int]:
    deploy(REFUND, FORMS)
    make_user("kefu", "aftersales_cs")
    make_user("zhuguan", "supervisor")
    make_user("zhuguan2", "supervisor")
    return [start_refund(web, "kefu", order_no=f"W-{n:03d}") for n in range(count)]


def test_tabs_count_my_tasks_and_claimable_ones(web, deploy, make_user, browser_as, clock):
    instances = setup_refunds(web, deploy, make_user)
    client = browser_as("zhuguan")
    page = text(client.get("/worklist"))
    assert re.search(r'我的任务 <span class="count">0</span>', page)
    assert re.search(r'可认领 <span class="count">3</span>', page)
    assert "您没有待办任务" not in page and "您的角色有 3 个任务可认领" in page  # issue 14: claimable shown below
    claimable = text(client.get("/worklist?tab=claimable"))
    assert len(task_ids(claimable)) == 3 and "W-001" in claimable and "主管审核仅退款申请" in claimable

    task = open_task(web, instances[0]).id
    claimed = client.post(f"/tasks/{task}/claim", data={"next": "/worklist?tab=claimable"})
    assert claimed.headers["Location"] == f"/tasks/{task}"  # issue 14: after claiming, the task opens
    assert "您已认领" in text(client.get(claimed.headers["Location"]))
    page = text(client.get("/worklist"))
    assert task_ids(page.partition('id="claimable-preview"')[0]) == [task]
    assert re.search(r'可认领 <span class="count">2</span>', page)
    assert 'action="/tasks/%d/unclaim"' % task in page
    other = text(browser_as("zhuguan2").get("/worklist?tab=claimable"))
    assert task not in task_ids(other)  # gone from the other supervisor's list

    unclaimed = client.post(f"/tasks/{task}/unclaim", data={"next": "/worklist"})
    assert unclaimed.headers["Location"] == "/worklist"
    assert "已放回" in text(client.get("/worklist"))  # issue 14: giving back is 放回, not 退回 (reject)
    assert task in task_ids(text(client.get("/worklist?tab=claimable")))


def test_claim_taken_by_someone_else_shows_why(web, deploy, make_user, browser_as, clock):
    instances = setup_refunds(web, deploy, make_user, 1)
    task = open_task(web, instances[0]).id
    browser_as("zhuguan2").post(f"/tasks/{task}/claim")
    client = browser_as("zhuguan")
    response = client.post(f"/tasks/{task}/claim", data={"next": "/worklist?tab=claimable"}, follow_redirects=True)
    assert "zhuguan2" in text(response)  # the refusal names who holds it (in Chinese since issue 14)


def test_business_key_search_covers_order_po_inquiry_and_merchant(web, deploy, make_user, browser_as, clock):
    instances = setup_refunds(web, deploy, make_user)
    with web.extensions["liucheng_db"].session() as session:
        session.execute(update(Instance).where(Instance.id == instances[1])
                        .values(data={"order_no": "W-001", "merchant": "深圳米粒%科技", "po_no": "PO-77"}))
        session.commit()
    client = browser_as("zhuguan")
    found = lambda q: {t for t in task_ids(text(client.get("/worklist", query_string={"tab": "claimable", "q": q})))}  # noqa: E731
    first = open_task(web, instances[0]).id
    second = open_task(web, instances[1]).id
    assert found("W-000") == {first}
    assert found("w-00") == {open_task(web, i).id for i in instances}  # case-insensitive, part of the key
    assert found("米粒%科") == {second}  # % is taken literally
    assert found("PO-77") == {second}
    assert found("nothing") == set()


def test_filters_by_process_and_due_and_sorts_by_due(web, deploy, make_user, browser_as, clock):
    instances = setup_refunds(web, deploy, make_user)
    deploy(LOOP)
    make_user("duoneng", "supervisor", "warehouse")
    with web.extensions["liucheng_db"].session() as session:
        runtime.start_instance(session, "bench_loop", {"rounds": 0, "limit": 1}, users.get_user(session, "duoneng"))
    tasks = [open_task(web, i).id for i in instances]
    dues = [datetime(2026, 11, 2, 8), datetime(2026, 11, 2, 20), datetime(2026, 11, 9, 9)]  # clock: 11-02 09:00
    with web.extensions["liucheng_db"].session() as session:
        for task, due in zip(tasks, dues):
            session.execute(update(HumanTask).where(HumanTask.id == task).values(due_at=due))
        session.commit()
    client = browser_as("duoneng")
    listed = lambda **q: task_ids(text(client.get("/worklist", query_string={"tab": "claimable", **q})))  # noqa: E731
    assert len(listed()) == 4
    assert listed(process="refund") == tasks
    assert len(listed(process="bench_loop")) == 1
    assert listed(due="overdue") == [tasks[0]]
    assert listed(due="soon") == [tasks[1]]
    assert listed(process="refund", sort="-due") == tasks[::-1]
    page = text(client.get("/worklist?tab=claimable"))
    assert 'class="overdue"' in page and "due-soon" in page and "已逾期" in page
    assert re.search(r'可认领 <span class="count">4</span> <span class="count overdue">1 已逾期', page)


def test_pages_of_twenty(web, deploy, make_user, browser_as, clock):
    setup_refunds(web, deploy, make_user, 23)
    client = browser_as("zhuguan")
    first = text(client.get("/worklist?tab=claimable"))
    second = text(client.get("/worklist?tab=claimable&page=2"))
    assert len(task_ids(first)) == 20 and len(task_ids(second)) == 3
    assert not set(task_ids(first)) & set(task_ids(second))
    assert "第 1 / 2 页" in first and 'rel="next"' in first and 'rel="prev"' in second
    assert "共 23 个任务" in first
    assert len(task_ids(text(client.get("/worklist?tab=claimable&page=99")))) == 3  # past the end: the last page


def test_a_task_without_inputs_is_completed_from_the_list(web, deploy, make_user, browser_as, clock):
    deploy(LOOP)
    make_user("cangku", "warehouse")
    with web.extensions["liucheng_db"].session() as session:
        instance = runtime.start_instance(session, "bench_loop", {"rounds": 0, "limit": 1},
                                          users.get_user(session, "cangku"))
    client = browser_as("cangku")
    page = text(client.get("/worklist?tab=claimable"))
    task = open_task(web, instance.id).id
    assert f'action="/tasks/{task}/complete"' in page and "data-confirm" in page
    done = client.post(f"/tasks/{task}/complete", data={"next": "/worklist?tab=claimable"})
    assert done.headers["Location"] == "/worklist?tab=claimable"
    assert "任务“处理一轮”已完成" in text(client.get("/worklist"))
    with web.extensions["liucheng_db"].session() as session:
        assert session.get(Instance, instance.id).status == "completed"


def test_refund_tasks_with_required_fields_open_the_task_page(web, deploy, make_user, browser_as, clock):
    instances = setup_refunds(web, deploy, make_user, 1)
    page = text(browser_as("zhuguan").get("/worklist?tab=claimable"))
    task = open_task(web, instances[0]).id
    assert f'action="/tasks/{task}/complete"' not in page and f'href="/tasks/{task}"' in page
