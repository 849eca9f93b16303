"""Who may see which instance, and with it the instance's history and incidents.

The rule (SECURITY.md, "Who may read what"): admins, auditors and supervisors
see every instance; any other user sees the instances they started, those of a
process with a lane named after one of their roles (as in Camunda's lane-based
tasklists: the warehouse follows a refund before its parcel reaches them), and
those that have, or had, a human task for one of their roles, assigned to them
or offered to them by name.

Messages received are listed to admins, auditors, supervisors and integrators
(``MESSAGE_READERS``), to no one else. Admins and designers (``DEPLOYERS``) deploy
definitions. Who may cancel an instance: ``may_cancel``.

Incidents follow their instance. An incident of an instance the user may not
see is answered as if it did not exist (``NotFoundError``), so its id reveals
nothing; an instance the user may not read is refused (``PermissionDeniedError``),
as the instance pages and API always did.

Lists are filtered in SQL (``instance_filter``, ``visible_incidents``), so
paging and counts only ever see visible rows.
"""
from __future__ import annotations

from typing import Optional

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select, true
from sqlalchemy.orm import Session

import threading

from engine import juel
from engine.errors import NotFoundError, PermissionDeniedError
from engine.models import (
    ADMIN, DESIGNER, INTEGRATOR, READ_ALL_ROLES, Definition, HumanTask, Incident, Instance, InstanceStatus, Message,
    TaskCandidate, User,
)

MESSAGE_READERS = READ_ALL_ROLES | {INTEGRATOR}
DEPLOYERS = frozenset({ADMIN, DESIGNER})
"""Deploy definitions (the API) and browse them with their diagrams (the definitions pages)."""
CANCELLABLE = frozenset({InstanceStatus.RUNNING, InstanceStatus.FAILED})
_lanes_of_definition: dict[tuple[str, str], frozenset[str]] = {}  # (process id, content hash) -> lanes
_lanes_lock = threading.Lock()


# -- instances ---------------------------------------------------------------------------------

def reads_everything(user: User) -> bool:
    """Admin, auditor or supervisor (``READ_ALL_ROLES``): sees every instance."""
    return user.reads_all


def lanes_of(session: Session, definition_id: int, process_id: str, content_hash: str) -> frozenset[str]:
    """The lane names (role ids) of one stored definition version and the literal candidate groups and
    default roles of its user tasks, read once per process and content."""
    key = (process_id, content_hash)  # unique among versions, and the same in every database
    lanes = _lanes_of_definition.get(key)
    if lanes is None:
        elements = session.scalar(select(Definition.elements).where(Definition.id == definition_id)) or {}
        nodes = elements.get("nodes", {}).values()
        lanes = frozenset({n["lane"] for n in nodes if n.get("lane")}
                          | {r for n in nodes for r in n.get("roles") or () if not juel.is_juel(r)})
        with _lanes_lock:
            _lanes_of_definition[key] = lanes
    return lanes


def definitions_with_lanes(session: Session, roles: set[str]) -> list[int]:
    """Ids of the definition versions with a lane named after one of ``roles``."""
    if not roles:
        return []
    rows = session.execute(select(Definition.id, Definition.process_id, Definition.content_hash)).all()
    return [row.id for row in rows if lanes_of(session, row.id, row.process_id, row.content_hash) & roles]


def involves(session: Session, user: User) -> ColumnElement[bool]:
    """SQL condition on ``Instance``: ``user`` started it, has a role of its process's lanes, or has
    (had) a task of their roles, for them or offered to them."""
    task_of_user = exists().where(HumanTask.instance_id == Instance.id,
                                  or_(HumanTask.role.in_(user.roles), HumanTask.assignee == user.username,
                                      HumanTask.candidate_user == user.username,
                                      exists().where(TaskCandidate.task_id == HumanTask.id,
                                                     or_(and_(TaskCandidate.kind == "group",
                                                              TaskCandidate.name.in_(user.roles)),
                                                         and_(TaskCandidate.kind == "user",
                                                              TaskCandidate.name == user.username)))))
    conditions = [Instance.started_by == user.username, task_of_user]
    lane_definitions = definitions_with_lanes(session, set(user.roles))
    if lane_definitions:
        conditions.append(Instance.definition_id.in_(lane_definitions))
    return or_(*conditions)


def instance_filter(session: Session, user: User) -> ColumnElement[bool]:
    """SQL condition on ``Instance``: ``user`` may see it."""
    return true() if reads_everything(user) else involves(session, user)


def visible_instances(session: Session, user: User) -> Select:
    """``select(Instance)`` of the instances ``user`` may see (not ordered)."""
    query = select(Instance)
    return query if reads_everything(user) else query.where(involves(session, user))


def may_see_instance(session: Session, user: User, instance_id: int) -> bool:
    if reads_everything(user):
        return True
    return session.scalar(select(Instance.id).where(Instance.id == instance_id, involves(session, user))) is not None


def check_may_see_instance(session: Session, user: User, instance_id: int) -> None:
    """Raise ``PermissionDeniedError`` unless ``user`` may see the (existing) instance."""
    if not may_see_instance(session, user, instance_id):
        raise PermissionDeniedError(
            f"Instance {instance_id} is not one you started, have a task in or work in a lane of; ask a supervisor, who sees "
            "every instance.")


def get_visible_instance(session: Session, user: User, instance_id: int) -> Instance:
    """The instance, if ``user`` may see it: ``NotFoundError`` when there is none, ``PermissionDeniedError``
    when it is hidden from them (the instance pages' and API's rule)."""
    row = session.get(Instance, instance_id)
    if row is None:
        raise NotFoundError(f"Instance {instance_id} does not exist.")
    check_may_see_instance(session, user, instance_id)
    return row


# -- cancelling --------------------------------------------------------------------------------

def is_cancellable(instance: Instance) -> bool:
    """The instance is running or failed: cancelling it would stop something."""
    return instance.status in CANCELLABLE


def has_cancel_right(instance: Instance, user: User) -> bool:
    """``user`` is a manager (admin, supervisor) or started the instance; the command refuses anyone
    else (``PermissionDeniedError``) before it looks at the status (``ConflictError``)."""
    return user.manages_work or user.username == instance.started_by


def may_cancel(instance: Instance, user: User) -> bool:
    """``user`` may cancel the instance now: it is cancellable, the user acts (has a role and is
    not a pure auditor) and is a manager or the starter. Pages show the cancel button on this."""
    return (is_cancellable(instance) and bool(user.roles) and not user.read_only
            and has_cancel_right(instance, user))


# -- incidents ---------------------------------------------------------------------------------

def visible_incidents(session: Session, user: User) -> Select:
    """``select(Incident)`` of the incidents of instances ``user`` may see (not ordered)."""
    query = select(Incident)
    if reads_everything(user):
        return query
    return query.where(Incident.instance_id.in_(select(Instance.id).where(involves(session, user))))


def list_incidents(session: Session, user: User, status: Optional[str] = None, instance_id: Optional[int] = None,
                   limit: int = 100, offset: int = 0) -> list[Incident]:
    """The incidents ``user`` may see, newest first, optionally of one status or instance."""
    query = visible_incidents(session, user)
    if status:
        query = query.where(Incident.status == status)
    if instance_id is not None:
        query = query.where(Incident.instance_id == instance_id)
    return list(session.scalars(query.order_by(Incident.id.desc()).limit(limit).offset(offset)))


def count_incidents(session: Session, user: User) -> dict[str, int]:
    """``{status: number}`` of the incidents ``user`` may see."""
    visible = visible_incidents(session, user).subquery()
    rows = session.execute(select(visible.c.status, func.count()).group_by(visible.c.status))
    return {status: number for status, number in rows}


def find_visible_incident(session: Session, user: User, incident_id: int) -> Optional[Incident]:
    return session.scalar(visible_incidents(session, user).where(Incident.id == incident_id))


def get_visible_incident(session: Session, user: User, incident_id: int) -> Incident:
    """The incident, or ``NotFoundError`` when it does not exist or its instance is hidden from ``user``."""
    incident = find_visible_incident(session, user, incident_id)
    if incident is None:
        raise NotFoundError(f"Incident {incident_id} does not exist, or it belongs to an instance you may not "
                            "see; check the number in your list of incidents.")
    return incident


# -- messages ----------------------------------------------------------------------------------

def check_may_list_messages(user: User) -> None:
    """``PermissionDeniedError`` unless ``user`` is one of ``MESSAGE_READERS``."""
    if not user.roles & MESSAGE_READERS:
        raise PermissionDeniedError("Only admins, auditors, supervisors and integrators may list messages.")


def list_messages(session: Session, user: User, name: Optional[str] = None, status: Optional[str] = None,
                  limit: int = 100, offset: int = 0) -> list[Message]:
    """The messages received, newest first, optionally of one name or status (``user`` must be one of
    ``MESSAGE_READERS``)."""
    check_may_list_messages(user)
    query = select(Message).order_by(Message.id.desc())
    if name:
        query = query.where(Message.name == name)
    if status:
        query = query.where(Message.status == status)
    return list(session.scalars(query.limit(limit).offset(offset)))


# -- deploying ---------------------------------------------------------------------------------

def may_deploy(user: User) -> bool:
    """Admins and designers deploy definitions (``DEPLOYERS``; the definitions pages open to them)."""
    return bool(user.roles & DEPLOYERS)


def check_may_deploy(user: User) -> None:
    """``PermissionDeniedError`` unless ``user`` is one of ``DEPLOYERS``."""
    if not may_deploy(user):
        raise PermissionDeniedError("Only an admin or a designer may deploy definitions.")
