"""Saved filters on the worklist page (issue 14, item 6): the current filter saved under a name becomes a tab,
opens the same list again, is the user's own, and can be deleted; bad names are refused with the reason."""
from __future__ import annotations

import re

from web_support import (  # noqa: F401 (fixtures)
    FORMS, REFUND, browser_as, open_task, start_refund, text, web,
)


def task_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-task-id="(\d+)"', html)]


def saved_tabs(html: str) -> dict[str, str]:
    """{name: href} of the saved filter tabs."""
    return {name: href.replace("&amp;", "&") for href, name in re.findall(
        r'class="saved-filter[^"]*" data-filter-id="\d+" href="([^"]+)"[^>]*>★ ([^<]+)</a>', html)}


def setup(web, deploy, make_user) -> list[int]:
    deploy(REFUND, FORMS)
    make_user("kefu", "aftersales_cs")
    make_user("zhuguan", "supervisor")
    make_user("zhuguan2", "supervisor")
    return [start_refund(web, "kefu", order_no=f"W-{n:03d}", amount=f"{88 + n * 100}.00") for n in range(3)]


def test_the_current_filter_is_saved_as_a_tab_that_opens_the_same_list(web, deploy, make_user, browser_as, clock):
    instances = setup(web, deploy, make_user)
    client = browser_as("zhuguan")
    page = text(client.get("/worklist?tab=claimable&process=refund&sort=-due&variables=amount_gt_100"))
    form = page[page.index('action="/worklist/filters"'):page.index("</form>", page.index('action="/worklist/filters"'))]
    assert 'name="variables" value="amount_gt_100"' in form and 'name="process" value="refund"' in form
    saved = client.post("/worklist/filters", data={"name": "大额退款", "tab": "claimable", "process": "refund",
                                                   "sort": "-due", "variables": "amount_gt_100"})
    assert saved.status_code == 302 and "variables=amount_gt_100" in saved.headers["Location"]
    page = text(client.get(saved.headers["Location"]))
    assert "筛选“大额退款”已保存" in page
    tabs = saved_tabs(page)
    assert list(tabs) == ["大额退款"]
    assert 'class="saved-filter current"' in page and 'id="delete-filter"' in page
    listed = text(client.get(tabs["大额退款"]))
    assert task_ids(listed) == [open_task(web, i).id for i in instances[1:]][::-1]  # -due: same due, newest id first
    assert saved_tabs(text(browser_as("zhuguan2").get("/worklist"))) == {}  # another user's filters are not shown


def test_a_picked_condition_is_saved_as_its_expression(web, deploy, make_user, browser_as, clock):
    setup(web, deploy, make_user)
    client = browser_as("zhuguan")
    client.post("/worklist/filters", data={"name": "W-001", "tab": "claimable", "var_name": "order_no",
                                           "var_op": "eq", "var_value": "W-001"})
    href = saved_tabs(text(client.get("/worklist")))["W-001"]
    assert "variables=order_no_eq_W-001" in href
    assert len(task_ids(text(client.get(href)))) == 1


def test_bad_names_are_refused_and_nothing_is_saved(web, deploy, make_user, browser_as, clock):
    setup(web, deploy, make_user)
    client = browser_as("zhuguan")
    empty = client.post("/worklist/filters", data={"name": " ", "tab": "claimable"}, follow_redirects=True)
    assert saved_tabs(text(empty)) == {} and "已保存" not in text(empty)
    client.post("/worklist/filters", data={"name": "我的", "tab": "claimable"})
    twice = client.post("/worklist/filters", data={"name": "我的", "tab": "mine"}, follow_redirects=True)
    assert list(saved_tabs(text(twice))) == ["我的"]


def test_a_saved_filter_is_deleted_by_its_owner_only(web, deploy, make_user, browser_as, clock):
    setup(web, deploy, make_user)
    client = browser_as("zhuguan")
    client.post("/worklist/filters", data={"name": "今日逾期", "tab": "claimable", "due": "overdue"})
    page = text(client.get(saved_tabs(text(client.get("/worklist")))["今日逾期"]))
    filter_id = int(re.search(r'action="/worklist/filters/(\d+)/delete"', page).group(1))
    other = browser_as("zhuguan2").post(f"/worklist/filters/{filter_id}/delete", follow_redirects=True)
    assert other.status_code == 200
    assert list(saved_tabs(text(client.get("/worklist")))) == ["今日逾期"]
    deleted = client.post(f"/worklist/filters/{filter_id}/delete", follow_redirects=True)
    assert "筛选已删除" in text(deleted) and saved_tabs(text(deleted)) == {}
