"""The ``liucheng`` command: db upgrade, deploy, user add/token, worker --once."""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from engine import users
from engine.models import Definition
from webui.cli import main

from conftest import DATA


def invoke(database_url, *args, input=None):
    return CliRunner().invoke(main, ["--database", database_url, *args], input=input)


def test_deploy_default_paths_twice_keeps_one_version(database_url, db_session):
    first = invoke(database_url, "deploy")
    assert first.exit_code == 0, first.output
    assert "refund v1 (new version)" in first.output
    second = invoke(database_url, "deploy")
    assert "refund v1 (unchanged)" in second.output
    assert db_session.scalars(select(Definition.version).where(Definition.process_id == "refund")).all() == [1]


def test_deploy_broken_file_names_file_line_element_and_deploys_nothing(database_url, db_session):
    result = invoke(database_url, "deploy", str(DATA / "approval.bpmn"), str(DATA / "forms"),
                    str(DATA / "broken.bpmn"))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "broken.bpmn:" in result.output and "[Task_orphan]" in result.output
    assert db_session.scalars(select(Definition)).all() == []


def test_deploy_missing_path_is_a_clear_error(database_url):
    result = invoke(database_url, "deploy", "/no/such/dir")
    assert result.exit_code == 1 and "No such file or directory" in result.output


def test_user_add_with_roles_attributes_and_stdin_password(database_url, db_session):
    result = invoke(database_url, "user", "add", "li", "--role", "pm", "--role", "supervisor",
                    "--attr", "categories=家电,数码", "--password-stdin", input="pw-li-1\n")
    assert result.exit_code == 0, result.output
    li = users.get_user(db_session, "li")
    assert li.roles == {"pm", "supervisor"} and li.attribute("categories") == "家电,数码"
    assert li.password_hash != "pw-li-1" and users.authenticate(db_session, "li", "pw-li-1") is li


def test_user_add_refuses_unknown_role_and_duplicates(database_url):
    bad = invoke(database_url, "user", "add", "x", "--role", "wizard", "--password-stdin", input="pw-x-1\n")
    assert bad.exit_code == 1 and "Unknown role" in bad.output
    assert invoke(database_url, "user", "add", "y", "--role", "pm", "--password-stdin", input="pw-y-1\n").exit_code == 0
    again = invoke(database_url, "user", "add", "y", "--role", "pm", "--password-stdin", input="pw-y-1\n")
    assert again.exit_code == 1 and "already exists" in again.output


def test_user_token_authenticates(database_url, db_session):
    invoke(database_url, "user", "add", "z", "--role", "finance", "--password-stdin", input="pw-z-1\n")
    result = invoke(database_url, "user", "token", "z")
    assert result.exit_code == 0
    assert users.user_for_token(db_session, result.output.strip()).username == "z"


def test_worker_once_with_nothing_due(database_url):
    result = invoke(database_url, "worker", "--once")
    assert result.exit_code == 0 and "Fired 0 timer(s)." in result.output


def test_worker_once_now_fires_a_deadline_of_the_future(database_url, db_session, make_user, deploy):
    from engine import runtime
    from engine.models import HumanTask

    deploy()
    make_user("li", "aftersales_cs", "supervisor")
    li = users.get_user(db_session, "li")
    instance = runtime.start_instance(db_session, "refund", {
        "order_no": "CLI-1", "buyer": "b", "amount": "10", "shipping_fee": "1", "free_shipping": False,
        "goods_received": True, "quality_issue": False, "days_since_signed": 1, "reason": "r"}, li)
    instance_id = instance.id
    for element, data in (("Task_aftersales_offer_exchange", {"real_reason": "x", "exchange_instead": False}),
                          ("Task_supervisor_approve_return", {"approved": True}),
                          ("Task_aftersales_send_return_address", {"return_address": "a", "order_flag": "purple"})):
        task_id = db_session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                               HumanTask.element_id == element))
        runtime.complete_task(db_session, task_id, data, li)
    db_session.rollback()
    assert invoke(database_url, "worker", "--once", "--now", "2020-01-01T00:00:00Z").output.startswith("Fired 0")
    later = invoke(database_url, "worker", "--once", "--now", "2099-01-01T00:00:00+08:00")
    assert later.exit_code == 0 and later.output.startswith("Fired ")  # with the start timers of other processes
    db_session.rollback()
    assert db_session.scalar(select(HumanTask.element_id).where(
        HumanTask.instance_id == instance_id, HumanTask.status == "open")) == "Task_aftersales_remind_buyer"
    bad = invoke(database_url, "worker", "--once", "--now", "tomorrow")
    assert bad.exit_code == 2 and "ISO time" in bad.output
