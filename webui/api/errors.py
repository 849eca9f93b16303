"""The API's errors: every one is JSON ``{"error", "message", "details"}``, never a traceback or an
HTML page.

Engine refusals by class (``error`` is the exception's ``code``, the status ``webui.http_status``'s;
``message`` and the messages in ``details`` in English, in Chinese when ``Accept-Language`` prefers zh),
HTTP errors (unknown route, wrong method) under ``/api`` too, an unreachable database as 503 with
``Retry-After``, a concurrent change the database refused (serialization failure, deadlock) as 409,
a value the database cannot store as 400, and anything unexpected as a logged 500.
"""
from __future__ import annotations

import re

from flask import Blueprint, Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from engine import attachments
from engine import error_texts
from engine.errors import EngineError, TooManyRequestsError
from webui.api.credentials import CHALLENGE
from webui.db import RETRY_AFTER_SECONDS, failure_of
from webui.http_status import is_api_path, status_of

RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected (PostgreSQL)


def register(api: Blueprint) -> None:
    """The handlers of errors raised inside the API's views and hooks."""
    api.register_error_handler(EngineError, engine_error)
    api.register_error_handler(HTTPException, http_error)
    api.register_error_handler(Exception, unexpected_error)


def init_app(app: Flask) -> None:
    """Routing errors happen before any blueprint matched: JSON ones under ``/api``."""
    app.register_error_handler(HTTPException, http_error_outside_views)


def error_response(code: str, message: str, details, status: int, headers=None):
    """The JSON error; its message (and ``details``' messages) in the reader's language (``reader_language``)."""
    lang = reader_language()
    response = jsonify({"error": code, "message": error_texts.translate(message, lang),
                        "details": translated_details(details, lang) if details is not None else {}})
    response.status_code = status
    response.headers.update(headers or {})
    if status == 401:
        response.headers["WWW-Authenticate"] = CHALLENGE
    return response


def engine_error(exc: EngineError):
    retry_after = exc.details.get("retry_after") if isinstance(exc.details, dict) else None
    headers = {"Retry-After": str(retry_after)} if isinstance(exc, TooManyRequestsError) and retry_after else {}
    return error_response(exc.code, exc.message, exc.details, status_of(exc), headers)


def reader_language() -> str:
    """``zh`` when the request's ``Accept-Language`` prefers Chinese to English, else ``en`` (the default)."""
    best = request.accept_languages.best_match(["en", "zh"], default="en")
    return "zh" if best == "zh" else "en"


def translated_details(details, lang: str):
    """``details`` with each deploy problem's and each field's message in ``lang`` (a copy; English unchanged)."""
    if lang == "en" or not isinstance(details, dict):
        return details
    result = dict(details)
    for key in ("problems", "notes"):
        if isinstance(result.get(key), list):
            result[key] = [{**p, "message": error_texts.translate(p.get("message"), lang)} if isinstance(p, dict)
                           and isinstance(p.get("message"), str) else p for p in result[key]]
    for key, value in result.items():
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            result[key] = [error_texts.translate(v, lang) for v in value]
        elif isinstance(value, dict) and key not in ("problems", "notes"):  # fields of rows, a message's parts
            result[key] = translated_details(value, lang)
    return result


def http_error(exc: HTTPException):
    if exc.code == 413:  # a body over MAX_CONTENT_LENGTH: said of the files only when it carries files
        too_large = attachments.request_too_large(request.mimetype == "multipart/form-data")
        return error_response(too_large.code, too_large.message, too_large.details, 413)
    code = re.sub(r"[^a-z0-9]+", "_", (exc.name or "error").lower()).strip("_")
    headers = {"Allow": ", ".join(exc.valid_methods)} if getattr(exc, "valid_methods", None) else {}
    return error_response(code, exc.description or exc.name, {}, exc.code or 500, headers)


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
    if is_api_path(request.path):
        return http_error(exc)
    return exc
