"""Commands on instances: start one, cancel one (with a reason; an operation in the operation log), and read
one, for the callers of these commands.

Each command is one transaction: the instance row (state, data), its human tasks and its history
events are written together and committed at the end, or rolled back together.
"""
from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from engine import (access, attachments, definitions, external_tasks, forms, history, messages, spiff, timers,
                    worklist)
from engine.database import command
from engine.errors import ConflictError, FormValidationError, NotFoundError, PermissionDeniedError
from engine.models import Instance, InstanceStatus, TaskStatus, User
from engine.runtime import deliveries, starts, workflows
from engine.statements import Row, Statement

_INSTANCES = Instance.__table__
_COLUMNS = Statement(select(*[c for c in _INSTANCES.c if c.key != "state"]).where(_INSTANCES.c.id == bindparam("iid")))


def start_instance(session: Session, process_id: str, data: Any, actor: User,
                   version: Optional[int] = None) -> Row:
    """Start the latest (or given) version of ``process_id`` with start-form data; returns the
    instance's row (every column but its state) as the command committed it."""
    with command(session):
        version_ = definitions.current_version(session, process_id, version)
        starts.check_may_start(version_, actor)
        values, staged = attachments.resolve_references(
            session, version_.form(version_.start_form) if version_.start_form else None,
            starts.start_values(version_, data), None, actor.username)
        instance_id, advanced = starts.begin(session, version_, values, actor)
        attachments.bind_staged(session, staged, instance_id)
        deliveries.settle(session, instance_id, advanced)
        return _COLUMNS.first(session, {"iid": instance_id})  # every column but the state, as committed


def cancel_instance(session: Session, instance_id: int, reason: str, actor: User) -> Instance:
    """Stop a running or failed instance: its open tasks, timers and subscriptions go with it. ``reason`` is
    required (422 naming the field when blank); the cancel is an operation (``cancel``: status → cancelled)."""
    with command(session):
        instance, version = workflows.lock_instance(session, instance_id)
        if not access.has_cancel_right(instance, actor):
            raise PermissionDeniedError("Only an admin, a supervisor or the user who started an instance may cancel it.")
        reason = str(reason or "").strip()
        if not reason:
            raise FormValidationError("Give a reason for cancelling the instance.", {"reason": ["Required."]})
        if not access.is_cancellable(instance):
            raise ConflictError(f"Instance {instance_id} is {instance.status}; only running instances can be cancelled.")
        status_before = str(instance.status)
        wf = workflows.load_workflow(session, instance, version)
        spiff.cancel(wf)
        worklist.close_open_tasks(session, instance.id, TaskStatus.CANCELLED, actor.username)
        timers.remove_all(session, instance.id, actor.username)
        messages.remove_all(session, instance.id)
        external_tasks.remove_all(session, instance.id)
        workflows.save_workflow(session, instance, wf, InstanceStatus.CANCELLED,
                                forms.to_json(spiff.process_data(wf)))
        session.execute(update(Instance).where(Instance.id == instance.id).values(cancel_reason=reason)
                        .execution_options(synchronize_session=False))
        history.record(session, instance.id, "instance_cancelled", actor.username, data={"reason": reason})
        history.record_operation(session, actor.username, "cancel", "instance", instance.id, instance.id, "status",
                                 status_before, str(InstanceStatus.CANCELLED), reason)
    return session.get(Instance, instance_id, populate_existing=True)


def get_instance(session: Session, instance_id: int) -> Instance:
    """The instance row; a NotFoundError if there is none."""
    instance = session.get(Instance, instance_id)
    if instance is None:
        raise NotFoundError(f"Instance {instance_id} does not exist.")
    return instance
