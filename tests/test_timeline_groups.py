"""The history timeline (issue 14, item 9): grouped by task, filtered (tasks / data / system, as query
arguments, without JavaScript) and paged, on the instance page, the task page and the auditors' timeline."""
from __future__ import annotations

import pytest
from lxml import html

from scenario import Scenario
from web_support import browser_as, web  # noqa: F401 (fixtures)

from conftest import DATA

ROUNDS = 40  # 5 events a round (task created, claimed, completed; script; gateway): 200 and more


@pytest.fixture
def loop(client, make_user, auth, clock, app, deploy):
    deploy(DATA / "loop.bpmn")
    driver = Scenario(client, make_user, auth, clock, app.extensions["liucheng_db"])
    driver.user("admin")
    driver.make_user("shenji", "auditor")
    return driver


def run_rounds(driver: Scenario, rounds: int) -> int:
    iid = driver.start("bench_loop", {"rounds": 0, "limit": rounds})["id"]
    for _ in range(rounds):
        driver.complete(iid, "Task_work")
    return iid


def top_items(page: str) -> list:
    tree = html.fromstring(page)
    return tree.xpath("//ol[contains(@class, 'timeline')]/li")


def types_of(item) -> list[str]:
    return [li.get("data-event-type") for li in item.xpath("descendant-or-self::li[@data-event-type]")]


def test_two_hundred_events_are_paged_in_groups(loop, browser_as):  # noqa: F811
    iid = run_rounds(loop, ROUNDS)
    assert len(loop.history(iid)) >= 200
    client = browser_as(loop.user("admin"))
    first = client.get(f"/instances/{iid}").get_data(as_text=True)
    items = top_items(first)
    assert len(items) == 50  # groups per page, whatever the number of events
    assert types_of(items[0])[0] == "instance_started"  # oldest first by default
    pager = html.fromstring(first).xpath("//nav[contains(@class, 'pager')]")[0]
    assert pager.xpath(".//a[@rel='next']/@href") == [f"/instances/{iid}?page=2#history"]
    last = client.get(f"/instances/{iid}?page=3").get_data(as_text=True)
    assert 0 < len(top_items(last)) <= 50 and types_of(top_items(last)[-1]) == ["instance_completed"]
    assert not html.fromstring(last).xpath("//nav[contains(@class, 'pager')]//a[@rel='next']")
    newest = top_items(client.get(f"/instances/{iid}?order=newest").get_data(as_text=True))
    assert types_of(newest[0]) == ["instance_completed"] and len(newest) == 50
    audit = browser_as("shenji").get(f"/audit/instances/{iid}?page=2").get_data(as_text=True)
    assert len(top_items(audit)) == 50 and 'rel="prev"' in audit


def test_a_task_s_events_are_one_group_under_its_name(loop, browser_as):  # noqa: F811
    iid = run_rounds(loop, 2)
    page = browser_as(loop.user("admin")).get(f"/instances/{iid}").get_data(as_text=True)
    groups = [li for li in top_items(page) if li.get("data-task-id")]
    assert len(groups) == 2 and len({g.get("data-task-id") for g in groups}) == 2
    for group in groups:
        assert types_of(group) == ["task_created", "task_claimed", "task_completed"]
        assert group.xpath(".//strong[@class='task-name']")[0].text == "处理一轮"
        assert "warehouse_user" in group.xpath("./div[@class='what']")[0].text_content()  # who did it
        assert "task_completed" in group.get("class")


@pytest.mark.parametrize("show, expected, absent", [
    ("tasks", {"task_created", "task_claimed", "task_completed"}, {"gateway_taken", "instance_started"}),
    ("data", {"instance_started", "script_changed_data", "instance_completed"}, {"task_created", "gateway_taken"}),
    ("system", {"gateway_taken", "element_completed"}, {"task_completed", "script_changed_data"}),
])
def test_the_filter_is_query_arguments(loop, browser_as, show, expected, absent):  # noqa: F811
    iid = run_rounds(loop, 2)
    page = browser_as(loop.user("admin")).get(f"/instances/{iid}?show={show}").get_data(as_text=True)
    seen = {t for item in top_items(page) for t in types_of(item)}
    assert expected <= seen and not absent & seen
    tree = html.fromstring(page)
    checked = tree.xpath("//form[contains(@class, 'timeline-filter')]//input[@name='show' and @checked]/@value")
    assert checked == [show]  # the form says what is shown; it is a GET form: no script needed
    assert "被筛选隐藏" in page


def test_two_filters_and_the_task_page_timeline(loop, browser_as):  # noqa: F811
    iid = loop.start("bench_loop", {"rounds": 0, "limit": 2})["id"]
    client = browser_as(loop.user("admin"))
    page = client.get(f"/instances/{iid}?show=tasks&show=data").get_data(as_text=True)
    assert {t for item in top_items(page) for t in types_of(item)} == {"instance_started", "task_created"}
    task = loop.task(iid, "Task_work")
    task_page = client.get(f"/tasks/{task['id']}?show=system").get_data(as_text=True)
    assert {t for item in top_items(task_page) for t in types_of(item)} == {"element_completed"}
