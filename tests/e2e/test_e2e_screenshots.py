"""Screenshots of the main pages (README); each page is also checked to render its essentials: the worklist with
its tabs, a saved filter and priorities, a task with comments, a photo and its hand-over actions, an instance
waiting for the returned parcel (what it waits for, the diagram from the history), the audit timeline grouped by
task, the worklist at 375 px.

Run with ``LIUCHENG_SCREENSHOTS=1`` to refresh ``docs/screenshots/*.png``.
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import runtime, saved_filters, users
from engine.models import HumanTask, Instance
from engine.runtime import collaboration

expect = pytest.importorskip("playwright.sync_api").expect
BROKEN = Path(__file__).resolve().parents[1] / "data" / "broken.bpmn"
PEOPLE = {"kefu": ("aftersales_cs", "王小丽"), "zhuguan": ("supervisor", "张主管"), "caiwu": ("finance", "陈会计"),
          "shenji": ("auditor", "刘审计"), "guanli": ("admin", "系统管理员"), "fuzhuguan": ("supervisor", "李副主管")}
BASE = {"buyer": "tb_小林", "amount": "129.00", "shipping_fee": "10.00", "free_shipping": False, "goods_received": True,
        "quality_issue": False, "days_since_signed": 2, "reason": "颜色与图片不符"}
NOT_RECEIVED = {"goods_received": False, "days_since_signed": 0, "reason": "一直没有收到货"}
# order no., start data changes, [(element, data)] completed by its role, claimed by the after-sales user?
REFUNDS = [
    ("TB-20261102-0087", {}, [], True),
    ("TB-20261102-0113", {"days_since_signed": 9, "amount": "59.90"}, [], True),
    ("TB-20261102-0140", {"quality_issue": True, "amount": "349.00"}, [], True),  # evidence: a photo, below
    ("TB-20261102-0152", {"buyer": "tb_阿杰"}, [], False),
    ("TB-20261102-0166", NOT_RECEIVED, [], False),
    ("TB-20261102-0175", {"buyer": "tb_小美", "amount": "199.00"},
     [("Task_aftersales_offer_exchange", {"real_reason": "尺码偏小", "exchange_instead": False})], False),
    ("TB-20261102-0188", {**NOT_RECEIVED, "amount": "88.00"},
     [("Task_supervisor_approve_refund_only", {"approved": True, "approval_comment": "同意，已核实物流"}),
      ("Task_finance_refund", {"payment_ref": "ALIPAY-20261102-01", "refund_slip_no": "TK-0188"})], False),
    ("TB-20261102-0196", {"buyer": "tb_大熊", "amount": "259.00"},  # waits for the returned parcel
     [("Task_aftersales_offer_exchange", {"real_reason": "不喜欢颜色", "exchange_instead": False}),
      ("Task_supervisor_approve_return", {"approved": True, "approval_comment": "同意退货"}),
      ("Task_aftersales_send_return_address", {})], False),
]


def photo(width: int = 160, height: int = 120) -> bytes:
    """A small PNG (a warm gradient), standing in for the buyer's photo."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"".join(bytes((230, 120 + x // 2, 60 + y)) for x in range(width))
                    for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9))
            + chunk(b"IEND", b""))


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
            if changes.get("quality_issue"):
                staged = collaboration.stage_for_start(session, [("破损照片.png", photo())], people["kefu"])
                changes = {**changes, "evidence": [{"attachment_id": a.id} for a in staged]}
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
        collaborate(session, people)


def collaborate(session, people: dict) -> None:
    """Priorities, a follow-up date and a saved filter for the worklist; a claimed approval with comments,
    a photo and hand-over actions for the task page."""
    tasks = {key: task for task, key in session.execute(
        select(HumanTask, Instance.business_key).join(Instance, Instance.id == HumanTask.instance_id)
        .where(HumanTask.status.in_(("open", "claimed")))).all()}
    runtime.prioritize_task(session, tasks["TB-20261102-0140"].id, people["kefu"], priority="90")
    runtime.prioritize_task(session, tasks["TB-20261102-0113"].id, people["kefu"], priority="30",
                            follow_up="2026-12-08")
    saved_filters.create_filter(session, people["kefu"], "质量问题高优先",
                                {"tab": "mine", "process_id": "refund", "min_priority": 60, "sort": "-priority"})
    approval = tasks["TB-20261102-0166"].id
    runtime.claim_task(session, approval, people["zhuguan"])
    collaboration.comment_on_task(session, approval, "买家说快递显示已签收但本人没收到，已让其提供物流截图。",
                                  people["kefu"])
    collaboration.attach_to_task(session, approval, [("物流截图.png", photo())], people["kefu"])
    collaboration.comment_on_task(session, approval, "已看截图，等快递公司回复后再审。", people["zhuguan"])
    waiting = session.scalars(select(Instance.id).where(Instance.business_key == "TB-20261102-0196")).one()
    collaboration.comment_on_instance(session, waiting, "买家已寄回，单号 SF1234567890，等待仓库签收。", people["kefu"])


def shot(page, path: Path, until: str) -> None:
    """A screenshot of the page from its top to the end of ``until`` (the README's pictures stay readable)."""
    box = page.locator(until).bounding_box()
    bottom = box["y"] + box["height"] + page.evaluate("window.scrollY") + 16
    page.screenshot(path=str(path), full_page=True, clip={"x": 0, "y": 0, "width": page.viewport_size["width"],
                                                           "height": bottom})


def test_screenshots_of_the_main_pages(app, deploy, make_user, sign_in, new_page, shots):
    deploy()
    sample_data(app, make_user)

    cs = sign_in("kefu")
    expect(cs.locator("#task-list tbody tr")).to_have_count(3)
    expect(cs.locator("a.saved-filter")).to_have_text("★ 质量问题高优先")
    expect(cs.locator("#task-list tbody tr", has_text="TB-20261102-0140")).to_contain_text("90")
    cs.screenshot(path=str(shots / "worklist.png"))
    cs.click("a.saved-filter")
    expect(cs.locator("#task-list tbody tr")).to_have_count(1)

    cs.goto("/worklist?tab=claimable")
    cs.locator("tr", has_text="TB-20261102-0152").locator("a.task-link").click()
    cs.click("#claim")
    cs.fill("textarea[name=exchange_note]", "建议换大一码，运费我司承担")
    cs.click("#complete")  # the required decision is empty: the error next to it, the note kept
    expect(cs.locator(".field.has-error")).to_have_count(1)
    expect(cs.locator("textarea[name=exchange_note]")).to_have_value("建议换大一码，运费我司承担")
    shot(cs, shots / "task-form.png", ".columns")

    supervisor = sign_in("zhuguan")
    supervisor.locator("#task-list tbody tr", has_text="TB-20261102-0166").locator("a.task-link").click()
    expect(supervisor.locator("#comments .comment")).to_have_count(2)
    expect(supervisor.locator("#attachments img.attachment-thumb")).to_have_count(1)
    supervisor.click("#reassign-box summary")
    supervisor.click("#delegate-box summary")
    expect(supervisor.locator("#delegate-user")).to_be_visible()
    shot(supervisor, shots / "task-collaboration.png", "#attachments")

    supervisor.goto("/instances?q=0196")
    supervisor.locator("tr", has_text="TB-20261102-0196").locator("a").first.click()
    expect(supervisor.locator("section.waiting")).to_be_visible()
    expect(supervisor.locator(".diagram svg .el.completed").first).to_be_visible()
    expect(supervisor.locator("#comments .comment")).to_have_count(1)
    shot(supervisor, shots / "instance-detail.png", "#attachments")

    auditor = sign_in("shenji")
    auditor.goto("/audit/?q=0188")
    auditor.locator("tr", has_text="TB-20261102-0188").locator("a", has_text="#").first.click()
    expect(auditor.locator(".timeline li[data-event-type=task_completed]")).to_have_count(2)
    expect(auditor.locator(".timeline li.task-group").first).to_be_visible()
    auditor.screenshot(path=str(shots / "audit-timeline.png"), full_page=True)

    admin = sign_in("guanli")
    admin.goto("/admin/definitions")
    admin.set_input_files("#files", str(BROKEN))
    admin.click("#deploy")
    expect(admin.locator("#problems")).to_be_visible()
    admin.screenshot(path=str(shots / "admin-definitions.png"), full_page=True)

    phone = new_page(375, 760)
    phone.goto("/login")
    phone.fill("#username", "fuzhuguan")
    phone.fill("#password", "secret-fuzhuguan")
    phone.click("#sign-in")
    expect(phone.locator("#claimable-preview")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    expect(phone.locator("#claimable-list tbody tr")).to_have_count(1)
    phone.screenshot(path=str(shots / "worklist-phone.png"), full_page=True)
