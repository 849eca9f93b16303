"""What every web page shares: the signed-in user, role checks, languages, errors, paging.

Roles decide every page (not only the menu): ``page(*roles)`` lets a signed-in
user with one of ``roles`` in (any signed-in user when none are given);
``changes=True`` also refuses a user who is only an auditor (auditors read
everything and change nothing, as in the API).

Failures look like the app: every error is the app's own page in the user's
language (JSON under ``/api``): a malformed request (a NUL character in the
address or a form, see ``strict_input``) 400, an unreachable database 503 with
``Retry-After``.
"""
from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Callable, Optional
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Flask, abort, current_app, g, render_template, request, session
from flask_babel import format_datetime, get_locale, gettext as _, lazy_gettext as _l
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from engine import users
from engine.errors import (
    ConflictError, EngineError, FormValidationError, NotFoundError, PermissionDeniedError, ValidationError,
)
from engine.models import User
from webui.db import RETRY_AFTER_SECONDS, failure_of, get_session
from webui.strict_input import refusal_of_request

LANGUAGES = ("zh", "en")
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
PAGE_SIZE = 20
DIAGRAM_SCALE = 0.8  # diagrams are drawn at 80 % of their modelled size (readable, scrollable)
WORKER_EXCLUDED = {"auditor", "integrator", "designer"}
AUDIT_ROLES = ("auditor", "admin")
ADMIN_ROLES = ("admin",)
DESIGN_ROLES = ("admin", "designer")  # upload and browse definitions
INCIDENT_ROLES = ("admin", "supervisor")
STATUS_OF_ERROR = {PermissionDeniedError: 403, NotFoundError: 404, ConflictError: 409, ValidationError: 400,
                   FormValidationError: 422}
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please sign in to see this page.")
login_manager.session_protection = "basic"


class SignedIn(UserMixin):
    """The engine's ``User`` as Flask-Login needs it; the id changes with the password."""

    def __init__(self, user: User):
        self.user = user

    def get_id(self) -> str:
        return f"{self.user.id}:{self.user.password_hash[-16:]}"

    @property
    def is_active(self) -> bool:
        return bool(self.user.active)

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def display_name(self) -> str:
        return self.user.display_name or self.user.username

    @property
    def roles(self) -> set[str]:
        return self.user.roles

    def has(self, *roles: str) -> bool:
        return bool(self.user.roles & set(roles))

    @property
    def is_pure_auditor(self) -> bool:
        return bool(self.roles) and self.roles <= {"auditor"}

    @property
    def works(self) -> bool:
        """Has a role that receives tasks or starts processes (anything but auditor/integrator only)."""
        return bool(self.roles - WORKER_EXCLUDED)


@login_manager.user_loader
def load_user(user_id: str) -> Optional[SignedIn]:
    number, _sep, fingerprint = user_id.partition(":")
    if not number.isdigit():
        return None
    user = get_session().get(User, int(number))
    if user is None or not user.active or user.password_hash[-16:] != fingerprint:
        return None
    return SignedIn(user)


def actor() -> User:
    """The engine user behind the signed-in web user."""
    return current_user.user


def page(*roles: str, changes: bool = False, works: bool = False) -> Callable:
    """Decorate a view: signed in, with one of ``roles`` (if given); ``changes`` refuses pure auditors;
    ``works`` needs a role that does work (not only auditor or integrator)."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and not current_user.has(*roles):
                abort(403)
            if (changes and current_user.is_pure_auditor) or (works and not current_user.works):
                abort(403)
            return view(*args, **kwargs)

        wrapped.page_roles = roles
        return wrapped
    return decorate


# -- languages and display helpers --------------------------------------------------------

def select_locale() -> str:
    lang = session.get("lang")
    return lang if lang in LANGUAGES else "zh"


def lang() -> str:
    return str(get_locale() or "zh").split("_")[0]


def localized(value: Any, fallback: str = "") -> str:
    """A ``{"zh": ..., "en": ...}`` label in the page's language (the other one if missing)."""
    if isinstance(value, dict):
        return value.get(lang()) or value.get("zh") or value.get("en") or fallback
    return str(value) if value not in (None, "") else fallback


def role_name(role_id: Optional[str]) -> str:
    if not role_id:
        return ""
    zh, en = users.ROLES.get(role_id, (role_id, role_id))
    return zh if lang() == "zh" else en


def when(value: Optional[datetime], fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A stored (naive UTC) time in Beijing time."""
    return format_datetime(value, fmt) if value else ""


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, float) and round(value, 2) == value:
        return f"{value:.2f}"  # money: the engine stores Decimal as a JSON number
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def local_day_bounds(first: Optional[date], last: Optional[date]) -> tuple[Optional[datetime], Optional[datetime]]:
    """The naive-UTC bounds [start, end) of Beijing days ``first``..``last`` (inclusive)."""
    def utc(day: date) -> datetime:
        return datetime.combine(day, time(), LOCAL_TZ).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    return (utc(first) if first else None, utc(last + timedelta(days=1)) if last else None)


def parse_day(text: Optional[str]) -> Optional[date]:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def safe_next(target: Optional[str], default: str) -> str:
    """A redirect target only if it stays on this site (a path, no scheme or host); one with a control
    character (CR, LF, NUL…, which cannot go in a ``Location`` header) is replaced by ``/``."""
    if not target:
        return default
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def current_page() -> str:
    """This page's address to come back to (after a form post: the page the form was on)."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path:
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return "/"


@dataclass
class Pager:
    page: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def pager(total: int, size: int = PAGE_SIZE) -> Pager:
    page_no = request.args.get("page", "1")
    number = int(page_no) if page_no.isdigit() else 1
    pages = max(1, math.ceil(total / size))
    return Pager(min(max(number, 1), pages), size, total)


def url_with(**changes: Any) -> str:
    """The current URL with some query arguments changed (``None`` removes one)."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = str(value)
    from urllib.parse import urlencode
    return request.path + ("?" + urlencode(args) if args else "")


# -- errors -----------------------------------------------------------------------------------

def is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def error_page(status: int, message: str = ""):
    titles = {400: _("Bad request"), 403: _("Access denied"), 404: _("Not found"), 409: _("Changed meanwhile"),
              422: _("Cannot process"), 500: _("Server error"), 503: _("Service unavailable")}
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
    body, status = error_page(503, _("The database cannot be reached right now, so nothing was changed. Try "
                                     "again in a minute; if this lasts, tell your administrator."))
    return body, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def value_unstorable(exc: Exception):
    current_app.logger.warning("Unstorable value in %s %s: %s", request.method, request.path, exc)
    return error_page(400, _("A value you sent cannot be stored (a number too large or text with invalid "
                             "characters); nothing was changed. Correct it and try again."))


def init_app(app: Flask) -> None:
    from webui.api import engine_error as api_engine_error, http_error_outside_views

    from webui.views_history import event_label, status_label

    login_manager.init_app(app)
    app.before_request(refuse_malformed_input)
    app.register_error_handler(Exception, database_failure)  # HTTP errors have their own handlers
    app.jinja_env.filters.update(status_label=status_label, event_label=event_label)
    app.jinja_env.globals.update(localized=localized, role_name=role_name, when=when, as_text=as_text,
                                 url_with=url_with, lang=lang, LANGUAGES=LANGUAGES, current_page=current_page)
    app.jinja_env.filters.update(when=when, as_text=as_text, localized=localized, role_name=role_name)

    @app.errorhandler(403)
    @app.errorhandler(404)
    @app.errorhandler(405)
    def http_error(exc: HTTPException):
        if is_api_request():
            return http_error_outside_views(exc)
        message = {403: _("Your roles do not allow this page. Ask an administrator for the role you need."),
                   404: _("There is no such page, or what it showed no longer exists.")}.get(exc.code or 0, "")
        return error_page(exc.code or 500, message)

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
        status = next((code for cls, code in STATUS_OF_ERROR.items() if isinstance(exc, cls)), 422)
        return error_page(status, exc.message)

    @app.context_processor
    def navigation() -> dict:
        return {"nav": menu(), "process_name": process_name}


def process_name(process_id: str) -> str:
    """The name of a deployed process (its id when unknown), read once per request."""
    from flask import g
    from webui.views_queries import process_names

    if "process_names" not in g:
        g.process_names = process_names(get_session())
    return g.process_names.get(process_id, process_id)


def menu() -> list[tuple[str, str, bool]]:
    """The menu items (endpoint, label, is current) the signed-in user's roles open."""
    if not current_user.is_authenticated:
        return []
    starting = request.endpoint in ("instances.start_list", "instances.start")
    items = []
    if current_user.works:
        items += [("worklist.index", _("Worklist"), request.blueprint in ("worklist", "tasks")),
                  ("instances.start_list", _("Start a process"), starting)]
    items.append(("instances.index", _("Instances"), request.blueprint == "instances" and not starting))
    if current_user.has(*AUDIT_ROLES):
        items.append(("audit.index", _("Audit"), request.blueprint == "audit"))
    if current_user.has(*INCIDENT_ROLES):
        items.append(("incidents.index", _("Incidents"), request.blueprint == "incidents"))
    if current_user.has(*DESIGN_ROLES):
        items.append(("admin.definitions_list", _("Definitions"), request.blueprint == "admin"))
    if current_user.has(*ADMIN_ROLES):
        items.append(("users.index", _("Users"), request.blueprint == "users"))
    return items
