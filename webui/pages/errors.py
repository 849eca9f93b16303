"""Error pages: every failure looks like the app, in the user's language (JSON under ``/api``).

Engine refusals by class (``webui.http_status``: 403, 404, 409, 400, 422; the engine's English message
in the page's language, ``display.engine_text``), HTTP errors, an expired
form (400), a malformed request — a NUL character in the address, query, form
or credentials (``strict_input``) — 400, a value the database cannot store 400,
and an unreachable database 503 with ``Retry-After``, rendered without reading
the database (the page shows the visitor as signed out).
"""
from __future__ import annotations

from flask import Flask, current_app, g, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from engine.errors import EngineError, ValidationError
from webui.api.errors import engine_error as api_engine_error, http_error_outside_views
from webui.db import RETRY_AFTER_SECONDS, failure_of
from webui.http_status import is_api_path, status_of
from webui.pages.display import engine_text
from webui.pages.signed_in import login_manager
from webui.strict_input import refusal_of_request


def is_api_request() -> bool:
    return is_api_path(request.path)


def error_page(status: int, message: str = ""):
    """The error page; its menu needs the signed-in user, so an unreachable database makes it the 503 page."""
    if status != 503:
        try:
            current_user.is_authenticated  # reads the user from the database
        except Exception as exc:
            if failure_of(exc) != "unreachable":
                raise
            return database_unreachable(exc)
    titles = {400: _("Bad request"), 403: _("Access denied"), 404: _("Not found"), 409: _("Changed meanwhile"),
              413: _("Too large"), 422: _("Cannot process"), 500: _("Server error"), 503: _("Service unavailable")}
    return render_template("common/error.html", status=status, title=titles.get(status, _("Error")),
                           message=message), status


def refuse_malformed_input():
    """Before every request: a NUL character in the path, query, form or credentials is a 400."""
    problem = refusal_of_request(request)
    if problem is None:
        return None
    if is_api_request():
        raise ValidationError(problem + " Send text without control characters.", {"_request": [problem]})
    return error_page(400, _("The address or the form contains a character that cannot be stored (such as a NUL "
                             "character). Correct it and try again."))


def database_failure(exc: Exception):
    """An unreachable database (503) or a value it cannot store (400) as an error page; anything else
    stays an unexpected error (500)."""
    failure = failure_of(exc)
    if failure == "unreachable":
        return database_unreachable(exc)
    if failure == "unstorable":
        return value_unstorable(exc)
    raise exc


def database_unreachable(exc: Exception):
    """The error page without touching the database: shown as signed out, with ``Retry-After``."""
    current_app.logger.error("Database unreachable in %s %s: %s", request.method, request.path, exc)
    g._login_user = login_manager.anonymous_user()  # Flask-Login would read the user from the database
    body, status = error_page(503, _("The database cannot be reached right now. Try again in a minute (after a "
                                     "change, first check whether it was done); if this lasts, tell your "
                                     "administrator."))
    return body, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def value_unstorable(exc: Exception):
    current_app.logger.warning("Unstorable value in %s %s: %s", request.method, request.path, exc)
    return error_page(400, _("A value you sent cannot be stored (a number too large or text with invalid "
                             "characters); nothing was changed. Correct it and try again."))


def init_app(app: Flask) -> None:
    app.before_request(refuse_malformed_input)
    app.register_error_handler(Exception, database_failure)  # HTTP errors have their own handlers

    @app.errorhandler(403)
    @app.errorhandler(404)
    @app.errorhandler(405)
    @app.errorhandler(413)
    def http_error(exc: HTTPException):
        if is_api_request():
            return http_error_outside_views(exc)
        message = {403: _("Your roles do not allow this page. Ask an administrator for the role you need."),
                   404: _("There is no such page, or what it showed no longer exists."),
                   413: _("What you sent is too large (at most %(mb)d MB); nothing was changed. Send less and try "
                          "again.", mb=(current_app.config["MAX_CONTENT_LENGTH"] or 0) // 2 ** 20)}.get(exc.code or 0, "")
        response = current_app.make_response(error_page(exc.code or 500, message))
        if getattr(exc, "valid_methods", None) and response.status_code == 405:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(500)
    def server_error(exc):
        if is_api_request():
            return http_error_outside_views(exc)
        return error_page(500, _("Something went wrong on the server; the error was logged. Try again."))

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return error_page(400, _("The form expired or did not come from this site. Reload the page and try again."))

    @app.errorhandler(EngineError)
    def engine_error(exc: EngineError):
        if is_api_request():  # before any API blueprint matched (e.g. an unknown /api/ address)
            return api_engine_error(exc)
        return error_page(status_of(exc), engine_text(exc.message))
