"""Auditors: every instance read-only, its timeline, a search across instances, CSV and JSON exports.

The search is ``engine.history.search``; an exported event is ``engine.history.export_row``.
"""
from __future__ import annotations

import csv
import io
import json
from typing import Iterable, Optional

from flask import Blueprint, Response, abort, render_template, request
from sqlalchemy import Select, select

from engine import history, runtime, users
from engine.models import Definition, HistoryEvent, Instance
from webui.db import get_session
from webui.pages.display import count, local_day_bounds, pager, parse_day, process_names
from webui.pages.history import Labels, entries, event_label
from webui.pages.signed_in import AUDIT_ROLES, page

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE = 50
EXPORT_LIMIT = 50_000
CSV_COLUMNS = ("id", "instance_id", "process_id", "business_key", "at", "type", "actor", "element_id", "task_id",
               "data")


def instance_number(text: str | None) -> int | None:
    """The instance filter: a number (one beyond the id column's range matches nothing), else no filter."""
    if not text or not (text.isascii() and text.isdigit()):
        return None
    number = int(text[:12])
    return number if number < 2**31 else -1  # no id is -1; PostgreSQL would refuse the large number


def search_query() -> Select:
    args = request.args
    since, until = local_day_bounds(parse_day(args.get("from")), parse_day(args.get("to")))
    instance_id = args.get("instance")
    return history.search(args.get("user") or None, since, until, args.get("process") or None,
                       args.get("type") or None, instance_number(instance_id),
                       (args.get("q") or "")[:100])


@bp.get("/")
@page(*AUDIT_ROLES)
def index():
    session = get_session()
    query = search_query()
    pages = pager(count(session, query), PAGE)
    rows = session.execute(query.limit(pages.size).offset(pages.offset)).all()
    wanted = {instance.definition_id for _event, instance in rows}
    definitions = {d.id: d for d in session.scalars(select(Definition).where(Definition.id.in_(wanted)))}
    labelled = [(event, instance, Labels(definitions.get(instance.definition_id))) for event, instance in rows]
    results = [(entries([event], labels)[0], instance) for event, instance, labels in labelled]
    return render_template("audit/index.html", results=results, pages=pages, processes=sorted(process_names(session)),
                           types=sorted(history.EVENT_TYPES), users=users.usernames(session), event_label=event_label)


@bp.get("/export.<fmt>")
@page(*AUDIT_ROLES)
def export_search(fmt: str):
    rows = get_session().execute(search_query().limit(EXPORT_LIMIT)).all()
    return export(((event, instance) for event, instance in rows), fmt, "liucheng-history-search")


@bp.get("/instances/<int:instance_id>")
@page(*AUDIT_ROLES)
def timeline(instance_id: int):
    session = get_session()
    instance = runtime.get_instance(session, instance_id)
    definition = session.get(Definition, instance.definition_id)
    events = history.events_of(session, instance_id)
    return render_template("audit/timeline.html", instance=instance, definition=definition,
                           timeline=entries(events, Labels(definition)))


@bp.get("/instances/<int:instance_id>/history.<fmt>")
@page(*AUDIT_ROLES)
def export_instance(instance_id: int, fmt: str):
    session = get_session()
    instance = runtime.get_instance(session, instance_id)
    events = history.events_of(session, instance_id)
    return export(((event, instance) for event in events), fmt, f"liucheng-instance-{instance_id}-history")


# -- exports -----------------------------------------------------------------------------------------

def export(rows: Iterable[tuple[HistoryEvent, Instance]], fmt: str, name: str) -> Response:
    items = [history.export_row(event, instance.process_id, instance.business_key) for event, instance in rows]
    if fmt == "json":
        body = json.dumps(items, ensure_ascii=False, indent=1)
        mimetype = "application/json"
    elif fmt == "csv":
        body = "\ufeff" + to_csv(items)  # the byte order mark lets Excel read the UTF-8 (Chinese) text
        mimetype = "text/csv"
    else:
        abort(404)
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def to_csv(items: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in items:
        writer.writerow([cell(item[key]) for key in CSV_COLUMNS])
    return out.getvalue()


def cell(value: Optional[object]) -> str:
    """A CSV cell; text a spreadsheet would run as a formula is prefixed with a quote."""
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, (dict, list)) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
