"""Who is calling: HTTP Basic (username, password) or ``Authorization: Bearer <token>``; the token routes.

Every Basic request first asks ``engine.logins`` whether its user name and address
are locked (too many failed sign-ins): a locked caller gets 429 even with the right
password, and before the credential cache is consulted, so a cached entry never
lets a locked user in. A wrong Basic password is a recorded failure like one typed
into the sign-in page. Bearer tokens are 256-bit random and not throttled.

Passwords are hashed with pbkdf2 on purpose slowly, so a successful Basic check
is remembered for ``AUTH_CACHE_SECONDS`` (default 5 minutes) under
sha256(username, password, stored hash): an API client making many calls pays
the hash once, and a changed password or hash never matches an old entry.
Users are still read on every request, so deactivating one takes effect at once.

Tokens: ``POST /tokens`` (Basic only) issues one lasting ``expires_days`` (default
90); ``GET /tokens`` lists the caller's own; ``DELETE /tokens/<id>`` revokes one of
the caller's own — an admin may revoke anyone's; anyone else's is 404.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from flask import Blueprint, Flask, current_app, g, request
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import Session

from engine import logins, users
from engine.errors import AuthenticationError
from engine.models import ApiToken, User
from webui.api_openapi import documented
from webui.db import get_session
from webui.schemas import dump, load_json

EXTENSION = "liucheng_credentials"
CHALLENGE = 'Basic realm="liucheng"'


class CredentialCache:
    """Successful password checks, each remembered for ``ttl`` seconds."""

    def __init__(self, ttl: float = 300.0, max_entries: int = 10_000):
        self.ttl = ttl
        self.max_entries = max_entries
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(username: str, password: str, stored_hash: str) -> str:
        return hashlib.sha256(json.dumps([username, password, stored_hash]).encode()).hexdigest()

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return self._expiry.get(key, 0.0) > time.monotonic()

    def add(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._expiry) >= self.max_entries:
                self._expiry = {k: t for k, t in self._expiry.items() if t > now}
                if len(self._expiry) >= self.max_entries:
                    self._expiry.clear()
            self._expiry[key] = now + self.ttl


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = CredentialCache(ttl=float(app.config["AUTH_CACHE_SECONDS"]))


def is_public(endpoint: str | None) -> bool:
    """Whether the view is documented as needing no credentials (``documented(..., public=True)``)."""
    doc = getattr(current_app.view_functions.get(endpoint or ""), "openapi", None)
    return bool(doc and doc.public)


def current_user() -> User:
    return g.user


def authenticate_request(session: Session) -> User:
    """The user named by the request's credentials, or ``AuthenticationError``."""
    credentials = request.authorization
    if credentials is None and request.headers.get("Authorization"):
        raise AuthenticationError("The Authorization header cannot be read: Basic credentials are the base64 of "
                                  "'username:password' in UTF-8; a bearer token is 'Bearer <token>'.")
    if credentials is None:
        raise AuthenticationError("Log in: send HTTP Basic credentials or 'Authorization: Bearer <token>' "
                                  "(get a token with POST /api/v1/tokens).")
    if credentials.type == "basic":
        user = _check_password(session, credentials.username or "", credentials.password or "")
    elif credentials.type == "bearer":
        user = users.user_for_token(session, credentials.token or "")
    else:
        raise AuthenticationError(f"Authorization scheme '{credentials.type}' is not supported; use Basic or Bearer.")
    g.auth_type = credentials.type
    session.commit()  # end the read transaction; the command that follows opens its own
    return user


def _check_password(session: Session, username: str, password: str) -> User:
    address = request.remote_addr or ""
    logins.check_allowed(session, username, address, logins.Channel.API)  # before the cache: a lock wins
    cache: CredentialCache = current_app.extensions[EXTENSION]
    user = users.find_user(session, username)
    if user is not None and user.active and cache.key(username, password, user.password_hash) in cache:
        return user
    try:
        user = users.authenticate(session, username, password)
    except AuthenticationError:
        logins.record_failure(session, username, address, logins.Channel.API)
        raise
    cache.add(cache.key(username, password, user.password_hash))
    return user


# -- tokens ---------------------------------------------------------------------------------

class NewTokenSchema(Schema):
    label = fields.String(load_default="", validate=validate.Length(max=128))
    expires_days = fields.Integer(strict=True, load_default=users.TOKEN_DAYS,
                                  validate=validate.Range(min=1, max=users.MAX_TOKEN_DAYS),
                                  metadata={"description": "Days until the token expires (default 90)."})


class IssuedTokenSchema(Schema):
    token = fields.String(required=True, metadata={"description": "Send as 'Authorization: Bearer <token>'; "
                                                                 "shown only this once."})
    id = fields.Integer()
    label = fields.String()
    expires_at = fields.DateTime()


class TokenInfoSchema(Schema):
    id = fields.Integer()
    label = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True, metadata={"description": "Within a minute."})
    revoked_at = fields.DateTime(allow_none=True)
    revoked = fields.Function(lambda row: row.revoked_at is not None, metadata={"type": "boolean"})
    expired = fields.Function(users.is_expired, metadata={"type": "boolean"})


tokens = Blueprint("tokens", __name__)


@tokens.post("/tokens")
@documented("Issue a bearer token for the caller (HTTP Basic only)", "auth", body=NewTokenSchema,
            response=IssuedTokenSchema, status=201, errors=(400, 401))
def issue_token():
    if g.auth_type != "basic":
        raise AuthenticationError("Ask for a token with your username and password (HTTP Basic).")
    body = load_json(NewTokenSchema())
    row, token = users.create_token(get_session(), current_user(), body["label"], body["expires_days"])
    return dump(IssuedTokenSchema(), {"token": token, "id": row.id, "label": row.label,
                                      "expires_at": row.expires_at}), 201


@tokens.get("/tokens")
@documented("The caller's tokens (revoked and expired ones too; never the secret)", "auth",
            response=TokenInfoSchema, many=True, errors=(401,))
def list_tokens():
    return dump(TokenInfoSchema(many=True), users.tokens_of(get_session(), current_user()))


@tokens.delete("/tokens/<int:token_id>")
@documented("Revoke one of the caller's tokens (an admin: anyone's)", "auth", response=TokenInfoSchema,
            errors=(401, 403, 404))
def revoke_token(token_id: int):
    row: ApiToken = users.revoke_token(get_session(), token_id, current_user())
    return dump(TokenInfoSchema(), row)
