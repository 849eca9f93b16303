"""Sign-in, CSRF, cookies, error pages and languages of the web pages."""
from __future__ import annotations

from engine import users
from web_support import (  # noqa: F401 (fixtures)
    START_FORM, browser_as, csrf_token_of, refund_world, sign_in, text, web,
)
from webui import create_app


def test_a_form_post_without_csrf_token_is_refused(app, deploy, make_user):
    deploy()
    make_user("kefu", "aftersales_cs")
    assert app.config.get("WTF_CSRF_ENABLED", True)  # the suite's app checks tokens
    client = app.test_client()
    refused = client.post("/login", data={"username": "kefu", "password": "secret-kefu"})
    assert refused.status_code == 400 and "表单已过期" in text(refused)
    token = csrf_token_of(text(client.get("/login")))
    signed_in = client.post("/login", data={"username": "kefu", "password": "secret-kefu", "csrf_token": token})
    assert signed_in.status_code == 302
    assert client.post("/start/refund", data=START_FORM).status_code == 400  # no token: nothing started
    page = text(client.get("/start/refund"))
    started = client.post("/start/refund", data={**START_FORM, "csrf_token": csrf_token_of(page)})
    assert started.status_code == 302 and "/instances/" in started.headers["Location"]
    assert client.post("/logout").status_code == 400  # signing out is a form too


def test_the_api_stays_exempt_from_csrf_and_answers_json(app, deploy, make_user, auth):
    deploy()
    make_user("kefu", "aftersales_cs")
    client = app.test_client()
    response = client.post("/api/v1/instances", json={"process_id": "refund", "data": {
        "order_no": "A-1", "buyer": "b", "amount": "1.00", "shipping_fee": "0", "free_shipping": True,
        "goods_received": False, "quality_issue": False, "days_since_signed": 0, "reason": "r"}}, headers=auth("kefu"))
    assert response.status_code == 201, response.get_json()
    missing = client.get("/api/v1/nothing-here", headers=auth("kefu"))
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    assert client.get("/api/v1/instances/999", headers=auth("kefu")).get_json()["error"] == "not_found"
    page = client.get("/nothing-here")
    assert page.status_code == 404 and page.mimetype == "text/html" and "未找到" in text(page)


def test_signing_in_and_out(web, make_user):
    make_user("kefu", "aftersales_cs")
    client = web.test_client()
    wrong = sign_in(client, "kefu", "nope")
    assert wrong.status_code == 401 and "用户名或密码错误" in text(wrong)
    assert client.get("/worklist").status_code == 302
    response = sign_in(client, "kefu")
    assert response.status_code == 302 and response.headers["Location"] == "/worklist"
    assert "欢迎" in text(client.get("/worklist"))
    assert client.get("/logout").status_code == 405  # only a form post signs out
    assert client.post("/logout").headers["Location"] == "/login"
    assert client.get("/worklist").status_code == 302


def test_sign_in_goes_back_to_the_page_asked_for_but_never_off_site(web, make_user):
    make_user("kefu", "aftersales_cs")
    client = web.test_client()
    assert client.get("/instances?status=running").headers["Location"] == "/login?next=%2Finstances%3Fstatus%3Drunning"
    back = client.post("/login?next=/instances?status=running", data={"username": "kefu", "password": "secret-kefu"})
    assert back.headers["Location"] == "/instances?status=running"
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        client = web.test_client()
        response = client.post(f"/login?next={evil}", data={"username": "kefu", "password": "secret-kefu"})
        assert response.headers["Location"] == "/worklist", evil


def test_deactivated_users_and_changed_passwords_end_sessions(web, make_user, browser_as):
    make_user("kefu", "aftersales_cs")
    client = browser_as("kefu")
    assert client.get("/worklist").status_code == 200
    database = web.extensions["liucheng_db"]
    with database.session() as session:
        user = users.get_user(session, "kefu")
        user.password_hash = "pbkdf2:sha256:1000$x$" + "0" * 64
        session.commit()
    assert client.get("/worklist").status_code == 302  # the session was for the old password
    with database.session() as session:
        user = users.get_user(session, "kefu")
        user.active = False
        session.commit()
    assert sign_in(web.test_client(), "kefu").status_code == 401


def test_session_cookie_settings(web, make_user, tmp_path):
    make_user("kefu", "aftersales_cs")
    client = web.test_client()
    cookie = sign_in(client, "kefu").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # TESTING: plain http for the test server
    production = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "SECRET_KEY": "x"})
    assert production.config["SESSION_COOKIE_SECURE"] and production.config["SESSION_COOKIE_HTTPONLY"]
    assert production.config["SESSION_COOKIE_SAMESITE"] == "Lax" and production.config["REMEMBER_COOKIE_SECURE"]
    production.extensions["liucheng_db"].dispose()


def test_chinese_by_default_english_one_click_away(refund_world, browser_as, web):
    anonymous = web.test_client()
    login = text(anonymous.get("/login"))
    assert '<html lang="zh-CN">' in login and "登录" in login and 'id="lang-en"' in login
    english = anonymous.get("/lang/en?next=/login")
    assert english.headers["Location"] == "/login"
    assert "Sign in" in text(anonymous.get("/login"))
    client = browser_as("zhuguan")
    pages = ["/worklist", "/start", "/instances", f"/instances/{refund_world.instance_id}",
             f"/tasks/{refund_world.task_id}", "/incidents/"]
    for url in pages:
        page = text(client.get(url))
        assert "工作台" in page and 'id="lang-en"' in page, url
    client.get("/lang/en")
    for url in pages:
        page = text(client.get(url))
        assert "Worklist" in page and "工作台" not in page and 'id="lang-zh"' in page, url
    task = text(client.get(f"/tasks/{refund_world.task_id}"))
    assert "Supervisor approves" in task  # form labels follow the language
    assert client.get("/lang/xx?next=https://evil.example/").headers["Location"] == "/"


def test_every_asset_is_served_by_the_app(refund_world, browser_as):
    import re

    client = browser_as("zhuguan")
    page = text(client.get(f"/instances/{refund_world.instance_id}"))
    assets = re.findall(r'(?:src|href)="([^"#]+\.(?:css|js|svg|png|woff2?))"', page)
    assert assets and all(a.startswith("/static/") for a in assets), assets
    external = re.findall(r'(?:src|href|action)="(?:https?:)?//', page)
    assert not external  # no CDN, no external link (the SVG namespace is only a name)
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
