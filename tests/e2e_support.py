"""End-to-end fixtures: the app served on 127.0.0.1 and a real headless Chromium (Playwright).

``live_server`` serves the suite's ``app`` (its database, CSRF on) with werkzeug's
``make_server`` on a free port in a background thread; ``browser`` is one
headless Chromium (/usr/bin/chromium) for the session; ``new_page`` opens a
fresh browser context (own cookies) on the server and ``sign_in`` logs it in.
Every test here is skipped when Chromium or Playwright is missing.

Screenshots of the main pages go to ``docs/screenshots/`` when
``LIUCHENG_SCREENSHOTS=1`` (else to a temporary directory).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "docs" / "screenshots"
TIMEOUT_MS = 20_000


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("end-to-end tests need /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    playwright = sync_api.sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    except Exception as exc:  # a broken browser install is a skip, not an error
        playwright.stop()
        pytest.skip(f"Chromium does not start: {exc}")
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def live_server(app, browser):
    """The app on http://127.0.0.1:<free port> while the test runs."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="liucheng-e2e", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def new_page(browser, live_server):
    """``new_page()`` → a Playwright page in a fresh context (its own session cookie)."""
    contexts = []

    def make(width: int = 1400, height: int = 900):
        context = browser.new_context(base_url=live_server, viewport={"width": width, "height": height},
                                      accept_downloads=True, locale="zh-CN")
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def sign_in(new_page):
    """``sign_in("wang")`` → a new page signed in as a user made by ``make_user``."""

    def login(name: str, password: str | None = None):
        return log_in(new_page(), name, password)
    return login


def log_in(page, name: str, password: str | None = None, lang: str | None = None):
    """Sign ``page`` in as ``name`` (password ``secret-<name>`` unless given), the pages in ``lang`` when
    given (``zh``/``en``); the page, on the user's landing page."""
    page.goto(f"/lang/{lang}?next=/login" if lang else "/login")
    page.fill("#username", name)
    page.fill("#password", password or f"secret-{name}")
    page.click("#sign-in")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()[:2000]
    return page


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where screenshots go: docs/screenshots with LIUCHENG_SCREENSHOTS=1, else a temporary directory."""
    if os.environ.get("LIUCHENG_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path
