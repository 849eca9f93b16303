"""Who may see which instance, and with it the instance's history and incidents.

The rule (SECURITY.md, "Who may read what"): admins, auditors and supervisors
see every instance; any other user sees the instances they started and those
that have, or had, a human task for one of their roles or assigned to them by
name. Belonging to a role of one of the process's lanes is not enough on its
own: the instance must have reached that lane.

Incidents follow their instance. An incident of an instance the user may not
see is answered as if it did not exist (``NotFoundError``), so its id reveals
nothing; an instance the user may not read is refused (``PermissionDeniedError``),
as the instance pages and API always did.

Lists are filtered in SQL (``instance_filter``, ``visible_incidents``), so
paging and counts only ever see visible rows.
"""
from __future__ import annotations

from typing import Optional

from sqlalchemy import ColumnElement, Select, exists, func, or_, select, true
from sqlalchemy.orm import Session

from engine import worklist
from engine.errors import NotFoundError, PermissionDeniedError
from engine.models import HumanTask, Incident, Instance, User

READ_ALL_ROLES = worklist.READ_ALL_ROLES  # admin, auditor, supervisor


# -- instances ---------------------------------------------------------------------------------

def reads_everything(user: User) -> bool:
    return bool(user.roles & READ_ALL_ROLES)


def involves(user: User) -> ColumnElement[bool]:
    """SQL condition on ``Instance``: ``user`` started it or has (had) a task of their roles in it."""
    task_of_user = exists().where(HumanTask.instance_id == Instance.id,
                                  or_(HumanTask.role.in_(user.roles), HumanTask.assignee == user.username))
    return or_(Instance.started_by == user.username, task_of_user)


def instance_filter(user: User) -> ColumnElement[bool]:
    """SQL condition on ``Instance``: ``user`` may see it."""
    return true() if reads_everything(user) else involves(user)


def visible_instances(user: User) -> Select:
    """``select(Instance)`` of the instances ``user`` may see (not ordered)."""
    query = select(Instance)
    return query if reads_everything(user) else query.where(involves(user))


def may_see_instance(session: Session, user: User, instance_id: int) -> bool:
    if reads_everything(user):
        return True
    return session.scalar(select(Instance.id).where(Instance.id == instance_id, involves(user))) is not None


def check_may_see_instance(session: Session, user: User, instance_id: int) -> None:
    """Raise ``PermissionDeniedError`` unless ``user`` may see the (existing) instance."""
    if not may_see_instance(session, user, instance_id):
        raise PermissionDeniedError(
            f"Instance {instance_id} is not one you started or have a task in; ask a supervisor, who sees "
            "every instance.")


# -- incidents ---------------------------------------------------------------------------------

def visible_incidents(user: User) -> Select:
    """``select(Incident)`` of the incidents of instances ``user`` may see (not ordered)."""
    query = select(Incident)
    if reads_everything(user):
        return query
    return query.where(Incident.instance_id.in_(select(Instance.id).where(involves(user))))


def list_incidents(session: Session, user: User, status: Optional[str] = None, instance_id: Optional[int] = None,
                   limit: int = 100, offset: int = 0) -> list[Incident]:
    """The incidents ``user`` may see, newest first, optionally of one status or instance."""
    query = visible_incidents(user)
    if status:
        query = query.where(Incident.status == status)
    if instance_id is not None:
        query = query.where(Incident.instance_id == instance_id)
    return list(session.scalars(query.order_by(Incident.id.desc()).limit(limit).offset(offset)))


def count_incidents(session: Session, user: User) -> dict[str, int]:
    """``{status: number}`` of the incidents ``user`` may see."""
    visible = visible_incidents(user).subquery()
    rows = session.execute(select(visible.c.status, func.count()).group_by(visible.c.status))
    return {status: number for status, number in rows}


def find_visible_incident(session: Session, user: User, incident_id: int) -> Optional[Incident]:
    return session.scalar(visible_incidents(user).where(Incident.id == incident_id))


def get_visible_incident(session: Session, user: User, incident_id: int) -> Incident:
    """The incident, or ``NotFoundError`` when it does not exist or its instance is hidden from ``user``."""
    incident = find_visible_incident(session, user, incident_id)
    if incident is None:
        raise NotFoundError(f"Incident {incident_id} does not exist, or it belongs to an instance you may not "
                            "see; check the number in your list of incidents.")
    return incident
