"""The auditors' pages of the audit section beside the history search: the operation log (``/audit/operations``:
administrative actions filtered by operation, who, entity and local days, paged, old and new values in words)
and the anchors (``/audit/anchors``: the heads written down, the current head and how to check one), and
``verification_of``, an instance's chain verdict for the verification panel (``audit/_verification.html``).

An operation's values are shown as people read them (``readable``): users by display name, roles and
statuses by label, times in the local zone, objects as 「label：value」 — never JSON.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from engine import anchors, audit_report, chain_verify, operation_log, users
from engine.models import HistoryEvent
from webui.db import get_session
from webui.pages.display import (as_text, count, lang, local_day_bounds, pager, parse_day, person, role_name)
from webui.pages.history import status_label
from webui.pages.signed_in import AUDIT_ROLES, page
from webui.pages.values_view import ISO_DATETIME, local_time

bp = Blueprint("operations", __name__, url_prefix="/audit")
PAGE = 50
ANCHORS_SHOWN = 100
LIST_SHOWN = 20  # items of a recorded list shown (a cleanup's instance ids can be many); the count after
PERSON_PROPERTIES = frozenset({"assignee", "owner", "user", "username", "claimed_by", "delegate"})
KEY_LABELS = {  # keys of an operation's recorded values, as the page names them
    "display_name": _l("Display name"), "roles": _l("Roles"), "attributes": _l("Attributes"),
    "active": _l("Active"), "process_id": _l("Process"), "version": _l("Version"),
    "content_hash": _l("Content hash"), "source_name": _l("File"), "address": _l("Address"),
    "channel": _l("Channel"), "until": _l("Locked until"), "user": _l("User"), "username": _l("User"),
    "label": _l("Label"), "expires_at": _l("Expires at"), "revoked_at": _l("Revoked at"), "status": _l("Status"),
    "assignee": _l("Assignee"), "owner": _l("Owner"), "instances": _l("Instances"), "events": _l("Events"),
    "gaps": _l("Gaps"), "rows": _l("Rows"), "first_hash": _l("First hash"), "last_hash": _l("Last hash"),
    "instance_ids": _l("Instances"), "element_id": _l("Step"), "value": _l("Value"),
}


@dataclass
class Row:
    """One operation as the page shows it."""
    event: HistoryEvent
    label: str
    entity: Markup
    property: str
    old: Markup
    new: Markup
    reason: str
    details: Markup


# -- the operation log ------------------------------------------------------------------------------

@bp.get("/operations")
@page(*AUDIT_ROLES)
def index():
    session = get_session()
    query = search_query()
    pages = pager(count(session, query), PAGE)
    events = session.scalars(query.limit(pages.size).offset(pages.offset)).all()
    return render_template("operations/index.html", rows=[row_of(event) for event in events], pages=pages,
                           operations=operation_log.OPERATIONS, entity_types=operation_log.ENTITY_TYPES,
                           users=users.usernames(session), label=operation_log.label)


def search_query():
    """The filters of the query string: days (``since``..``until``, inclusive) in the local zone; a value the
    form cannot send (a bad date) is no filter."""
    args = request.args
    since, until = local_day_bounds(parse_day(args.get("since")), parse_day(args.get("until")))
    return operation_log.search(_arg("actor", 64), _arg("operation", 48), _arg("entity_type", 32),
                                _arg("entity_id", 128), since, until)


def _arg(name: str, longest: int) -> Optional[str]:
    value = (request.args.get(name) or "").strip()
    return value[:longest] or None


def row_of(event: HistoryEvent) -> Row:
    facts = operation_log.as_dict(event)
    prop = facts["property"] or ""
    kind = "" if facts["entity_type"] == "variable" else prop  # a variable's name says nothing of its values
    return Row(event, operation_log.label(event.operation, lang()), entity_of(facts), key_label(kind) or prop,
               readable(facts["old"], kind), readable(facts["new"], kind), facts["reason"] or "",
               readable(facts["details"]) if facts["details"] else Markup(""))


def entity_of(facts: dict) -> Markup:
    """What the operation was done to: its kind by label and its id (a user by display name)."""
    kinds = {kind.name: (kind.zh if lang() == "zh" else kind.en) for kind in operation_log.ENTITY_TYPES}
    kind, entity_id = facts["entity_type"] or "", facts["entity_id"]
    shown = person(entity_id) if kind == "user" else escape(entity_id or "")
    return Markup("%s %s") % (kinds.get(kind, kind), shown) if entity_id else escape(kinds.get(kind, kind))


def key_label(key: str) -> str:
    return str(KEY_LABELS.get(key, key))


def readable(value: Any, key: str = "") -> Markup:
    """A recorded value in words: people by display name, roles and statuses by label, times local, an object
    as 「label：value」 lines, a list joined; ``—`` for nothing."""
    if value is None or value == "" or value == [] or value == {}:
        return Markup("—")
    if isinstance(value, dict):
        colon = "：" if lang() == "zh" else ": "
        return Markup("<br>").join(Markup("<span class=\"key\">%s</span>%s%s") % (key_label(k), colon,
                                                                                   readable(v, k))
                                   for k, v in value.items())
    if isinstance(value, list):
        shown = Markup("、" if lang() == "zh" else ", ").join(readable(item, key) for item in value[:LIST_SHOWN])
        return shown + (Markup(" … (%d)") % len(value) if len(value) > LIST_SHOWN else Markup(""))
    if isinstance(value, str):
        return _readable_text(value, key)
    return escape(as_text(value))


def _readable_text(value: str, key: str) -> Markup:
    if key in PERSON_PROPERTIES:
        return person(value)
    if key == "roles":
        return escape(role_name(value))
    if key == "status":
        return escape(status_label(value))
    if key.endswith("_hash") and len(value) == 64:
        return Markup('<code title="%s">%s…</code>') % (value, value[:16])
    if ISO_DATETIME.match(value):
        return escape(local_time(value))
    return escape(value)


# -- anchors ------------------------------------------------------------------------------------

@bp.get("/anchors")
@page(*AUDIT_ROLES)
def anchors_page():
    session = get_session()
    head, events = chain_verify.current_head(session)
    return render_template("audit/anchors.html", anchors=anchors.list_anchors(session, ANCHORS_SHOWN),
                           head=head, events=events, against=anchors.against_text(head, events),
                           signature_valid=anchors.signature_valid)


# -- an instance's verification ------------------------------------------------------------------------

PAGE_STRETCH = audit_report.LONGEST_STRETCH  # a page walks at most this many events; the CLI and the API walk all


def verification_of(session: Session, instance_id: int) -> Optional[chain_verify.Verdict]:
    """The chain verdict of the instance's stretch of the history, for auditors and admins (``None`` for
    everyone else: the panel is not shown to them)."""
    if not (current_user.is_authenticated and current_user.has(*AUDIT_ROLES)):
        return None
    return chain_verify.verify(session, instance_id, longest=PAGE_STRETCH)

