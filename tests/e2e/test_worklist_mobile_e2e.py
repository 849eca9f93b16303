"""The worklist and the pages around it on a 375 px phone (issue 14, item 10): no horizontal scrolling, the task
table becomes cards labelled by their column, and the landing page's claim opens the task."""
from __future__ import annotations

import pytest

from engine import runtime, users
from e2e_support import log_in
from web_support import START_DATA

expect = pytest.importorskip("playwright.sync_api").expect
PHONE = 375


def phone_sign_in(new_page, name: str):
    return log_in(new_page(PHONE, 800), name)


def assert_fits(page, where: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE, f"{where} is {width} px wide at {PHONE} px"


def test_worklist_task_start_and_instance_pages_fit_a_phone(app, deploy, make_user, new_page, shots):
    deploy()
    make_user("kefu", "aftersales_cs")
    make_user("zhuguan", "supervisor")
    make_user("zhuguan2", "supervisor")
    with app.extensions["liucheng_db"].session() as session:
        kefu = users.get_user(session, "kefu")
        for n in range(3):
            runtime.start_instance(session, "refund", {**START_DATA, "order_no": f"TB-20261102-{n:04d}",
                                                       "reason": "买家反映一直没有收到货，要求全额退款并补偿运费"}, kefu)

    boss = phone_sign_in(new_page, "zhuguan")
    boss.goto("/worklist")
    expect(boss.locator("#claimable-preview")).to_contain_text("可认领 (3)")
    assert_fits(boss, "the landing worklist")
    boss.screenshot(path=str(shots / "worklist-phone.png"), full_page=True)
    card = boss.locator("#claimable-list tbody tr").first
    assert boss.evaluate("getComputedStyle(document.querySelector('#claimable-list tbody tr')).display") == "block"
    assert card.bounding_box()["width"] <= PHONE
    label = boss.evaluate("getComputedStyle(document.querySelector('#claimable-list tbody td[data-label]'), "
                          "'::before').content")
    assert label.strip('"') == "选择"

    boss.goto("/worklist?tab=claimable")
    assert_fits(boss, "the claimable tab")
    row = boss.locator("#task-list tbody tr", has_text="TB-20261102-0001")
    row.locator("button", has_text="认领").click()
    expect(boss.locator(".flash-success")).to_contain_text("认领")
    expect(boss.locator(".assignee")).to_have_text("zhuguan")  # the claimed task opened
    assert_fits(boss, "the task page")
    boss.click("#reassign-box summary")
    boss.click("#delegate-box summary")
    expect(boss.locator("#delegate-user")).to_be_visible()
    assert_fits(boss, "the task page with its hand-over forms open")
    boss.screenshot(path=str(shots / "task-phone.png"), full_page=True)
    boss.select_option("#delegate-user", "zhuguan2")
    boss.click("#delegate")
    expect(boss.locator("#delegation")).to_contain_text("委托给 zhuguan2 处理中")

    boss.goto("/instances")
    expect(boss.locator("table.list tbody tr")).to_have_count(3)
    assert_fits(boss, "the instance list")
    boss.goto("/instances?var_name=order_no&var_op=eq&var_value=TB-20261102-0002")
    expect(boss.locator("table.list tbody tr")).to_have_count(1)
    expect(boss.locator("details.variable-filter")).to_have_attribute("open", "")
    assert_fits(boss, "the instance list searched by order number")

    clerk = phone_sign_in(new_page, "kefu")
    clerk.goto("/start/refund")
    expect(clerk.locator("input[name=order_no]")).to_be_visible()
    assert_fits(clerk, "the start page")
    clerk.goto("/worklist")
    assert_fits(clerk, "the clerk's worklist")


def test_bulk_claim_works_from_the_keyboard(app, deploy, make_user, new_page):
    deploy()
    make_user("kefu", "aftersales_cs")
    make_user("zhuguan", "supervisor")
    with app.extensions["liucheng_db"].session() as session:
        kefu = users.get_user(session, "kefu")
        for n in range(2):
            runtime.start_instance(session, "refund", {**START_DATA, "order_no": f"KB-{n}"}, kefu)
    boss = phone_sign_in(new_page, "zhuguan")
    boss.goto("/worklist?tab=claimable")
    for box in boss.locator("#task-list input[name=task_id]").all():
        box.focus()
        boss.keyboard.press("Space")
    boss.locator("#claim-selected").focus()
    boss.keyboard.press("Enter")
    expect(boss.locator(".flash-success")).to_contain_text("您已认领 2 个任务")
    expect(boss.locator("#task-list tbody tr")).to_have_count(2)
    assert_fits(boss, "my tasks")


def test_at_desk_width_the_worklist_stays_a_table(app, deploy, make_user, new_page):
    deploy()
    make_user("kefu", "aftersales_cs")
    make_user("zhuguan", "supervisor")
    with app.extensions["liucheng_db"].session() as session:
        runtime.start_instance(session, "refund", {**START_DATA, "order_no": "DESK-1"}, users.get_user(session, "kefu"))
    page = new_page(1400, 900)
    page.goto("/login")
    page.fill("#username", "zhuguan")
    page.fill("#password", "secret-zhuguan")
    page.click("#sign-in")
    page.goto("/worklist?tab=claimable")
    row = "#task-list tbody tr"
    assert page.evaluate(f"getComputedStyle(document.querySelector('{row}')).display") == "table-row"
    title = page.locator(f"{row} td.task-cell").bounding_box()
    header = page.locator("#task-list thead th").nth(1).bounding_box()
    assert abs(title["x"] - header["x"]) < 2 and title["width"] > 100  # the title under its header, on one line
