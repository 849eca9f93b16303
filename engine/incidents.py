"""Incidents: a failing service task or script is retried with back-off, then opened.

While retries remain the instance stays ``running`` and the worker retries the
failed step when ``next_retry_at`` comes. When they are used up the incident is
``open``, the instance ``failed``, and a person retries it (after fixing the
cause) or resolves it with a comment. Users see the message, never a traceback.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Callable, Optional

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import clock, history
from engine.spiff import workflow
from engine.database import command
from engine.errors import ConflictError, EngineError, NotFoundError, PermissionDeniedError, ValidationError
from engine.models import Incident, User

log = logging.getLogger("liucheng.worker")
MAX_ATTEMPTS = 3
BACKOFF = (timedelta(seconds=30), timedelta(minutes=5))  # before attempt 2, 3
MANAGES = {"admin", "supervisor"}


def record_failure(session: Session, instance_id: int, process_id: str, element_id: Optional[str],
                   engine_task_id: Optional[str], message: str, retries: bool = True) -> str:
    """Count a failed attempt of a step; returns the instance status that follows. Without
    ``retries`` (a failure retrying cannot mend) the incident opens at once."""
    now = clock.now()
    incident = session.scalar(select(Incident).where(
        Incident.instance_id == instance_id, Incident.engine_task_id == engine_task_id,
        Incident.status.in_(("retrying", "open"))))
    if incident is None:
        incident = Incident(instance_id=instance_id, process_id=process_id, element_id=element_id,
                            engine_task_id=engine_task_id, message=message, attempts=0, status="retrying",
                            created_at=now, updated_at=now)
        session.add(incident)
    incident.attempts += 1
    incident.message, incident.updated_at = message, now
    if retries and incident.attempts < MAX_ATTEMPTS:
        incident.status = "retrying"
        incident.next_retry_at = now + BACKOFF[min(incident.attempts - 1, len(BACKOFF) - 1)]
        session.flush()
        history.record(session, instance_id, "step_failed", "system", element_id,
                       data={"error": message, "attempt": incident.attempts, "retry_at": incident.next_retry_at})
        return "running"
    incident.status, incident.next_retry_at = "open", None
    session.flush()
    history.record(session, instance_id, "incident_opened", "system", element_id,
                   data={"incident_id": incident.id, "error": message, "attempts": incident.attempts})
    history.record(session, instance_id, "instance_failed", "system", element_id, data={"error": message})
    return "failed"


def close_succeeded(session: Session, instance_id: int, wf) -> None:
    """Incidents whose step no longer fails are resolved by the run that got past them."""
    failing = set(workflow.failed_task_ids(wf))
    for incident in session.scalars(select(Incident).where(Incident.instance_id == instance_id,
                                                           Incident.status.in_(("retrying", "open")))):
        if incident.engine_task_id not in failing:
            incident.status, incident.resolved_at, incident.resolved_by = "resolved", clock.now(), "system"
            incident.next_retry_at = None
            history.record(session, instance_id, "incident_resolved", "system", incident.element_id,
                           data={"incident_id": incident.id, "by": "retry"})


# -- retrying ------------------------------------------------------------------------------

def retry(session: Session, incident_id: int, actor: Optional[User] = None) -> Incident:
    """Run the failed step again (a person's retry, or the worker's when it is due)."""
    from engine import runtime

    with command(session):
        incident = get_incident(session, incident_id)
        if actor is not None and not actor.roles & MANAGES:
            raise PermissionDeniedError("Only a supervisor or an admin may retry incidents.")
        if incident.status not in ("retrying", "open"):
            raise ConflictError(f"Incident {incident_id} is {incident.status}; nothing to retry.")
        instance, version = runtime.lock_instance(session, incident.instance_id)
        wf = runtime.load_workflow(session, instance, version)
        history.record(session, instance.id, "incident_retried", actor.username if actor else "system",
                       incident.element_id, data={"incident_id": incident.id, "attempt": incident.attempts + 1})
        if actor is not None and incident.status == "open":
            incident.attempts = MAX_ATTEMPTS - 1  # one more attempt; failing again reopens it
        runtime.advance(session, instance, version, wf,
                        step=lambda wf_, on_step: workflow.retry_failed(wf_, incident.engine_task_id, on_step))
        close_succeeded(session, instance.id, wf)
    session.refresh(incident)
    return incident


def retry_due(database, now: Optional[datetime] = None, on_failure: Optional[Callable] = None) -> int:
    """Retry the incidents whose back-off time came, each in its own transaction: one whose retry
    raises is rolled back, logged and reported to ``on_failure(what, instance id, element id,
    message)``, and the others are still retried. A step failing again is counted, not reported."""
    now = now or clock.now()
    with database.session() as session:
        due = list(session.execute(select(Incident.id, Incident.instance_id, Incident.element_id).where(
            Incident.status == "retrying", Incident.next_retry_at <= now)))
        session.rollback()
        for incident_id, instance_id, element_id in due:
            try:
                retry(session, incident_id)
            except Exception as exc:
                message = exc.message if isinstance(exc, EngineError) else f"{type(exc).__name__}: {exc}"
                log.error("incident %s could not be retried: %s", incident_id, message,
                          exc_info=not isinstance(exc, EngineError))
                if on_failure is not None:
                    on_failure(f"incident {incident_id} (retry)", instance_id, element_id, message)
    return len(due)


def resolve(session: Session, incident_id: int, comment: str, actor: User) -> Incident:
    """Close an incident handled outside the engine; the instance stays as it is."""
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError("Say how the incident was resolved.", {"comment": ["Required."]})
    if not actor.roles & MANAGES:
        raise PermissionDeniedError("Only a supervisor or an admin may resolve incidents.")
    with command(session):
        incident = get_incident(session, incident_id)
        if incident.status == "resolved":
            raise ConflictError(f"Incident {incident_id} is already resolved.")
        session.execute(update(Incident).where(Incident.id == incident_id).values(
            status="resolved", resolved_at=clock.now(), resolved_by=actor.username, comment=comment,
            next_retry_at=None).execution_options(synchronize_session=False))
        history.record(session, incident.instance_id, "incident_resolved", actor.username, incident.element_id,
                       data={"incident_id": incident_id, "comment": comment})
    session.refresh(incident)
    return incident


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
    iso = lambda v: v.isoformat() if v else None  # noqa: E731
    return {"id": incident.id, "instance_id": incident.instance_id, "process_id": incident.process_id,
            "element_id": incident.element_id, "message": incident.message, "attempts": incident.attempts,
            "status": incident.status, "created_at": iso(incident.created_at),
            "updated_at": iso(incident.updated_at), "next_retry_at": iso(incident.next_retry_at),
            "resolved_at": iso(incident.resolved_at), "resolved_by": incident.resolved_by,
            "comment": incident.comment}


