"""Human tasks: who sees them, who may claim, complete and reassign them.

A row exists for every user task that became ready. It goes to the **role** of
its lane; a model may route it to one named user from the process data with
``camunda:assignee="${pm}"`` (then only that user may work on it). Claims are
conditional updates, so of two users claiming at once exactly one wins.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from engine import clock, forms, history
from engine.spiff import workflow
from engine.database import command
from engine.errors import ConflictError, EngineError, NotFoundError, PermissionDeniedError, ValidationError
from engine.models import Definition, HumanTask, Instance, TaskStatus, User
from engine.statements import Statement

ACTIVE = ("open", "claimed")
STATUSES = ("open", "claimed", "completed", "cancelled")
SCOPES = ("mine", "claimable", "all")
READ_ALL_ROLES = {"admin", "auditor", "supervisor"}
EXPRESSION = re.compile(r"^\s*[$#]\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\s*$")


def find_task(session: Session, task_id: int) -> Optional[HumanTask]:
    return session.get(HumanTask, task_id)


def get_task(session: Session, task_id: int) -> HumanTask:
    row = find_task(session, task_id)
    if row is None:
        raise NotFoundError(f"Task {task_id} does not exist.")
    return row


# -- permissions ----------------------------------------------------------------------

def check_may_work(row: HumanTask, actor: User, verb: str) -> None:
    """Raise unless ``actor`` may claim/complete ``row`` now (403 not allowed, 409 taken)."""
    if row.status not in ACTIVE:
        raise ConflictError(f"Task {row.id} is already {row.status}; it cannot be {verb}d.")
    if row.assignee and row.assignee != actor.username:
        if row.status == "claimed":
            raise ConflictError(f"Task {row.id} is claimed by {row.assignee}; ask them to unclaim it or a "
                                "supervisor to reassign it.")
        raise PermissionDeniedError(f"Task {row.id} is assigned to {row.assignee} only.")
    if not row.assignee and row.role not in actor.roles:
        raise PermissionDeniedError(f"Task {row.id} is for role '{row.role}', which you do not have.")


def may_read(row: HumanTask, actor: User) -> bool:
    return actor.reads_all or row.role in actor.roles or row.assignee == actor.username


def may_unclaim(row: HumanTask, actor: User) -> bool:
    """A claimed task may be given back by the user holding it, a supervisor or an admin (never by
    a read-only user)."""
    return (row.status == TaskStatus.CLAIMED and not actor.read_only
            and (row.assignee == actor.username or actor.manages_work))


def abilities(row: HumanTask, actor: User) -> dict[str, bool]:
    """What ``actor`` may do with the task now: ``claim``, ``unclaim``, ``complete`` (each command
    checks again)."""
    try:
        check_may_work(row, actor, "complete")
        may_work = not actor.read_only
    except EngineError:
        may_work = False
    return {"claim": may_work and row.status == TaskStatus.OPEN, "unclaim": may_unclaim(row, actor),
            "complete": may_work}


# -- commands ---------------------------------------------------------------------------

def claim(session: Session, task_id: int, actor: User) -> HumanTask:
    with command(session):
        row = get_task(session, task_id)
        check_may_work(row, actor, "claim")
        if row.status == "claimed":
            raise ConflictError(f"Task {task_id} is already claimed by you.")
        changed = session.execute(
            update(HumanTask).where(HumanTask.id == task_id, HumanTask.status == "open",
                                    or_(HumanTask.assignee.is_(None), HumanTask.assignee == actor.username))
            .values(status="claimed", assignee=actor.username, claimed_at=clock.now())
            .execution_options(synchronize_session=False)).rowcount
        if changed != 1:
            raise ConflictError(f"Task {task_id} was claimed or completed by someone else just now.")
        history.record(session, row.instance_id, "task_claimed", actor.username, row.element_id, row.id)
    session.refresh(row)
    return row


def unclaim(session: Session, task_id: int, actor: User) -> HumanTask:
    with command(session):
        row = get_task(session, task_id)
        if row.status != "claimed":
            raise ConflictError(f"Task {task_id} is {row.status}, not claimed.")
        if not may_unclaim(row, actor):
            raise PermissionDeniedError(f"Task {task_id} is claimed by {row.assignee}; only they, a supervisor "
                                        "or an admin may unclaim it.")
        changed = session.execute(
            update(HumanTask).where(HumanTask.id == task_id, HumanTask.status == "claimed",
                                    HumanTask.assignee == row.assignee)
            .values(status="open", assignee=row.candidate_user, claimed_at=None)
            .execution_options(synchronize_session=False)).rowcount
        if changed != 1:
            raise ConflictError(f"Task {task_id} changed just now; reload it.")
        history.record(session, row.instance_id, "task_unclaimed", actor.username, row.element_id, row.id,
                       {"previous_assignee": row.assignee})
    session.refresh(row)
    return row


def reassign(session: Session, task_id: int, username: str, actor: User) -> HumanTask:
    from engine.users import find_user

    with command(session):
        row = get_task(session, task_id)
        if not actor.roles & {"admin", "supervisor"}:
            raise PermissionDeniedError("Only a supervisor or an admin may reassign tasks.")
        if row.status not in ACTIVE:
            raise ConflictError(f"Task {task_id} is {row.status}; only open or claimed tasks can be reassigned.")
        target = find_user(session, username or "")
        if target is None or not target.active:
            raise ValidationError(f"User '{username}' does not exist.", {"user": ["Unknown user."]})
        if row.role not in target.roles:
            raise ValidationError(f"{username} does not have role '{row.role}'; give them the role first.",
                                  {"user": [f"Not a member of {row.role}."]})
        changed = session.execute(
            update(HumanTask).where(HumanTask.id == task_id, HumanTask.status.in_(ACTIVE),
                                    HumanTask.assignee.is_(row.assignee) if row.assignee is None
                                    else HumanTask.assignee == row.assignee)
            .values(status="claimed", assignee=target.username, claimed_at=clock.now(),
                    candidate_user=target.username if row.candidate_user else None)
            .execution_options(synchronize_session=False)).rowcount
        if changed != 1:
            raise ConflictError(f"Task {task_id} changed just now; reload it.")
        history.record(session, row.instance_id, "task_reassigned", actor.username, row.element_id, row.id,
                       {"from": row.assignee, "to": target.username})
    session.refresh(row)
    return row


# -- keeping rows in step with the engine -------------------------------------------------

_TASKS = HumanTask.__table__
_ACTIVE_ROWS = Statement(select(_TASKS.c.id, _TASKS.c.engine_task_id, _TASKS.c.element_id).where(
    _TASKS.c.instance_id == bindparam("iid"), or_(_TASKS.c.status == "open", _TASKS.c.status == "claimed")))
_CANCEL = Statement(update(_TASKS).where(_TASKS.c.id == bindparam("tid"))
                    .values(status="cancelled", completed_at=bindparam("now")))
_CREATE = Statement(insert(_TASKS).returning(_TASKS.c.id), columns=(
    "instance_id", "process_id", "engine_task_id", "element_id", "name", "role", "form_key", "status", "assignee",
    "candidate_user", "created_at"))


def sync_tasks(session: Session, instance: Instance, version, wf, completed_task: Optional[str] = None) -> None:
    """Create rows for newly ready user tasks; cancel rows whose task went away."""
    ready = {t.engine_task_id: t for t in workflow.ready_user_tasks(wf)}
    memo = workflow.memo(wf)
    known = memo.get("tasks")
    if known is None:
        known = {r.engine_task_id: (r.id, r.element_id)
                 for r in _ACTIVE_ROWS.all(session, {"iid": instance.id})}
        memo["tasks"] = known
    known.pop(completed_task, None)
    now = clock.now()
    for engine_task_id, (row_id, element_id) in list(known.items()):
        if engine_task_id not in ready:
            _CANCEL.execute(session, {"tid": row_id, "now": now})
            history.record(session, instance.id, "task_cancelled", "system", element_id, row_id)
            del known[engine_task_id]
    nodes = version.elements.get("nodes", {})
    for engine_task_id, task in ready.items():
        if engine_task_id in known:
            continue
        node = nodes.get(task.element_id, {})
        candidate = _route(node.get("assignee"), task.data)
        task_id = _CREATE.scalar(session, {
            "instance_id": instance.id, "process_id": instance.process_id, "engine_task_id": engine_task_id,
            "element_id": task.element_id, "name": task.name, "role": task.lane or node.get("lane") or "",
            "form_key": node.get("form_key"), "status": "open", "assignee": candidate,
            "candidate_user": candidate, "created_at": now})
        known[engine_task_id] = (task_id, task.element_id)
        history.record(session, instance.id, "task_created", "system", task.element_id, task_id,
                       {"role": task.lane or node.get("lane") or "", "assignee": candidate})


def _route(expression: Optional[str], data: dict) -> Optional[str]:
    """The user a task is routed to: ``${var}`` names a process variable, else a literal user name."""
    if not expression:
        return None
    match = EXPRESSION.match(expression)
    value = data.get(match.group(1)) if match else expression.strip()
    return str(value) if value else None


def close_open_tasks(session: Session, instance_id: int, status: str, actor: str) -> None:
    rows = session.execute(select(HumanTask.id, HumanTask.element_id).where(
        HumanTask.instance_id == instance_id, HumanTask.status.in_(ACTIVE))).all()
    now = clock.now()
    for row in rows:
        session.execute(update(HumanTask).where(HumanTask.id == row.id).values(status=status, completed_at=now)
                        .execution_options(synchronize_session=False))
        history.record(session, instance_id, "task_cancelled", actor, row.element_id, row.id)


# -- queries ----------------------------------------------------------------------------------

def list_tasks(session: Session, actor: User, scope: str = "mine", process_id: Optional[str] = None,
               instance_id: Optional[int] = None, status: Optional[str] = None,
               due_before: Optional[datetime] = None, overdue: bool = False,
               limit: int = 100, offset: int = 0) -> list[HumanTask]:
    if scope not in SCOPES:
        raise ValidationError(f"scope must be one of {', '.join(SCOPES)}.", {"scope": ["Unknown scope."]})
    if status is not None and status not in STATUSES:
        raise ValidationError(f"status must be one of {', '.join(STATUSES)}.", {"status": ["Unknown status."]})
    query = select(HumanTask)
    if scope == "mine":
        query = query.where(HumanTask.assignee == actor.username, HumanTask.status.in_(ACTIVE))
    elif scope == "claimable":
        query = query.where(HumanTask.status == "open", HumanTask.assignee.is_(None),
                            HumanTask.role.in_(actor.roles))
    else:
        if not actor.roles & READ_ALL_ROLES:
            query = query.where(or_(HumanTask.role.in_(actor.roles), HumanTask.assignee == actor.username))
        query = query.where(HumanTask.status == status) if status else query.where(HumanTask.status.in_(ACTIVE))
    if process_id:
        query = query.where(HumanTask.process_id == process_id)
    if instance_id is not None:
        query = query.where(HumanTask.instance_id == instance_id)
    if due_before is not None:
        query = query.where(HumanTask.due_at.is_not(None), HumanTask.due_at < due_before)
    if overdue:
        query = query.where(and_(HumanTask.due_at.is_not(None), HumanTask.due_at < clock.now()))
    query = query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id)
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
            "due_at": _iso(row.due_at), "form": form}


def _iso(value: Optional[datetime]) -> Optional[str]:
    return value.isoformat() if value else None
