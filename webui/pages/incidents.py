"""Incidents (failing steps): the list and one incident for everyone who may see their instance; retry
after fixing the cause, or resolve with a comment, for supervisors and admins.

What a user sees is ``engine.access``'s rule (the incidents of the instances they
may see); an incident of an instance they may not see is a 404, or on a form post the
"does not exist" message, exactly as for an incident that does not exist.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import access, runtime
from engine.errors import EngineError
from engine.models import IncidentStatus
from webui.db import get_session
from webui.pages.display import engine_text, pager, safe_next
from webui.pages.signed_in import INCIDENT_ROLES, actor, page

bp = Blueprint("incidents", __name__, url_prefix="/incidents")
STATUSES = (IncidentStatus.OPEN, IncidentStatus.RETRYING, IncidentStatus.RESOLVED)


def may_manage() -> bool:
    """Retry and resolve: supervisors and admins (``User.manages_work``)."""
    return actor().manages_work


def visible_or_404(incident_id: int):
    incident = access.find_visible_incident(get_session(), actor(), incident_id)
    if incident is None:
        abort(404)
    return incident


@bp.get("/")
@page()
def index():
    session = get_session()
    status = request.args.get("status", IncidentStatus.OPEN)
    status = status if status in STATUSES else None
    counts = access.count_incidents(session, actor())
    pages = pager(counts.get(status, 0) if status else sum(counts.values()))
    rows = access.list_incidents(session, actor(), status, None, pages.size, pages.offset)
    return render_template("incidents/index.html", rows=rows, pages=pages, status=status, counts=counts,
                           statuses=STATUSES, may_manage=may_manage())


@bp.get("/<int:incident_id>")
@page()
def detail(incident_id: int):
    incident = visible_or_404(incident_id)
    return render_template("incidents/detail.html", incident=incident, may_manage=may_manage())


@bp.post("/<int:incident_id>/retry")
@page(*INCIDENT_ROLES)
def retry(incident_id: int):
    session = get_session()
    try:
        access.get_visible_incident(session, actor(), incident_id)
        incident = runtime.retry_incident(session, incident_id, actor(), request.form.get("reason"))
    except EngineError as exc:
        flash(engine_text(exc.message), "error")
    else:
        if incident.status == IncidentStatus.RESOLVED:
            flash(_("Incident %(id)s: the step ran and the instance goes on.", id=incident_id), "success")
        else:
            flash(_("Incident %(id)s: the step failed again: %(message)s", id=incident_id,
                    message=engine_text(incident.message)), "error")
    return redirect(safe_next(request.form.get("next"), url_for("incidents.index")))


@bp.post("/<int:incident_id>/resolve")
@page(*INCIDENT_ROLES)
def resolve(incident_id: int):
    session = get_session()
    try:
        access.get_visible_incident(session, actor(), incident_id)
        runtime.resolve_incident(session, incident_id, request.form.get("comment", ""), actor())
    except EngineError as exc:
        flash(engine_text(exc.message), "error")
    else:
        flash(_("Incident %(id)s resolved.", id=incident_id), "success")
    return redirect(safe_next(request.form.get("next"), url_for("incidents.index")))
