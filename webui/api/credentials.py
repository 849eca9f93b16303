"""Who is calling the API: HTTP Basic (username, password) or ``Authorization: Bearer <token>``.

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

The token routes are in ``webui.api.tokens``.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from flask import Flask, current_app, g, request
from sqlalchemy.orm import Session

from engine import logins, users
from engine.errors import AuthenticationError
from engine.models import User

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
