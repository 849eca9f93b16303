"""The REST API at ``/api/v1``: authentication, the auditor rule, and JSON errors.

The routes live in ``api_instances``, ``api_tasks``, ``api_definitions``,
``auth`` (tokens) and ``api_openapi``, each a blueprint nested in ``api``, so
the hooks and error handlers here apply to all of them.

No other web site can drive the API through a browser: a changing request
that a browser marks as coming from another site (``Origin``, ``Sec-Fetch-Site``)
is refused (403), and every body must be ``application/json`` (or a type the
operation documents, e.g. ``application/xml`` for a BPMN upload) — 415 for the
form and text types a cross-site form can post; an operation that takes no body
still refuses a malformed one (400). Credentials are Basic or bearer
only; the pages' session cookie is never read here, and no CORS header is sent.

Every error is JSON ``{"error", "message", "details"}``: engine errors by
class (``error`` is the exception's ``code``), HTTP errors (unknown route,
wrong method) under ``/api`` too, an unreachable database as 503 with
``Retry-After``, a value the database cannot store as 400, and anything
unexpected as a logged 500 — never a traceback or an HTML page.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from engine.errors import (
    AuthenticationError, ConflictError, DefinitionError, EngineError, FormValidationError, NotFoundError,
    PermissionDeniedError, ScriptError, TooManyRequestsError, UnsupportedMediaTypeError, ValidationError,
)
from engine.models import User
from webui.api_definitions import definitions_bp
from webui.api_instances import instances
from webui.api_incidents import incidents_bp
from webui.api_messages import messages_bp
from webui.api_openapi import API_PREFIX, openapi
from webui.api_tasks import tasks
from webui.auth import CHALLENGE, authenticate_request, is_public, tokens
from webui.db import RETRY_AFTER_SECONDS, failure_of, get_session
from webui.strict_input import parse_json

STATUS_OF_ERROR = {
    ValidationError: 400, AuthenticationError: 401, PermissionDeniedError: 403, NotFoundError: 404,
    ConflictError: 409, UnsupportedMediaTypeError: 415, FormValidationError: 422, DefinitionError: 422,
    ScriptError: 422, TooManyRequestsError: 429,
}
JSON_TYPE = "application/json"
OTHER_SITES = {"cross-site", "same-site"}  # Sec-Fetch-Site values of a request made by another site's page
READ_METHODS = {"GET", "HEAD", "OPTIONS"}
RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected (PostgreSQL)
AUDITOR_MAY_CHANGE = {"api.tokens.issue_token", "api.tokens.revoke_token"}  # their own credentials only

api = Blueprint("api", __name__, url_prefix=API_PREFIX)
for child in (instances, tasks, definitions_bp, messages_bp, incidents_bp, tokens, openapi):
    api.register_blueprint(child)


def init_app(app: Flask) -> None:
    app.register_blueprint(api)
    app.register_error_handler(HTTPException, http_error_outside_views)


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
    is_pure_auditor = bool(user.roles) and user.roles <= {"auditor"}
    if is_pure_auditor and request.method not in READ_METHODS and request.endpoint not in AUDITOR_MAY_CHANGE:
        raise PermissionDeniedError("Auditors may read every instance, task and history but change nothing.")


# -- errors ----------------------------------------------------------------------------------------

def error_response(code: str, message: str, details, status: int, headers=None):
    response = jsonify({"error": code, "message": message, "details": details if details is not None else {}})
    response.status_code = status
    response.headers.update(headers or {})
    if status == 401:
        response.headers["WWW-Authenticate"] = CHALLENGE
    return response


def status_of(exc: EngineError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF_ERROR:
            return STATUS_OF_ERROR[cls]
    return 422  # an engine refusal without a finer class: the request cannot be processed


@api.errorhandler(EngineError)
def engine_error(exc: EngineError):
    retry_after = exc.details.get("retry_after") if isinstance(exc.details, dict) else None
    headers = {"Retry-After": str(retry_after)} if isinstance(exc, TooManyRequestsError) and retry_after else {}
    return error_response(exc.code, exc.message, exc.details, status_of(exc), headers)


@api.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    code = re.sub(r"[^a-z0-9]+", "_", (exc.name or "error").lower()).strip("_")
    headers = {"Allow": ", ".join(exc.valid_methods)} if getattr(exc, "valid_methods", None) else {}
    return error_response(code, exc.description or exc.name, {}, exc.code or 500, headers)


@api.errorhandler(Exception)
def unexpected_error(exc: Exception):
    if isinstance(exc, HTTPException):
        return http_error(exc)
    sqlstate = getattr(getattr(exc, "orig", exc), "sqlstate", None)  # wrapped by SQLAlchemy, or the driver's
    if sqlstate in RETRYABLE_SQLSTATES:
        current_app.logger.warning("Concurrent change in %s %s: %s", request.method, request.path, exc)
        return error_response("conflict", "Someone else changed this at the same moment; reload and try again.",
                              {}, 409)
    if failure_of(exc) == "unreachable":
        current_app.logger.error("Database unreachable in %s %s: %s", request.method, request.path, exc)
        return error_response("unavailable", "The database cannot be reached right now. Try again in "
                              f"{RETRY_AFTER_SECONDS} seconds (after a change, first check whether it was done).", {}, 503,
                              {"Retry-After": str(RETRY_AFTER_SECONDS)})
    if failure_of(exc) == "unstorable":
        current_app.logger.warning("Unstorable value in %s %s: %s", request.method, request.path, exc)
        return error_response("bad_request", "A value in the request cannot be stored (out of range or not "
                              "valid text); nothing was changed. Correct it and try again.", {}, 400)
    current_app.logger.exception("Unexpected error in %s %s", request.method, request.path)
    return error_response("internal_error", "Something went wrong on the server; the error was logged. "
                          "Try again, and report it if it persists.", {}, 500)


def http_error_outside_views(exc: HTTPException):
    """Routing errors (unknown URL, wrong method) happen before any blueprint: JSON under /api."""
    if request.path == "/api" or request.path.startswith("/api/"):
        return http_error(exc)
    return exc
