"""API tokens: issued for a number of days (CLI and API), listed, revoked, stored hashed; a revoked or expired
token gets 401 telling to get a new one; someone else's token is 404. And `liucheng serve` on a database it
cannot reach says which one in one line."""
from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from conftest import ROOT, basic_auth
from engine import users
from engine.models import ApiToken
from webui.cli import main

UNREACHABLE = "postgresql+psycopg://postgres:hunter2@127.0.0.1:1/nothing?connect_timeout=2"


def invoke(database_url, *args):
    return CliRunner().invoke(main, ["--database", database_url, *args])


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def tasks_with(client, token):
    return client.get("/api/v1/tasks", headers=bearer(token))


def token_rows(db_session):
    rows = [(r.id, r.user_id, r.token_hash, r.label, r.created_at, r.expires_at, r.revoked_at, r.last_used_at)
            for r in db_session.scalars(select(ApiToken).order_by(ApiToken.id))]
    db_session.rollback()
    return rows


@pytest.fixture
def people(make_user, clock):
    make_user("wang", "warehouse")
    make_user("li", "finance")
    make_user("root", "admin")


def issue(client, name, **body):
    response = client.post("/api/v1/tokens", headers=basic_auth(name), json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


# -- CLI -----------------------------------------------------------------------------------------------

def test_cli_issues_lists_and_revokes_tokens(database_url, client, people, clock):
    issued = invoke(database_url, "user", "token", "wang", "--expires-days", "7")
    assert issued.exit_code == 0, issued.output
    token = issued.output.strip()
    assert tasks_with(client, token).status_code == 200
    listing = invoke(database_url, "user", "tokens", "wang")
    assert listing.exit_code == 0, listing.output
    header, line = listing.output.strip().splitlines()
    assert header.split() == ["id", "created", "expires", "last", "used", "state", "label"]
    assert line.split() == ["1", "2026-11-02", "09:00", "2026-11-09", "09:00", "2026-11-02", "09:00", "active", "cli"]
    assert token not in listing.output

    revoked = invoke(database_url, "user", "revoke-token", "1")
    assert revoked.exit_code == 0 and "Token 1 revoked" in revoked.output
    refused = tasks_with(client, token)
    assert refused.status_code == 401 and "revoked" in refused.json["message"]
    assert "get a new one" in refused.json["message"]
    assert invoke(database_url, "user", "tokens", "wang").output.strip().splitlines()[1].split()[7] == "revoked"


def test_cli_token_defaults_to_90_days(database_url, people, clock, db_session):
    assert invoke(database_url, "user", "token", "li").exit_code == 0
    (row,) = token_rows(db_session)
    assert row[5] - row[4] == timedelta(days=90)


@pytest.mark.parametrize("args, says", [
    (("user", "token", "nobody"), "does not exist"),
    (("user", "token", "wang", "--expires-days", "0"), "1 to 3650 days"),
    (("user", "tokens", "nobody"), "does not exist"),
    (("user", "revoke-token", "99"), "no token 99"),
    (("user", "revoke-token", "99999999999"), "no token 99999999999"),
])
def test_cli_token_errors_are_one_line_and_exit_1(database_url, people, args, says):
    result = invoke(database_url, *args)
    assert result.exit_code == 1
    assert says in result.output and len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


# -- API -----------------------------------------------------------------------------------------------

def test_api_lists_the_callers_own_tokens_without_secrets(client, people, clock, db_session):
    first = issue(client, "wang", label="erp")
    second = issue(client, "wang", label="shop", expires_days=1)
    issue(client, "li", label="not yours")
    assert first["expires_at"] == "2027-01-31T09:00:00+00:00"  # 90 days by default
    assert second["expires_at"] == "2026-11-03T09:00:00+00:00" and second["label"] == "shop"
    listed = client.get("/api/v1/tokens", headers=basic_auth("wang"))
    assert listed.status_code == 200
    assert [t["label"] for t in listed.json] == ["erp", "shop"]
    assert listed.json[0] == {"id": first["id"], "label": "erp", "created_at": "2026-11-02T09:00:00+00:00",
                              "expires_at": "2027-01-31T09:00:00+00:00", "last_used_at": None, "revoked_at": None,
                              "revoked": False, "expired": False}
    text = listed.get_data(as_text=True)
    assert first["token"] not in text and all(row[2] not in text for row in token_rows(db_session))


def test_tokens_are_stored_as_their_sha256_only(client, people, db_session):
    token = issue(client, "wang")["token"]
    (row,) = token_rows(db_session)
    assert row[2] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(row)


def test_an_expired_token_gets_401_saying_to_get_a_new_one(client, people, clock):
    token = issue(client, "wang", expires_days=1)["token"]
    clock.advance(hours=23, minutes=59)
    assert tasks_with(client, token).status_code == 200
    clock.advance(minutes=1)
    response = tasks_with(client, token)
    assert response.status_code == 401 and response.json["error"] == "unauthenticated"
    assert "expired" in response.json["message"] and "get a new one" in response.json["message"]
    listed = client.get("/api/v1/tokens", headers=basic_auth("wang")).json
    assert listed[0]["expired"] is True and listed[0]["revoked"] is False


def test_revoking_an_own_token_through_the_api(client, people, clock):
    keep = issue(client, "wang", label="keep")
    drop = issue(client, "wang", label="drop")
    clock.advance(minutes=5)
    response = client.delete(f"/api/v1/tokens/{drop['id']}", headers=bearer(keep["token"]))
    assert response.status_code == 200
    assert response.json["revoked"] is True and response.json["revoked_at"] == "2026-11-02T09:05:00+00:00"
    refused = tasks_with(client, drop["token"])
    assert refused.status_code == 401 and "revoked" in refused.json["message"]
    assert tasks_with(client, keep["token"]).status_code == 200
    clock.advance(minutes=5)
    again = client.delete(f"/api/v1/tokens/{drop['id']}", headers=basic_auth("wang"))
    assert again.status_code == 200 and again.json["revoked_at"] == "2026-11-02T09:05:00+00:00"  # the first time stays


def test_someone_elses_token_is_404_and_stays_valid(client, people, db_session):
    theirs = issue(client, "li")
    response = client.delete(f"/api/v1/tokens/{theirs['id']}", headers=basic_auth("wang"))
    assert response.status_code == 404 and response.json["error"] == "not_found"
    assert client.delete("/api/v1/tokens/999", headers=basic_auth("wang")).status_code == 404
    assert tasks_with(client, theirs["token"]).status_code == 200
    assert token_rows(db_session)[0][6] is None


def test_an_admin_may_revoke_anyones_token(client, people):
    theirs = issue(client, "li")
    assert client.delete(f"/api/v1/tokens/{theirs['id']}", headers=basic_auth("root")).status_code == 200
    assert tasks_with(client, theirs["token"]).status_code == 401
    assert client.get("/api/v1/tokens", headers=basic_auth("root")).json == []  # the list is the caller's own


@pytest.mark.parametrize("body", [{"expires_days": 0}, {"expires_days": 3651}, {"expires_days": "7"},
                                  {"expires_days": None}, {"label": "x" * 129}, {"lifetime": 3}])
def test_bad_token_requests_are_400_and_issue_nothing(client, people, db_session, body):
    response = client.post("/api/v1/tokens", headers=basic_auth("wang"), json=body)
    assert response.status_code == 400 and response.json["error"] == "bad_request"
    assert token_rows(db_session) == []


def test_last_use_is_noted_at_most_once_a_minute(client, people, clock, db_session):
    token = issue(client, "wang")["token"]
    assert token_rows(db_session)[0][7] is None
    tasks_with(client, token)
    clock.advance(seconds=30)
    tasks_with(client, token)
    assert token_rows(db_session)[0][7] == clock.now() - timedelta(seconds=30)
    clock.advance(seconds=31)
    tasks_with(client, token)
    assert token_rows(db_session)[0][7] == clock.now()
    listed = client.get("/api/v1/tokens", headers=basic_auth("wang")).json
    assert listed[0]["last_used_at"] == clock.now().isoformat() + "+00:00"


def test_a_deactivated_users_token_gets_401(client, people, db_session):
    token = issue(client, "wang")["token"]
    users.get_user(db_session, "wang").active = False
    db_session.commit()
    assert tasks_with(client, token).status_code == 401


def test_unknown_token_says_how_to_get_one(client, people):
    response = tasks_with(client, "made-up")
    assert response.status_code == 401 and "get a new one" in response.json["message"]


def test_the_token_routes_are_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").json
    paths = document["paths"]
    assert set(paths["/api/v1/tokens"]) == {"get", "post"}
    assert set(paths["/api/v1/tokens/{token_id}"]) == {"delete"}
    body = paths["/api/v1/tokens"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "expires_days" in document["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]
    listed = paths["/api/v1/tokens"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed["type"] == "array"


# -- serve on an unreachable database -----------------------------------------------------------------------

def test_serve_on_an_unreachable_database_says_which_in_one_line():
    result = CliRunner().invoke(main, ["--database", UNREACHABLE, "serve"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "127.0.0.1:1/nothing" in lines[0] and "cannot use the database" in lines[0]
    assert "hunter2" not in result.output and "***" in lines[0]


def test_serve_command_exits_1_with_one_line_on_stderr():
    done = subprocess.run([sys.executable, "-c", "from webui.cli import main; main()", "--database", UNREACHABLE,
                           "serve", "--port", "0"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "hunter2" not in done.stderr
    assert "postgresql+psycopg://postgres:***@127.0.0.1:1/nothing" in done.stderr


def test_serve_with_a_bad_connection_option_says_which_url_in_one_line():
    """A driver's ProgrammingError (bad connect_timeout) is not a traceback either."""
    url = "postgresql+psycopg://postgres:hunter2@127.0.0.1:1/nothing?connect_timeout=soon"
    result = CliRunner().invoke(main, ["--database", url, "serve"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "cannot use the database" in lines[0] and "connect_timeout" in lines[0]
    assert "hunter2" not in result.output
