"""The operation log (issue 15, item 4), administration's part: deploys, users (create, roles, attributes,
display name, activity, password), API tokens (issue, revoke) and sign-in lockouts are operation events in
the history chain, written with the change in its transaction, through every public way of making the
change (REST API, CLI, admin pages); a refused change records nothing; no password, token or token hash
is ever in an event."""
from __future__ import annotations

import getpass
import io
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from conftest import ROOT, basic_auth
from engine import chain_verify, logins, users
from engine.errors import ValidationError
from engine.models import ApiToken, Definition, HistoryEvent, User
from web_support import browser_as, sign_in, web  # noqa: F401 (fixtures)
from webui.cli import main

DATA = ROOT / "tests" / "data"
CLI_ACTOR = f"cli:{getpass.getuser()}"
ATTACKER = "203.0.113.7"
OTHER_ADDRESS = "198.51.100.20"
AS_XML = {"Content-Type": "application/xml"}


def operations(db_session, operation: str | None = None) -> list[dict]:
    """The operation events, oldest first, as ``{actor, operation, entity_type, entity_id, property, old,
    new, reason, instance_id}``."""
    query = select(HistoryEvent).where(HistoryEvent.type == "operation").order_by(HistoryEvent.id)
    if operation:
        query = query.where(HistoryEvent.operation == operation)
    rows = [{"actor": e.actor, "operation": e.operation, "entity_type": e.entity_type, "entity_id": e.entity_id,
             "property": e.data.get("property"), "old": e.data.get("old"), "new": e.data.get("new"),
             "reason": e.data.get("reason"), "instance_id": e.instance_id} for e in db_session.scalars(query)]
    db_session.rollback()  # end the read: the next look sees what was written since
    return rows


def chain_is_intact(db_session) -> bool:
    verdict = chain_verify.verify(db_session)
    db_session.rollback()
    return verdict.intact


def invoke(database_url, *args, input=None):
    return CliRunner().invoke(main, ["--database", database_url, *args], input=input)


def upload(client, *files: tuple[str, bytes]):
    return client.post("/admin/definitions", content_type="multipart/form-data",
                       data={"files": [(io.BytesIO(content), name) for name, content in files]})


def definition_hash(db_session, process_id: str, version: int) -> str:
    value = db_session.scalar(select(Definition.content_hash).where(Definition.process_id == process_id,
                                                                    Definition.version == version))
    db_session.rollback()
    return value


# -- deploy -------------------------------------------------------------------------------------------

def test_a_deploy_through_the_api_records_each_new_version_once(client, make_user, auth, db_session, clock):
    make_user("sheji", "designer")
    loop = (DATA / "loop.bpmn").read_bytes()
    assert client.post("/api/v1/definitions?filename=loop.bpmn", data=loop,
                       headers={**auth("sheji"), **AS_XML}).status_code == 201
    (deployed,) = operations(db_session, "deploy")
    assert deployed == {"actor": "sheji", "operation": "deploy", "entity_type": "definition", "entity_id": "bench_loop:1",
                        "property": None, "old": None, "reason": None, "instance_id": None,
                        "new": {"process_id": "bench_loop", "version": 1, "source_name": "loop.bpmn",
                                "content_hash": definition_hash(db_session, "bench_loop", 1)}}
    again = client.post("/api/v1/definitions?filename=loop.bpmn", data=loop, headers={**auth("sheji"), **AS_XML})
    assert again.status_code == 201 and again.json[0]["status"] == "unchanged"
    assert len(operations(db_session, "deploy")) == 1  # nothing changed: nothing recorded
    changed = loop.replace('name="循环基准"'.encode(), 'name="循环基准（二）"'.encode())
    assert client.post("/api/v1/definitions?filename=loop.bpmn", data=changed,
                       headers={**auth("sheji"), **AS_XML}).json[0]["status"] == "created"
    assert [o["entity_id"] for o in operations(db_session, "deploy")] == ["bench_loop:1", "bench_loop:2"]
    assert chain_is_intact(db_session)


def test_a_refused_deploy_records_nothing(client, make_user, auth, db_session):
    make_user("sheji", "designer")
    make_user("wang", "warehouse")
    loop = (DATA / "loop.bpmn").read_bytes()
    broken = (DATA / "broken.bpmn").read_bytes()
    assert client.post("/api/v1/definitions?filename=broken.bpmn", data=broken,
                       headers={**auth("sheji"), **AS_XML}).status_code == 422
    assert client.post("/api/v1/definitions?filename=loop.bpmn", data=loop,
                       headers={**auth("wang"), **AS_XML}).status_code == 403
    assert operations(db_session, "deploy") == []


def test_a_deploy_of_several_processes_records_one_operation_per_new_version(client, make_user, auth, db_session):
    make_user("sheji", "designer")
    files = {"approval.bpmn": (DATA / "approval.bpmn").read_text(), "loop.bpmn": (DATA / "loop.bpmn").read_text()}
    forms = {p.stem: json.loads(p.read_text()) for p in sorted((DATA / "forms").glob("approval_*.json"))}
    reply = client.post("/api/v1/definitions", json={"files": files, "forms": forms}, headers=auth("sheji"))
    assert reply.status_code == 201, reply.get_json()
    assert sorted(o["entity_id"] for o in operations(db_session, "deploy")) == ["approval:1", "bench_loop:1"]


def test_the_cli_deploy_is_recorded_as_the_os_user(database_url, app, db_session):
    result = invoke(database_url, "deploy", str(DATA / "loop.bpmn"))
    assert result.exit_code == 0, result.output
    (deployed,) = operations(db_session, "deploy")
    assert deployed["actor"] == CLI_ACTOR and deployed["entity_id"] == "bench_loop:1"
    assert deployed["new"]["source_name"] == "loop.bpmn"


def test_the_upload_page_deploy_is_recorded_as_the_signed_in_admin(web, make_user, browser_as, db_session):
    make_user("guanli", "admin")
    client = browser_as("guanli")
    assert upload(client, ("loop.bpmn", (DATA / "loop.bpmn").read_bytes())).status_code == 302
    assert [(o["actor"], o["entity_id"]) for o in operations(db_session, "deploy")] == [("guanli", "bench_loop:1")]
    assert upload(client, ("broken.bpmn", (DATA / "broken.bpmn").read_bytes())).status_code == 422
    assert len(operations(db_session, "deploy")) == 1


# -- users ---------------------------------------------------------------------------------------------

def test_a_user_created_on_the_admin_page_is_recorded_without_the_password(web, make_user, browser_as, db_session):
    make_user("guanli", "admin")
    client = browser_as("guanli")
    created = client.post("/admin/users/", data={"username": "pm_li", "display_name": "李经理", "password": "pw-9876",
                                                 "roles": ["pm", "operations"], "attributes": "categories=家电,数码"})
    assert created.status_code == 302
    recorded = operations(db_session, "user_create")[-1]
    assert recorded == {"actor": "guanli", "operation": "user_create", "entity_type": "user", "entity_id": "pm_li",
                        "property": None, "old": None, "reason": None, "instance_id": None,
                        "new": {"display_name": "李经理", "roles": ["operations", "pm"],
                                "attributes": {"categories": "家电,数码"}}}
    assert "pw-9876" not in json.dumps(recorded, ensure_ascii=False)
    refused = client.post("/admin/users/", data={"username": "x", "password": "pw-1234", "roles": ["wizard"]})
    taken = client.post("/admin/users/", data={"username": "pm_li", "password": "pw-1234", "roles": ["pm"]})
    assert refused.status_code == 422 and taken.status_code == 422
    assert [o["entity_id"] for o in operations(db_session, "user_create")] == ["guanli", "pm_li"]


def test_a_user_added_with_the_cli_is_recorded_as_the_os_user(database_url, app, db_session):
    result = invoke(database_url, "user", "add", "wang", "--role", "warehouse", "--attr", "site=华东",
                    "--password-stdin", input="hunter22\n")
    assert result.exit_code == 0, result.output
    (recorded,) = operations(db_session, "user_create")
    assert recorded["actor"] == CLI_ACTOR and recorded["entity_id"] == "wang"
    assert recorded["new"] == {"display_name": "wang", "roles": ["warehouse"], "attributes": {"site": "华东"}}
    assert invoke(database_url, "user", "add", "wang", "--role", "warehouse", "--password-stdin",
                  input="hunter22\n").exit_code == 1  # already exists
    assert invoke(database_url, "user", "add", "cli:root", "--role", "admin", "--password-stdin",
                  input="hunter22\n").exit_code == 1  # no user can pose as the command line
    assert len(operations(db_session, "user_create")) == 1


def test_an_admin_edit_records_each_change_with_old_and_new(web, make_user, browser_as, db_session):
    make_user("guanli", "admin")
    make_user("pm_wang", "pm", "operations", categories="家电", region="华北")
    client = browser_as("guanli")
    saved = client.post("/admin/users/pm_wang", data={
        "display_name": "王经理", "roles": ["pm", "finance"], "attributes": "categories=家电,数码\nlevel=2",
        "password": "new-secret-1"})  # "active" unticked: deactivated
    assert saved.status_code == 302
    changes = [(o["operation"], o["property"], o["old"], o["new"]) for o in operations(db_session)
               if o["operation"] != "user_create"]
    assert changes == [
        ("role_change", "roles", ["operations", "pm"], ["finance", "pm"]),
        ("attribute_change", "categories", "家电", "家电,数码"),
        ("attribute_change", "level", None, "2"),
        ("attribute_change", "region", "华北", None),
        ("user_update", "display_name", "pm_wang", "王经理"),
        ("user_update", "active", True, False),
        ("user_update", "password", None, "changed"),
    ]
    everything = operations(db_session)
    assert {(o["actor"], o["entity_type"], o["entity_id"]) for o in everything[2:]} == {("guanli", "user", "pm_wang")}
    assert "new-secret-1" not in json.dumps(everything, ensure_ascii=False)
    assert chain_is_intact(db_session)


def test_an_unchanged_save_and_a_reactivation_record_only_what_changed(web, make_user, browser_as, db_session):
    make_user("guanli", "admin")
    make_user("pm_wang", "pm")
    client = browser_as("guanli")
    same = {"display_name": "pm_wang", "roles": ["pm"], "attributes": "", "active": "on"}
    assert client.post("/admin/users/pm_wang", data=same).status_code == 302
    assert len(operations(db_session)) == 2  # the two user_create
    client.post("/admin/users/pm_wang", data={**same, "active": ""})
    client.post("/admin/users/pm_wang", data=same)
    assert [(o["property"], o["old"], o["new"]) for o in operations(db_session, "user_update")] == [
        ("active", True, False), ("active", False, True)]


def test_a_refused_user_change_records_nothing(web, make_user, browser_as, db_session):
    make_user("guanli", "admin")
    make_user("pm_wang", "pm")
    client = browser_as("guanli")
    short = client.post("/admin/users/pm_wang", data={"roles": ["finance"], "active": "on", "password": "abc"})
    own = client.post("/admin/users/guanli", data={"roles": ["auditor"], "active": "on"})
    bad_key = client.post("/admin/users/pm_wang", data={"roles": ["pm"], "active": "on", "attributes": "a b=1"})
    assert (short.status_code, own.status_code, bad_key.status_code) == (422, 422, 422)
    assert {o["operation"] for o in operations(db_session)} == {"user_create"}


def test_the_engine_refuses_a_change_as_a_whole_and_records_nothing(app, make_user, db_session):
    make_user("guanli", "admin")
    make_user("pm_wang", "pm")
    admin = users.get_user(db_session, "guanli")
    with pytest.raises(ValidationError):
        users.update_user(db_session, "pm_wang", admin, ["finance"], {"bad key": "1"}, "new-secret")
    assert {o["operation"] for o in operations(db_session)} == {"user_create"}
    assert users.get_user(db_session, "pm_wang").roles == {"pm"}
    db_session.rollback()


# -- tokens --------------------------------------------------------------------------------------------

def test_tokens_issued_and_revoked_through_the_api_are_recorded_without_the_secret(client, make_user, auth,
                                                                                  db_session, clock):
    make_user("wang", "warehouse")
    make_user("root", "admin")
    issued = client.post("/api/v1/tokens", headers=auth("wang"), json={"label": "shop", "expires_days": 7})
    assert issued.status_code == 201
    token_id, secret = issued.json["id"], issued.json["token"]
    (recorded,) = operations(db_session, "token_issue")
    assert recorded == {"actor": "wang", "operation": "token_issue", "entity_type": "token",
                        "entity_id": str(token_id), "property": None, "old": None, "reason": None,
                        "instance_id": None,
                        "new": {"user": "wang", "label": "shop", "expires_at": "2026-11-09T09:00:00+00:00"}}
    stored_hash = db_session.scalar(select(ApiToken.token_hash).where(ApiToken.id == token_id))
    db_session.rollback()
    clock.advance(hours=1)
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=auth("root")).status_code == 200  # an admin: anyone's
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=auth("wang")).status_code == 200  # again: no change
    (revoked,) = operations(db_session, "token_revoke")
    assert (revoked["actor"], revoked["entity_id"], revoked["property"]) == ("root", str(token_id), "revoked_at")
    assert revoked["new"] == {"user": "wang", "label": "shop", "expires_at": "2026-11-09T09:00:00+00:00",
                              "revoked_at": "2026-11-02T10:00:00+00:00"}
    logged = json.dumps(operations(db_session))
    assert secret not in logged and stored_hash not in logged


def test_refused_token_requests_record_nothing(client, make_user, auth, db_session):
    make_user("wang", "warehouse")
    make_user("li", "finance")
    assert client.post("/api/v1/tokens", headers=auth("wang"), json={"expires_days": 0}).status_code in (400, 422)
    issued = client.post("/api/v1/tokens", headers=auth("wang"), json={}).json
    bearer = {"Authorization": f"Bearer {issued['token']}"}
    assert client.post("/api/v1/tokens", headers=bearer, json={}).status_code == 401  # Basic only
    assert client.delete(f"/api/v1/tokens/{issued['id']}", headers=auth("li")).status_code == 404  # not li's
    assert [o["operation"] for o in operations(db_session) if o["entity_type"] == "token"] == ["token_issue"]


def test_cli_tokens_are_issued_and_revoked_as_the_os_user(database_url, make_user, db_session, clock):
    make_user("wang", "warehouse")
    issued = invoke(database_url, "user", "token", "wang", "--label", "courier")
    assert issued.exit_code == 0, issued.output
    assert invoke(database_url, "user", "revoke-token", "1").exit_code == 0
    assert invoke(database_url, "user", "revoke-token", "1").exit_code == 0
    assert invoke(database_url, "user", "revoke-token", "7").exit_code == 1
    tokens = [(o["operation"], o["actor"], o["entity_id"], o["new"]["user"], o["new"]["label"])
              for o in operations(db_session) if o["entity_type"] == "token"]
    assert tokens == [("token_issue", CLI_ACTOR, "1", "wang", "courier"),
                      ("token_revoke", CLI_ACTOR, "1", "wang", "courier")]
    assert issued.output.strip() not in json.dumps(operations(db_session))


# -- login lockouts --------------------------------------------------------------------------------------

def api_get(client, headers, address=ATTACKER):
    return client.get("/api/v1/tasks", headers=headers, environ_base={"REMOTE_ADDR": address})


def wrong(name):
    return basic_auth(name, "not-the-password")


def test_a_lockout_is_recorded_once_when_it_starts_and_again_for_the_next_one(client, make_user, db_session, clock):
    make_user("wang", "warehouse")
    for _ in range(logins.USER_LIMIT - 1):
        assert api_get(client, wrong("wang")).status_code == 401
    assert operations(db_session, "login_lockout") == []
    clock.advance(minutes=2)
    assert api_get(client, wrong("wang")).status_code == 401  # the fifth: the lock starts
    for _ in range(3):  # refused while locked, the right password too: the same lockout
        assert api_get(client, basic_auth("wang")).status_code == 429
        assert api_get(client, wrong("wang"), OTHER_ADDRESS).status_code == 429
    (lockout,) = operations(db_session, "login_lockout")
    assert lockout == {"actor": "system", "operation": "login_lockout", "entity_type": "user", "entity_id": "wang",
                       "property": None, "old": None, "reason": None, "instance_id": None,
                       "new": {"address": ATTACKER, "channel": "api", "until": "2026-11-02T09:15:00+00:00"}}
    clock.advance(minutes=14)  # the first four failures left the window: one left, the lock lifted
    for _ in range(logins.USER_LIMIT - 1):  # with the one of 09:02: a new lock, until that one leaves the window
        assert api_get(client, wrong("wang")).status_code == 401
    assert api_get(client, basic_auth("wang")).status_code == 429
    assert [o["new"]["until"] for o in operations(db_session, "login_lockout")] == [
        "2026-11-02T09:15:00+00:00", "2026-11-02T09:17:00+00:00"]
    assert chain_is_intact(db_session)


def test_a_lockout_on_the_sign_in_page_commits_though_the_sign_in_fails(web, make_user, db_session, clock):
    make_user("wang", "warehouse")
    client = web.test_client()
    for _ in range(logins.USER_LIMIT):
        assert sign_in(client, "wang", "wrong-password").status_code == 401
    assert sign_in(client, "wang").status_code == 429
    (lockout,) = operations(db_session, "login_lockout")
    assert (lockout["entity_type"], lockout["entity_id"], lockout["new"]["channel"]) == ("user", "wang", "web")


def test_an_unknown_name_is_locked_and_recorded_without_the_name(client, app, db_session, clock):
    """What was typed into the name field may be a password: the chain, which keeps it forever, gets it only
    when it is a user's name; the lock itself still holds and is still recorded (with its address)."""
    typed = "s3cret-Passw0rd"
    for _ in range(logins.USER_LIMIT):
        assert api_get(client, wrong(typed)).status_code == 401
    assert api_get(client, wrong(typed)).status_code == 429
    (lockout,) = operations(db_session, "login_lockout")
    assert (lockout["entity_type"], lockout["entity_id"]) == ("user", logins.UNKNOWN)
    assert lockout["new"] == {"address": ATTACKER, "channel": "api", "until": "2026-11-02T09:15:00+00:00"}
    assert typed not in json.dumps(all_event_rows(db_session))
    assert db_session.scalar(select(User).where(User.username == typed)) is None
    db_session.rollback()


def all_event_rows(db_session) -> list[list]:
    """Every history event's stored columns, as text can find them."""
    rows = [[e.type, e.actor, e.operation, e.entity_type, e.entity_id, e.data]
            for e in db_session.scalars(select(HistoryEvent))]
    db_session.rollback()
    return rows


def test_an_address_lockout_is_recorded_under_the_address(client, app, db_session, clock):
    for n in range(logins.ADDRESS_LIMIT):
        assert api_get(client, wrong(f"guess{n}")).status_code == 401
    assert api_get(client, wrong("guess-more")).status_code == 429
    (lockout,) = operations(db_session, "login_lockout")
    assert (lockout["entity_type"], lockout["entity_id"]) == ("address", ATTACKER)
    assert lockout["new"] == {"username": logins.UNKNOWN, "channel": "api",  # no user is named guess29
                              "until": "2026-11-02T09:15:00+00:00"}


def test_an_address_lockout_names_the_last_user_only_when_there_is_one(client, make_user, db_session, clock):
    make_user("wang", "warehouse")
    for n in range(logins.ADDRESS_LIMIT - 1):
        assert api_get(client, wrong(f"guess{n}")).status_code == 401
    assert api_get(client, wrong("wang")).status_code == 401  # the thirtieth, on a real name: the lock starts
    assert api_get(client, basic_auth("wang")).status_code == 429
    (lockout,) = operations(db_session, "login_lockout")
    assert (lockout["entity_type"], lockout["entity_id"]) == ("address", ATTACKER)
    assert lockout["new"]["username"] == "wang"
    assert not any("guess" in json.dumps(row) for row in all_event_rows(db_session))
