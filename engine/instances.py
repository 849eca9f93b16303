"""Process instances as rows: their business keys, the search over the ones a user may see, what one
instance holds (open tasks, incidents, elements waiting for a timer or message) and its JSON dict.

* ``BUSINESS_KEYS`` and ``business_key_match``: the instance's business key, or one of the key fields
  of its data, contains a text (the search box of the worklist, the instance list and the audit).
* ``STATUSES``: an instance's statuses in the order the API and the pages list them.
* ``search``: ``engine.access``'s visible instances filtered by process, status, starter, start
  date range, business key and variables (``engine.variable_index``) (not ordered);
  ``count_by_definition``: instances per definition version.
* ``as_dict``: an instance's row as the API returns it (the only place an instance becomes a dict;
  the API adds its open tasks, each ``engine.worklist.as_dict``).

All run on SQLite and PostgreSQL (JSON fields read with ``->>``/``json_extract``).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from engine import access, timestamps, variable_index
from engine.models import (
    HumanTask, Incident, Instance, InstanceStatus, MessageSubscription, TaskStatus, Timer, TimerStatus, User,
)

BUSINESS_KEYS = ("order_no", "po_no", "inquiry_no", "merchant")
"""Data fields that name an instance to people, in order (the first present is its business key)."""
STATUSES = (InstanceStatus.RUNNING, InstanceStatus.COMPLETED, InstanceStatus.CANCELLED, InstanceStatus.FAILED)
"""An instance's statuses, in the order the API's schema and the pages' filters list them."""
ACTIVE_TASK = (TaskStatus.OPEN, TaskStatus.CLAIMED)
SUMMARY_FIELDS = ("id", "process_id", "version", "status", "business_key", "data", "started_at", "started_by",
                  "ended_at", "cancel_reason", "error")


# -- searching -----------------------------------------------------------------------------------

def like(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere (``%`` and ``_`` taken literally, escape ``\\``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def business_key_match(text: str) -> ColumnElement[bool]:
    """SQL condition on ``Instance``: its business key, or one of the key fields of its data, contains ``text``."""
    pattern = like(text.strip())
    conditions = [Instance.business_key.ilike(pattern, escape="\\")]
    conditions += [Instance.data[key].as_string().ilike(pattern, escape="\\") for key in BUSINESS_KEYS]
    return or_(*conditions)


def search(session: Session, user: User, process_id: Optional[str] = None, status: Optional[str] = None,
           started_by: Optional[str] = None, since: Optional[datetime] = None, until: Optional[datetime] = None,
           text: Optional[str] = None, variables: Optional[str] = None) -> Select:
    """``select(Instance)`` of the instances ``user`` may see, filtered (not ordered); ``variables``: a
    filter on their data (``engine.variable_index.parse``; ValidationError if malformed)."""
    query = access.visible_instances(session, user)
    if process_id:
        query = query.where(Instance.process_id == process_id)
    if status:
        query = query.where(Instance.status == status)
    if started_by:
        query = query.where(Instance.started_by == started_by.strip())
    if since:
        query = query.where(Instance.started_at >= since)
    if until:
        query = query.where(Instance.started_at < until)
    if text and text.strip():
        query = query.where(business_key_match(text))
    if variables:
        query = query.where(variable_index.matching(variable_index.parse(variables), Instance.id, session))
    return query


def count_by_definition(session: Session) -> dict[int, int]:
    """``{definition id: number of instances}`` of every version that has instances (all users' instances:
    for designers' definition pages)."""
    rows = session.execute(select(Instance.definition_id, func.count()).group_by(Instance.definition_id))
    return {definition_id: number for definition_id, number in rows}


# -- what one instance holds -------------------------------------------------------------------------

def open_tasks(session: Session, instance_id: int) -> list[HumanTask]:
    """The instance's open or claimed tasks, oldest first."""
    return list(session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance_id, HumanTask.status.in_(ACTIVE_TASK)).order_by(HumanTask.id)))


def incidents_of(session: Session, instance_id: int) -> list[Incident]:
    """The instance's incidents, newest first."""
    return list(session.scalars(select(Incident).where(Incident.instance_id == instance_id)
                                .order_by(Incident.id.desc())))


def waiting_elements(session: Session, instance_id: int) -> set[str]:
    """Elements waiting for a timer or a message (active in the diagram)."""
    timers = session.scalars(select(Timer.element_id).where(Timer.instance_id == instance_id,
                                                            Timer.status == TimerStatus.WAITING))
    subscriptions = session.scalars(select(MessageSubscription.element_id)
                                    .where(MessageSubscription.instance_id == instance_id))
    return set(timers) | set(subscriptions)


# -- as JSON ---------------------------------------------------------------------------------------------

def as_dict(instance: Instance) -> dict[str, Any]:
    """The instance's row (times ISO 8601 UTC with ``+00:00``)."""
    result = {name: getattr(instance, name) for name in SUMMARY_FIELDS}
    for name in ("started_at", "ended_at"):
        result[name] = timestamps.iso(result[name])
    return result
