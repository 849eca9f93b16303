"""The worklist as a landing page (issue 14, item 6): what the user can act on is counted and shown (my tasks, then
the claimable ones), a claim opens the task, bulk claim, one-click completion only for a form without fields, and
the variable filter of the worklist and the instance list."""
from __future__ import annotations

import re

from engine import runtime, users
from engine.models import HumanTask, Instance
from web_support import (  # noqa: F401 (fixtures)
    FORMS, REFUND, ROOT, browser_as, open_task, start_refund, text, web,
)

LOOP = ROOT / "tests" / "data" / "loop.bpmn"


def task_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-task-id="(\d+)"', html)]


def section(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start:html.index("</section>", start)]


def setup_refunds(web, deploy, make_user, count: int = 3) -> list[int]:
    deploy(REFUND, FORMS)
    make_user("kefu", "aftersales_cs")
    make_user("zhuguan", "supervisor")
    make_user("zhuguan2", "supervisor")
    return [start_refund(web, "kefu", order_no=f"W-{n:03d}", amount=f"{88 + n * 100}.00") for n in range(count)]


def test_a_supervisor_with_nothing_assigned_lands_on_the_claimable_refunds(web, deploy, make_user, browser_as, clock):
    instances = setup_refunds(web, deploy, make_user)
    client = browser_as("zhuguan")
    landing = client.get("/")
    assert landing.headers["Location"] == "/worklist"
    page = text(client.get("/worklist"))
    assert re.search(r'我的任务 <span class="count">0</span>', page)
    assert re.search(r'可认领 <span class="count">3</span>', page)
    assert "您没有待办任务" not in page
    assert "您手上暂无任务。您的角色有 3 个任务可认领，见下方。" in page
    preview = section(page, "claimable-preview")
    assert "可认领 (3)" in preview
    assert sorted(task_ids(preview)) == sorted(open_task(web, i).id for i in instances)
    assert 'id="claim-selected"' in preview and 'form="bulk-claim"' in preview


def test_my_tasks_come_first_and_the_claimable_ones_stay_visible_below(web, deploy, make_user, browser_as, clock):
    instances = setup_refunds(web, deploy, make_user)
    client = browser_as("zhuguan")
    mine = open_task(web, instances[0]).id
    client.post(f"/tasks/{mine}/claim")
    page = text(client.get("/worklist"))
    assert re.search(r'我的任务 <span class="count">1</span>', page)
    before, _sep, after = page.partition('id="claimable-preview"')
    assert task_ids(before) == [mine]
    assert sorted(task_ids(after)) == sorted(open_task(web, i).id for i in instances[1:])
    assert "可认领 (2)" in after


def test_the_preview_shows_five_and_links_to_the_whole_queue(web, deploy, make_user, browser_as, clock):
    setup_refunds(web, deploy, make_user, 7)
    page = text(browser_as("zhuguan").get("/worklist"))
    preview = section(page, "claimable-preview")
    assert len(task_ids(preview)) == 5
    assert "查看全部 7 个可认领任务" in preview and 'href="/worklist?tab=claimable"' in preview


def test_a_user_without_claimable_work_sees_no_preview(web, deploy, make_user, browser_as, clock):
    setup_refunds(web, deploy, make_user)
    page = text(browser_as("kefu").get("/worklist"))
    assert 'id="claimable-preview"' not in page
    assert "您没有待办任务" in page


def test_claiming_from_the_list_opens_the_task(web, deploy, make_user, browser_as, clock):
    instances = setup_refunds(web, deploy, make_user, 1)
    task = open_task(web, instances[0]).id
    client = browser_as("zhuguan")
    claimed = client.post(f"/tasks/{task}/claim", data={"next": "/worklist?tab=claimable"})
    assert claimed.headers["Location"] == f"/tasks/{task}"
    page = text(client.get(claimed.headers["Location"]))
    assert "您已认领" in page and 'id="complete"' in page


def test_a_claim_someone_else_won_goes_back_to_the_list_and_says_why(web, deploy, make_user, browser_as, clock):
    instances = setup_refunds(web, deploy, make_user, 1)
    task = open_task(web, instances[0]).id
    browser_as("zhuguan2").post(f"/tasks/{task}/claim")
    refused = browser_as("zhuguan").post(f"/tasks/{task}/claim", data={"next": "/worklist?tab=claimable"})
    assert refused.headers["Location"] == "/worklist?tab=claimable"


def test_bulk_claim_claims_the_ticked_tasks_and_reports_the_taken_one(web, deploy, make_user, browser_as, clock):
    instances = setup_refunds(web, deploy, make_user)
    tasks = [open_task(web, i).id for i in instances]
    browser_as("zhuguan2").post(f"/tasks/{tasks[2]}/claim")
    client = browser_as("zhuguan")
    page = text(client.get("/worklist?tab=claimable"))
    assert 'action="/worklist/claim"' in page and page.count('name="task_id"') == 2
    response = client.post("/worklist/claim", data={"task_id": [str(t) for t in tasks]})
    assert response.headers["Location"] == "/worklist?tab=mine"
    mine = text(client.get("/worklist"))
    assert sorted(task_ids(mine)) == sorted(tasks[:2])
    assert "您已认领 2 个任务" in mine and f"任务 {tasks[2]} 未能认领" in mine
    nothing = client.post("/worklist/claim", data={}, follow_redirects=True)
    assert "请先勾选要认领的任务" in text(nothing)


def test_one_click_completion_only_for_a_task_without_any_field(web, deploy, make_user, browser_as, clock, tmp_path):
    forms = tmp_path / "forms"
    forms.mkdir()
    (forms / "loop_note.json").write_text('{"id": "loop_note", "title": {"zh": "备注", "en": "Note"}, "fields": ['
                                          '{"name": "note", "type": "str", "label": {"zh": "备注", "en": "Note"}}]}',
                                          encoding="utf-8")
    noted = tmp_path / "loop_noted.bpmn"
    noted.write_text(LOOP.read_text(encoding="utf-8").replace('id="bench_loop"', 'id="noted_loop"').replace(
        '<bpmn:userTask id="Task_work" name="处理一轮">',
        '<bpmn:userTask id="Task_work" name="处理一轮" camunda:formKey="loop_note">').replace(
        'bpmnElement="bench_loop"', 'bpmnElement="noted_loop"'), encoding="utf-8")
    deploy(LOOP)
    deploy(noted, forms)
    make_user("cangku", "warehouse")
    with web.extensions["liucheng_db"].session() as session:
        user = users.get_user(session, "cangku")
        bare = runtime.start_instance(session, "bench_loop", {"rounds": 0, "limit": 1}, user).id
        optional = runtime.start_instance(session, "noted_loop", {"rounds": 0, "limit": 1}, user).id
    client = browser_as("cangku")
    page = text(client.get("/worklist?tab=claimable"))
    bare_task, optional_task = open_task(web, bare).id, open_task(web, optional).id
    assert f'action="/tasks/{bare_task}/complete"' in page
    assert f'action="/tasks/{optional_task}/complete"' not in page and f'href="/tasks/{optional_task}"' in page


def test_the_variable_filter_finds_refunds_by_order_number_and_amount(web, deploy, make_user, browser_as, clock):
    instances = setup_refunds(web, deploy, make_user)  # amounts 88, 188, 288
    tasks = [open_task(web, i).id for i in instances]
    client = browser_as("zhuguan")
    listed = lambda **q: sorted(task_ids(text(client.get("/worklist", query_string={"tab": "claimable", **q}))))  # noqa: E731
    assert listed(variables="order_no_eq_W-001") == [tasks[1]]
    assert listed(var_name="order_no", var_op="eq", var_value="W-002") == [tasks[2]]
    assert listed(var_name="amount", var_op="gt", var_value="100") == sorted(tasks[1:])
    assert listed(var_name="amount", var_op="lteq", var_value="188", variables="order_no_like_W-%") == sorted(tasks[:2])
    page = text(client.get("/worklist", query_string={"tab": "claimable", "variables": "amount_between_1"}))
    assert 'id="filter-error"' in page and task_ids(page) == []
    options = text(client.get("/worklist?tab=claimable"))
    assert '<option value="order_no">' in options and '<option value="gt">大于</option>' in options


def test_the_instance_list_has_the_same_variable_filter(web, deploy, make_user, browser_as, clock):
    instances = setup_refunds(web, deploy, make_user)
    client = browser_as("zhuguan")
    listed = lambda **q: sorted(int(i) for i in re.findall(  # noqa: E731
        r'data-instance-id="(\d+)"', text(client.get("/instances", query_string=q))))
    assert listed(var_name="order_no", var_op="eq", var_value="W-000") == [instances[0]]
    assert listed(var_name="amount", var_op="gteq", var_value="188") == sorted(instances[1:])
    assert listed(variables="order_no_neq_W-000,amount_lt_250") == [instances[1]]
    bad = client.get("/instances", query_string={"variables": "amount_between_1"})
    assert bad.status_code == 200 and 'id="filter-error"' in text(bad)
    with web.extensions["liucheng_db"].session() as session:
        assert session.query(Instance).count() == 3 and session.query(HumanTask).count() == 3


def test_a_picked_value_with_a_comma_an_underscore_or_a_backslash_is_escaped(web, deploy, make_user, browser_as, clock):
    deploy(REFUND, FORMS)
    make_user("kefu", "aftersales_cs")
    make_user("zhuguan", "supervisor")
    odd = start_refund(web, "kefu", order_no="W_1,2\\3")
    start_refund(web, "kefu", order_no="W-1")
    client = browser_as("zhuguan")
    page = text(client.get("/instances", query_string={"var_name": "order_no", "var_op": "eq", "var_value": "W_1,2\\3"}))
    assert re.findall(r'data-instance-id="(\d+)"', page) == [str(odd)]
    assert 'value="order_no_eq_W\\_1\\,2\\\\3"' in page  # the expression shown is the escaped one
    contains = text(client.get("/worklist", query_string={"tab": "claimable", "var_name": "order_no",
                                                           "var_op": "like", "var_value": "_1,"}))
    assert task_ids(contains) == [open_task(web, odd).id]  # 包含: anywhere in the text
