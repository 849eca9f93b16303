"""A refund walked from start to end by its roles in the browser, with a form error on the way."""
from __future__ import annotations

import re

import pytest

expect = pytest.importorskip("playwright.sync_api").expect


def fill_start_form(page, **values):
    for name, value in values.items():
        if value in ("true", "false"):
            page.check(f"input[name={name}][value={value}]")
        elif page.locator(f"textarea[name={name}]").count():
            page.fill(f"textarea[name={name}]", value)
        else:
            page.fill(f"input[name={name}]", value)


def test_refund_walked_by_its_roles(deploy, make_user, sign_in, shots):
    deploy()
    make_user("xiaoli", "aftersales_cs")
    make_user("laozhang", "supervisor")
    make_user("caiwu", "finance")

    # after-sales starts a refund (refund only: the goods never arrived)
    cs = sign_in("xiaoli")
    expect(cs.locator("h1")).to_have_text("工作台")
    cs.click("text=发起流程")
    cs.click("a[data-process=refund]")
    expect(cs.locator("h1")).to_contain_text("退款申请")
    fill_start_form(cs, order_no="E2E-1001", buyer="淘宝买家", amount="88.00", shipping_fee="8.00",
                    free_shipping="false", goods_received="false", quality_issue="false", days_since_signed="0",
                    reason="一直没有收到货")
    cs.click("#start")
    expect(cs.locator(".flash-success")).to_contain_text("E2E-1001")
    instance_url = cs.url
    assert re.search(r"/instances/\d+$", instance_url)
    expect(cs.locator(".diagram svg .el.active")).to_have_count(1)
    expect(cs.locator(".diagram svg .el.completed").first).to_be_visible()

    # the supervisor claims the approval from the list and approves it on the task page
    boss = sign_in("laozhang")
    boss.click("#tab-claimable")
    row = boss.locator("tr", has_text="E2E-1001")
    expect(row).to_contain_text("主管审核仅退款申请")
    row.locator("button", has_text="认领").click()
    expect(boss.locator(".flash-success")).to_contain_text("认领")  # the claimed task opens
    expect(boss.locator(".assignee")).to_have_text("laozhang")
    expect(boss.locator(".field.readonly", has_text="订单号")).to_contain_text("E2E-1001")
    # first forgets the decision: the error stands next to it, the comment typed is kept
    boss.fill("textarea[name=approval_comment]", "同意退款")
    boss.click("#complete")
    expect(boss.locator("[data-field=approved] .error")).to_have_text(re.compile("必填"))
    expect(boss.locator("textarea[name=approval_comment]")).to_have_value("同意退款")
    expect(boss.locator("#form-errors")).to_be_visible()
    boss.check("input[name=approved][value=true]")
    boss.click("#complete")
    expect(boss.locator(".flash-success")).to_contain_text("已完成")
    assert boss.url.endswith("/worklist")

    # finance pays
    finance = sign_in("caiwu")
    finance.click("#tab-claimable")
    finance.locator("tr", has_text="E2E-1001").locator("a.task-link").click()
    finance.click("#claim")
    expect(finance.locator(".assignee")).to_have_text("caiwu")
    finance.fill("input[name=refund_slip_no]", "SLIP-7")
    finance.fill("input[name=payment_ref]", "ALIPAY-E2E-1")
    finance.click("#complete")
    expect(finance.locator(".flash-success")).to_contain_text("财务退款")

    # after-sales sees the finished refund with its whole path on the diagram
    cs.goto(instance_url)
    expect(cs.locator("h1 .badge")).to_have_text("已完成")
    expect(cs.locator(".diagram svg .el.active")).to_have_count(0)
    expect(cs.locator(".diagram svg [data-element-id=End_refunded]")).to_have_class(re.compile("completed"))
    expect(cs.locator(".timeline li[data-event-type=task_completed]")).to_have_count(2)
    expect(cs.locator(".key-data").first).to_contain_text("ALIPAY-E2E-1")  # the labelled data (others folded)

    # English is one click away, on every page
    cs.click("#lang-en")
    expect(cs.locator("h1 .badge")).to_have_text("completed")
    cs.screenshot(path=str(shots / "instance-detail-en.png"))
