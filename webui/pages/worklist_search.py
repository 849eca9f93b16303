"""The worklist page's search (tabs, due filters, business key text, sorting), until it moves to
``engine.worklist`` (asked of H2 in issue 11: then this module goes and the page calls
``worklist.search`` / ``worklist.ordered`` / ``worklist.processes_with_tasks``).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Optional

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from engine import clock, instances
from engine.models import HumanTask, Instance, TaskStatus, User
from engine.worklist import ACTIVE
DUE_SOON = timedelta(hours=24)


def search(actor: User, tab: str, process_id: Optional[str] = None, due: Optional[str] = None,
           text: Optional[str] = None) -> Select:
    """``select(HumanTask, Instance)`` of the worklist tab ``mine`` (assigned to ``actor``, active) or
    ``claimable`` (open, unassigned, of one of their roles), filtered by process, due (``overdue``:
    past due; ``soon``: due within ``DUE_SOON``) and business key text (not yet ordered)."""
    query = select(HumanTask, Instance).join(Instance, Instance.id == HumanTask.instance_id)
    if tab == "claimable":
        query = query.where(HumanTask.status == TaskStatus.OPEN, HumanTask.assignee.is_(None),
                            HumanTask.role.in_(actor.roles))
    else:
        query = query.where(HumanTask.assignee == actor.username, HumanTask.status.in_(ACTIVE))
    if process_id:
        query = query.where(HumanTask.process_id == process_id)
    now = clock.now()
    if due == "overdue":
        query = query.where(HumanTask.due_at.is_not(None), HumanTask.due_at < now)
    elif due == "soon":
        query = query.where(HumanTask.due_at.is_not(None), HumanTask.due_at >= now,
                            HumanTask.due_at < now + DUE_SOON)
    if text and text.strip():
        query = query.where(instances.business_key_match(text))
    return query


def ordered(query: Select, sort: str) -> Select:
    """``query`` by due date (``due``, no date last), latest due first (``-due``) or newest (``created``)."""
    if sort == "-due":
        return query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at.desc(), HumanTask.id.desc())
    if sort == "created":
        return query.order_by(HumanTask.created_at.desc(), HumanTask.id.desc())
    return query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id)


def processes_with_tasks(session: Session, actor: User) -> list[str]:
    """Processes that have active tasks for ``actor`` (assigned, or unassigned of their roles)."""
    mine = or_(HumanTask.assignee == actor.username,
               and_(HumanTask.assignee.is_(None), HumanTask.role.in_(actor.roles)))
    return sorted(session.scalars(select(HumanTask.process_id).distinct()
                                  .where(HumanTask.status.in_(ACTIVE), mine)))
