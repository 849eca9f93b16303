"""Read queries the web pages need and the engine does not offer (yet).

* ``worklist_query``: ``engine.worklist.list_tasks`` plus a business key search
  (``Instance.business_key`` or any of order_no/po_no/inquiry_no/merchant in the
  data), a "due soon" filter, descending sort and a total count.
* ``instance_query``: the instances a user may read (``api_instances``'s rule)
  filtered by process, status, starter, start date range and business key.
* ``event_query``: history events across instances by actor, date range,
  process, event type and instance (the audit search).

All run on SQLite and PostgreSQL (JSON fields read with ``->>``/``json_extract``).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from engine import access, clock, history, runtime, worklist
from engine.models import HistoryEvent, HumanTask, Incident, Instance, Timer, User
from webui.db import get_session

DUE_SOON = timedelta(hours=24)


def like(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere (``%`` and ``_`` taken literally, escape ``\\``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def business_key_match(text: str):
    """SQL condition: the instance's business key, or one of the key fields of its data, contains ``text``."""
    pattern = like(text.strip())
    conditions = [Instance.business_key.ilike(pattern, escape="\\")]
    conditions += [Instance.data[key].as_string().ilike(pattern, escape="\\") for key in runtime.BUSINESS_KEYS]
    return or_(*conditions)


# -- the worklist ----------------------------------------------------------------------------

def worklist_query(actor: User, tab: str, process_id: Optional[str] = None, due: Optional[str] = None,
                   search: Optional[str] = None) -> Select:
    """``select(HumanTask, Instance)`` of the tab ``mine`` or ``claimable``, filtered (not yet ordered)."""
    query = select(HumanTask, Instance).join(Instance, Instance.id == HumanTask.instance_id)
    if tab == "claimable":
        query = query.where(HumanTask.status == "open", HumanTask.assignee.is_(None),
                            HumanTask.role.in_(actor.roles))
    else:
        query = query.where(HumanTask.assignee == actor.username, HumanTask.status.in_(worklist.ACTIVE))
    if process_id:
        query = query.where(HumanTask.process_id == process_id)
    now = clock.now()
    if due == "overdue":
        query = query.where(HumanTask.due_at.is_not(None), HumanTask.due_at < now)
    elif due == "soon":
        query = query.where(HumanTask.due_at.is_not(None), HumanTask.due_at >= now,
                            HumanTask.due_at < now + DUE_SOON)
    if search and search.strip():
        query = query.where(business_key_match(search))
    return query


def ordered_tasks(query: Select, sort: str) -> Select:
    if sort == "-due":
        return query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at.desc(), HumanTask.id.desc())
    if sort == "created":
        return query.order_by(HumanTask.created_at.desc(), HumanTask.id.desc())
    return query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id)


def count(session: Session, query: Select) -> int:
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def task_processes(session: Session, actor: User) -> list[str]:
    """Processes that have active tasks for the user (for the filter's choices)."""
    mine = or_(HumanTask.assignee == actor.username,
               and_(HumanTask.assignee.is_(None), HumanTask.role.in_(actor.roles)))
    return sorted(session.scalars(select(HumanTask.process_id).distinct()
                                  .where(HumanTask.status.in_(worklist.ACTIVE), mine)))


# -- instances ---------------------------------------------------------------------------------

def instance_query(actor: User, process_id: Optional[str] = None, status: Optional[str] = None,
                   started_by: Optional[str] = None, since: Optional[datetime] = None,
                   until: Optional[datetime] = None, search: Optional[str] = None) -> Select:
    query = access.visible_instances(get_session(), actor)
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
    if search and search.strip():
        query = query.where(business_key_match(search))
    return query


def may_read_instance(session: Session, actor: User, instance_id: int) -> bool:
    return access.may_see_instance(session, actor, instance_id)


def open_tasks(session: Session, instance_id: int) -> list[HumanTask]:
    return list(session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance_id, HumanTask.status.in_(worklist.ACTIVE)).order_by(HumanTask.id)))


def incidents_of(session: Session, instance_id: int) -> list[Incident]:
    return list(session.scalars(select(Incident).where(Incident.instance_id == instance_id)
                                .order_by(Incident.id.desc())))


def waiting_elements(session: Session, instance_id: int) -> set[str]:
    """Elements waiting for a timer or a message (active in the diagram)."""
    from engine.models import MessageSubscription

    timers = session.scalars(select(Timer.element_id).where(Timer.instance_id == instance_id,
                                                            Timer.status == "waiting"))
    subscriptions = session.scalars(select(MessageSubscription.element_id)
                                    .where(MessageSubscription.instance_id == instance_id))
    return set(timers) | set(subscriptions)


# -- history across instances (audit) --------------------------------------------------------------

def event_query(actor_name: Optional[str] = None, since: Optional[datetime] = None,
                until: Optional[datetime] = None, process_id: Optional[str] = None,
                event_type: Optional[str] = None, instance_id: Optional[int] = None,
                search: Optional[str] = None) -> Select:
    """``select(HistoryEvent, Instance)`` filtered, oldest first (auditors read every instance)."""
    query = select(HistoryEvent, Instance).join(Instance, Instance.id == HistoryEvent.instance_id)
    if actor_name:  # people's events are indexed (ix_history_events_person), the engine's are not
        actor_name = actor_name.strip()
        query = query.where(HistoryEvent.actor == actor_name)
        if actor_name != "system":
            query = query.where(HistoryEvent.actor != "system")
    if since:
        query = query.where(HistoryEvent.at >= since)
    if until:
        query = query.where(HistoryEvent.at < until)
    if process_id:
        query = query.where(Instance.process_id == process_id)
    if event_type:
        query = query.where(HistoryEvent.type == event_type)
    if instance_id is not None:
        query = query.where(HistoryEvent.instance_id == instance_id)
    if search and search.strip():
        query = query.where(business_key_match(search))
    return query.order_by(HistoryEvent.at, HistoryEvent.id)


def event_types(session: Session) -> list[str]:
    return sorted(history.EVENT_TYPES)


def process_ids(session: Session) -> list[str]:
    return sorted(process_names(session))


def process_names(session: Session) -> dict[str, str]:
    """``{process id: name}`` of the deployed processes (the newest version's name)."""
    from engine.models import Definition

    rows = session.execute(select(Definition.process_id, Definition.name).order_by(Definition.version))
    return {process_id: name or process_id for process_id, name in rows}


def usernames(session: Session) -> list[str]:
    return list(session.scalars(select(User.username).order_by(User.username)))
