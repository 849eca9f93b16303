"""Forms in Chromium: a row added and removed in place (JavaScript), a checkbox group submitted by its labels,
the generic form of a task without a form; every input of a table has a name a screen reader reads."""
from __future__ import annotations

import pytest

from engine import runtime, users
from engine.models import Instance
from test_web_forms import BPMN, FORM
from web_support import open_task

expect = pytest.importorskip("playwright.sync_api").expect


def started(app, make_user) -> int:
    make_user("cangku", "warehouse")
    with app.extensions["liucheng_db"].session() as session:
        runtime.deploy_definitions(session, {"web_helps.bpmn": BPMN.encode()}, {"web_helps": FORM})
        return runtime.start_instance(session, "web_helps", {}, users.get_user(session, "cangku")).id


def data_of(app, instance_id: int) -> dict:
    with app.extensions["liucheng_db"].session() as session:
        return session.get(Instance, instance_id).data


def test_rows_are_added_in_place_and_checkboxes_submit_codes(app, make_user, sign_in):
    instance = started(app, make_user)
    task = open_task(app, instance).id
    page = sign_in("cangku")
    page.goto(f"/tasks/{task}")
    page.get_by_label("平台后台").check()
    page.get_by_label("直播").check()
    page.get_by_label("线上").check()
    page.fill("input[name=phone]", "13800138000")
    tiers = page.locator("[data-rows=tiers]")
    expect(tiers.locator("tbody tr")).to_have_count(2)
    url = page.url
    tiers.locator("[data-add-row]").click()  # in place: no request, the page stays
    expect(tiers.locator("tbody tr")).to_have_count(3)
    assert page.url == url
    expect(tiers.locator("[data-add-row]")).to_be_disabled()  # max_items 3
    expect(page.get_by_role("spinbutton", name="数量 3")).to_be_focused()  # labelled by column and row
    page.get_by_role("spinbutton", name="数量 3").fill("300")
    page.get_by_role("spinbutton", name="单价 3").fill("8")
    page.get_by_role("spinbutton", name="数量 1").fill("100")
    page.get_by_role("spinbutton", name="单价 1").fill("9.5")
    page.get_by_role("button", name="删除行 2").click()
    expect(tiers.locator("tbody tr")).to_have_count(2)
    expect(tiers.locator("tbody th.row-no")).to_have_text(["1", "2"])
    page.click("#complete")
    expect(page.locator(".flash-success")).to_contain_text("填写资质")
    data = data_of(app, instance)
    assert data["skills"] == ["platform_backend", "live_streaming"] and data["channel"] == "online"
    assert data["tiers"] == [{"qty": 100, "price": 9.5}, {"qty": 300, "price": 8}]


def test_an_error_keeps_rows_added_in_place(app, make_user, sign_in):
    instance = started(app, make_user)
    page = sign_in("cangku")
    page.goto(f"/tasks/{open_task(app, instance).id}")
    tiers = page.locator("[data-rows=tiers]")
    tiers.locator("[data-add-row]").click()
    page.get_by_role("spinbutton", name="数量 3").fill("5")
    page.click("#complete")  # skills is required, unit price of the row is missing
    expect(page.locator("[data-field=skills] .error")).to_contain_text("必填")
    expect(tiers.locator("tbody tr")).to_have_count(1)  # blank rows dropped, the typed one kept
    expect(page.get_by_role("spinbutton", name="数量 1")).to_have_value("5")
    expect(page.locator("#err-tiers-0-price")).to_contain_text("必填")


def test_the_generic_form_in_the_browser(app, make_user, sign_in):
    instance = started(app, make_user)
    page = sign_in("cangku")
    page.goto(f"/tasks/{open_task(app, instance).id}")
    page.get_by_label("平台后台").check()
    page.get_by_role("spinbutton", name="数量 1").fill("1")
    page.get_by_role("spinbutton", name="单价 1").fill("1")
    page.click("#complete")
    page.goto(f"/tasks/{open_task(app, instance).id}")
    expect(page.locator("text=此步骤没有表单")).to_be_visible()
    variables = page.locator("[data-rows=var]")
    page.get_by_role("textbox", name="变量名 1").fill("qty")
    page.get_by_role("combobox", name="类型 1").select_option("number")
    page.get_by_role("textbox", name="值 1").fill("3")
    variables.locator("[data-add-row]").click()
    page.get_by_role("textbox", name="变量名 2").fill("ok")
    page.get_by_role("combobox", name="类型 2").select_option("bool")
    page.get_by_role("textbox", name="值 2").fill("是")
    page.click("#complete")
    expect(page.locator(".flash-success")).to_contain_text("自由完成")
    data = data_of(app, instance)
    assert data["qty"] == 3 and data["ok"] is True
