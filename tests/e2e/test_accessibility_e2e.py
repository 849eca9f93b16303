"""Accessibility of the main pages (issue 14 item 10): axe-core finds no critical or serious violation on the
login, worklist (mine and claimable), task forms (a refund approval, also with its errors, the contract quote's
tiers table, the PM qualification checkbox group), the start list and the refund start form, an instance page
(diagram, comments, attachments, what it waits for), the instance list, an error page, the audit search, an
audit timeline and a definition's page — in Chinese and in English — and none of them scrolls
sideways at 375 px.

axe-core's script comes from the PyPI package ``axe-playwright-python`` (the ``test`` extra), else from
``.ci/node_modules/axe-core`` (npm); without either the test is skipped and says so.
"""
from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import pytest

from e2e_support import log_in

expect = pytest.importorskip("playwright.sync_api").expect
ROOT = Path(__file__).resolve().parents[2]
PHONE = 375
SEVERE = ("critical", "serious")
# the outermost elements reaching past the phone's edge (what to fix when a page scrolls sideways)
WIDEST = """() => {
  const scrolls = e => { for (let a = e.parentElement; a; a = a.parentElement) {
    if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(a).overflowX)) return true; } return false; };
  const past = e => e.getBoundingClientRect().right > innerWidth + 1;
  return [...document.querySelectorAll('body *')]
    .filter(e => past(e) && e.parentElement && !past(e.parentElement) && !scrolls(e)).slice(0, 5)
    .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
              + (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/ +/).join('.') : '')
              + ' "' + e.textContent.trim().slice(0, 30) + '" ' + Math.round(e.getBoundingClientRect().right) + ' px');
}"""
REFUND = {"buyer": "tb_小林", "amount": "129.00", "shipping_fee": "10.00", "free_shipping": False,
          "goods_received": True, "quality_issue": False, "days_since_signed": 2, "reason": "颜色与图片不符"}
NOT_RECEIVED = {"goods_received": False, "days_since_signed": 0, "reason": "一直没有收到货"}
CONTRACT = {"inquiry_no": "XJ-2026-001", "purchaser": "华联采购", "supplier": "新星服饰",
            "goods": [{"sku": "T-100", "qty": 500}, {"sku": "T-200", "qty": 120}], "notes": "请报阶梯价，含电子样本"}
MERCHANT = {"merchant": "M-1", "company": "美的电器有限公司", "brand": "美的", "category": "家电", "contact": "陈经理",
            "phone": "13800000000", "licence_refs": "营业执照 91440000XXXX"}
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")


def axe_script() -> str:
    spec = importlib.util.find_spec("axe_playwright_python")
    candidates = [Path(spec.origin).parent / "axe.min.js"] if spec and spec.origin else []
    candidates.append(ROOT / ".ci" / "node_modules" / "axe-core" / "axe.min.js")
    for path in candidates:
        if path.exists():
            return path.read_text(encoding="utf-8")
    pytest.skip("axe-core not found: pip install axe-playwright-python (the test extra) "
                "or npm install axe-core in .ci")


def severe_violations(page, script: str) -> list[str]:
    if page.evaluate("typeof window.axe") == "undefined":
        page.evaluate(script)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(str(n["target"]) for n in v["nodes"][:5])
            for v in result["violations"] if v["impact"] in SEVERE]


class Checker:
    """Runs axe on a page at 1400 px and at 375 px, where it also measures its width; collects every finding."""

    def __init__(self, script: str, lang: str):
        self.script, self.lang, self.findings = script, lang, []

    def check(self, page, where: str) -> None:
        page.wait_for_load_state()
        assert page.evaluate("document.documentElement.lang").startswith(self.lang), where
        for line in severe_violations(page, self.script):
            self.findings.append(f"[{self.lang}] {where}: {line}")
        size = page.viewport_size
        page.set_viewport_size({"width": PHONE, "height": 800})
        for line in severe_violations(page, self.script):
            self.findings.append(f"[{self.lang}] {where} at {PHONE} px: {line}")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE:
            self.findings.append(f"[{self.lang}] {where}: {width} px wide at {PHONE} px: "
                                 + ", ".join(page.evaluate(WIDEST)))
        page.set_viewport_size(size)


def signed_in(new_page, name: str, lang: str):
    return log_in(new_page(), name, lang=lang)


def refund_waiting_for_the_parcel(scenario) -> int:
    """A refund with a comment and a photo, waiting for the returned parcel (message) or its timer."""
    iid = scenario.start("refund", {**REFUND, "order_no": "TB-20261102-0087"}, as_role="aftersales_cs")["id"]
    scenario.complete(iid, "Task_aftersales_offer_exchange", {"exchange_instead": False})
    task = scenario.task(iid, "Task_supervisor_approve_return")["id"]
    headers = scenario.headers("supervisor")
    said = scenario.client.post(f"/api/v1/tasks/{task}/comments", json={"text": "颜色确有差异，同意退货"},
                                headers=headers)
    assert said.status_code == 201, said.get_json()
    sent = scenario.client.post(f"/api/v1/tasks/{task}/attachments", headers=headers,
                                data={"file": (io.BytesIO(PNG), "退货照片.png")}, content_type="multipart/form-data")
    assert sent.status_code == 201, sent.get_json()
    scenario.complete(iid, "Task_supervisor_approve_return", {"approved": True, "approval_comment": "同意"})
    scenario.complete(iid, "Task_aftersales_send_return_address", {})
    return iid


def sample_work(scenario) -> dict:
    """Tasks for each page: two refund approvals (one claimed by the supervisor), a quote, a PM assignment."""
    for role in ("aftersales_cs", "supervisor", "supplier", "sp_dispatch", "auditor", "pm"):
        scenario.user(role)
    waiting = refund_waiting_for_the_parcel(scenario)
    approvals = [scenario.start("refund", {**REFUND, **NOT_RECEIVED, "order_no": f"TB-20261102-01{n}"},
                                as_role="aftersales_cs")["id"] for n in range(2)]
    approval = scenario.task(approvals[0], "Task_supervisor_approve_refund_only")["id"]
    claimed = scenario.client.post(f"/api/v1/tasks/{approval}/claim", headers=scenario.headers("supervisor"))
    assert claimed.status_code == 200, claimed.get_json()
    contract = scenario.start("contract_negotiation", CONTRACT, as_role="purchaser")["id"]
    merchant = scenario.start("pm_onboarding", MERCHANT, as_role="sp_dispatch")["id"]
    return {"waiting": waiting, "approval": approval,
            "quote": scenario.task(contract, "Task_supplier_quote")["id"],
            "assign": scenario.task(merchant, "Task_sp_assign_pm")["id"]}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_main_pages_have_no_serious_accessibility_violation_and_fit_a_phone(scenario, new_page, lang):
    checker = Checker(axe_script(), lang)
    work = sample_work(scenario)

    page = new_page()
    page.goto(f"/lang/{lang}?next=/login")
    checker.check(page, "login")

    boss = signed_in(new_page, "supervisor_user", lang)
    boss.goto("/worklist")
    expect(boss.locator("#task-list tbody tr")).to_have_count(1)
    checker.check(boss, "worklist (mine, claimable preview)")
    boss.goto("/worklist?tab=claimable")
    expect(boss.locator("#task-list tbody tr")).to_have_count(1)
    checker.check(boss, "worklist (claimable)")
    boss.goto(f"/tasks/{work['approval']}")
    expect(boss.locator("#complete")).to_be_visible()
    checker.check(boss, "refund approval task form")
    boss.click("#complete")  # the decision is required: errors next to the fields
    expect(boss.locator(".field.has-error").first).to_be_visible()
    checker.check(boss, "refund approval task form with errors")
    boss.goto(f"/instances/{work['waiting']}")
    expect(boss.locator(".diagram svg")).to_be_visible()
    expect(boss.locator("#comments")).to_contain_text("同意退货")
    expect(boss.locator("#attachments")).to_contain_text("退货照片.png")
    expect(boss.locator("body")).to_contain_text("return_parcel_received")
    checker.check(boss, "instance page (waiting, comments, attachments)")
    boss.goto("/instances")
    checker.check(boss, "instance list")
    boss.goto("/nowhere")
    checker.check(boss, "error page (404)")

    supplier = signed_in(new_page, "supplier_user", lang)
    supplier.goto(f"/tasks/{work['quote']}")
    if supplier.locator("#claim").count():
        supplier.click("#claim")
    expect(supplier.locator("[data-rows=quote_tiers]")).to_be_visible()
    supplier.locator("[data-rows=quote_tiers] [data-add-row]").click()
    checker.check(supplier, "contract quote task (tiers table)")

    dispatch = signed_in(new_page, "sp_dispatch_user", lang)
    dispatch.goto(f"/tasks/{work['assign']}")
    if dispatch.locator("#claim").count():
        dispatch.click("#claim")
    expect(dispatch.locator("[data-field=qualifications_checked] input[type=checkbox]")).to_have_count(6)
    checker.check(dispatch, "PM assignment task (checkbox group)")

    clerk = signed_in(new_page, "aftersales_cs_user", lang)
    clerk.goto("/start")
    checker.check(clerk, "processes to start")
    clerk.goto("/start/refund")
    expect(clerk.locator("input[name=order_no]")).to_be_visible()
    checker.check(clerk, "refund start form")

    auditor = signed_in(new_page, "auditor_user", lang)
    auditor.goto("/audit/")
    checker.check(auditor, "audit search")
    auditor.goto(f"/audit/instances/{work['waiting']}")
    expect(auditor.locator(".timeline li").first).to_be_visible()
    checker.check(auditor, "audit timeline")

    admin = signed_in(new_page, "admin_user", lang)  # made by the scenario's task look-ups
    admin.goto("/admin/definitions/refund")
    checker.check(admin, "a definition (its elements table)")

    assert not checker.findings, "\n".join(checker.findings)


def test_keyboard_focus_is_always_visible(scenario, new_page):
    """Tabbing through the worklist and a task form, every focused element draws an outline (WCAG 2.4.7)."""
    work = sample_work(scenario)
    boss = signed_in(new_page, "supervisor_user", "zh")
    unseen = []
    for url in ("/worklist", f"/tasks/{work['approval']}"):
        boss.goto(url)
        for _ in range(25):
            boss.keyboard.press("Tab")
            focused = boss.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e);
                return [e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' "' + (e.textContent || '').trim().slice(0, 20) + '"',
                        !e.matches(':focus')  /* a part of a native control (a date picker's button) has it */
                        || s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 || s.boxShadow !== 'none']; }""")
            if not focused[1]:
                unseen.append(f"{url}: {focused[0]}")
    assert not unseen, "focus not visible on: " + "; ".join(unseen)
