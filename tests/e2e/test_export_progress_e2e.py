"""A large export in a real browser (issue 15 item 8): with more than 10,000 rows the timeline's export link
downloads through the progress line (js/export-progress.js: fetch, rows counted as they come, the file saved
once its row count has come); without scripts the same link downloads the same file."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from engine import clock as engine_clock
from test_exports import add_events
from web_support import refund_world, web  # noqa: F401 (fixtures)

expect = pytest.importorskip("playwright.sync_api").expect

ROWS = 12_000


def rows_of(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def test_a_large_export_downloads_with_progress_and_without_scripts_as_a_plain_link(
        refund_world, web, browser, live_server, sign_in, tmp_path):
    add_events(web, refund_world.instance_id, ROWS, engine_clock.now())
    page = sign_in("shenji")
    page.goto(f"/audit/instances/{refund_world.instance_id}")
    total = int(page.locator(".exports[data-export-rows]").first.get_attribute("data-export-rows"))
    assert total > ROWS
    expect(page.locator(".export-count")).to_contain_text(f"导出共 {total:,} 行")

    with page.expect_download() as info:
        page.click("#export-csv")
    progress = page.locator("#export-progress")
    expect(progress).to_be_visible()
    expect(progress).to_contain_text(f"已下载 {total:,} 行")
    assert progress.locator("progress").get_attribute("value") == "100"
    assert info.value.suggested_filename == f"liucheng-instance-{refund_world.instance_id}-history.csv"
    saved = tmp_path / "with-progress.csv"
    info.value.save_as(saved)
    rows = rows_of(saved)
    assert rows[-1] == [f"# rows: {total}"] and len(rows) == total + 2

    context = browser.new_context(base_url=live_server, accept_downloads=True, locale="zh-CN",
                                  java_script_enabled=False)
    try:
        plain = context.new_page()
        plain.goto("/login")
        plain.fill("#username", "shenji")
        plain.fill("#password", "secret-shenji")
        plain.click("#sign-in")
        plain.goto(f"/audit/instances/{refund_world.instance_id}")
        with plain.expect_download() as info:
            plain.click("#export-csv")
        saved = tmp_path / "plain.csv"
        info.value.save_as(saved)
        assert rows_of(saved) == rows
        assert plain.locator("#export-progress").is_hidden()
    finally:
        context.close()

