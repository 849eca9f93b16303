"""What every web page shares: the signed-in user, role checks, languages, safe redirects, paging.

Roles decide every page (not only the menu): ``page(*roles)`` lets a signed-in
user with one of ``roles`` in (any signed-in user when none are given);
``changes=True`` also refuses a user who is only an auditor (auditors read
everything and change nothing, as in the API). Error pages are in ``views_errors``.
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

from flask import Flask, abort, request, session
from flask_babel import format_datetime, get_locale, gettext as _, lazy_gettext as _l
from flask_login import LoginManager, UserMixin, current_user

from engine import users
from engine.models import User
from webui.db import get_session

LANGUAGES = ("zh", "en")
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
PAGE_SIZE = 20
DIAGRAM_SCALE = 0.8  # diagrams are drawn at 80 % of their modelled size (readable, scrollable)
WORKER_EXCLUDED = {"auditor", "integrator", "designer"}
AUDIT_ROLES = ("auditor", "admin")
ADMIN_ROLES = ("admin",)
DESIGN_ROLES = ("admin", "designer")  # upload and browse definitions
INCIDENT_ROLES = ("admin", "supervisor")
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
    if not (number.isascii() and number.isdigit()):
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
    """The naive-UTC bounds [start, end) of Beijing days ``first``..``last`` (inclusive); a bound beyond
    what ``datetime`` holds (from 0001-01-01, to 9999-12-31) is no bound."""
    def utc(day: date, days_after: int = 0) -> Optional[datetime]:
        try:
            start = datetime.combine(day, time(), LOCAL_TZ) + timedelta(days=days_after)
            return start.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
        except OverflowError:
            return None
    return (utc(first) if first else None, utc(last, 1) if last else None)


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
    number = int(page_no[:9]) if page_no.isascii() and page_no.isdigit() else 1  # not '²' (isdigit, no int)
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


def init_app(app: Flask) -> None:
    from webui.views_history import event_label, status_label

    login_manager.init_app(app)
    app.jinja_env.filters.update(status_label=status_label, event_label=event_label)
    app.jinja_env.globals.update(localized=localized, role_name=role_name, when=when, as_text=as_text,
                                 url_with=url_with, lang=lang, LANGUAGES=LANGUAGES, current_page=current_page)
    app.jinja_env.filters.update(when=when, as_text=as_text, localized=localized, role_name=role_name)

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
