"""Incidents (failing steps) for supervisors and admins: list, retry after fixing the cause, resolve."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from engine import incidents
from engine.errors import EngineError
from engine.models import Incident
from webui.db import get_session
from webui.views_common import INCIDENT_ROLES, actor, page, pager, safe_next

bp = Blueprint("incidents", __name__, url_prefix="/incidents")
STATUSES = ("open", "retrying", "resolved")


@bp.get("/")
@page(*INCIDENT_ROLES)
def index():
    session = get_session()
    status = request.args.get("status", "open")
    status = status if status in STATUSES else None
    counts = dict(session.execute(select(Incident.status, func.count()).group_by(Incident.status)).all())
    pages = pager(counts.get(status, 0) if status else sum(counts.values()))
    rows = incidents.list_incidents(session, status, None, pages.size, pages.offset)
    return render_template("incidents/index.html", rows=rows, pages=pages, status=status, counts=counts,
                           statuses=STATUSES)


@bp.post("/<int:incident_id>/retry")
@page(*INCIDENT_ROLES)
def retry(incident_id: int):
    try:
        incident = incidents.retry(get_session(), incident_id, actor())
    except EngineError as exc:
        flash(exc.message, "error")
    else:
        if incident.status == "resolved":
            flash(_("Incident %(id)s: the step ran and the instance goes on.", id=incident_id), "success")
        else:
            flash(_("Incident %(id)s: the step failed again: %(message)s", id=incident_id,
                    message=incident.message), "error")
    return redirect(safe_next(request.form.get("next"), url_for("incidents.index")))


@bp.post("/<int:incident_id>/resolve")
@page(*INCIDENT_ROLES)
def resolve(incident_id: int):
    try:
        incidents.resolve(get_session(), incident_id, request.form.get("comment", ""), actor())
    except EngineError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Incident %(id)s resolved.", id=incident_id), "success")
    return redirect(safe_next(request.form.get("next"), url_for("incidents.index")))
