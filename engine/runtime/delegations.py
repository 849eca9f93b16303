"""Commands delegating a human task and resolving it (Camunda 7's ``delegateTask`` / ``resolveTask``).

The rules and the row updates are ``engine.delegation``'s: the assignee (or a supervisor or an admin)
delegates a claimed task to another user, who becomes its assignee while its owner keeps the
responsibility; the delegate resolves it, which gives it back to the owner with the values the delegate
entered kept as the task's draft. Each is one transaction with its history event (``task_delegated``,
``task_resolved``); neither advances the workflow. A delegation is also an operation (``delegate``, in the
operation log: the assignee before and after, and the reason when one is given).
"""
from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import delegation, history, users, worklist
from engine.database import command
from engine.models import Definition, HumanTask, Instance, User


def delegate_task(session: Session, task_id: int, username: str, actor: User,
                  reason: Optional[str] = None) -> HumanTask:
    """Delegate a claimed task to ``username``; its owner (the assignee, or the owner it had) keeps it."""
    with command(session):
        row = worklist.get_task(session, task_id)
        target = users.find_user(session, username or "")
        delegation.check_may_delegate(row, actor, target)
        owner = row.owner or row.assignee
        delegation.mark_delegated(session, row, target.username)
        history.record(session, row.instance_id, "task_delegated", actor.username, row.element_id, row.id,
                       {"owner": owner, "from": row.assignee, "to": target.username})
        history.record_operation(session, actor.username, "delegate", "task", row.id, row.instance_id, "assignee",
                                 row.assignee, target.username, str(reason or "").strip() or None, owner=owner)
    session.refresh(row)
    return row


def resolve_task(session: Session, task_id: int, data: Optional[Any], actor: User) -> HumanTask:
    """The delegate gives the task back to its owner, with ``data`` (checked against the task's form,
    any part of it) kept as the task's draft."""
    with command(session):
        row = worklist.get_task(session, task_id)
        delegation.check_may_resolve(row, actor)
        draft = delegation.draft_of(task_form_definition(session, row), data)
        delegation.mark_resolved(session, row, draft)
        history.record(session, row.instance_id, "task_resolved", actor.username, row.element_id, row.id,
                       {"owner": row.owner, "draft": draft or {}})
    session.refresh(row)
    return row


def task_form_definition(session: Session, row: HumanTask) -> Optional[dict]:
    """The form the task's definition declares for it, as deployed (None: no form)."""
    if not row.form_key:
        return None
    forms = session.scalar(select(Definition.forms).join(Instance, Instance.definition_id == Definition.id)
                           .where(Instance.id == row.instance_id))
    return (forms or {}).get(row.form_key)
