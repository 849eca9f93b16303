"""Human tasks as the REST API shows them: the task list (``list_tasks``: a scope of the worklist's tabs
or ``all`` the user may see, by status, narrowed and ordered as the worklist is) and one task as JSON
(``as_dict``, with its form from ``task_form``; its ``owner``, ``delegation``, ``priority``,
``follow_up``, ``draft`` and whether it ``completes_without_input``).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from engine import clock, forms, timestamps, variable_index
from engine.errors import ValidationError
from engine.models import Definition, HumanTask, Instance, User
from engine.worklist import (ACTIVE, STATUSES, TABS, completes_without_input, in_tab, narrowed, offered,
                             ordered)

SCOPES = (*TABS, "all")


def list_tasks(session: Session, actor: User, scope: str = "mine", process_id: Optional[str] = None,
               instance_id: Optional[int] = None, status: Optional[str] = None,
               due_before: Optional[datetime] = None, overdue: bool = False,
               limit: int = 100, offset: int = 0, variables: Optional[str] = None, role: Optional[str] = None,
               min_priority: Optional[int] = None, follow_up: Optional[str] = None, sort: str = "due",
               today: Optional[date] = None) -> list[HumanTask]:
    """The API's task list: a ``scope`` (``SCOPES``; ``all``: every task ``actor`` may see, by
    ``status``), narrowed like the worklist's ``search``, in ``sort`` order (``SORTS``)."""
    if scope not in SCOPES:
        raise ValidationError(f"scope must be one of {', '.join(SCOPES)}.", {"scope": ["Unknown scope."]})
    if status is not None and status not in STATUSES:
        raise ValidationError(f"status must be one of {', '.join(STATUSES)}.", {"status": ["Unknown status."]})
    query = select(HumanTask)
    if scope != "all":
        query = query.where(in_tab(actor, scope))
    else:
        if not actor.reads_all:
            query = query.where(or_(offered(actor), HumanTask.assignee == actor.username,
                                    HumanTask.owner == actor.username))
        query = query.where(HumanTask.status == status) if status else query.where(HumanTask.status.in_(ACTIVE))
    if instance_id is not None:
        query = query.where(HumanTask.instance_id == instance_id)
    if due_before is not None:
        query = query.where(HumanTask.due_at.is_not(None), HumanTask.due_at < due_before)
    if overdue:
        query = query.where(and_(HumanTask.due_at.is_not(None), HumanTask.due_at < clock.now()))
    if variables:  # its instance's data (engine.variable_index)
        query = query.where(variable_index.matching(variable_index.parse(variables), HumanTask.instance_id, session))
    query = ordered(narrowed(query, process_id, role, min_priority, follow_up, today), sort)
    return list(session.scalars(query.limit(min(max(limit, 1), 500)).offset(max(offset, 0))))


def task_form(session: Session, row: HumanTask) -> Optional[dict]:
    if not row.form_key:
        return None
    definition = session.scalar(select(Definition).join(Instance, Instance.definition_id == Definition.id)
                                .where(Instance.id == row.instance_id))
    return forms.describe(definition.forms.get(row.form_key)) if definition else None


def as_dict(row: HumanTask, form: Optional[dict] = None) -> dict[str, Any]:
    return {"id": row.id, "instance_id": row.instance_id, "process_id": row.process_id,
            "element_id": row.element_id, "name": row.name, "role": row.role, "status": row.status,
            "assignee": row.assignee, "created_at": _iso(row.created_at), "claimed_at": _iso(row.claimed_at),
            "completed_at": _iso(row.completed_at), "completed_by": row.completed_by,
            "due_at": _iso(row.due_at), "form": form, "owner": row.owner, "delegation": row.delegation,
            "priority": row.priority, "follow_up": row.follow_up.isoformat() if row.follow_up else None,
            "draft": row.draft, "completes_without_input": completes_without_input(form)}


def _iso(value: Optional[datetime]) -> Optional[str]:
    return timestamps.iso(value)  # ISO 8601 UTC with +00:00
