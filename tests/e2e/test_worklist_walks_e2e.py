"""Browser walks of issue 14 item 11, as the department's staff use the pages (Chromium): the PM qualification form
ticked by its Chinese labels and shown back by them, the contract quote with added price tiers shown as a labelled
table, a double submit refused in Chinese with the input kept, a search by order number and by amount (worklist
and instance list), and the landing page of a supervisor with claimable work on a 375 px phone.
Data the walk is not about is set up through the REST API (tests/scenario.py)."""
from __future__ import annotations

import re

import pytest

from e2e_support import log_in

expect = pytest.importorskip("playwright.sync_api").expect
PHONE = 375
REFUND = {"buyer": "tb_小林", "amount": "129.00", "shipping_fee": "10.00", "free_shipping": False,
          "goods_received": False, "quality_issue": False, "days_since_signed": 0, "reason": "一直没有收到货"}
MERCHANT = {"merchant": "M-2026", "company": "美的电器有限公司", "brand": "美的", "category": "家电",
            "contact": "陈经理", "phone": "13800000000", "licence_refs": "营业执照 91440000XXXX"}
CONTRACT = {"inquiry_no": "XJ-2026-017", "purchaser": "华联采购", "supplier": "新星服饰",
            "goods": [{"sku": "T-100", "qty": 500}], "notes": "请报阶梯价"}
QUALIFICATIONS = ["对运营平台后台管理非常熟悉", "对产品品牌运营非常熟悉", "对类目中的品牌非常熟悉",
                  "拥有数据分析能力，对品牌发展有较好的把控力", "拥有较好的上传下达沟通能力", "对问题的汇总呈报能力"]


def signed_in(new_page, name: str, width: int = 1400):
    page = new_page(width, 900)
    page.on("dialog", lambda dialog: dialog.accept())  # 'are you sure?' answered OK, as a person would
    return log_in(page, name)


def open_from_worklist(page, tab: str, key: str, task_name: str):
    """Find the task in a worklist tab by its business key and open it; claim it there when it is claimable."""
    page.goto(f"/worklist?tab={tab}")
    row = page.locator("#task-list tbody tr", has_text=key).filter(has_text=task_name)
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(1 if tab == "mine" else 2)).to_have_text(key)  # the business key column
    row.locator("a.task-link").click()
    if page.locator("#claim").count():
        page.click("#claim")
        expect(page.locator(".flash-success")).to_contain_text("认领")
    return page


def search_by_data(page, field_label: str, condition: str, value: str) -> None:
    """The variable filter: field and condition picked as listed (label and name), a value typed, 筛选."""
    box = page.locator("details.variable-filter")
    if box.get_attribute("open") is None:
        box.locator("summary").click()
    page.select_option("select[name=var_name]", label=field_label)
    page.select_option("select[name=var_op]", label=condition)
    page.fill("input[name=var_value]", value)
    page.get_by_role("button", name="筛选", exact=True).click()
    page.wait_for_load_state()


def test_the_pm_qualifications_are_ticked_by_their_labels_and_shown_back_by_them(scenario, new_page):
    scenario.user("sp_dispatch", name="fenpei")
    scenario.user("pm", name="pm_li", categories="家电")
    instance_id = scenario.start("pm_onboarding", MERCHANT, as_role="fenpei")["id"]

    dispatch = open_from_worklist(signed_in(new_page, "fenpei"), "claimable", "M-2026", "分配PM")
    group = dispatch.locator("[data-field=qualifications_checked]")
    expect(group).to_contain_text("已核对的上岗资格")
    expect(group.locator("input[type=checkbox]")).to_have_count(6)
    expect(group.locator("label")).to_contain_text(QUALIFICATIONS)
    expect(group).not_to_contain_text("platform_backend")  # codes stay behind the labels
    for box in group.locator("input[type=checkbox]").all():
        box.uncheck()
    for label in QUALIFICATIONS:  # ticked one by one, by what the staff read
        dispatch.get_by_label(label, exact=True).check()
    dispatch.fill("input[name=pm]", "pm_li")
    dispatch.click("#complete")
    expect(dispatch.locator(".flash-success")).to_contain_text("已完成")

    assigned = scenario.client.get(f"/api/v1/instances/{instance_id}", headers=scenario.headers("fenpei")).get_json()
    assert assigned["data"]["qualifications_checked"] == ["platform_backend", "brand_operations", "category_brands",
                                                          "data_analysis", "communication", "issue_reporting"]
    dispatch.goto(f"/instances/{instance_id}")
    shown = dispatch.locator(".key-data").first.locator("div", has_text="已核对的上岗资格")
    for label in QUALIFICATIONS:
        expect(shown).to_contain_text(label)
    expect(dispatch.locator("main")).not_to_contain_text("brand_operations")


def test_the_quote_gets_added_tiers_shown_as_a_table_with_labels(scenario, new_page):
    scenario.user("purchaser", name="caigou")
    scenario.user("supplier", name="gongying")
    instance_id = scenario.start("contract_negotiation", CONTRACT, as_role="caigou")["id"]

    supplier = open_from_worklist(signed_in(new_page, "gongying"), "claimable", "XJ-2026-017", "报价")
    tiers = supplier.locator("[data-rows=quote_tiers]")
    before = tiers.locator("tbody tr").count()
    tiers.locator("[data-add-row]").click()
    tiers.locator("[data-add-row]").click()
    expect(tiers.locator("tbody tr")).to_have_count(before + 2)
    prices = [("100", "12.50"), ("300", "11.80"), ("500", "10.00"), ("800", "9.60")][:before + 2]
    for n, (qty, price) in enumerate(prices, start=1):
        supplier.get_by_role("spinbutton", name=f"起订数量 {n}").fill(qty)
        supplier.get_by_role("spinbutton", name=f"单价 {n}").fill(price)
    supplier.click("#complete")
    expect(supplier.locator(".flash-success")).to_contain_text("报价")

    # the purchaser reviews the quote: the tiers are a table with the form's column labels
    purchaser = open_from_worklist(signed_in(new_page, "caigou"), "claimable", "XJ-2026-017", "审核报价")
    table = purchaser.locator("[data-field=quote_tiers] table")
    expect(table.locator("th", has_text="起订数量")).to_have_count(1)
    expect(table.locator("th", has_text="单价")).to_have_count(1)
    expect(table.locator("tbody tr")).to_have_count(len(prices))
    for qty, price in prices:
        expect(table.locator("tbody tr", has_text=qty)).to_contain_text(price)
    expect(purchaser.locator("[data-field=quote_tiers]")).not_to_contain_text("min_qty")
    purchaser.goto(f"/instances/{instance_id}")
    data = purchaser.locator(".key-data").first
    expect(data.locator("th", has_text="起订数量")).to_have_count(1)
    expect(data).not_to_contain_text("unit_price")
    expect(data).not_to_contain_text("[{")


def test_a_double_submit_is_refused_in_chinese_and_keeps_what_was_typed(scenario, new_page):
    scenario.user("aftersales_cs", name="kefu")
    scenario.user("supervisor", name="zhuguan")
    scenario.user("supervisor", name="zhuguan2")
    scenario.start("refund", {**REFUND, "order_no": "DUP-0001"}, as_role="kefu")
    scenario.start("refund", {**REFUND, "order_no": "DUP-0002"}, as_role="kefu")

    # one supervisor, two browsers (desk and phone): both show the claimed approval
    desk = open_from_worklist(signed_in(new_page, "zhuguan"), "claimable", "DUP-0001", "主管审核")
    phone = signed_in(new_page, "zhuguan", PHONE)
    phone.goto(desk.url)
    expect(phone.locator("#complete")).to_be_visible()
    desk.check("input[name=approved][value=true]")
    desk.click("#complete")
    expect(desk.locator(".flash-success")).to_contain_text("已完成")
    phone.check("input[name=approved][value=false]")
    phone.fill("textarea[name=approval_comment]", "金额与订单不符，请核实后重新提交")
    phone.click("#complete")
    refusal = phone.locator("#form-errors")
    expect(refusal).to_contain_text("任务未能完成")
    expect(refusal).to_contain_text("您填写的内容保留在下方")
    assert not re.search(r"[A-Za-z]{4,}", refusal.inner_text()), refusal.inner_text()  # no English in it
    # the task is done, so what this browser typed stays on the page read-only (to copy), not lost
    expect(phone.locator(".notice", has_text="此任务已完成")).to_be_visible()
    expect(phone.locator(".field.readonly", has_text="审批意见")).to_contain_text("金额与订单不符，请核实后重新提交")
    expect(phone.locator(".field.readonly", has_text="主管是否同意").locator(".value")).to_have_text("否")

    # two supervisors: one fills in the claimable approval while the other claims it from the list
    second = signed_in(new_page, "zhuguan2")
    second.goto("/worklist?tab=claimable")
    second.locator("#task-list tbody tr", has_text="DUP-0002").locator("a.task-link").click()
    second.check("input[name=approved][value=true]")
    second.fill("textarea[name=approval_comment]", "已核实，同意退款")
    first = signed_in(new_page, "zhuguan")
    first.goto("/worklist?tab=claimable")
    first.locator("#task-list tbody tr", has_text="DUP-0002").locator("button", has_text="认领").click()
    expect(first.locator(".assignee")).to_have_text("zhuguan")
    second.click("#complete")
    refusal = second.locator("#form-errors")
    expect(refusal).to_contain_text("任务未能完成")
    expect(refusal).to_contain_text("zhuguan")
    assert not re.search(r"[A-Za-z]{4,}", refusal.inner_text().replace("zhuguan", "")), refusal.inner_text()
    expect(second.locator(".field.readonly", has_text="审批意见")).to_contain_text("已核实，同意退款")
    expect(second.locator(".field.readonly", has_text="主管是否同意").locator(".value")).to_have_text("是")


def test_work_is_found_by_order_number_and_by_amount(scenario, new_page):
    scenario.user("aftersales_cs", name="kefu")
    scenario.user("supervisor", name="zhuguan")
    for order_no, amount in (("TB-20261206-0101", "59.90"), ("TB-20261206-0102", "129.00"),
                             ("TB-20261206-0103", "349.00")):
        scenario.start("refund", {**REFUND, "order_no": order_no, "amount": amount}, as_role="kefu")

    boss = signed_in(new_page, "zhuguan")
    boss.goto("/worklist?tab=claimable")
    expect(boss.locator("#task-list tbody tr")).to_have_count(3)
    search_by_data(boss, "订单号 (order_no)", "等于", "TB-20261206-0102")
    expect(boss.locator("#task-list tbody tr")).to_have_count(1)
    expect(boss.locator("#task-list tbody tr")).to_contain_text("TB-20261206-0102")
    expect(boss.locator("input[type=text][name=variables]")).to_have_value("order_no_eq_TB-20261206-0102")
    boss.goto("/worklist?tab=claimable")
    search_by_data(boss, "实付金额 (amount)", "大于", "100")
    rows = boss.locator("#task-list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="TB-20261206-0101")).to_have_count(0)

    boss.goto("/instances")
    expect(boss.locator("table.list tbody tr")).to_have_count(3)
    search_by_data(boss, "订单号 (order_no)", "等于", "TB-20261206-0103")
    expect(boss.locator("table.list tbody tr")).to_have_count(1)
    expect(boss.locator("table.list tbody tr")).to_contain_text("TB-20261206-0103")
    boss.goto("/instances")
    search_by_data(boss, "实付金额 (amount)", "小于", "100")
    expect(boss.locator("table.list tbody tr")).to_have_count(1)
    expect(boss.locator("table.list tbody tr")).to_contain_text("TB-20261206-0101")
    boss.fill("input[type=text][name=variables]", "amount_gt_100,")  # a stray comma: said in Chinese, the input kept
    boss.get_by_role("button", name="筛选", exact=True).click()
    expect(boss.locator("#filter-error")).to_contain_text("变量筛选的第 2 个条件为空；请删去多余的逗号。")
    expect(boss.locator("input[type=text][name=variables]")).to_have_value("amount_gt_100,")


def test_a_supervisor_lands_on_claimable_work_on_a_phone(scenario, new_page):
    scenario.user("aftersales_cs", name="kefu")
    scenario.user("supervisor", name="zhuguan")
    for n in (1, 2):
        scenario.start("refund", {**REFUND, "order_no": f"TB-20261206-02{n:02d}",
                                  "reason": "买家反映一直没有收到货，要求全额退款并补偿运费"}, as_role="kefu")

    boss = signed_in(new_page, "zhuguan", PHONE)
    expect(boss.locator("h1")).to_have_text("工作台")
    expect(boss.locator("#tab-mine .count")).to_have_text("0")
    expect(boss.locator("#tab-claimable .count")).to_have_text("2")
    expect(boss.locator("p.empty")).to_contain_text("您的角色有 2 个任务可认领")
    expect(boss.locator("#claimable-preview h2")).to_contain_text("可认领 (2)")
    width = boss.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE, f"the landing page is {width} px wide at {PHONE} px"
    cards = boss.locator("#claimable-list tbody tr")
    expect(cards).to_have_count(2)
    for card in cards.all():
        assert card.evaluate("tr => getComputedStyle(tr).display") == "block"  # a card, not a table row
        assert card.bounding_box()["width"] <= PHONE
    card = cards.filter(has_text="TB-20261206-0201")
    expect(card).to_contain_text("主管审核仅退款申请")
    card.locator("button", has_text="认领").click()
    expect(boss.locator(".assignee")).to_have_text("zhuguan")  # the claimed task opens
    boss.goto("/worklist")
    expect(boss.locator("#tab-mine .count")).to_have_text("1")
    expect(boss.locator("#task-list tbody tr")).to_contain_text("TB-20261206-0201")
    assert boss.evaluate("document.documentElement.scrollWidth") <= PHONE
