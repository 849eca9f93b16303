"""Commands on human tasks: complete (which advances the workflow), claim, unclaim, reassign.

Who may do what is asked of ``engine.worklist`` (``check_may_work``, ``may_unclaim``); the row
updates are its conditional updates, so of two users acting at once exactly one wins.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine import clock, definitions, forms, history, spiff, users, worklist
from engine.database import command
from engine.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from engine.models import Definition, HumanTask, Instance, TaskStatus, User
from engine.runtime import deliveries, steps, workflows
from engine.runtime.workflows import Locked
from engine.statements import Row, Statement

_TASKS = HumanTask.__table__
_INSTANCES = Instance.__table__
_DEFINITIONS = Definition.__table__
_TASK_LOCKED = Statement(  # the task row and, locked, its instance's row (one statement for both)
    select(_TASKS, _INSTANCES.c.status.label("instance_status"), _INSTANCES.c.etag.label("instance_etag"),
           _INSTANCES.c.started_by.label("instance_started_by"), _INSTANCES.c.definition_id,
           _DEFINITIONS.c.content_hash)
    .join(_INSTANCES, _INSTANCES.c.id == _TASKS.c.instance_id)
    .join(_DEFINITIONS, _DEFINITIONS.c.id == _INSTANCES.c.definition_id)
    .where(_TASKS.c.id == bindparam("tid")).with_for_update(of=_INSTANCES, key_share=True))


def complete_task(session: Session, task_id: int, data: Any, actor: User) -> Row:
    """Complete a human task with data checked by its form."""
    with command(session):
        row = _TASK_LOCKED.first(session, {"tid": task_id})
        if row is None:
            raise NotFoundError(f"Task {task_id} does not exist.")
        worklist.check_may_work(row, actor, "complete", session)
        instance = Locked(row.instance_id, row.process_id, row.instance_status, row.instance_etag,
                          row.instance_started_by, row.definition_id)
        version = definitions.version_of(session, row.definition_id, row.content_hash)
        values = forms.refuse_unstorable(forms.validate(version.form(row.form_key), data if data is not None else {}))
        wf = workflows.load_workflow(session, instance, version)
        task_data = spiff.task_data(wf, row.engine_task_id)
        if task_data is None:
            raise ConflictError(f"Task {task_id} is no longer waiting in its instance; reload the worklist.")
        values = {k: v for k, v in values.items() if v is not None or task_data.get(k) is None}
        before = {k: task_data.get(k) for k in values}
        now = clock.now()
        if not worklist.mark_completed(session, row.id, actor.username, now):
            raise ConflictError(f"Task {task_id} was completed or claimed by someone else just now; reload it.")
        history.record(session, instance.id, "task_completed", actor.username, row.element_id, row.id,
                       {"submitted": values, "before": before})
        try:
            spiff.complete(wf, row.engine_task_id, values)
        except Exception as exc:
            raise steps.as_engine_error(exc) from exc
        advanced = steps.advance(session, instance, version, wf, completed_task=row.engine_task_id)
        deliveries.settle(session, instance.id, advanced)
    return row.replace(status=TaskStatus.COMPLETED, completed_at=now, completed_by=actor.username,
                       assignee=row.assignee or actor.username)


def claim_task(session: Session, task_id: int, actor: User) -> HumanTask:
    """Take an open task: it leaves the role's queue and is the actor's until completed or given back."""
    with command(session):
        row = worklist.get_task(session, task_id)
        worklist.check_may_work(row, actor, "claim")
        if row.status == TaskStatus.CLAIMED:
            raise ConflictError(f"Task {task_id} is already claimed by you.")
        worklist.mark_claimed(session, row, actor.username)
        history.record(session, row.instance_id, "task_claimed", actor.username, row.element_id, row.id)
    session.refresh(row)
    return row


def unclaim_task(session: Session, task_id: int, actor: User) -> HumanTask:
    """Give a claimed task back to its role (or to the user it was routed to)."""
    with command(session):
        row = worklist.get_task(session, task_id)
        if row.status != TaskStatus.CLAIMED:
            raise ConflictError(f"Task {task_id} is {row.status}, not claimed.")
        if not worklist.may_unclaim(row, actor):
            raise PermissionDeniedError(f"Task {task_id} is claimed by {row.assignee}; only they, a supervisor "
                                        "or an admin may unclaim it.")
        worklist.mark_unclaimed(session, row)
        history.record(session, row.instance_id, "task_unclaimed", actor.username, row.element_id, row.id,
                       {"previous_assignee": row.assignee})
    session.refresh(row)
    return row


def reassign_task(session: Session, task_id: int, username: str, actor: User) -> HumanTask:
    """A supervisor or an admin gives an open or claimed task to a user with its role."""
    with command(session):
        row = worklist.get_task(session, task_id)
        if not actor.manages_work:
            raise PermissionDeniedError("Only a supervisor or an admin may reassign tasks.")
        if row.status not in worklist.ACTIVE:
            raise ConflictError(f"Task {task_id} is {row.status}; only open or claimed tasks can be reassigned.")
        target = users.find_user(session, username or "")
        if target is None or not target.active:
            raise ValidationError(f"User '{username}' does not exist.", {"user": ["Unknown user."]})
        if not worklist.is_offered(row, target):
            raise ValidationError(f"{username} does not have role '{row.role}'; give them the role first.",
                                  {"user": [f"Not a member of {row.role}."]})
        worklist.mark_reassigned(session, row, target.username)
        history.record(session, row.instance_id, "task_reassigned", actor.username, row.element_id, row.id,
                       {"from": row.assignee, "to": target.username})
    session.refresh(row)
    return row
