"""Starting processes, the list of instances and an instance's page (data, tasks, history, diagram).

Who may see and who may cancel an instance is ``engine.access``'s rule (403 otherwise); the
search is ``engine.instances.search``; what the instance holds (open tasks, incidents, waiting
elements) is ``engine.instances``'s.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy.orm import Session

from engine import access, definitions, external_tasks, history, instances, runtime
from engine.errors import EngineError, FormValidationError, PermissionDeniedError, ValidationError
from engine.models import Definition, IncidentStatus, Instance
from engine.runtime import waiting
from webui import diagram
from webui.db import get_session
from webui.http_status import status_of
from webui.pages import form_files, variable_filter
from webui.pages.display import (DIAGRAM_SCALE, count, engine_text, local_day_bounds, pager, parse_day, process_names,
                                 role_name)
from webui.pages.form_input import parse, rework, row_action
from webui.pages.form_messages import field_errors
from webui.pages.forms import fields
from webui.pages import timeline
from webui.pages.history import Labels, highlight_of
from webui.pages.operations import verification_of
from webui.pages.signed_in import actor, page

UNRESOLVED = (IncidentStatus.OPEN, IncidentStatus.RETRYING)
STATUSES = tuple(str(status) for status in instances.STATUSES)  # the list's status filter

bp = Blueprint("instances", __name__)


# -- starting -----------------------------------------------------------------------------------

def startable(session: Session) -> list[Definition]:
    """The latest definitions the user's roles may start (``runtime.check_may_start``)."""
    result = []
    for row in definitions.list_definitions(session, latest_only=True):
        try:
            runtime.check_may_start(definitions.version_of(session, row.id, row.content_hash), actor())
        except PermissionDeniedError:
            continue
        result.append(row)
    return result


@bp.get("/start")
@page(works=True)
def start_list():
    session = get_session()
    rows = startable(session)
    return render_template("instances/start_list.html", rows=rows)


@bp.route("/start/<process_id>", methods=["GET", "POST"])
@page(works=True, changes=True)
def start(process_id: str):
    session = get_session()
    row = definitions.get_definition(session, process_id)
    runtime.check_may_start(definitions.version_of(session, row.id, row.content_hash), actor())
    form = row.forms.get(row.start_form) if row.start_form else None
    submitted, errors, message = None, {}, None
    if request.method == "POST":
        submitted = rework(form, request.form)
    if request.method == "POST" and not row_action(request.form):  # a row button draws the form again
        try:
            instance = form_files.start(session, process_id, parse(form, submitted), form, actor())  # with its files
        except FormValidationError as exc:
            errors, message = field_errors(exc.details, form), _("Correct the marked fields and submit again.")
        else:
            flash(_("Started %(process)s #%(id)s %(key)s.", process=row.name or row.process_id, id=instance.id,
                    key=instance.business_key or ""), "success")
            return redirect(url_for("instances.detail", instance_id=instance.id))
    status = 422 if errors else 200  # the form again, its inputs marked
    return render_template("instances/start.html", definition=row, form=form, message=message, errors=errors,
                           inputs=fields(form, {}, submitted, errors)), status


# -- the list -------------------------------------------------------------------------------------

@bp.get("/instances")
@page()
def index():
    session = get_session()
    args = request.args
    first, last = parse_day(args.get("from")), parse_day(args.get("to"))
    since, until = local_day_bounds(first, last)
    status = args.get("status") if args.get("status") in STATUSES else None
    expression = variable_filter.expression(args)
    error, rows, pages = None, [], pager(0)
    try:
        query = instances.search(session, actor(), args.get("process") or None, status,
                                 args.get("started_by") or None, since, until, (args.get("q") or "")[:100],
                                 variables=expression or None)
        pages = pager(count(session, query))
        rows = list(session.scalars(query.order_by(Instance.id.desc()).limit(pages.size).offset(pages.offset)))
    except ValidationError as exc:  # a variable expression the engine cannot read: say why, list nothing
        session.rollback()
        error = engine_text(exc.message)
    processes = sorted(process_names(session))
    return render_template("instances/index.html", rows=rows, pages=pages, processes=processes,
                           statuses=STATUSES, status=status, first=first, last=last, error=error,
                           fields=variable_filter.fields(session, processes, args.get("process") or None),
                           operators=variable_filter.OPERATORS, variables_expression=expression)


# -- one instance -----------------------------------------------------------------------------------

def readable(session: Session, instance_id: int) -> Instance:
    instance = runtime.get_instance(session, instance_id)
    if not access.may_see_instance(session, actor(), instance_id):
        abort(403)
    return instance


def panels(session: Session, instance: Instance) -> dict:
    """What the instance and task pages show: key data, open tasks, history, incidents, the diagram."""
    definition = session.get(Definition, instance.definition_id)
    labels = Labels(definition, instance.data)
    events = history.events_of(session, instance.id)
    tasks = instances.open_tasks(session, instance.id)
    incidents = instances.incidents_of(session, instance.id)
    failed = {i.element_id for i in incidents if i.status in UNRESOLVED and i.element_id}
    active = {t.element_id for t in tasks} | instances.waiting_elements(session, instance.id)
    active |= {row.element_id for row in external_tasks.list_rows(session, instance_id=instance.id)}  # issue 14
    marks = highlight_of(definition.elements or {}, events, active, failed, instance.status)
    try:
        svg = Markup(diagram.render(definition.bpmn_xml, marks, role_name, definition.name, DIAGRAM_SCALE))
    except diagram.DiagramError:
        svg = None
    start_form = definition.forms.get(definition.start_form) if definition.start_form else None
    order = [f["name"] for f in (start_form or {}).get("fields", [])]
    data = instance.data or {}
    keys = [k for k in order if k in data] + sorted(k for k in data if k not in order)
    key_data = [(labels.field(k), data[k], labels.spec(k)) for k in keys]  # (label, value, spec or None)
    return {"definition": definition, "labels": labels, "timeline": timeline.build(events, labels), "open_tasks": tasks,
            "incidents": incidents, "svg": svg, "key_data": key_data, "marks": marks,
            "waits": waiting.waits_of(session, instance)}


@bp.get("/instances/<int:instance_id>")
@page()
def detail(instance_id: int):
    session = get_session()
    instance = readable(session, instance_id)
    return render_template("instances/detail.html", instance=instance, may_cancel=access.may_cancel(instance, actor()),
                           verdict=verification_of(session, instance_id), **panels(session, instance))


@bp.get("/instances/<int:instance_id>/diagram.svg")
@page()
def diagram_svg(instance_id: int):
    session = get_session()
    instance = readable(session, instance_id)
    svg = panels(session, instance)["svg"]
    if svg is None:
        abort(404)
    return Response(str(svg), mimetype="image/svg+xml")


@bp.post("/instances/<int:instance_id>/cancel")
@page(changes=True)
def cancel(instance_id: int):
    """Cancel with the reason typed (required); a refusal draws the page again, the cancel form open with the
    reason kept and the refusal beside it."""
    session = get_session()
    readable(session, instance_id)
    reason = request.form.get("reason", "")
    try:
        runtime.cancel_instance(session, instance_id, reason, actor())
    except EngineError as exc:
        session.rollback()
        instance = readable(session, instance_id)
        return render_template("instances/detail.html", instance=instance, may_cancel=access.may_cancel(
            instance, actor()), cancel_form={"reason": reason, "error": engine_text(exc.message)},
            verdict=verification_of(session, instance_id), **panels(session, instance)), status_of(exc)
    flash(_("The instance was cancelled."), "success")
    return redirect(url_for("instances.detail", instance_id=instance_id))
