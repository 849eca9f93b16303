"""Incidents: failing steps that ran out of retries.

Reading follows the instance (``engine.access``): admins, auditors and
supervisors see every incident, other users those of the instances they may
see. An incident of an instance the caller may not see answers 404, for reading
and for retry/resolve alike. Retrying and resolving stay with supervisors and
admins (``engine.runtime``'s commands), and auditors change nothing (``webui.api``). An incident
becomes JSON through ``engine.incidents.as_dict``.
"""
from __future__ import annotations

from flask import Blueprint

from engine import access, incidents, runtime
from webui.api.credentials import current_user
from webui.api.incident_schemas import (IncidentQuerySchema, IncidentSchema, ResolveIncidentSchema,
                                        RetryIncidentSchema)
from webui.api.openapi import documented
from webui.api.schemas import load_json, load_query
from webui.db import get_session

bp = Blueprint("incidents", __name__)


@bp.get("/incidents")
@documented("Incidents (failed service tasks and scripts) of the instances I may see, newest first", "incidents",
            query=IncidentQuerySchema, response=IncidentSchema, many=True, errors=(400, 401))
def list_incidents():
    query = load_query(IncidentQuerySchema())
    rows = access.list_incidents(get_session(), current_user(), query.get("status"), query.get("instance_id"),
                                 query["limit"], query["offset"])
    return [incidents.as_dict(row) for row in rows]


@bp.get("/incidents/<int:incident_id>")
@documented("One incident (404 also when its instance is not one I may see)", "incidents", response=IncidentSchema,
            errors=(401, 404))
def get_incident(incident_id: int):
    incident = access.get_visible_incident(get_session(), current_user(), incident_id)
    return incidents.as_dict(incident)


@bp.post("/incidents/<int:incident_id>/retry")
@documented("Run the failed step again (supervisor or admin; an optional reason, kept in the operation log)",
            "incidents", body=RetryIncidentSchema, response=IncidentSchema, errors=(400, 401, 403, 404, 409))
def retry_incident(incident_id: int):
    body = load_json(RetryIncidentSchema())
    session = get_session()
    access.get_visible_incident(session, current_user(), incident_id)
    incident = runtime.retry_incident(session, incident_id, current_user(), body["reason"])
    return incidents.as_dict(incident)


@bp.post("/incidents/<int:incident_id>/resolve")
@documented("Close an incident handled outside the engine, with a comment (supervisor or admin)", "incidents",
            body=ResolveIncidentSchema, response=IncidentSchema, errors=(400, 401, 403, 404, 409))
def resolve_incident(incident_id: int):
    session = get_session()
    access.get_visible_incident(session, current_user(), incident_id)
    body = load_json(ResolveIncidentSchema())
    incident = runtime.resolve_incident(session, incident_id, body["comment"], current_user())
    return incidents.as_dict(incident)
