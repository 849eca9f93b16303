"""A refund walked through the pages from the start form to the payment (issue 14, item 11): an evidence photo
uploaded through the start form's file field (its thumbnail shows), a comment added on the approval task (on the
instance page and in the history), and the payment that the worklist cannot one-click complete."""
from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest

expect = pytest.importorskip("playwright.sync_api").expect


def small_png(path: Path, width: int = 24, height: int = 16) -> Path:
    """A real PNG (an orange rectangle), as a phone photo would be, only smaller."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\xff\x80\x20" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
                     + chunk(b"IEND", b""))
    return path


def confirming(page):
    """Accept the pages' 'are you sure?' dialogs (give back, one-click complete), as a person clicking OK."""
    page.on("dialog", lambda dialog: dialog.accept())
    return page


def test_a_refund_with_an_evidence_photo_and_a_comment_from_start_to_payment(deploy, make_user, sign_in, tmp_path):
    deploy()
    make_user("xiaoli", "aftersales_cs")
    make_user("laozhang", "supervisor")
    make_user("caiwu", "finance")
    photo = small_png(tmp_path / "包裹破损.png")

    # after-sales starts the refund with the buyer's photo
    cs = sign_in("xiaoli")
    cs.click("text=发起流程")
    cs.click("a[data-process=refund]")
    cs.fill("input[name=order_no]", "WALK-2041")
    cs.fill("input[name=buyer]", "tb_小林")
    cs.fill("input[name=amount]", "88.00")
    cs.fill("input[name=shipping_fee]", "8.00")
    cs.check("input[name=free_shipping][value=false]")
    cs.check("input[name=goods_received][value=false]")
    cs.check("input[name=quality_issue][value=false]")
    cs.fill("input[name=days_since_signed]", "0")
    cs.fill("textarea[name=reason]", "一直没有收到货，买家发来物流停滞截图")
    cs.set_input_files("input[name=evidence]", str(photo))
    cs.click("#start")
    expect(cs.locator(".flash-success")).to_contain_text("WALK-2041")
    instance_url = cs.url
    assert re.search(r"/instances/\d+$", instance_url)
    evidence = cs.locator(".key-data a", has_text="包裹破损.png").first
    expect(evidence).to_be_visible()  # the evidence shows as the file's link, not as a reference or JSON

    # the supervisor claims it from the landing page's claimable list and sees the photo on the task page
    boss = confirming(sign_in("laozhang"))
    row = boss.locator("tr", has_text="WALK-2041").first
    expect(row).to_contain_text("主管审核仅退款申请")
    row.locator("button", has_text="认领").click()
    expect(boss.locator(".flash-success")).to_contain_text("认领")
    expect(boss.locator(".assignee")).to_have_text("laozhang")
    expect(boss.locator("[data-field=evidence]")).to_contain_text("包裹破损.png")
    thumb = boss.locator("img[alt='包裹破损.png']").first
    expect(thumb).to_be_visible()
    assert boss.evaluate("img => img.complete && img.naturalWidth", thumb.element_handle()) == 24
    # a comment on the task, kept with the instance
    boss.fill("#comment-text", "已核实物流停滞三天，同意仅退款")
    boss.locator("#comments button[type=submit]").click()
    expect(boss.locator(".flash-success")).to_contain_text("评论")
    expect(boss.locator("#comments .comment-text")).to_have_text(["已核实物流停滞三天，同意仅退款"])
    expect(boss.locator("#comments .comment-meta").first).to_contain_text("laozhang")
    boss.check("input[name=approved][value=true]")
    boss.click("#complete")
    expect(boss.locator(".flash-success")).to_contain_text("已完成")

    # finance: the payment asks for its reference: no one-click 完成 in the list, only 打开
    finance = confirming(sign_in("caiwu"))
    finance.goto("/worklist?tab=claimable")
    pay = finance.locator("#task-list tbody tr", has_text="WALK-2041")
    expect(pay).to_contain_text("财务退款")
    expect(pay.locator("button", has_text="完成")).to_have_count(0)
    expect(pay.locator("a", has_text="打开")).to_be_visible()
    pay.locator("button", has_text="认领").click()
    expect(finance.locator(".assignee")).to_have_text("caiwu")
    finance.goto("/worklist")
    mine = finance.locator("#task-list tbody tr", has_text="WALK-2041")
    expect(mine.locator("button", has_text="完成")).to_have_count(0)
    mine.locator("a", has_text="打开").click()
    expect(finance.locator("input[name=payment_ref]")).to_be_visible()
    expect(finance.locator("[data-field=amount]")).to_contain_text("88.00")
    finance.fill("input[name=payment_ref]", "ALIPAY-20261206-2041")
    finance.fill("input[name=refund_slip_no]", "TK-2041")
    finance.click("#complete")
    expect(finance.locator(".flash-success")).to_contain_text("财务退款")

    # after-sales reads the whole story on the instance page: finished, the photo, the comment, the payment
    cs.goto(instance_url)
    expect(cs.locator("h1 .badge")).to_have_text("已完成")
    expect(cs.locator(".key-data").first).to_contain_text("ALIPAY-20261206-2041")
    expect(cs.locator("#comments .comment-text")).to_have_text(["已核实物流停滞三天，同意仅退款"])
    expect(cs.locator("#comments .comment-task")).to_contain_text("主管审核仅退款申请")
    expect(cs.locator("#attachments .attachment", has_text="包裹破损.png")).to_have_count(1)
    expect(cs.locator("#attachments img.attachment-thumb")).to_have_count(1)
    comment_event = cs.locator(".timeline li[data-event-type=comment_added]")
    expect(comment_event).to_have_count(1)
    expect(comment_event).to_contain_text("已核实物流停滞三天，同意仅退款")
    expect(cs.locator(".timeline li[data-event-type=task_completed]")).to_have_count(2)
    expect(cs.locator(".timeline")).not_to_contain_text("payment_ref")
