"""The Liucheng web application: the REST API (and later the web worklist).

``create_app`` follows the Flask tutorial's application factory::

    app = create_app()                                   # LIUCHENG_DATABASE_URL or ./liucheng.db
    app = create_app({"DATABASE_URL": "sqlite:///x.db", "TESTING": True})

Config keys: ``DATABASE_URL``, ``SECRET_KEY`` (``LIUCHENG_SECRET_KEY`` or random),
``AUTO_UPGRADE`` (default True: bring the schema to the newest revision and
create the standard roles), ``AUTH_CACHE_SECONDS`` (how long a verified
password is remembered, default 300), ``MAX_CONTENT_LENGTH`` (uploads, 16 MB).
"""
from __future__ import annotations

import os
import secrets
from typing import Any, Mapping, Optional

from flask import Flask

from engine import users
from engine.config import default_database_url
from engine.database import Database
from webui import api, auth, db


def create_app(test_config: Optional[Mapping[str, Any]] = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        DATABASE_URL=default_database_url(),
        SECRET_KEY=os.environ.get("LIUCHENG_SECRET_KEY") or secrets.token_hex(32),
        AUTO_UPGRADE=True,
        AUTH_CACHE_SECONDS=300,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
    )
    if test_config is not None:
        app.config.from_mapping(test_config)
    app.json.ensure_ascii = False  # Chinese names stay readable
    database = Database(app.config["DATABASE_URL"])
    if app.config["AUTO_UPGRADE"]:
        prepare_database(database)
    db.init_app(app, database)
    auth.init_app(app)
    api.init_app(app)
    return app


def prepare_database(database: Database) -> None:
    """Newest schema and the standard roles (both idempotent)."""
    database.upgrade()
    with database.session() as session:
        users.ensure_roles(session)
        session.commit()
