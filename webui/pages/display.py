"""What every page shows alike: languages, labels and times in the page's language, safe redirects,
paging, and the menu the signed-in user's roles open (Jinja filters and globals).

Who is signed in and the role check of every page are in ``signed_in``; error pages in ``errors``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Optional
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from flask import Flask, g, request, session
from markupsafe import Markup
from flask_babel import format_datetime, get_locale, get_timezone, gettext as _
from flask_login import current_user
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from engine import error_texts, users
from engine.models import Definition, User
from webui.db import get_session
from webui.pages.signed_in import ADMIN_ROLES, AUDIT_ROLES, DESIGN_ROLES, INCIDENT_ROLES, login_manager

LANGUAGES = ("zh", "en")
PAGE_SIZE = 20
DIAGRAM_SCALE = 0.8  # diagrams are drawn at 80 % of their modelled size (readable, scrollable)


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


def local_zone() -> ZoneInfo:
    """The zone pages show times in: ``LIUCHENG_TIMEZONE`` (``engine.config.timezone``), which the app
    gives Flask-Babel as ``BABEL_DEFAULT_TIMEZONE``."""
    return ZoneInfo(str(get_timezone()))


def when(value: Optional[datetime], fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A stored (naive UTC) time in the app's time zone (``local_zone``)."""
    return format_datetime(value, fmt) if value else ""


def engine_text(message: Optional[str]) -> str:
    """An engine refusal or deploy problem (English) in the page's language (``engine.error_texts``)."""
    return error_texts.translate(message, lang())


def zone_label() -> str:
    """The footer's words for the zone: Beijing time by name for Asia/Shanghai, else the zone's name."""
    zone = str(get_timezone())
    if zone in ("Asia/Shanghai", "PRC", "Asia/Chongqing"):
        return _("Times in Beijing time (%(zone)s)", zone=zone)
    return _("Times in %(zone)s", zone=zone)


def as_text(value: Any) -> str:
    """A value in words when its form field is not at hand (``values_view`` shows it with its field): 是/否,
    two decimals, an object as 「key：value，…」, a list joined with 、 (rows with ；) — never JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, float) and round(value, 2) == value:
        return f"{value:.2f}"  # money: the engine stores Decimal as a JSON number
    zh = lang() == "zh"
    if isinstance(value, dict):
        return ("，" if zh else ", ").join(f"{key}{'：' if zh else ': '}{as_text(item)}" for key, item in value.items())
    if isinstance(value, list):
        if any(isinstance(item, dict) for item in value):
            separator = "；" if zh else "; "
        else:
            separator = "、" if zh else ", "
        return separator.join(as_text(item) for item in value)
    return str(value)


def local_day_bounds(first: Optional[date], last: Optional[date]) -> tuple[Optional[datetime], Optional[datetime]]:
    """The naive-UTC bounds [start, end) of local days ``first``..``last`` (inclusive); a bound beyond
    what ``datetime`` holds (from 0001-01-01, to 9999-12-31) is no bound."""
    def utc(day: date, days_after: int = 0) -> Optional[datetime]:
        try:
            start = datetime.combine(day, time(), local_zone()) + timedelta(days=days_after)
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
    return request.path + ("?" + urlencode(args) if args else "")


def count(db: Session, query: Select) -> int:
    """How many rows ``query`` finds (for the pager)."""
    return db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def init_app(app: Flask) -> None:
    """Sign-in, and the helpers above as Jinja globals and filters; the menu on every page."""
    login_manager.init_app(app)
    app.jinja_env.globals.update(localized=localized, role_name=role_name, when=when, as_text=as_text,
                                 url_with=url_with, lang=lang, LANGUAGES=LANGUAGES, current_page=current_page)
    app.jinja_env.globals.update(zone_label=zone_label)  # the footer's time zone (issue 14)
    app.jinja_env.filters.update(engine_text=engine_text)  # engine messages in the page's language
    app.jinja_env.filters.update(when=when, as_text=as_text, localized=localized, role_name=role_name)
    app.jinja_env.filters.update(person=person, person_name=person_name)  # users by display name (issue 14)

    @app.context_processor
    def navigation() -> dict:
        return {"nav": menu(), "process_name": process_name}


SYSTEM_ACTOR = "system"  # the engine's own actor in history (engine.history.record)


def person(username: Optional[str]) -> Markup:
    """A user as people read them: the display name, the login id as its tooltip
    (``<span class="person" title="zhuguan">张主管</span>``); the engine's own ``system`` as 系统 / System;
    an unknown id as itself. Display names are read once per request (``display_names``)."""
    if not username:
        return Markup("")
    kind = "person system" if username == SYSTEM_ACTOR else "person"
    return Markup('<span class="%s" title="%s">%s</span>') % (kind, username, person_name(username))


def person_name(username: Optional[str]) -> str:
    """The plain display name of a user (系统 / System for ``system``; an unknown id as itself), for
    places that take no markup (a select's options)."""
    if not username:
        return ""
    if username == SYSTEM_ACTOR:
        return _("System")
    if "display_names" not in g:
        g.display_names = display_names(get_session())
    return g.display_names.get(username) or username


def display_names(db: Session) -> dict[str, str]:
    """``{login id: display name}`` of every user (one query for a whole page)."""
    return {username: name for username, name in db.execute(select(User.username, User.display_name))}


def process_name(process_id: str) -> str:
    """The name of a deployed process (its id when unknown), read once per request."""
    if "process_names" not in g:
        g.process_names = process_names(get_session())
    return g.process_names.get(process_id, process_id)


def process_names(db: Session) -> dict[str, str]:
    """``{process id: name}`` of the deployed processes (the newest version's name; names only, not
    the versions' documents)."""
    rows = db.execute(select(Definition.process_id, Definition.name).order_by(Definition.version))
    return {process_id: name or process_id for process_id, name in rows}


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
        items.append(("audit.index", _("Audit"), request.blueprint in ("audit", "operations")))
    if current_user.has(*INCIDENT_ROLES):
        items.append(("incidents.index", _("Incidents"), request.blueprint == "incidents"))
    if current_user.has(*DESIGN_ROLES):
        items.append(("admin.definitions_list", _("Definitions"), request.blueprint == "admin"))
    if current_user.has(*ADMIN_ROLES):
        items.append(("users.index", _("Users"), request.blueprint == "users"))
    return items
