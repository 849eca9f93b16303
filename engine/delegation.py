"""Delegating a human task and resolving it, with Camunda 7's semantics, and who may do it.

The assignee of a claimed task (or a supervisor or an admin) delegates it to another user: the task's
``owner`` becomes the assignee (kept when the task was delegated already: the first owner keeps the
responsibility), the ``assignee`` the delegate, ``delegation`` ``pending``. The owner still sees the task
(``engine.worklist``'s "mine" and "delegated" lists) but nobody may complete it while it is pending: the
delegate resolves it, which gives it back to the owner (``delegation`` ``resolved``) with the values the
delegate entered kept as the task's ``draft``, which the owner's form shows pre-filled. A reassign or an
unclaim ends a delegation (``engine.worklist`` clears owner, state and draft; ``ended`` says what for the
history). The commands are ``engine.runtime.delegations``; the row updates here are conditional, so of two
users acting at once one wins.
"""
from __future__ import annotations

from typing import Any, Optional

from marshmallow.exceptions import MarshmallowError
from sqlalchemy import func, update
from sqlalchemy.orm import Session

from engine import forms
from engine.errors import ConflictError, FormValidationError, PermissionDeniedError, ValidationError
from engine.form_schema import schema_for
from engine.models import HumanTask, TaskStatus, User

PENDING = "pending"
RESOLVED = "resolved"
STATES = (PENDING, RESOLVED)


def is_pending(row: HumanTask) -> bool:
    return row.delegation == PENDING


def may_delegate(row: HumanTask, actor: User) -> bool:
    """A claimed task may be delegated by the user holding it, a supervisor or an admin."""
    return (row.status == TaskStatus.CLAIMED and not actor.read_only
            and (row.assignee == actor.username or actor.manages_work))


def may_resolve(row: HumanTask, actor: User) -> bool:
    """Only the delegate resolves a pending delegation."""
    return row.status == TaskStatus.CLAIMED and is_pending(row) and row.assignee == actor.username


def check_may_delegate(row: HumanTask, actor: User, target: Optional[User]) -> None:
    """Raise unless ``actor`` may delegate ``row`` to ``target`` now."""
    if row.status != TaskStatus.CLAIMED:
        raise ConflictError(f"Task {row.id} is {row.status}; only a claimed task can be delegated: claim it first.")
    if not may_delegate(row, actor):
        raise PermissionDeniedError(f"Task {row.id} is claimed by {row.assignee}; only they, a supervisor or an "
                                    "admin may delegate it.")
    if target is None or not target.active or target.read_only:
        raise ValidationError("Choose an active user who works on tasks to delegate to.",
                              {"user": ["Unknown user."]})
    if target.username in (row.assignee, row.owner or row.assignee):
        raise ValidationError(f"Task {row.id} is already {target.username}'s; choose someone else.",
                              {"user": ["Already theirs."]})


def check_may_resolve(row: HumanTask, actor: User) -> None:
    if not is_pending(row) or row.status != TaskStatus.CLAIMED:
        raise ConflictError(f"Task {row.id} is not waiting for a delegate; there is nothing to resolve.")
    if row.assignee != actor.username:
        raise PermissionDeniedError(f"Task {row.id} is delegated to {row.assignee}; only they can resolve it.")


def draft_of(form: Optional[dict], data: Any) -> Optional[dict[str, Any]]:
    """The delegate's values as a draft (JSON): ``data`` checked against the task's form, every field
    optional (a part of the form may be filled in); None when no data was given."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise FormValidationError("The data must be a JSON object of field values.", {"_schema": ["Not an object."]})
    if form is None:
        return forms.to_json(forms.refuse_unstorable(forms.validate(None, data)))
    try:
        values = schema_for(form).load(data, partial=True)
    except MarshmallowError as exc:
        raise FormValidationError(f"The data does not fit form '{form.get('id')}': correct the fields listed in "
                                  "details.", exc.normalized_messages()) from exc
    return forms.to_json(forms.refuse_unstorable(values))


def ended(row: HumanTask) -> dict[str, Any]:
    """What a reassign or an unclaim of ``row`` clears of its delegation, for the history event's data:
    ``owner``, ``delegation`` (the state it was in) and ``draft_cleared``; empty when it had none."""
    data: dict[str, Any] = {}
    if row.owner:
        data["owner"] = row.owner
    if row.delegation:
        data["delegation"] = row.delegation
    if row.draft:
        data["draft_cleared"] = True
    return data


def mark_delegated(session: Session, row: HumanTask, username: str) -> None:
    """``row`` goes to delegate ``username``; its owner is its assignee unless it has one already."""
    _changed(session, update(HumanTask).where(
        HumanTask.id == row.id, HumanTask.status == TaskStatus.CLAIMED, HumanTask.assignee == row.assignee)
        .values(owner=func.coalesce(HumanTask.owner, HumanTask.assignee), assignee=username, delegation=PENDING),
        f"Task {row.id} changed just now; reload it.")


def mark_resolved(session: Session, row: HumanTask, draft: Optional[dict[str, Any]]) -> None:
    """``row`` goes back to its owner, with the delegate's values (when given) as its draft."""
    values: dict[str, Any] = {"assignee": HumanTask.owner, "delegation": RESOLVED}
    if draft is not None:
        values["draft"] = draft
    _changed(session, update(HumanTask).where(
        HumanTask.id == row.id, HumanTask.status == TaskStatus.CLAIMED, HumanTask.assignee == row.assignee,
        HumanTask.delegation == PENDING).values(**values),
        f"Task {row.id} changed just now; reload it.")


def _changed(session: Session, statement, conflict: str) -> None:
    if session.execute(statement.execution_options(synchronize_session=False)).rowcount != 1:
        raise ConflictError(conflict)
