"""The REST API at ``/api/v1``: the ``api`` blueprint, its nouns nested in it, and what every API
request goes through before its view.

The routes live in ``instances``, ``tasks``, ``definitions``, ``messages``, ``signals``, ``incidents``,
``tokens``, ``external_tasks`` and ``openapi``, each a blueprint nested in ``api``, so the hooks here and
the JSON error handlers of ``webui.api.errors`` apply to all of them. Their request and reply schemas are
``schemas`` (the shared pieces) and one ``*_schemas`` module per noun.

No other web site can drive the API through a browser: a changing request
that a browser marks as coming from another site (``Origin``, ``Sec-Fetch-Site``)
is refused (403), and every body must be ``application/json`` (or a type the
operation documents, e.g. ``application/xml`` for a BPMN upload) — 415 for the
form and text types a cross-site form can post; an operation that takes no body
still refuses a malformed one (400). Credentials are Basic or bearer
only (``webui.api.credentials``); the pages' session cookie is never read here, and no
CORS header is sent. A pure auditor (``User.read_only``) reads and changes nothing but their
own tokens.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, g, request

from engine.errors import PermissionDeniedError, UnsupportedMediaTypeError
from engine.models import User
from webui.api import (attachments, comments, credentials, definitions, errors, external_tasks, filters, incidents,
                       instances, messages, openapi, signals, tasks, tokens)
from webui.api import audit, operations, reports
from webui.api import variables
from webui.api.credentials import authenticate_request, is_public
from webui.db import get_session
from webui.strict_input import parse_json

JSON_TYPE = "application/json"
OTHER_SITES = {"cross-site", "same-site"}  # Sec-Fetch-Site values of a request made by another site's page
READ_METHODS = {"GET", "HEAD", "OPTIONS"}
AUDITOR_MAY_CHANGE = {"api.tokens.issue_token", "api.tokens.revoke_token"}  # their own credentials only

api = Blueprint("api", __name__, url_prefix=openapi.API_PREFIX)
for noun in (instances, tasks, definitions, messages, signals, incidents, tokens, external_tasks, comments,
             attachments, filters, operations, audit, reports, variables, openapi):
    api.register_blueprint(noun.bp)
errors.register(api)


def init_app(app: Flask) -> None:
    """The API's blueprint, its credential cache, and JSON for routing errors under ``/api``."""
    app.register_blueprint(api)
    errors.init_app(app)
    credentials.init_app(app)


# -- before every API request ---------------------------------------------------------------

@api.before_request
def refuse_browser_forgery() -> None:
    """A changing request from another site's page (403), or with a body not in a documented type (415)."""
    if request.method in READ_METHODS:
        return
    origin = request.headers.get("Origin")
    if request.headers.get("Sec-Fetch-Site") in OTHER_SITES or (
            origin is not None and urlsplit(origin).netloc != request.host):
        raise PermissionDeniedError("The API does not take requests from the pages of another web site; call it "
                                    "from a program with Basic or bearer credentials.")
    has_body = bool(request.content_length) or "Transfer-Encoding" in request.headers or bool(request.mimetype)
    if has_body and request.mimetype not in accepted_types(request.endpoint):
        raise UnsupportedMediaTypeError(
            f"The body must be {' or '.join(accepted_types(request.endpoint))}, not "
            f"'{request.mimetype or 'untyped'}': send JSON with 'Content-Type: application/json'.",
            {"content_type": request.mimetype or None})


def documented_body(endpoint: str | None) -> dict | None:
    doc = getattr(current_app.view_functions.get(endpoint or ""), "openapi", None)
    return getattr(doc, "request_body", None)


def accepted_types(endpoint: str | None) -> tuple[str, ...]:
    """The body types an operation documents: its ``request_body`` content, else JSON."""
    body = documented_body(endpoint)
    return tuple(body["content"]) if body else (JSON_TYPE,)


@api.before_request
def identify_caller() -> None:
    if is_public(request.endpoint):
        return
    g.user = authenticate_request(get_session())
    refuse_auditor_changes(g.user)


@api.before_request
def refuse_malformed_unused_body() -> None:
    """An operation that takes no body still refuses a malformed one (400): bad input never acts."""
    if request.method in READ_METHODS or documented_body(request.endpoint) is not None:
        return
    raw = request.get_data(cache=True)
    if raw.strip():
        parse_json(raw)


def refuse_auditor_changes(user: User) -> None:
    """An auditor (and nothing else) reads everything and changes nothing."""
    if user.read_only and request.method not in READ_METHODS and request.endpoint not in AUDITOR_MAY_CHANGE:
        raise PermissionDeniedError("Auditors may read every instance, task and history but change nothing.")
