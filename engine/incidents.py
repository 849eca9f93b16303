"""Incident rows: a failing service task or script is retried with back-off, then opened.

While retries remain the instance stays ``running`` and the worker retries the
failed step when ``next_retry_at`` comes. When they are used up the incident is
``open``, the instance ``failed``, and a person retries it (after fixing the
cause) or resolves it with a comment (the commands are ``engine.runtime.recovery``). Users see
the message, never a traceback.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import clock, history, spiff, timestamps
from engine.errors import NotFoundError
from engine.models import Incident, IncidentStatus, InstanceStatus
MAX_ATTEMPTS = 3
BACKOFF = (timedelta(seconds=30), timedelta(minutes=5))  # before attempt 2, 3
UNSETTLED = (IncidentStatus.RETRYING, IncidentStatus.OPEN)


def record_failure(session: Session, instance_id: int, process_id: str, element_id: Optional[str],
                   engine_task_id: Optional[str], message: str, retries: bool = True) -> str:
    """Count a failed attempt of a step; returns the instance status that follows. Without
    ``retries`` (a failure retrying cannot mend) the incident opens at once."""
    now = clock.now()
    incident = session.scalar(select(Incident).where(
        Incident.instance_id == instance_id, Incident.engine_task_id == engine_task_id,
        Incident.status.in_(UNSETTLED)))
    if incident is None:
        incident = Incident(instance_id=instance_id, process_id=process_id, element_id=element_id,
                            engine_task_id=engine_task_id, message=message, attempts=0, status=IncidentStatus.RETRYING,
                            created_at=now, updated_at=now)
        session.add(incident)
    incident.attempts += 1
    incident.message, incident.updated_at = message, now
    if retries and incident.attempts < MAX_ATTEMPTS:
        incident.status = IncidentStatus.RETRYING
        incident.next_retry_at = now + BACKOFF[min(incident.attempts - 1, len(BACKOFF) - 1)]
        session.flush()
        history.record(session, instance_id, "step_failed", "system", element_id,
                       data={"error": message, "attempt": incident.attempts, "retry_at": incident.next_retry_at})
        return InstanceStatus.RUNNING
    incident.status, incident.next_retry_at = IncidentStatus.OPEN, None
    session.flush()
    history.record(session, instance_id, "incident_opened", "system", element_id,
                   data={"incident_id": incident.id, "error": message, "attempts": incident.attempts})
    history.record(session, instance_id, "instance_failed", "system", element_id, data={"error": message})
    return InstanceStatus.FAILED


def close_succeeded(session: Session, instance_id: int, wf) -> None:
    """Incidents whose step no longer fails are resolved by the run that got past them."""
    failing = set(spiff.failed_task_ids(wf))
    for incident in session.scalars(select(Incident).where(Incident.instance_id == instance_id,
                                                           Incident.status.in_(UNSETTLED))):
        if incident.engine_task_id not in failing:
            incident.status, incident.resolved_at, incident.resolved_by = IncidentStatus.RESOLVED, clock.now(), "system"
            incident.next_retry_at = None
            history.record(session, instance_id, "incident_resolved", "system", incident.element_id,
                           data={"incident_id": incident.id, "by": "retry"})


# -- rows the recovery commands (engine.runtime.recovery) read and write -----------------------

def due_for_retry(session: Session, now: datetime) -> list[tuple[int, int, Optional[str]]]:
    """(id, instance id, element id) of the incidents whose back-off time came."""
    return [tuple(row) for row in session.execute(select(Incident.id, Incident.instance_id, Incident.element_id)
                                                  .where(Incident.status == IncidentStatus.RETRYING,
                                                         Incident.next_retry_at <= now))]


def mark_resolved(session: Session, incident_id: int, username: str, comment: str) -> None:
    session.execute(update(Incident).where(Incident.id == incident_id).values(
        status=IncidentStatus.RESOLVED, resolved_at=clock.now(), resolved_by=username, comment=comment,
        next_retry_at=None).execution_options(synchronize_session=False))


# -- reading -----------------------------------------------------------------------------------

def get_incident(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFoundError(f"Incident {incident_id} does not exist.")
    return incident


def list_incidents(session: Session, status: Optional[str] = None, instance_id: Optional[int] = None,
                   limit: int = 100, offset: int = 0) -> list[Incident]:
    query = select(Incident).order_by(Incident.id.desc())
    if status:
        query = query.where(Incident.status == status)
    if instance_id is not None:
        query = query.where(Incident.instance_id == instance_id)
    return list(session.scalars(query.limit(limit).offset(offset)))


def as_dict(incident: Incident) -> dict[str, Any]:
    iso = timestamps.iso  # ISO 8601 UTC with +00:00
    return {"id": incident.id, "instance_id": incident.instance_id, "process_id": incident.process_id,
            "element_id": incident.element_id, "message": incident.message, "attempts": incident.attempts,
            "status": incident.status, "created_at": iso(incident.created_at),
            "updated_at": iso(incident.updated_at), "next_retry_at": iso(incident.next_retry_at),
            "resolved_at": iso(incident.resolved_at), "resolved_by": incident.resolved_by,
            "comment": incident.comment}


