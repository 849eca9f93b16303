"""Commands on human tasks: complete (which advances the workflow), claim (one or several), unclaim,
reassign, prioritize (priority and follow-up date). Delegating and resolving are ``delegations``.

What is not someone's own work is also an operation event (``history.record_operation``, the operation
log) next to the task's event: a reassign (``reassign``; of an open task, ``claim_for``: it is claimed for
the user named), which needs a reason, and a give-back by someone other than the assignee (``unclaim``).

Who may do what is asked of ``engine.worklist`` (``check_may_work``, ``may_unclaim``); the row
updates are its conditional updates, so of two users acting at once exactly one wins.
"""
from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine import assignment, attachments, clock, definitions, delegation, forms, history, spiff, users, worklist
from engine.database import command
from engine.errors import (ConflictError, EngineError, FormValidationError, NotFoundError, PermissionDeniedError,
                           ValidationError)
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
        values, _staged = attachments.resolve_references(session, version.form(row.form_key), values, row.instance_id,
                                                         actor.username)
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
    """Take an open task: it leaves the role's queue and is the actor's until completed or given back. A
    task already the actor's (claimed before, or routed to them at creation) is answered as it is, with no
    new event, as Camunda's claim by the current assignee; another user's claim is refused."""
    with command(session):
        row = worklist.get_task(session, task_id)
        worklist.check_may_work(row, actor, "claim")
        if row.status == TaskStatus.CLAIMED:
            return row
        worklist.mark_claimed(session, row, actor.username)
        history.record(session, row.instance_id, "task_claimed", actor.username, row.element_id, row.id)
    session.refresh(row)
    return row


def unclaim_task(session: Session, task_id: int, actor: User, reason: Optional[str] = None) -> HumanTask:
    """Give a claimed task back to its role (or to the user it was routed to). A supervisor's or an admin's
    give-back of someone else's task is an operation (``unclaim``, with ``reason`` when given)."""
    with command(session):
        row = worklist.get_task(session, task_id)
        if row.status != TaskStatus.CLAIMED:
            raise ConflictError(f"Task {task_id} is {row.status}, not claimed.")
        if row.delegation == delegation.PENDING:
            raise ConflictError(f"Task {task_id} is delegated to {row.assignee}: they resolve it, which gives it "
                                "back to its owner.")
        if not worklist.may_unclaim(row, actor):
            raise PermissionDeniedError(f"Task {task_id} is claimed by {row.assignee}; only they, a supervisor "
                                        "or an admin may unclaim it.")
        worklist.mark_unclaimed(session, row)
        history.record(session, row.instance_id, "task_unclaimed", actor.username, row.element_id, row.id,
                       {"previous_assignee": row.assignee, **delegation.ended(row)})
        if row.assignee != actor.username:
            history.record_operation(session, actor.username, "unclaim", "task", row.id, row.instance_id,
                                     "assignee", row.assignee, None, (reason or "").strip() or None)
    session.refresh(row)
    return row


def reassign_task(session: Session, task_id: int, username: str, actor: User, reason: str) -> HumanTask:
    """A supervisor or an admin gives an open or claimed task to a user with its role; the assignee of a
    claimed task hands it on the same way. A delegation ends (a delegate holding it loses it, the owner's
    rights and the delegate's draft go): the event's data says what was cleared. ``reason`` is required
    (422 naming the field when blank); the operation is ``claim_for`` for an open task, else ``reassign``."""
    with command(session):
        row = worklist.get_task(session, task_id)
        if row.status not in worklist.ACTIVE:
            raise ConflictError(f"Task {task_id} is {row.status}; only open or claimed tasks can be reassigned.")
        if not worklist.may_reassign(row, actor):
            raise PermissionDeniedError("Only a supervisor, an admin or the user holding the task may reassign it.")
        reason = required_reason(reason, "Give a reason for reassigning the task.")
        target = users.find_user(session, username or "")
        if target is None or not target.active:
            raise ValidationError(f"User '{username}' does not exist.", {"user": ["Unknown user."]})
        if not worklist.is_offered(row, target):
            raise ValidationError(f"{username} does not have role '{row.role}'; give them the role first.",
                                  {"user": [f"Not a member of {row.role}."]})
        worklist.mark_reassigned(session, row, target.username)
        history.record(session, row.instance_id, "task_reassigned", actor.username, row.element_id, row.id,
                       {"from": row.assignee, "to": target.username, **delegation.ended(row)})
        operation = "claim_for" if row.status == TaskStatus.OPEN else "reassign"
        history.record_operation(session, actor.username, operation, "task", row.id, row.instance_id,
                                 "assignee", row.assignee, target.username, reason)
    session.refresh(row)
    return row


def claim_tasks(session: Session, task_ids: list[int], actor: User) -> dict[str, list]:
    """Claim several tasks, each in its own command: ``{"claimed": [ids], "refused": [{"id", "error",
    "message"}]}`` (a refusal is the error a single claim would have given)."""
    claimed: list[int] = []
    refused: list[dict[str, Any]] = []
    for task_id in dict.fromkeys(task_ids):
        try:
            claim_task(session, task_id, actor)
            claimed.append(task_id)
        except EngineError as exc:
            refused.append({"id": task_id, "error": exc.code, "message": exc.message})
    return {"claimed": claimed, "refused": refused}


UNSET: Any = object()


def prioritize_task(session: Session, task_id: int, actor: User, priority: Any = UNSET,
                    follow_up: Any = UNSET) -> HumanTask:
    """Set an active task's priority (an integer 0-100) and/or follow-up date (a calendar date written
    exactly ``YYYY-MM-DD``, not a date-time; None or "" clears it): its assignee, its owner, a supervisor or
    an admin."""
    with command(session):
        row = worklist.get_task(session, task_id)
        if row.status not in worklist.ACTIVE:
            raise ConflictError(f"Task {task_id} is {row.status}; only open or claimed tasks can be changed.")
        if not worklist.may_prioritize(row, actor):
            raise PermissionDeniedError(f"Only the user holding task {task_id}, its owner, a supervisor or an admin "
                                        "may set its priority and follow-up date.")
        values = task_dates(priority, follow_up)
        changes = {key: {"from": _plain(getattr(row, key)), "to": _plain(value)}
                   for key, value in values.items() if getattr(row, key) != value}
        if changes:
            worklist.mark_prioritized(session, row, values)
            history.record(session, row.instance_id, "task_updated", actor.username, row.element_id, row.id, changes)
    session.refresh(row)
    return row


def task_dates(priority: Any, follow_up: Any) -> dict[str, Any]:
    """The columns to set, checked (422 naming the field when a value is not allowed)."""
    values: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    if priority is not UNSET:
        values["priority"] = assignment.as_priority(priority)
        if values["priority"] is None or isinstance(priority, float):
            problems["priority"] = ["Give a whole number from 0 to 100."]
    if follow_up is not UNSET:
        values["follow_up"] = None if follow_up in (None, "") else assignment.calendar_date(follow_up)
        if follow_up not in (None, "") and (values["follow_up"] is None or not isinstance(follow_up, str)):
            problems["follow_up"] = ["Give a date as YYYY-MM-DD, or null to clear it."]
    if problems:
        raise FormValidationError("The priority must be a whole number from 0 to 100 and the follow-up date a "
                                  "date (YYYY-MM-DD): correct the fields listed in details.", problems)
    return values


def required_reason(reason: Optional[str], message: str) -> str:
    """``reason`` without surrounding blanks; a FormValidationError (422, field ``reason``) when blank."""
    reason = str(reason or "").strip()
    if not reason:
        raise FormValidationError(message, {"reason": ["Required."]})
    return reason


def _plain(value: Any) -> Any:
    """A priority or a follow-up date as the history keeps it (a date as ISO text)."""
    return value.isoformat() if hasattr(value, "isoformat") else value
