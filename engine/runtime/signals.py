"""Signalling an instance from outside: a receive task without a message waits until an integrator
moves it on (Camunda 7's ``runtimeService.signal(executionId, variables)``).

``signal_instance`` is one command: the instance is locked, the waiting receive task (named by its
element id, as the designer wrote it) takes the data and the workflow runs on until it waits again;
a ``receive_task_signalled`` history event says who did it. Only integrators and admins may signal,
as only they may send messages. The waiting itself is SpiffWorkflow's (``spiff.waiting_triggers``).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine import forms, history, spiff
from engine.database import command
from engine.errors import ConflictError, PermissionDeniedError, ValidationError
from engine.models import INTEGRATION_ROLES, Instance, InstanceStatus, User
from engine.runtime import deliveries, steps, workflows
from engine.statements import Row, Statement

_INSTANCES = Instance.__table__
_COLUMNS = Statement(select(*[c for c in _INSTANCES.c if c.key != "state"]).where(_INSTANCES.c.id == bindparam("iid")))


def signal_instance(session: Session, instance_id: int, element_id: Any, data: Any, actor: User) -> Row:
    """Move on the receive task ``element_id`` waiting in the instance, ``data`` joining the process data;
    returns the instance's row (every column but its state) as committed."""
    check_may_signal(actor)
    element_id, data = _checked(element_id, data)
    with command(session):
        instance, version = workflows.lock_instance(session, instance_id)
        if instance.status != InstanceStatus.RUNNING:
            raise ConflictError(f"Instance {instance_id} is {instance.status}; only a running instance can be "
                                "signalled.")
        wf = workflows.load_workflow(session, instance, version)
        waiting = [w for w in spiff.waiting_triggers(wf) if w.element_id == element_id]
        if not waiting:
            raise ConflictError(_nothing_waits(instance_id, element_id, spiff.waiting_triggers(wf)))
        history.record(session, instance.id, "receive_task_signalled", actor.username, element_id,
                       data={"data": data})
        advanced = steps.advance(session, instance, version, wf,
                                 step=lambda wf_, on_step: spiff.trigger(wf_, waiting[0].engine_task_id, data, on_step))
        deliveries.settle(session, instance.id, advanced)
        return _COLUMNS.first(session, {"iid": instance.id})


def check_may_signal(actor: User) -> None:
    if not actor.roles & INTEGRATION_ROLES:
        raise PermissionDeniedError("Only integrators and admins may signal an instance: do it with an integrator's "
                                    "account or token (an admin can give your account the integrator role).")


def _checked(element_id: Any, data: Any) -> tuple[str, dict]:
    if not isinstance(element_id, str) or not element_id.strip():
        raise ValidationError("A signal needs the 'element_id' of the receive task to move on.",
                              {"element_id": ["Required."]})
    if data is not None and not isinstance(data, dict):
        raise ValidationError("'data' must be an object.", {"data": ["Not an object."]})
    return element_id.strip(), forms.refuse_unstorable(dict(data or {}), "data")


def _nothing_waits(instance_id: int, element_id: str, waiting: list) -> str:
    if not waiting:
        return (f"No receive task waits in instance {instance_id} for a signal (not '{element_id}'); only a receive "
                "task without a message can be signalled, while the instance waits at it.")
    names = ", ".join(sorted({w.element_id for w in waiting}))
    return f"Receive task '{element_id}' does not wait in instance {instance_id}; waiting now: {names}."
