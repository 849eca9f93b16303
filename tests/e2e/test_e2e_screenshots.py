"""Screenshots of the main pages (README); each page is also checked to render its essentials.

Run with ``LIUCHENG_SCREENSHOTS=1`` to refresh ``docs/screenshots/*.png``.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from engine import runtime, users
from engine.models import HumanTask

expect = pytest.importorskip("playwright.sync_api").expect
BROKEN = Path(__file__).resolve().parents[1] / "data" / "broken.bpmn"
PEOPLE = {"kefu": ("aftersales_cs", "王小丽"), "zhuguan": ("supervisor", "张主管"), "caiwu": ("finance", "陈会计"),
          "shenji": ("auditor", "刘审计"), "guanli": ("admin", "系统管理员")}
BASE = {"buyer": "tb_小林", "amount": "129.00", "shipping_fee": "10.00", "free_shipping": False, "goods_received": True,
        "quality_issue": False, "days_since_signed": 2, "reason": "颜色与图片不符"}
NOT_RECEIVED = {"goods_received": False, "days_since_signed": 0, "reason": "一直没有收到货"}
# order no., start data changes, [(element, data)] completed by its role, claimed by the after-sales user?
REFUNDS = [
    ("TB-20261102-0087", {}, [], True),
    ("TB-20261102-0113", {"days_since_signed": 9, "amount": "59.90"}, [], True),
    ("TB-20261102-0140", {"quality_issue": True, "evidence": "IMG_2041.jpg", "amount": "349.00"}, [], True),
    ("TB-20261102-0152", {"buyer": "tb_阿杰"}, [], False),
    ("TB-20261102-0166", NOT_RECEIVED, [], False),
    ("TB-20261102-0175", {"buyer": "tb_小美", "amount": "199.00"},
     [("Task_aftersales_offer_exchange", {"real_reason": "尺码偏小", "exchange_instead": False})], False),
    ("TB-20261102-0188", {**NOT_RECEIVED, "amount": "88.00"},
     [("Task_supervisor_approve_refund_only", {"approved": True, "approval_comment": "同意，已核实物流"}),
      ("Task_finance_refund", {"payment_ref": "ALIPAY-20261102-01", "refund_slip_no": "TK-0188"})], False),
]


def sample_data(app, make_user) -> None:
    for name, (role, display) in PEOPLE.items():
        make_user(name, role)
    with app.extensions["liucheng_db"].session() as session:
        for name, (_role, display) in PEOPLE.items():
            users.get_user(session, name).display_name = display
        session.commit()
        people = {name: users.get_user(session, name) for name in PEOPLE}
        by_role = {role: people[name] for name, (role, _d) in PEOPLE.items()}
        for order_no, changes, steps, claim in REFUNDS:
            instance = runtime.start_instance(session, "refund", {**BASE, **changes, "order_no": order_no},
                                              people["kefu"])
            for element_id, data in steps:
                task = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                               HumanTask.element_id == element_id)).one()
                runtime.claim_task(session, task.id, by_role[task.role])
                runtime.complete_task(session, task.id, data, by_role[task.role])
            if claim:
                task = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                               HumanTask.status == "open")).one()
                runtime.claim_task(session, task.id, people["kefu"])


def test_screenshots_of_the_main_pages(app, deploy, make_user, sign_in, shots):
    deploy()
    sample_data(app, make_user)

    cs = sign_in("kefu")
    expect(cs.locator("#task-list tbody tr")).to_have_count(3)
    cs.screenshot(path=str(shots / "worklist.png"))

    cs.click("#tab-claimable")
    cs.locator("tr", has_text="TB-20261102-0152").locator("a.task-link").click()
    cs.click("#claim")
    cs.fill("textarea[name=exchange_note]", "建议换大一码，运费我司承担")
    cs.click("#complete")  # the required decision is empty: the error next to it, the note kept
    expect(cs.locator(".field.has-error")).to_have_count(1)
    expect(cs.locator("textarea[name=exchange_note]")).to_have_value("建议换大一码，运费我司承担")
    cs.screenshot(path=str(shots / "task-form.png"), full_page=True)

    supervisor = sign_in("zhuguan")
    supervisor.goto("/instances?q=0175")
    supervisor.locator("tr", has_text="TB-20261102-0175").locator("a").first.click()
    expect(supervisor.locator(".diagram svg .el.active")).to_have_count(1)
    expect(supervisor.locator(".diagram svg .el.completed").first).to_be_visible()
    supervisor.screenshot(path=str(shots / "instance-detail.png"), full_page=True)

    auditor = sign_in("shenji")
    auditor.goto("/audit/?q=0188")
    auditor.locator("tr", has_text="TB-20261102-0188").locator("a", has_text="#").first.click()
    expect(auditor.locator(".timeline li[data-event-type=task_completed]")).to_have_count(2)
    auditor.screenshot(path=str(shots / "audit-timeline.png"), full_page=True)

    admin = sign_in("guanli")
    admin.goto("/admin/definitions")
    admin.set_input_files("#files", str(BROKEN))
    admin.click("#deploy")
    expect(admin.locator("#problems")).to_be_visible()
    admin.screenshot(path=str(shots / "admin-definitions.png"), full_page=True)
