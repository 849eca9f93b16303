"""The page × role access matrix: who gets the page (200), who is refused (403), who must sign in (302)."""
from __future__ import annotations

import pytest

from web_support import browser_as, refund_world, web  # noqa: F401 (fixtures)

OK, NO, LOGIN = 200, 403, 302
ROLES = ("anonymous", "kefu", "cangku", "zhuguan", "shenji", "guanli")
#            page                                anon   after-sales warehouse supervisor auditor admin
MATRIX = [
    ("/worklist",                               (LOGIN, OK, OK, OK, NO, OK)),
    ("/worklist?tab=claimable&due=overdue",     (LOGIN, OK, OK, OK, NO, OK)),
    ("/start",                                  (LOGIN, OK, OK, OK, NO, OK)),
    ("/start/refund",                           (LOGIN, OK, OK, OK, NO, OK)),  # every lane role may start
    ("/instances",                              (LOGIN, OK, OK, OK, OK, OK)),
    ("/instances/{instance}",                   (LOGIN, OK, OK, OK, OK, OK)),  # warehouse: a refund lane
    ("/instances/{instance}/diagram.svg",       (LOGIN, OK, OK, OK, OK, OK)),
    ("/tasks/{task}",                           (LOGIN, NO, NO, OK, OK, OK)),
    ("/audit/",                                 (LOGIN, NO, NO, NO, OK, OK)),
    ("/audit/instances/{instance}",             (LOGIN, NO, NO, NO, OK, OK)),
    ("/audit/instances/{instance}/history.csv", (LOGIN, NO, NO, NO, OK, OK)),
    ("/audit/export.json?process=refund",       (LOGIN, NO, NO, NO, OK, OK)),
    ("/incidents/",                             (LOGIN, OK, OK, OK, OK, OK)),  # each sees their instances' incidents
    ("/admin/definitions",                      (LOGIN, NO, NO, NO, NO, OK)),
    ("/admin/definitions/refund",               (LOGIN, NO, NO, NO, NO, OK)),
    ("/admin/definitions/refund/1/bpmn",        (LOGIN, NO, NO, NO, NO, OK)),
    ("/admin/users/",                           (LOGIN, NO, NO, NO, NO, OK)),
    ("/admin/users/kefu",                       (LOGIN, NO, NO, NO, NO, OK)),
]
#            form post                            anon   after-sales warehouse supervisor auditor admin
POSTS = [
    ("/tasks/{task}/claim",                     (LOGIN, NO, NO, 302, NO, 302)),
    ("/start/refund",                           (LOGIN, 302, 302, 302, NO, 302)),
    ("/admin/definitions",                      (LOGIN, NO, NO, NO, NO, 422)),
    ("/admin/users/",                           (LOGIN, NO, NO, NO, NO, 422)),
    ("/incidents/999/retry",                    (LOGIN, NO, NO, 302, NO, 302)),
]


def client_for(role: str, web, browser_as):
    return web.test_client() if role == "anonymous" else browser_as(role)


@pytest.mark.parametrize("role", ROLES)
def test_every_page_checks_the_roles(role, web, refund_world, browser_as):
    client = client_for(role, web, browser_as)
    column = ROLES.index(role)
    wrong = []
    for template, expected in MATRIX:
        url = template.format(instance=refund_world.instance_id, task=refund_world.task_id)
        response = client.get(url)
        if response.status_code != expected[column]:
            wrong.append((url, expected[column], response.status_code))
        elif expected[column] == LOGIN:
            assert "/login?next=" in response.headers["Location"]
        elif expected[column] == NO:
            assert "无权访问" in response.get_data(as_text=True)  # the HTML 403 page, in Chinese
    assert not wrong, f"{role}: (url, expected, got) {wrong}"


@pytest.mark.parametrize("role", ROLES)
def test_every_form_post_checks_the_roles(role, web, refund_world, browser_as):
    from web_support import START_FORM

    client = client_for(role, web, browser_as)
    column = ROLES.index(role)
    wrong = []
    for template, expected in POSTS:
        url = template.format(instance=refund_world.instance_id, task=refund_world.task_id)
        response = client.post(url, data=START_FORM if url == "/start/refund" else {})
        if response.status_code != expected[column]:
            wrong.append((url, expected[column], response.status_code))
    assert not wrong, f"{role}: (url, expected, got) {wrong}"


def test_the_menu_shows_what_the_roles_open(refund_world, browser_as):
    auditor = browser_as("shenji").get("/instances").get_data(as_text=True)
    assert "审计" in auditor and "工作台" not in auditor and "流程定义" not in auditor
    employee = browser_as("kefu").get("/worklist").get_data(as_text=True)
    assert "工作台" in employee and "审计" not in employee and "流程定义" not in employee
    admin = browser_as("guanli").get("/worklist").get_data(as_text=True)
    assert all(item in admin for item in ("工作台", "审计", "故障", "流程定义", "用户"))


def test_home_sends_each_user_to_their_work(refund_world, browser_as, web):
    assert browser_as("kefu").get("/").headers["Location"].endswith("/worklist")
    assert browser_as("shenji").get("/").headers["Location"].endswith("/audit/")
    assert web.test_client().get("/").headers["Location"].startswith("/login")
