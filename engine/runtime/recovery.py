"""Recovering from incidents: retrying the failed step (a person's retry, or the worker's when its
back-off time came) and resolving an incident handled outside the engine.

The incident rows and their counting are ``engine.incidents``; a retry advances the workflow
from the failed step, and incidents whose step no longer fails are closed by it. A person's retry and a
resolve are operations (``incident_retry``, ``incident_resolve``: the incident's status before and after);
the worker's retries are not.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable, Optional

from sqlalchemy.orm import Session

from engine import clock, history, incidents, spiff
from engine.database import command
from engine.errors import ConflictError, EngineError, PermissionDeniedError, ValidationError
from engine.models import Incident, IncidentStatus, User
from engine.runtime import deliveries, steps, workflows

log = logging.getLogger("liucheng.worker")


def retry_incident(session: Session, incident_id: int, actor: Optional[User] = None,
                   reason: Optional[str] = None) -> Incident:
    """Run the failed step again (a person's retry, or the worker's when it is due: no actor)."""
    with command(session):
        incident = incidents.get_incident(session, incident_id)
        if actor is not None and not actor.manages_work:
            raise PermissionDeniedError("Only a supervisor or an admin may retry incidents.")
        if incident.status not in incidents.UNSETTLED:
            raise ConflictError(f"Incident {incident_id} is {incident.status}; nothing to retry.")
        instance, version = workflows.lock_instance(session, incident.instance_id)
        status_before = str(incident.status)
        wf = workflows.load_workflow(session, instance, version)
        history.record(session, instance.id, "incident_retried", actor.username if actor else "system",
                       incident.element_id, data={"incident_id": incident.id, "attempt": incident.attempts + 1})
        if actor is not None and incident.status == IncidentStatus.OPEN:
            incident.attempts = incidents.MAX_ATTEMPTS - 1  # one more attempt; failing again reopens it
        advanced = steps.advance(session, instance, version, wf,
                                 step=lambda wf_, on_step: spiff.retry_failed(wf_, incident.engine_task_id, on_step))
        deliveries.settle(session, instance.id, advanced)
        incidents.close_succeeded(session, instance.id, wf)
        if actor is not None:
            history.record_operation(session, actor.username, "incident_retry", "incident", incident.id, instance.id,
                                     "status", status_before, str(incident.status), str(reason or "").strip() or None,
                                     element_id=incident.element_id)
    session.refresh(incident)
    return incident


def retry_due_incidents(database, now: Optional[datetime] = None, on_failure: Optional[Callable] = None) -> int:
    """Retry the incidents whose back-off time came, each in its own transaction: one whose retry
    raises is rolled back, logged and reported to ``on_failure(what, instance id, element id,
    message)``, and the others are still retried. A step failing again is counted, not reported."""
    now = now or clock.now()
    with database.session() as session:
        due = incidents.due_for_retry(session, now)
        session.rollback()
        for incident_id, instance_id, element_id in due:
            try:
                retry_incident(session, incident_id)
            except Exception as exc:
                message = exc.message if isinstance(exc, EngineError) else f"{type(exc).__name__}: {exc}"
                log.error("incident %s could not be retried: %s", incident_id, message,
                          exc_info=not isinstance(exc, EngineError))
                if on_failure is not None:
                    on_failure(f"incident {incident_id} (retry)", instance_id, element_id, message)
    return len(due)


def resolve_incident(session: Session, incident_id: int, comment: str, actor: User) -> Incident:
    """Close an incident handled outside the engine; the instance stays as it is."""
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError("Say how the incident was resolved.", {"comment": ["Required."]})
    if not actor.manages_work:
        raise PermissionDeniedError("Only a supervisor or an admin may resolve incidents.")
    with command(session):
        incident = incidents.get_incident(session, incident_id)
        if incident.status == IncidentStatus.RESOLVED:
            raise ConflictError(f"Incident {incident_id} is already resolved.")
        incidents.mark_resolved(session, incident_id, actor.username, comment)
        history.record(session, incident.instance_id, "incident_resolved", actor.username, incident.element_id,
                       data={"incident_id": incident_id, "comment": comment})
        history.record_operation(session, actor.username, "incident_resolve", "incident", incident_id,
                                 incident.instance_id, "status", str(incident.status), str(IncidentStatus.RESOLVED),
                                 comment, element_id=incident.element_id)
    session.refresh(incident)
    return incident
