"""Auditors: every instance read-only, its timeline, a search across instances, CSV and JSON exports.

The search is ``engine.history.search``; an exported event is ``engine.history.export_row`` (codes, for
machines) or, with ``?labels=1``, the event as people read it (``labelled_row``: event type, step name,
field labels, values as on the pages). Times in both are in the configured zone, with the offset in each value;
the CSV header names the zone.
"""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from typing import Iterable, Optional

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _
from sqlalchemy import Select, select

from engine import history, runtime, users
from engine.models import Definition, HistoryEvent, Instance
from webui.db import get_session
from webui.pages.display import (count, lang, local_day_bounds, local_zone, pager, parse_day, process_name,
                                 process_names)
from webui.pages.history import Labels, entries, event_label
from webui.pages.operations import verification_of
from webui.pages.signed_in import AUDIT_ROLES, page
from webui.pages.timeline import build as timeline_of

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
    labelled = [(event, instance, Labels(definitions.get(instance.definition_id), instance.data))
                for event, instance in rows]
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
                           timeline=timeline_of(events, Labels(definition, instance.data)),
                           verdict=verification_of(session, instance_id))


@bp.get("/instances/<int:instance_id>/history.<fmt>")
@page(*AUDIT_ROLES)
def export_instance(instance_id: int, fmt: str):
    session = get_session()
    instance = runtime.get_instance(session, instance_id)
    events = history.events_of(session, instance_id)
    return export(((event, instance) for event in events), fmt, f"liucheng-instance-{instance_id}-history")


# -- exports -----------------------------------------------------------------------------------------

def export(rows: Iterable[tuple[HistoryEvent, Instance]], fmt: str, name: str) -> Response:
    if fmt not in ("json", "csv"):
        abort(404)
    labelled = request.args.get("labels") in ("1", "true", "on")
    if labelled:
        items, columns = labelled_rows(rows), labelled_columns()
    else:
        items, columns = [machine_row(event, instance) for event, instance in rows], machine_columns()
    if fmt == "json":
        body = json.dumps(items, ensure_ascii=False, indent=1)
        mimetype = "application/json"
    else:
        body = "\ufeff" + to_csv(items, columns)  # the byte order mark lets Excel read the UTF-8 (Chinese) text
        mimetype = "text/csv"
    name += "-labels" if labelled else ""
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def local_iso(moment: datetime) -> str:
    """A stored (naive UTC) time in the configured zone, ISO 8601 with its offset."""
    return moment.replace(tzinfo=timezone.utc).astimezone(local_zone()).isoformat()


def machine_row(event: HistoryEvent, instance: Instance) -> dict:
    """``engine.history.export_row`` (codes) with ``at`` in the configured zone."""
    return {**history.export_row(event, instance.process_id, instance.business_key), "at": local_iso(event.at)}


def machine_columns() -> list[tuple[str, str]]:
    """``(key, CSV header)``: the keys as they are, ``at`` naming its zone (``at (Asia/Shanghai)``)."""
    return [(key, f"at ({local_zone().key})" if key == "at" else key) for key in CSV_COLUMNS]


def labelled_rows(rows: Iterable[tuple[HistoryEvent, Instance]]) -> list[dict]:
    """The events as people read them (each instance's definition read once)."""
    session, labels, items = get_session(), {}, []
    for event, instance in rows:
        if instance.id not in labels:
            labels[instance.id] = Labels(session.get(Definition, instance.definition_id), instance.data)
        items.append(labelled_row(entries([event], labels[instance.id])[0], instance))
    return items


def labelled_row(item, instance: Instance) -> dict:
    event = item.event
    return {"id": event.id, "instance_id": event.instance_id, "process": process_name(instance.process_id),
            "business_key": instance.business_key, "at": local_iso(event.at), "event": item.label,
            "actor": event.actor, "step": item.element, "task_id": event.task_id,
            "changes": [{"field": label, "before": before, "after": after} for label, before, after in item.texts],
            "details": dict(item.details)}


def labelled_columns() -> list[tuple[str, str]]:
    return [("id", _("Event no.")), ("instance_id", _("Instance")), ("process", _("Process")),
            ("business_key", _("Business key")), ("at", _("Time (%(zone)s)", zone=local_zone().key)),
            ("event", _("Event")), ("actor", _("Who")), ("step", _("Step")), ("task_id", _("Task")),
            ("changes", _("Data")), ("details", _("Details"))]


def to_csv(items: list[dict], columns: Optional[list[tuple[str, str]]] = None) -> str:
    columns = columns or [(key, key) for key in CSV_COLUMNS]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header for _key, header in columns])
    for item in items:
        writer.writerow([cell(readable_cell(key, item[key])) for key, _header in columns])
    return out.getvalue()


def readable_cell(key: str, value: object) -> object:
    """A labelled row's changes and details in one cell: 「主管是否同意：否 → 是；审批意见：同意」."""
    colon, semicolon = ("：", "；") if lang() == "zh" else (": ", "; ")
    if key == "changes" and isinstance(value, list):
        return semicolon.join(f"{c['field']}{colon}{c['before']} → {c['after']}" if c["before"]
                              else f"{c['field']}{colon}{c['after']}" for c in value)
    if key == "details" and isinstance(value, dict):
        return semicolon.join(f"{k}{colon}{v}" for k, v in value.items())
    return value


def cell(value: Optional[object]) -> str:
    """A CSV cell; text a spreadsheet would run as a formula is prefixed with a quote."""
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, (dict, list)) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
