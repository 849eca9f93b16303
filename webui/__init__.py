"""The Liucheng web application: the REST API and the web worklist.

``create_app`` follows the Flask tutorial's application factory::

    app = create_app()                                   # LIUCHENG_DATABASE_URL or ./liucheng.db
    app = create_app({"DATABASE_URL": "sqlite:///x.db", "TESTING": True})

Config keys: ``DATABASE_URL``, ``SECRET_KEY`` (``LIUCHENG_SECRET_KEY`` or random),
``AUTO_UPGRADE`` (default True: bring the schema to the newest revision and
create the standard roles), ``AUTH_CACHE_SECONDS`` (how long a verified
password is remembered, default 300), ``MAX_CONTENT_LENGTH`` (a request's body: 10 files of ``LIUCHENG_MAX_UPLOAD_MB``
(default 20) + 1 MB; each file is checked on its own too).

Every response carries the browser-hardening headers of ``security_headers``;
every request's input follows ``strict_input`` (no NUL, 64-bit numbers in URLs).

The package: ``api/`` (the JSON REST API, one blueprint per noun), ``pages/`` (the HTML pages,
one blueprint per noun), and what both use: ``db`` (a session per request), ``http_status`` (the
one EngineError → HTTP status map), ``strict_input``, ``security_headers``, ``diagram`` (BPMN
as SVG); ``cli`` (the ``liucheng`` command) and ``demo`` (demo data).

The web pages (``webui.pages``) sign users in with Flask-Login, check a
CSRF token on every form post (Flask-WTF; the ``/api/v1`` blueprint is exempt:
it authenticates every request with Basic or bearer credentials, never a
cookie, whose session is not even opened there) and speak Chinese by default, English on request (Flask-Babel). The
session cookie is HttpOnly, SameSite=Lax and Secure unless the app runs in
TESTING or debug mode, or ``LIUCHENG_SECURE_COOKIES=0`` is set for a plain
HTTP intranet.
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from typing import Any, Mapping, Optional

from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from engine import file_store, runtime, users
from engine.config import default_database_url, timezone
from engine.database import Database
from webui import api, compression, db, pages, security_headers
from webui.http_status import is_api_path
from webui.strict_input import WholeNumberConverter


class PageSessions(SecureCookieSessionInterface):
    """The session cookie is the pages' alone: an API request gets an empty, unsaved session."""

    def open_session(self, app: Flask, request):
        if is_api_path(request.path):
            return self.null_session_class()
        return super().open_session(app, request)


def create_app(test_config: Optional[Mapping[str, Any]] = None) -> Flask:
    app = Flask(__name__)
    app.url_map.converters["int"] = WholeNumberConverter  # before any route is added
    app.session_interface = PageSessions()
    app.config.from_mapping(
        DATABASE_URL=default_database_url(),
        SECRET_KEY=os.environ.get("LIUCHENG_SECRET_KEY") or secrets.token_hex(32),
        AUTO_UPGRADE=True,
        AUTH_CACHE_SECONDS=300,
        MAX_CONTENT_LENGTH=file_store.max_request_bytes(),  # 10 files' worth and the form around them
        BABEL_DEFAULT_LOCALE="zh",
        BABEL_DEFAULT_TIMEZONE=timezone().key,  # LIUCHENG_TIMEZONE: the zone every page shows
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=12 * 3600,
        WTF_CSRF_CHECK_DEFAULT=False,  # checked by ``webui.pages``' ``check_csrf``, which skips the API
    )
    if test_config is not None:
        app.config.from_mapping(test_config)
    given = dict(test_config or {})
    if "SESSION_COOKIE_SECURE" not in given:  # Flask's own default is False: decide here
        app.config["SESSION_COOKIE_SECURE"] = (not (app.config.get("TESTING") or app.debug)
                                               and os.environ.get("LIUCHENG_SECURE_COOKIES") != "0")
    if "REMEMBER_COOKIE_SECURE" not in given:
        app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]
    app.json.ensure_ascii = False  # Chinese names stay readable
    runtime.start_engine()
    file_store.files_dir()  # a relative LIUCHENG_FILES_DIR: absolute from the directory the app starts in
    database = Database(app.config["DATABASE_URL"])
    if app.config["AUTO_UPGRADE"]:
        prepare_database(database)
    db.init_app(app, database)
    compression.init_app(app)  # first: its after_request runs last, on the finished response
    security_headers.init_app(app)
    api.init_app(app)
    pages.init_app(app, api.api.name)
    return app


def prepare_database(database: Database) -> None:
    """Newest schema and the standard roles (both idempotent)."""
    database.upgrade()
    with database.session() as session:
        users.ensure_roles(session)
        session.commit()
