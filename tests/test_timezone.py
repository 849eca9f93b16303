"""One time zone (issue 14 item 3): ``LIUCHENG_TIMEZONE`` (default Asia/Shanghai) is the zone every page
shows and the footer names; the API writes every time as ISO 8601 UTC with ``+00:00`` and reads times with
an offset (a naive one is UTC). The task header's due time and its timer's due time agree."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from conftest import DATA
from engine.config import ConfigurationError
from web_support import browser_as, text, web  # noqa: F401 (fixtures)
from webui import create_app

T0 = datetime(2026, 11, 2, 9, 0)  # the frozen clock (UTC)
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$")


@pytest.fixture
def zone():
    return "Asia/Shanghai"


@pytest.fixture
def app(database_url, monkeypatch, zone):
    """The app with ``LIUCHENG_TIMEZONE`` set to ``zone`` (the conftest's app, in that zone)."""
    monkeypatch.setenv("LIUCHENG_TIMEZONE", zone)
    application = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "test"})
    yield application
    application.extensions["liucheng_db"].dispose()


@pytest.fixture
def review(app, deploy, make_user, api, clock):
    """An instance of timers_interrupting waiting at Task_review (its boundary timer due 24 hours after T0)."""
    make_user("root", "admin")
    make_user("wang", "warehouse")
    deploy(DATA / "timers_interrupting.bpmn")
    started = api("post", "/instances", json={"process_id": "timers_interrupting", "data": {"order_no": "A1"}})
    assert started.status_code == 201, started.json
    return started.json


def local(value: datetime, zone: str) -> str:
    return value.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def test_an_unknown_zone_stops_the_start_naming_the_variable_and_an_example(database_url, monkeypatch):
    monkeypatch.setenv("LIUCHENG_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigurationError, match=r"LIUCHENG_TIMEZONE='Mars/Olympus'.*Asia/Shanghai"):
        create_app({"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "test"})


@pytest.mark.parametrize("zone, words", [("Asia/Shanghai", "时间为北京时间 (Asia/Shanghai)"),
                                         ("Europe/Berlin", "时间为 Europe/Berlin 时间")])
def test_the_footer_names_the_zone(web, make_user, browser_as, zone, words):
    make_user("wang", "warehouse")
    page = text(browser_as("wang").get("/worklist"))
    assert f'<footer class="footer">' in page and words in page


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin", "America/New_York"])
def test_the_task_header_due_and_the_timer_due_agree_in_the_zone(web, review, browser_as, zone):
    due = local(T0 + timedelta(hours=24), zone)
    (task,) = review["open_tasks"]
    client = browser_as("wang")
    header = re.search(r'<p class="muted">(.*?)</p>', text(client.get(f"/tasks/{task['id']}")), re.S).group(1)
    assert re.search(r"截止[^:：]*[:：]\s*(\d{4}-\d\d-\d\d \d\d:\d\d)", header).group(1) == due
    waits = re.search(r'<li class="wait wait-timer">(.*?)</li>', text(client.get(f"/instances/{review['id']}")),
                      re.S).group(1)
    assert due in waits
    assert text(client.get(f"/instances/{review['id']}")).count(due) >= 2  # its open task's due time too
    for page in (f"/tasks/{task['id']}", f"/instances/{review['id']}"):  # the timeline too: no raw UTC time
        assert "2026-11-03T09:00" not in text(client.get(page))


def test_every_api_time_carries_the_utc_offset(api, review):
    (task,) = review["open_tasks"]
    assert review["started_at"] == "2026-11-02T09:00:00+00:00" and review["ended_at"] is None
    assert task["due_at"] == "2026-11-03T09:00:00+00:00" and ISO_UTC.match(task["created_at"])
    listed = api("get", "/tasks", "wang", query_string={"scope": "claimable"}).json
    assert all(ISO_UTC.match(t["created_at"]) for t in (listed["items"] if isinstance(listed, dict) else listed))
    events = api("get", f"/instances/{review['id']}/history").json
    assert events and all(ISO_UTC.match(e["at"]) for e in events)
    (definition,) = [d for d in api("get", "/definitions").json if d["process_id"] == "timers_interrupting"]
    assert ISO_UTC.match(definition["deployed_at"])
    token = api("post", "/tokens", json={"label": "erp"})
    assert token.json["expires_at"] == "2027-01-31T09:00:00+00:00"
    for parsed in (task["due_at"], review["started_at"]):
        assert datetime.fromisoformat(parsed).utcoffset() == timedelta(0)


@pytest.mark.parametrize("bound, found", [("2026-11-03T17:00:01+08:00", True), ("2026-11-03T17:00:00+08:00", False),
                                          ("2026-11-03T09:00:01Z", True), ("2026-11-03T09:00:01", True),
                                          ("2026-11-03T09:00:00", False)])
def test_due_before_takes_an_offset_and_a_naive_time_is_utc(api, review, bound, found):
    listed = api("get", "/tasks", "wang", query_string={"scope": "claimable", "due_before": bound})
    assert listed.status_code == 200, listed.json
    items = listed.json["items"] if isinstance(listed.json, dict) else listed.json
    assert bool(items) is found
