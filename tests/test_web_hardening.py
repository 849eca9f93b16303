"""Web hardening: the API cannot be driven cross-site, bad input is a clear 4xx, browser headers,
BPMN served as downloads, CRLF in ``?next=``, and an unreachable database (issue 10, points 4, 8-10)."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import sqlite3
from functools import partial
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from engine import runtime, task_listing
from engine.database import HeldSession
from engine.models import ApiToken, Definition, HumanTask, Instance, Message
from web_support import (  # noqa: F401 (fixtures)
    FORMS, REFUND, START_DATA, START_FORM, browser_as, refund_world, text, web,
)
from webui.db import RETRY_AFTER_SECONDS

API = "/api/v1"
ROOT_PROCESSES = REFUND.parent
HUGE = str(2 ** 63)


def counts(app) -> dict[str, int]:
    with app.extensions["liucheng_db"].session() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (Instance, HumanTask, Message, ApiToken)}


def task_row(app, task_id: int) -> tuple[str, str | None]:
    with app.extensions["liucheng_db"].session() as session:
        row = session.get(HumanTask, task_id)
        return row.status, row.assignee


def assert_json_error(response, status: int, code: str | None = None):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    body = response.get_json()
    assert set(body) == {"error", "message", "details"} and body["message"], body
    if code:
        assert body["error"] == code, body


# -- 4. the API cannot be driven cross-site -------------------------------------------------------

def test_a_cross_site_text_plain_form_post_with_cached_basic_credentials_changes_nothing(web, refund_world, auth):
    client = web.test_client()
    before = counts(web)
    posts = [("/instances", json.dumps({"process_id": "refund", "data": START_DATA})),
             ("/messages", json.dumps({"name": "return_parcel_received", "correlation": {"order_no": "W-1001"}})),
             (f"/tasks/{refund_world.task_id}/claim", ""), ("/tokens", "{}"),
             (f"/instances/{refund_world.instance_id}/cancel", '{"reason": "x"}')]
    for path, body in posts:
        for user in ("zhuguan", "guanli", "kefu"):
            response = client.post(API + path, data=body, headers={**auth(user), "Content-Type": "text/plain"})
            assert_json_error(response, 415, "unsupported_media_type")
            assert "application/json" in response.get_json()["message"]
    assert counts(web) == before
    assert task_row(web, refund_world.task_id) == ("open", None)


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                          "text/plain;charset=UTF-8", "application/json-patch+json"])
def test_every_api_body_must_be_json(web, refund_world, auth, content_type):
    before = counts(web)
    client = web.test_client()
    body = f'{{"process_id": "refund", "data": {json.dumps(START_DATA)}}}'
    response = client.post(f"{API}/instances", data=body, headers={**auth("kefu"), "Content-Type": content_type})
    assert_json_error(response, 415, "unsupported_media_type")
    untyped = client.post(f"{API}/instances", data=body, headers=auth("kefu"))  # a body without a type
    assert_json_error(untyped, 415, "unsupported_media_type")
    assert counts(web) == before
    started = client.post(f"{API}/instances", data=body,
                          headers={**auth("kefu"), "Content-Type": "application/json; charset=utf-8"})
    assert started.status_code == 201, started.get_json()


def test_a_bodyless_post_still_works_and_xml_deploys_need_their_own_type(web, refund_world, auth):
    client = web.test_client()
    claimed = client.post(f"{API}/tasks/{refund_world.task_id}/claim", headers=auth("zhuguan"))
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "zhuguan"
    refund = REFUND.read_bytes()
    form = client.post(f"{API}/definitions", data={"file": (io.BytesIO(refund), "refund.bpmn")},
                       headers=auth("guanli"), content_type="multipart/form-data")
    assert_json_error(form, 415, "unsupported_media_type")
    as_xml = client.post(f"{API}/definitions?filename=refund.bpmn", data=refund,
                         headers={**auth("guanli"), "Content-Type": "application/xml"})
    assert as_xml.status_code == 201 and as_xml.get_json()[0]["status"] == "unchanged"


def test_a_changing_request_from_another_sites_page_is_refused(web, refund_world, auth):
    client = web.test_client()
    claim = f"{API}/tasks/{refund_world.task_id}/claim"
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "same-site"}):
        assert_json_error(client.post(claim, headers={**auth("zhuguan"), **headers}), 403, "permission_denied")
    assert task_row(web, refund_world.task_id) == ("open", None)
    reading = client.get(f"{API}/tasks/{refund_world.task_id}", headers={**auth("zhuguan"), "Origin": "https://evil.example"})
    assert reading.status_code == 200 and not any(h.lower().startswith("access-control") for h in reading.headers.keys())
    same = client.post(claim, headers={**auth("zhuguan"), "Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 200, same.get_json()


def test_the_pages_session_cookie_never_authenticates_the_api(web, refund_world, browser_as):
    browser = browser_as("zhuguan")
    assert browser.get(f"/tasks/{refund_world.task_id}").status_code == 200  # signed in on the pages
    assert_json_error(browser.get(f"{API}/tasks/{refund_world.task_id}"), 401, "unauthenticated")
    assert_json_error(browser.post(f"{API}/tasks/{refund_world.task_id}/claim"), 401, "unauthenticated")
    started = browser.post(f"{API}/instances", json={"process_id": "refund", "data": START_DATA})
    assert_json_error(started, 401, "unauthenticated")
    assert task_row(web, refund_world.task_id) == ("open", None)


def test_no_cors_header_is_ever_sent(web, refund_world, auth):
    client = web.test_client()
    preflight = client.options(f"{API}/instances", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    listing = client.get(f"{API}/instances", headers={**auth("zhuguan"), "Origin": "https://evil.example"})
    page = client.get("/login", headers={"Origin": "https://evil.example"})
    for response in (preflight, listing, page):
        assert not [h for h in response.headers.keys() if h.lower().startswith("access-control-")], response.headers
    assert listing.status_code == 200


# -- 8. bad input is a clear 4xx, everywhere --------------------------------------------------------

BAD_BODIES = {
    "lone surrogate in a value": '{"process_id": "refund", "data": {"buyer": "\\ud800"}}',
    "lone surrogate in a key": '{"process_id": "refund", "data": {"\\udfff": 1}}',
    "NUL in a value": '{"process_id": "refund\\u0000", "data": {}}',
    "NUL in a key": '{"process_id": "refund", "data": {"a\\u0000": 1}}',
    "integer of 2^63": '{"process_id": "refund", "version": %s}' % HUGE,
    "integer below -2^63": '{"process_id": "refund", "data": {"n": -%s1}}' % HUGE,
    "nested 65 deep": '{"process_id": "refund", "data": {"x": %s}}' % ("[" * 63 + "]" * 63),
    "NaN": '{"process_id": "refund", "data": {"amount": NaN}}',
    "Infinity": '{"process_id": "refund", "data": {"amount": -Infinity}}',
    "a float overflowing to infinity": '{"process_id": "refund", "data": {"amount": 1e400}}',
    "not UTF-8": b'{"process_id": "r\xe9fund"}',
    "deeply nested beyond the parser": "[" * 100_000,
}


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
def test_malformed_json_is_a_400_that_changes_nothing(web, refund_world, auth, name):
    before = counts(web)
    client = web.test_client()
    for path in ("/instances", "/messages", f"/tasks/{refund_world.task_id}/complete"):
        response = client.post(API + path, data=BAD_BODIES[name],
                               headers={**auth("guanli"), "Content-Type": "application/json"})
        assert_json_error(response, 400, "bad_request")
    assert counts(web) == before


def test_nesting_of_64_levels_is_parsed_and_judged_by_the_form(web, refund_world, auth):
    client = web.test_client()
    deep = '{"process_id": "refund", "data": {"x": %s}}' % ("[" * 62 + "]" * 62)  # 64 levels in all
    response = client.post(f"{API}/instances", data=deep, headers={**auth("kefu"), "Content-Type": "application/json"})
    assert_json_error(response, 422, "invalid_data")
    assert "x" in response.get_json()["details"]


@pytest.mark.parametrize("value", [1.5, "1.5", 2 ** 63, True])
def test_a_fraction_for_an_integer_form_field_is_a_422_never_cut(web, refund_world, auth, value):
    before = counts(web)
    data = {**START_DATA, "days_since_signed": value}
    response = web.test_client().post(f"{API}/instances", json={"process_id": "refund", "data": data},
                                      headers=auth("kefu"))
    if value == 2 ** 63:  # a JSON integer beyond 64 bits is refused by the parser already
        assert_json_error(response, 400, "bad_request")
    else:
        assert_json_error(response, 422, "invalid_data")
        assert "days_since_signed" in response.get_json()["details"]
    assert counts(web) == before


def test_a_fraction_in_an_integer_of_the_request_is_a_400(web, refund_world, auth):
    client = web.test_client()
    response = client.post(f"{API}/instances", json={"process_id": "refund", "version": 1.5, "data": START_DATA},
                           headers=auth("kefu"))
    assert_json_error(response, 400, "bad_request")
    assert "version" in response.get_json()["details"]
    for query in ("limit=1.5", f"offset={HUGE}", f"instance_id={HUGE}", "limit=1e3"):
        assert_json_error(client.get(f"{API}/tasks?scope=all&{query}", headers=auth("guanli")), 400, "bad_request")


def test_huge_numbers_in_paths_are_no_such_resource(web, refund_world, auth, browser_as):
    client = web.test_client()
    for number in (HUGE, "9" * 40, "9" * 5000):
        for path in (f"/instances/{number}", f"/tasks/{number}", f"/incidents/{number}",
                     f"/instances/{number}/history"):
            assert_json_error(client.get(API + path, headers=auth("guanli")), 404, "not_found")
        claimed = client.post(f"{API}/tasks/{number}/claim", headers=auth("zhuguan"))
        assert_json_error(claimed, 404, "not_found")
    browser = browser_as("guanli")
    for path in (f"/instances/{HUGE}", f"/tasks/{HUGE}", f"/admin/definitions/refund/{HUGE}/bpmn",
                 f"/admin/definitions/refund?version={HUGE}"):
        page = browser.get(path)
        assert page.status_code == 404 and page.mimetype == "text/html", path
    assert browser.get(f"/audit/?instance={HUGE}").status_code in (200, 400)  # never a 500


def test_nul_characters_anywhere_in_a_request_are_a_400(web, refund_world, auth, browser_as):
    client = web.test_client()
    before = counts(web)
    for path in ("/instances?process_id=a%00b", "/definitions/refund%00", "/tasks?scope=all&process_id=%00",
                 "/messages?name=%00", "/instances?%00=1"):
        assert_json_error(client.get(API + path, headers=auth("guanli")), 400, "bad_request")
    assert_json_error(client.get(f"{API}/instances", headers=auth("gu\x00anli")), 400, "bad_request")
    assert_json_error(client.get(f"{API}/nothing%00here", headers=auth("guanli")), 400, "bad_request")
    browser = browser_as("kefu")
    page = browser.get("/worklist?q=a%00b")
    assert page.status_code == 400 and page.mimetype == "text/html" and "NUL" in text(page)
    posted = browser.post("/start/refund", data={**START_FORM, "buyer": "王\x00"})
    assert posted.status_code == 400 and "NUL" in text(posted)
    assert counts(web) == before


# -- 9. browser hardening ---------------------------------------------------------------------------

def page_paths(web, world) -> list[str]:
    """Every GET page without arguments, plus one of each page with an id."""
    fixed = sorted(rule.rule for rule in web.url_map.iter_rules()
                   if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith(("/api", "/static"))
                   and rule.endpoint not in ("auth.set_language",))
    return fixed + [f"/instances/{world.instance_id}", f"/tasks/{world.task_id}", "/admin/definitions/refund",
                    f"/audit/instances/{world.instance_id}", "/admin/users/kefu", "/start/refund", "/static/css/app.css",
                    f"/instances/{world.instance_id}/diagram.svg"]


INLINE_HANDLER = re.compile(r"<[^>]+\s(on[a-z]+|style)\s*=", re.I)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I)


def test_every_page_sends_the_hardening_headers_and_runs_no_inline_script(web, refund_world, browser_as):
    browser = browser_as("guanli")
    seen = 0
    for path in page_paths(web, refund_world):
        response = browser.get(path)
        assert response.status_code in (200, 302), (path, response.status_code)
        policy = response.headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'", (path, policy)
        assert "unsafe" not in policy and directives["frame-ancestors"] == "'none'"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        if response.mimetype in ("text/html", "image/svg+xml"):
            html = text(response)
            assert not INLINE_SCRIPT.search(html) and not INLINE_HANDLER.search(html), path
            assert "javascript:" not in html.lower(), path
            for style in re.findall(r"<style[^>]*>(.*?)</style>", html, re.S):  # the diagram's, by its hash
                digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
                assert f"'sha256-{digest}'" in directives["style-src"].split(), path
                seen += 1
    assert seen >= 2  # the instance page and the definition page draw a diagram


def test_api_answers_carry_the_headers_with_a_closed_policy(web, refund_world, auth):
    for response in (web.test_client().get(f"{API}/instances", headers=auth("guanli")),
                     web.test_client().get(f"{API}/instances")):
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"


def test_raw_bpmn_is_served_as_a_download_never_as_a_document(web, refund_world, auth, browser_as):
    api_xml = web.test_client().get(f"{API}/definitions/refund/xml", headers=auth("kefu"))
    page_xml = browser_as("guanli").get("/admin/definitions/refund/1/bpmn")
    for response in (api_xml, page_xml):
        assert response.status_code == 200 and b"<bpmn:process" in response.data
        assert response.mimetype in ("application/octet-stream", "text/plain")
        assert response.headers["Content-Disposition"].startswith("attachment; filename=refund-v1.bpmn")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("evil", ["/%0d%0aSet-Cookie:%20x=1", "%0d%0a", "/worklist%0aX:y", "/a%00b", "/%09"])
def test_a_control_character_in_next_redirects_home(web, make_user, evil):
    make_user("kefu", "aftersales_cs")
    client = web.test_client()
    signed_in = client.post(f"/login?next={evil}", data={"username": "kefu", "password": "secret-kefu"})
    assert signed_in.status_code in (302, 400)
    if signed_in.status_code == 302:  # a NUL is refused as malformed before the login runs
        assert signed_in.headers["Location"] == "/" and "Set-Cookie: x" not in str(signed_in.headers)
    switched = client.get(f"/lang/en?next={evil}")
    assert switched.status_code in (302, 400)
    if switched.status_code == 302:
        assert switched.headers["Location"] == "/"
    assert client.get(f"/lang/zh?next={quote('/instances?status=running')}").headers["Location"] == \
        "/instances?status=running"


# -- 10. an unreachable database -----------------------------------------------------------------

def break_database(app, monkeypatch):
    """Point the app's sessions at a database that refuses connections (same kind as the real one)."""
    database = app.extensions["liucheng_db"]
    url = make_url(database.url)
    dead = (url.set(port=1, host="127.0.0.1") if url.get_backend_name() == "postgresql"
            else url.set(database="/nonexistent-liucheng-dir/x/liucheng.db"))
    engine = create_engine(dead, connect_args={"connect_timeout": 2} if url.get_backend_name() == "postgresql" else {})
    monkeypatch.setattr(database, "sessions", partial(HeldSession, engine))
    return engine


@pytest.mark.parametrize("language, words", [("zh", "暂时无法连接数据库"), ("en", "The database cannot be reached")])
def test_pages_show_the_apps_own_503_in_the_users_language(web, refund_world, browser_as, monkeypatch,
                                                          language, words):
    browser = browser_as("kefu")
    browser.get(f"/lang/{language}")
    engine = break_database(web, monkeypatch)
    try:
        for path in ("/worklist", f"/instances/{refund_world.instance_id}", "/login"):
            page = browser.get(path)
            assert page.status_code == 503 and page.mimetype == "text/html", (path, page.status_code)
            assert page.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
            assert words in text(page) and "Content-Security-Policy" in page.headers
        signing_in = web.test_client().post("/login", data={"username": "kefu", "password": "secret-kefu"})
        assert signing_in.status_code == 503 and "暂时无法连接数据库" in text(signing_in)
    finally:
        engine.dispose()


def test_the_api_answers_503_json_when_the_database_is_unreachable(web, refund_world, auth, monkeypatch):
    engine = break_database(web, monkeypatch)
    try:
        client = web.test_client()
        for method, path in (("get", "/instances"), ("post", f"/tasks/{refund_world.task_id}/claim")):
            response = getattr(client, method)(API + path, headers=auth("zhuguan"))
            assert_json_error(response, 503, "unavailable")
            assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert client.get(f"{API}/openapi.json").status_code == 200  # needs no database
    finally:
        engine.dispose()
    monkeypatch.undo()
    assert task_row(web, refund_world.task_id) == ("open", None)



@pytest.mark.parametrize("raised, status, code", [
    (sqlite3.OperationalError("database is locked"), 503, "unavailable"),
    (sqlite3.DataError("value out of range"), 400, "bad_request"),
    (OverflowError("Python int too large to convert to SQLite INTEGER"), 400, "bad_request"),
])
def test_driver_errors_raised_past_sqlalchemy_are_503_or_400_never_500(web, refund_world, auth, browser_as,
                                                                       monkeypatch, raised, status, code):
    """``engine.statements`` runs on the driver's cursor, so its errors arrive unwrapped."""
    def fail(*_args, **_kwargs):
        raise raised

    monkeypatch.setattr(task_listing, "list_tasks", fail)
    monkeypatch.setattr(runtime, "claim_task", fail)
    client = web.test_client()
    assert_json_error(client.get(f"{API}/tasks", headers=auth("zhuguan")), status, code)
    assert_json_error(client.post(f"{API}/tasks/{refund_world.task_id}/claim", headers=auth("zhuguan")), status, code)
    page = browser_as("zhuguan").post(f"/tasks/{refund_world.task_id}/claim")
    assert page.status_code == status and page.mimetype == "text/html"
    assert task_row(web, refund_world.task_id) == ("open", None)


def test_a_real_browser_runs_the_pages_under_the_policy_without_a_violation(web, refund_world, sign_in):
    """Chromium (skipped without it): no policy violation reported, the diagram keeps its hashed style."""
    page = sign_in("guanli")
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    for path in ("/worklist", f"/instances/{refund_world.instance_id}", "/admin/definitions/refund",
                 f"/tasks/{refund_world.task_id}", "/admin/users/", f"/instances/{refund_world.instance_id}/diagram.svg"):
        page.goto(path)
        page.wait_for_load_state()
        if path.startswith("/instances/") and not path.endswith(".svg"):
            fill = page.eval_on_selector(".bpmn-diagram .shape", "e => getComputedStyle(e).fill")
            assert fill in ("rgb(255, 255, 255)", "rgb(227, 244, 228)"), fill  # black if its <style> were blocked
    assert violations == []
    page.goto("/lang/en?next=%0d%0aSet-Cookie:%20x=1")
    assert page.url.endswith("/worklist") or page.url.endswith("/")


def test_unicode_digits_and_huge_numbers_in_page_queries_are_not_errors(web, deploy, make_user, browser_as):
    """'²' passes str.isdigit() but not int(): paging and the audit filter must not answer 500."""
    make_user("shenji_q", "auditor")
    client = browser_as("shenji_q")
    for url in ("/instances?page=²", "/instances?page=99999999999999999999999", "/audit/?instance=²",
                "/audit/?instance=99999999999999999999999", "/incidents/?page=١٢"):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)


@pytest.mark.parametrize("method, path", [("get", "/no-such-page"), ("put", "/worklist"), ("get", "/instances/99999")])
def test_error_pages_for_a_signed_in_user_do_not_need_the_database(web, refund_world, browser_as, monkeypatch,
                                                                   method, path):
    """A 404 or 405 page shows the user's menu, read from the database: unreachable, it is the 503 page."""
    browser = browser_as("kefu")
    engine = break_database(web, monkeypatch)
    try:
        page = getattr(browser, method)(path)
        assert page.status_code == 503 and page.mimetype == "text/html", (path, page.status_code)
        assert page.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert "暂时无法连接数据库" in text(page) and "Content-Security-Policy" in page.headers
    finally:
        engine.dispose()


def test_a_wrong_method_on_a_page_is_a_405_page_that_says_which_methods_are_allowed(web, refund_world, browser_as):
    page = browser_as("kefu").delete("/worklist")
    assert page.status_code == 405 and page.mimetype == "text/html"
    assert set(page.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}
    assert "Content-Security-Policy" in page.headers


def test_a_nul_character_in_an_uploaded_file_name_is_a_400(web, refund_world, browser_as):
    """The name of an uploaded BPMN is stored with the definition: PostgreSQL cannot hold a NUL in it."""
    changed = REFUND.read_bytes().replace(b"</bpmn:definitions>", b"<!-- v2 --></bpmn:definitions>")
    before = definition_versions(web)
    page = browser_as("guanli").post("/admin/definitions", content_type="multipart/form-data",
                                     data={"files": [(io.BytesIO(changed), "refund.bpmn"), (io.BytesIO(b"{}"), "f\x00.json")]})
    assert page.status_code == 400 and page.mimetype == "text/html" and "NUL" in text(page)
    assert definition_versions(web) == before


def definition_versions(app) -> int:
    with app.extensions["liucheng_db"].session() as session:
        return session.scalar(select(func.count()).select_from(Definition))


@pytest.mark.parametrize("header", ["Basic " + base64.b64encode("王:secret".encode("gbk")).decode(),
                                    "Basic " + base64.b64encode(b"guanli:\xff\xfe").decode()])
def test_unreadable_basic_credentials_are_a_401_that_says_so(web, refund_world, header):
    response = web.test_client().get(f"{API}/tasks", headers={"Authorization": header})
    assert_json_error(response, 401, "unauthenticated")
    assert "UTF-8" in response.get_json()["message"] and response.headers["WWW-Authenticate"]


def test_the_first_and_last_days_of_the_calendar_in_page_filters_are_not_errors(web, refund_world, browser_as):
    """9999-12-31 'to' and 0001-01-01 'from' are valid days whose bounds fall outside datetime: no bound."""
    client = browser_as("shenji")
    for url in ("/instances?to=9999-12-31", "/instances?from=0001-01-01", "/audit/?to=9999-12-31",
                "/audit/?from=0001-01-01", "/audit/export.csv?to=9999-12-31&from=0001-01-01"):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    listed = client.get("/instances?from=0001-01-01&to=9999-12-31")
    assert f"/instances/{refund_world.instance_id}" in text(listed)


def test_a_form_post_too_large_is_the_apps_own_413_page(web, refund_world, browser_as):
    browser = browser_as("kefu")
    web.config["MAX_CONTENT_LENGTH"] = 1024
    page = browser.post("/start/refund", data={**START_FORM, "reason": "x" * 4096})
    assert page.status_code == 413 and page.mimetype == "text/html"
    assert "太大" in text(page) and "Content-Security-Policy" in page.headers


def test_a_huge_or_strange_row_number_in_a_page_form_costs_no_more_than_its_rows(web, deploy, make_user, browser_as):
    """``lines-<n>-sku``: the form is parsed and drawn for the rows sent (at most the list's max_items),
    never for n rows; a number of 5000 digits or in other scripts is an input name like any unknown one."""
    deploy(ROOT_PROCESSES / "order_dispatch.bpmn", FORMS)
    make_user("shouqian", "presales_cs")
    browser = browser_as("shouqian")
    before = counts(web)
    for index in ("100000000", "1" * 5000, "١٢"):
        page = browser.post("/start/order_dispatch", data={f"lines-{index}-sku": "A1", f"lines-{index}-qty": "1"})
        assert page.status_code == 422 and page.mimetype == "text/html", (index[:12], page.status_code)
        assert len(page.get_data()) < 2_000_000, len(page.get_data())
    sparse = {"order_no": "D-1", "buyer": "b", "address": "a", "phone": "1", "lines-0-sku": "A1", "lines-0-qty": "1",
              "lines-99999-sku": "B2", "lines-99999-qty": "2"}
    started = browser.post("/start/order_dispatch", data=sparse)
    assert started.status_code == 302, text(started)[:500]
    with web.extensions["liucheng_db"].session() as session:
        data = session.scalar(select(Instance.data).order_by(Instance.id.desc()).limit(1))
    assert [(line["sku"], line["qty"]) for line in data["lines"]] == [("A1", 1), ("B2", 2)]
    assert counts(web)["instances"] == before["instances"] + 1


def test_the_api_does_not_even_open_the_pages_session(web, refund_world, browser_as, auth):
    """No API answer re-issues (and so prolongs) the page session, nor varies by it."""
    browser = browser_as("zhuguan")
    for path in (f"{API}/tasks", f"{API}/openapi.json", f"{API}/nothing"):
        response = browser.get(path, headers=auth("zhuguan"))
        assert "Set-Cookie" not in response.headers and "Cookie" not in response.headers.get("Vary", ""), path
    assert browser.get("/worklist").status_code == 200  # still signed in on the pages


@pytest.mark.parametrize("body", [b"garbage", b'{"note": "\\ud800"}', b'{"n": 1e400}', b"[" * 100 + b"]" * 100])
def test_a_malformed_body_on_an_operation_that_takes_none_is_a_400_that_changes_nothing(web, refund_world, auth,
                                                                                      body):
    client = web.test_client()
    claim = f"{API}/tasks/{refund_world.task_id}/claim"
    response = client.post(claim, data=body, headers={**auth("zhuguan"), "Content-Type": "application/json"})
    assert_json_error(response, 400, "bad_request")
    assert task_row(web, refund_world.task_id) == ("open", None)
    fine = client.post(claim, data=b"{}", headers={**auth("zhuguan"), "Content-Type": "application/json"})
    assert fine.status_code == 200 and task_row(web, refund_world.task_id) == ("claimed", "zhuguan")
