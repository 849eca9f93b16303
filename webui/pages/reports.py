"""An instance's audit report as a page (``/instances/<id>/report``), printable to PDF from the browser.

The content is ``engine.audit_report.build`` (the API's ``report.json`` is the same); this page labels it as
the other pages do (step names, field labels and values through ``webui.pages.history.Labels`` and
``values_view``, people by display name, times in the local zone) and marks the path on the diagram from the
report's own path. Its print stylesheet (``static/report-print.css``) leaves out the menu and the buttons,
prints links as text and keeps tables and sections from breaking badly on A4.

An audit document: auditors and admins only (``AUDIT_ROLES``; 403 for anyone else, the sign-in page without
a sign-in). Its verification walks at most ``audit_report.LONGEST_STRETCH`` events, as the audit pages do.
"""
from __future__ import annotations

from typing import Any, Optional

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from engine import audit_report, operation_log
from engine.models import Definition
from webui import diagram
from webui.db import get_session
from webui.pages import values_view
from webui.pages.display import DIAGRAM_SCALE, lang, role_name
from webui.pages.history import Labels, event_label
from webui.pages.signed_in import AUDIT_ROLES, actor, page

bp = Blueprint("reports", __name__)
REASONS = {"changed": _l("changed"), "missing": _l("missing (an event before it is gone)"),
           "inserted": _l("inserted"), "reordered": _l("out of order")}  # engine.chain_verify.REASONS
SOURCES = {  # who or what changed a variable (engine.variable_history's sources)
    "start_form": _l("Start form"), "task_form": _l("Task form"), "script": _l("Script"),
    "message": _l("Message received"), "signal": _l("Signal received"), "external_task": _l("External task"),
    "timer": _l("Timer"), "incident_retry": _l("Incident retried"), "admin_edit": _l("Edited by an admin"),
    "engine": _l("The engine"),
}
UNLABELLED = {"variables_changed": _l("Variables changed")}  # until webui.pages.history labels it


@bp.get("/instances/<int:instance_id>/report")
@page(*AUDIT_ROLES)
def instance_report(instance_id: int):
    """The report, for auditors and admins (``engine.audit_report.build`` checks it too)."""
    session = get_session()
    report = audit_report.build(session, instance_id, actor(), audit_report.LONGEST_STRETCH)
    definition = session.get(Definition, report["instance"]["definition"]["id"]) \
        if report["instance"].get("definition") else None
    labels = Labels(definition, report["instance"].get("data") or {})
    return render_template("reports/report.html", report=report, labels=labels, svg=diagram_of(definition, report),
                           highlight=True, local_time=local_time, operation_label=operation_label,
                           reason_text=reason_text, source_text=source_text,
                           event_text=event_text)


def marks_of(path: dict[str, Any]) -> diagram.Highlight:
    """The diagram's marks from the report's path (the same steps and flows the report lists)."""
    active, failed = set(path["active"]), set(path["failed"])
    return diagram.Highlight(completed=set(path["counts"]) - active - failed, active=active, failed=failed,
                             flows={flow["flow_id"] for flow in path["flows"]}, counts=dict(path["counts"]))


def diagram_of(definition: Optional[Definition], report: dict[str, Any]) -> Optional[Markup]:
    if definition is None:
        return None
    try:
        return Markup(diagram.render(definition.bpmn_xml, marks_of(report["path"]), role_name, definition.name,
                                     DIAGRAM_SCALE))
    except diagram.DiagramError:
        return None


def local_time(iso: Optional[str]) -> str:
    """A report's time (ISO 8601 UTC) in the local zone, with seconds."""
    return values_view.local_time(iso) if iso else ""


def event_text(event: dict[str, Any]) -> str:
    """An event of the report by its label (an operation by the operation's)."""
    if event.get("operation"):
        return operation_label(event["operation"])
    label = event_label(event["type"])
    return str(UNLABELLED.get(event["type"], label)) if label == event["type"] else label


def operation_label(name: Optional[str]) -> str:
    return operation_log.label(name, lang())


def source_text(source: Optional[str]) -> str:
    return str(SOURCES.get(source or "", source or ""))


def reason_text(reason: Optional[str]) -> str:
    """Why an event does not verify, in words (``engine.chain_verify``'s reason codes)."""
    return str(REASONS.get(reason or "", reason or ""))
