"""Auditors: every instance read-only, its timeline, a search across instances, CSV and JSON exports.

The search is ``engine.history.search``. The exports (the search's result, an instance's history, the
operation log) hold every matching row, streamed from one snapshot (``webui.exports``: the file ends with its
row count); a row is ``webui.pages.audit_rows``: codes, for machines, or with ``?labels=1`` as people read it.
"""
from __future__ import annotations

from typing import Callable, Iterable, Iterator

from flask import Blueprint, Response, abort, render_template, request
from sqlalchemy import Select, select

from engine import history, runtime, users
from engine.models import Definition, HistoryEvent
from webui import exports
from webui.db import get_session
from webui.pages import audit_rows
from webui.pages.display import count, local_day_bounds, pager, parse_day, process_names
from webui.pages.history import Labels, entries, event_label
from webui.pages.operations import search_query as operations_query, verification_of
from webui.pages.signed_in import AUDIT_ROLES, page
from webui.pages.timeline import build as timeline_of

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE = 50
cell = exports.cell  # a CSV cell, safe from spreadsheet formulas (tests import it from here)


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
    return export_events(search_query(), fmt, "liucheng-history-search")


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
    runtime.get_instance(get_session(), instance_id)  # 404 for an unknown instance
    query = history.search(instance_id=instance_id).order_by(None).order_by(HistoryEvent.id)  # as the timeline
    return export_events(query, fmt, f"liucheng-instance-{instance_id}-history")


@bp.get("/operations/export.<fmt>")
@page(*AUDIT_ROLES)
def export_operations(fmt: str):
    """The operation log with the filters of its page, oldest first (the chain's order, as the other exports)."""
    query = audit_rows.operation_columns(operations_query().order_by(None).order_by(HistoryEvent.at, HistoryEvent.id))
    if wants_labels():
        return export(query, fmt, "liucheng-operations-labels",
                      lambda _snapshot, rows: audit_rows.labelled_operation_records(rows),
                      audit_rows.labelled_operation_columns())
    return export(query, fmt, "liucheng-operations", lambda _snapshot, rows: audit_rows.operation_records(rows),
                  audit_rows.coded_columns(audit_rows.OPERATION_KEYS))


# -- exports -----------------------------------------------------------------------------------------

def export_events(query, fmt: str, name: str) -> Response:
    """History events (``engine.history.search``), codes or labels."""
    query = audit_rows.event_columns(query)
    if wants_labels():
        return export(query, fmt, name + "-labels", audit_rows.labelled_event_records,
                      audit_rows.labelled_event_columns())
    return export(query, fmt, name, lambda _snapshot, rows: audit_rows.event_records(rows),
                  audit_rows.coded_columns(audit_rows.EVENT_KEYS))


def wants_labels() -> bool:
    return request.args.get("labels") in ("1", "true", "on")


def export(query, fmt: str, name: str, records: Callable[..., Iterator[dict]], columns) -> Response:
    """Every row of ``query`` as the file ``name.fmt``: counted, then streamed from the same snapshot;
    ``records(snapshot, rows)`` makes the rows into records."""
    if fmt not in exports.FORMATS:
        abort(404)
    snapshot = exports.open_snapshot()
    try:
        total = exports.count_of(snapshot, query)
        rows: Iterable = exports.rows_of(snapshot, query)
    except BaseException:
        snapshot.close()
        raise
    items = records(snapshot, rows)
    if fmt == "json":
        chunks = exports.json_chunks(items)
    elif wants_labels():
        chunks = exports.csv_chunks(audit_rows.readable_cells(items), columns, audit_rows.labelled_trailer)
    else:
        chunks = exports.csv_chunks(items, columns, exports.row_count_line)
    return exports.download(chunks, fmt, name, total, snapshot)
