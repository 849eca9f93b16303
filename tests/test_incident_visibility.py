"""Who sees which incident (issue 10, point 5): the instance rule of ``engine.access``, in the API list and
detail, on the incidents page and an incident's page, and for retry and resolve.

Two instances, each with an open incident: a refund started by kefu (after-sales; waiting for the
supervisor), and a loop started by the admin whose only lane is the warehouse. kefu and kefu2
(after-sales, a lane of refund) see the refund's, not the loop's; wang (warehouse, a lane of both) sees
both; li (purchasing, no lane of either) sees none; supervisors, auditors and admins see both.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from conftest import DATA
from engine import incidents, runtime, users
from engine.database import command
from engine.models import HistoryEvent, Incident
from web_support import FORMS, REFUND, START_DATA, browser_as, web  # noqa: F401 (fixtures)

SEES_ALL = ("zhao", "audrey", "root")


@dataclass
class Incidents:
    refund: int  # incident ids
    loop: int
    refund_instance: int
    loop_instance: int


def open_incident(database, instance_id: int, process_id: str, element_id: str) -> int:
    with database.session() as session:
        with command(session):
            for _attempt in range(incidents.MAX_ATTEMPTS):
                incidents.record_failure(session, instance_id, process_id, element_id, None, "外部系统不可用")
        return session.scalars(select(Incident.id).where(Incident.instance_id == instance_id)).one()


def start(database, process_id: str, username: str, data: dict) -> int:
    with database.session() as session:
        return runtime.start_instance(session, process_id, data, users.get_user(session, username)).id


@pytest.fixture
def two(web, deploy, make_user, clock) -> Incidents:
    deploy(REFUND, FORMS)
    deploy(DATA / "loop.bpmn")
    for name, role in [("kefu", "aftersales_cs"), ("kefu2", "aftersales_cs"), ("wang", "warehouse"),
                       ("li", "purchasing"), ("zhao", "supervisor"), ("audrey", "auditor"), ("root", "admin")]:
        make_user(name, role)
    database = web.extensions["liucheng_db"]
    refund = start(database, "refund", "kefu", dict(START_DATA))
    loop = start(database, "bench_loop", "root", {"rounds": 0, "limit": 3})
    return Incidents(open_incident(database, refund, "refund", "Script_seven_day_refund"),
                     open_incident(database, loop, "bench_loop", "Script_count"), refund, loop)


def listed(api, user: str, **query) -> list[int]:
    response = api("get", "/incidents", user, query_string=query)
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json]


def expected_for(two: Incidents) -> dict[str, set[int]]:
    return {"kefu": {two.refund}, "wang": {two.refund, two.loop}, "kefu2": {two.refund}, "li": set(),
            **{name: {two.refund, two.loop} for name in SEES_ALL}}


# -- the API ---------------------------------------------------------------------------------------------

def test_the_api_lists_only_incidents_of_instances_the_user_may_see(api, two):
    for user, ids in expected_for(two).items():
        assert set(listed(api, user)) == ids, user
        assert set(listed(api, user, status="open")) == ids, user
    assert listed(api, "kefu", instance_id=two.loop_instance) == []
    assert listed(api, "wang", instance_id=two.loop_instance) == [two.loop]
    assert listed(api, "zhao", limit=1) == [two.loop]  # newest first, paging over visible rows
    assert listed(api, "kefu", limit=1, offset=0) == [two.refund]
    assert listed(api, "kefu", limit=1, offset=1) == []


def test_incidents_follow_the_instance_rule(api, two):
    """Whoever lists an instance lists its incidents, and nobody else."""
    for user in expected_for(two):
        instances = {item["id"] for item in api("get", "/instances", user).json}
        incident_instances = {item["instance_id"] for item in api("get", "/incidents", user).json}
        assert incident_instances == instances & {two.refund_instance, two.loop_instance}, user


def test_an_incident_of_a_hidden_instance_is_not_found_like_one_that_does_not_exist(api, two):
    for user, ids in expected_for(two).items():
        for incident_id in (two.refund, two.loop):
            response = api("get", f"/incidents/{incident_id}", user)
            if incident_id in ids:
                assert response.status_code == 200 and response.json["id"] == incident_id, user
            else:
                assert response.status_code == 404, (user, response.json)
                assert response.json["error"] == "not_found"
                assert "外部系统不可用" not in response.get_data(as_text=True)
    missing = api("get", "/incidents/999", "kefu")
    hidden = api("get", f"/incidents/{two.loop}", "kefu")  # the loop has no after-sales lane
    assert missing.status_code == hidden.status_code == 404
    assert missing.json["message"].replace("999", "N") == hidden.json["message"].replace(str(two.loop), "N")


def history_count(web, instance_id: int, event_type: str) -> int:
    with web.extensions["liucheng_db"].session() as session:
        return session.scalar(select(func.count()).select_from(HistoryEvent).where(
            HistoryEvent.instance_id == instance_id, HistoryEvent.type == event_type))


def status_of(web, incident_id: int) -> str:
    with web.extensions["liucheng_db"].session() as session:
        return session.get(Incident, incident_id).status


@pytest.mark.parametrize("action, body", [("retry", None), ("resolve", {"comment": "已人工处理"})])
def test_retry_and_resolve_are_404_on_a_hidden_instance_403_for_a_viewer_and_change_nothing(
        api, two, web, action, body):
    for user, expected in [("li", 404), ("wang", 403), ("kefu2", 403), ("kefu", 403), ("audrey", 403)]:
        response = api("post", f"/incidents/{two.refund}/{action}", user, json=body)
        assert response.status_code == expected, (user, response.json)
    response = api("post", f"/incidents/{two.refund}/resolve", "li", json={"comment": ""})
    assert response.status_code == 404  # hidden first: not even the comment is checked
    assert status_of(web, two.refund) == "open"
    assert history_count(web, two.refund_instance, "incident_retried") == 0
    assert history_count(web, two.refund_instance, "incident_resolved") == 0
    response = api("post", f"/incidents/{two.refund}/{action}", "zhao", json=body)
    assert response.status_code == 200, response.json
    assert response.json["status"] == status_of(web, two.refund) == "resolved"


# -- the pages ------------------------------------------------------------------------------------------

def rows_on(client, url: str) -> set[int]:
    response = client.get(url)
    assert response.status_code == 200
    return {int(n) for n in re.findall(r'data-incident-id="(\d+)"', response.get_data(as_text=True))}


def test_the_incidents_page_lists_and_counts_only_visible_incidents(two, browser_as):
    for user, ids in expected_for(two).items():
        client = browser_as(user)
        assert rows_on(client, "/incidents/") == ids, user
        assert rows_on(client, "/incidents/?status=all") == ids, user
        page = client.get("/incidents/?status=all").get_data(as_text=True)
        assert f'<span class="count">{len(ids)}</span>' in page, user  # the "open" tab counts visible ones
        assert ("/retry" in page) == (user in ("zhao", "root") and bool(ids)), user


def test_an_incident_page_is_404_on_a_hidden_instance(two, browser_as):
    for user, ids in expected_for(two).items():
        client = browser_as(user)
        for incident_id in (two.refund, two.loop):
            response = client.get(f"/incidents/{incident_id}")
            if incident_id in ids:
                page = response.get_data(as_text=True)
                assert response.status_code == 200 and "外部系统不可用" in page, user
                assert ("/retry" in page) == (user in ("zhao", "root")), user
            else:
                assert response.status_code == 404, user
                assert "外部系统不可用" not in response.get_data(as_text=True)


def test_a_supervisor_retries_and_resolves_from_the_pages(two, browser_as, web):
    client = browser_as("zhao")
    response = client.post(f"/incidents/{two.refund}/resolve", data={"comment": "已人工处理",
                                                                      "next": f"/incidents/{two.refund}"})
    assert response.status_code == 302 and response.headers["Location"] == f"/incidents/{two.refund}"
    assert status_of(web, two.refund) == "resolved"
    assert "已人工处理" in client.get(f"/incidents/{two.refund}").get_data(as_text=True)
    client.post(f"/incidents/{two.loop}/retry", data={})
    assert status_of(web, two.loop) == "resolved"  # the failing step is no longer failing
    assert history_count(web, two.loop_instance, "incident_retried") == 1
    page = client.get("/incidents/?status=all").get_data(as_text=True)
    assert "/retry" not in page  # nothing left to retry
    gone = client.post("/incidents/999/retry", data={}, follow_redirects=True).get_data(as_text=True)
    assert "999" in gone and "不存在" in gone  # the engine's refusal in Chinese (issue 14)


def test_page_forms_stay_with_supervisors_and_admins(two, browser_as, web):
    for user in ("kefu", "wang", "audrey"):
        client = browser_as(user)
        assert client.post(f"/incidents/{two.refund}/retry", data={}).status_code == 403, user
        assert client.post(f"/incidents/{two.refund}/resolve", data={"comment": "x"}).status_code == 403, user
    assert status_of(web, two.refund) == "open"
