"""Shared helpers of the web page tests (``tests/test_web_*.py``); no tests here.

``web`` is the suite's ``app`` with CSRF checks off (one test turns them back on);
``browser_as(name)`` is a test client signed in through the login form;
``refund_world`` deploys the refund process and starts one refund-only
application (waiting for the supervisor) as an after-sales user.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import instances, runtime, users
from engine.models import HumanTask

ROOT = Path(__file__).resolve().parent.parent
REFUND = ROOT / "processes" / "refund.bpmn"
FORMS = ROOT / "forms"
START_FORM = {"order_no": "W-1001", "buyer": "小王", "amount": "88.00", "shipping_fee": "8.00",
              "free_shipping": "false", "goods_received": "false", "quality_issue": "false",
              "days_since_signed": "0", "reason": "没有收到货"}
START_DATA = {"order_no": "W-1001", "buyer": "小王", "amount": "88.00", "shipping_fee": "8.00", "free_shipping": False,
              "goods_received": False, "quality_issue": False, "days_since_signed": 0, "reason": "没有收到货"}


@pytest.fixture
def web(app):
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def sign_in(client, name: str, password: str | None = None):
    return client.post("/login", data={"username": name, "password": password or f"secret-{name}"})


@pytest.fixture
def browser_as(web):
    def make(name: str, password: str | None = None):
        client = web.test_client()
        response = sign_in(client, name, password)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client
    return make


@dataclass
class World:
    instance_id: int
    task_id: int


def start_refund(app, username: str, **changes) -> int:
    with app.extensions["liucheng_db"].session() as session:
        instance = runtime.start_instance(session, "refund", {**START_DATA, **changes}, users.get_user(session, username))
        return instance.id


def open_task(app, instance_id: int) -> HumanTask:
    with app.extensions["liucheng_db"].session() as session:
        return session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                       HumanTask.status.in_(instances.ACTIVE_TASK))).one()


@pytest.fixture
def refund_world(web, deploy, make_user) -> World:
    deploy(REFUND, FORMS)
    make_user("kefu", "aftersales_cs")
    make_user("zhuguan", "supervisor")
    make_user("caiwu", "finance")
    make_user("cangku", "warehouse")
    make_user("shenji", "auditor")
    make_user("guanli", "admin")
    instance_id = start_refund(web, "kefu")
    return World(instance_id, open_task(web, instance_id).id)


def csrf_token_of(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def text(response) -> str:
    return response.get_data(as_text=True)
