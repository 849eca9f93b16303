"""Accessibility basics of every page (issue 14, item 10): a skip link is the first thing the keyboard
reaches and leads to the main content; hint and muted text keeps a contrast of at least 4.5:1."""
from __future__ import annotations

import re

from lxml import html

from conftest import ROOT

CSS = (ROOT / "webui" / "static" / "css" / "app.css").read_text(encoding="utf-8")
FOCUSABLE = "//a[@href] | //button | //input[not(@type='hidden')] | //select | //textarea | //*[@tabindex]"


def luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_skip_link_comes_first_and_leads_to_main(client):
    tree = html.fromstring(client.get("/login").get_data(as_text=True))
    first = tree.xpath(FOCUSABLE)[0]
    assert first.get("class") == "skip-link" and first.get("href") == "#main"
    assert first.text_content().strip() == "跳到正文"
    assert tree.xpath("//main[@id='main']")
    client.get("/lang/en")
    english = html.fromstring(client.get("/login").get_data(as_text=True))
    assert english.xpath(FOCUSABLE)[0].text_content().strip() == "Skip to content"
    assert re.search(r"\.skip-link:focus \{[^}]*top: 8px", CSS)  # off screen until focused, then visible


def test_muted_and_hint_text_keep_a_contrast_of_four_and_a_half():
    muted = re.search(r"--muted: (#[0-9a-f]{6})", CSS).group(1)
    backgrounds = {"card": "#ffffff", "page": re.search(r"--bg: (#[0-9a-f]{6})", CSS).group(1),
                   "table head": "#f7f9fa", "code and version badge": "#eef1f4", "cancelled badge": "#eceff1"}
    for name, background in backgrounds.items():
        assert contrast(muted, background) >= 4.5, (name, round(contrast(muted, background), 2))
    badges = re.findall(r"background: (#[0-9a-f]{6}); color: (#[0-9a-f]{6})", CSS)
    assert len(badges) > 8
    for background, colour in badges:
        assert contrast(colour, background) >= 4.5, (colour, background, round(contrast(colour, background), 2))
    assert "::placeholder { color: var(--muted); opacity: 1; }" in CSS
    for rule in (".help {", ".limits {", "td.before, span.before {"):
        line = next(ln for ln in CSS.splitlines() if ln.startswith(rule))
        assert "color: var(--muted)" in line, line
