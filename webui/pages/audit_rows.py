"""The rows of the audit exports: a history event or an operation as codes (for programs) or, with
``?labels=1``, as people read it (event type, step name, field labels, values as on the pages; operations by
their labels), with the columns each has in a CSV file.

Events: codes are ``engine.history.export_row``, labels ``labelled_record`` (``webui.pages.history``).
Operations: ``engine.operation_log.as_dict``, labelled with ``operation_log.label``. Times in both are in the
configured zone with the offset in each value; the CSV header names the zone. The queries read plain columns
(``event_columns``, ``operation_columns``: no ORM objects, no instance data decoded per row), and each generator
takes one row at a time: an export holds a few rows and the labels of the last ``LABELS_KEPT`` instances,
whatever its size.
"""
from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timezone
from typing import Iterable, Iterator

from flask_babel import gettext as _
from sqlalchemy import Select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from engine import history, operation_log
from engine.models import Definition, HistoryEvent, Instance
from webui.exports import Columns
from webui.pages.display import lang, local_zone, process_name
from webui.pages.history import Labels, entries

EVENT_KEYS = ("id", "instance_id", "process_id", "business_key", "at", "type", "actor", "element_id", "task_id",
              "data")
OPERATION_KEYS = ("id", "at", "actor", "operation", "entity_type", "entity_id", "property", "old", "new", "reason",
                  "instance_id", "details")
LABELS_KEPT = 256
_EVENT = HistoryEvent.__table__.c
EVENT_COLUMNS = (_EVENT.id, _EVENT.instance_id, _EVENT.at, _EVENT.type, _EVENT.actor, _EVENT.element_id,
                 _EVENT.task_id, _EVENT.data, Instance.process_id, Instance.business_key)
OPERATION_COLUMNS = (_EVENT.id, _EVENT.instance_id, _EVENT.at, _EVENT.actor, _EVENT.operation, _EVENT.entity_type,
                     _EVENT.entity_id, _EVENT.data)


def event_columns(query: Select) -> Select:
    """``engine.history.search``'s query (events joined to their instances) reading only what an export writes."""
    return query.with_only_columns(*EVENT_COLUMNS)


def operation_columns(query: Select) -> Select:
    """``engine.operation_log.search``'s query reading only what an export writes."""
    return query.with_only_columns(*OPERATION_COLUMNS)


def local_iso(moment: datetime, zone=None) -> str:
    """A stored (naive UTC) time in the configured zone, ISO 8601 with its offset."""
    return moment.replace(tzinfo=timezone.utc).astimezone(zone or local_zone()).isoformat()


def coded_columns(keys: Iterable[str]) -> Columns:
    """``(key, CSV header)``: the keys as they are, ``at`` naming its zone (``at (Asia/Shanghai)``)."""
    return [(key, f"at ({local_zone().key})" if key == "at" else key) for key in keys]


def labelled_trailer(count: int) -> str:
    """The labelled exports' CSV trailer, in the reader's language."""
    return _("# rows: %(n)s", n=count)


# -- history events -------------------------------------------------------------------------------------

def event_records(rows: Iterable[Row]) -> Iterator[dict]:
    """``engine.history.export_row`` (codes) with ``at`` in the configured zone (rows of ``event_columns``)."""
    zone = local_zone()
    for row in rows:
        yield {**history.export_row(row, row.process_id, row.business_key), "at": local_iso(row.at, zone)}


def labelled_event_records(session: Session, rows: Iterable[Row]) -> Iterator[dict]:
    """The events as people read them (rows of ``event_columns``; an instance's labels made once while its
    events keep coming, each definition read once)."""
    kept: OrderedDict[int, Labels] = OrderedDict()
    definitions: dict[int, Definition] = {}
    zone = local_zone()
    for row in rows:
        labels = kept.pop(row.instance_id, None) or labels_of(session, row.instance_id, definitions)
        kept[row.instance_id] = labels
        if len(kept) > LABELS_KEPT:
            kept.popitem(last=False)
        yield labelled_record(entries([row], labels)[0], row, zone)


def labels_of(session: Session, instance_id: int, definitions: dict[int, Definition]) -> Labels:
    instance = session.get(Instance, instance_id)
    if instance.definition_id not in definitions:
        definitions[instance.definition_id] = session.get(Definition, instance.definition_id)
    return Labels(definitions[instance.definition_id], instance.data)


def labelled_record(item, row: Row, zone=None) -> dict:
    event = item.event
    return {"id": event.id, "instance_id": event.instance_id, "process": process_name(row.process_id),
            "business_key": row.business_key, "at": local_iso(event.at, zone), "event": item.label,
            "actor": event.actor, "step": item.element, "task_id": event.task_id,
            "changes": [{"field": label, "before": before, "after": after} for label, before, after in item.texts],
            "details": dict(item.details)}


def labelled_event_columns() -> Columns:
    return [("id", _("Event no.")), ("instance_id", _("Instance")), ("process", _("Process")),
            ("business_key", _("Business key")), ("at", _("Time (%(zone)s)", zone=local_zone().key)),
            ("event", _("Event")), ("actor", _("Who")), ("step", _("Step")), ("task_id", _("Task")),
            ("changes", _("Data")), ("details", _("Details"))]


def readable_cells(records: Iterable[dict]) -> Iterator[dict]:
    """A labelled record's changes and details each in one cell: 「主管是否同意：否 → 是；审批意见：同意」."""
    colon, semicolon = ("：", "；") if lang() == "zh" else (": ", "; ")
    for record in records:
        changes, details = record.get("changes"), record.get("details")
        if isinstance(changes, list):
            record["changes"] = semicolon.join(
                f"{c['field']}{colon}{c['before']} → {c['after']}" if c["before"] else f"{c['field']}{colon}{c['after']}"
                for c in changes)
        if isinstance(details, dict):
            record["details"] = semicolon.join(f"{k}{colon}{v}" for k, v in details.items())
        yield record


# -- operations -----------------------------------------------------------------------------------------

def operation_records(rows: Iterable[Row]) -> Iterator[dict]:
    """``engine.operation_log.as_dict`` with ``at`` in the configured zone (rows of ``operation_columns``)."""
    zone = local_zone()
    for row in rows:
        yield {**operation_log.as_dict(row), "at": local_iso(row.at, zone)}


def labelled_operation_records(rows: Iterable[Row]) -> Iterator[dict]:
    """The operations with their labels in the reader's language (what was changed keeps its values)."""
    language = lang()
    entity_labels = {e.name: (e.zh if language == "zh" else e.en) for e in operation_log.ENTITY_TYPES}
    for record in operation_records(rows):
        record["operation"] = operation_log.label(record["operation"], language)
        record["entity_type"] = entity_labels.get(record["entity_type"] or "", record["entity_type"])
        yield record


def labelled_operation_columns() -> Columns:
    return [("id", _("Event no.")), ("at", _("Time (%(zone)s)", zone=local_zone().key)), ("actor", _("Who")),
            ("operation", _("Operation")), ("entity_type", _("Applies to")), ("entity_id", _("Applies to no.")),
            ("property", _("Property")), ("old", _("Before")), ("new", _("After")), ("reason", _("Reason")),
            ("instance_id", _("Instance")), ("details", _("Details"))]
