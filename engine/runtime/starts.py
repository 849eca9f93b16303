"""Starting instances: who may start a process, the start values (with the starting user in the start
event's ``initiator`` variable), and a new instance's first run.

``begin`` creates the instance row and runs the new workflow until every path waits, inside the
caller's command; the commands that start instances (a user's start, a message start event, a
timer start event, a deployment taking kept messages) call it and then settle what it threw.
"""
from __future__ import annotations

from typing import Any, Optional

from sqlalchemy.orm import Session

from engine import clock, definitions, forms, history, instances, spiff, starters
from engine.errors import PermissionDeniedError, ValidationError
from engine.models import INTEGRATION_ROLES, Instance, InstanceStatus, User
from engine.runtime import steps, workflows
from engine.runtime.steps import Advanced, Step
from engine.runtime.workflows import Locked
from engine.statements import Statement

SYSTEM = "system"  # the actor of what the engine does by itself
_INSTANCES = Instance.__table__
_NEW_INSTANCE = ("definition_id", "process_id", "version", "status", "data", "state", "etag", "revision",
                 "business_key", "started_at", "started_by")
_CREATE_INSTANCE = Statement(_INSTANCES.insert().returning(_INSTANCES.c.id), columns=_NEW_INSTANCE)


def begin(session: Session, version: definitions.Version, values: dict, actor: User, step: Optional[Step] = None,
          start_event: Optional[str] = None, started_by_message: Optional[dict] = None) -> tuple[int, Advanced]:
    """Create an instance of ``version`` with ``values`` and run it (or ``step``) to its first wait;
    returns its id and what advancing it did."""
    values = {**values, **initiator_values(version, start_event, actor)}
    wf = workflows.new_workflow(version, values, start_event, session)
    instance_id = _CREATE_INSTANCE.scalar(session, {
        "definition_id": version.id, "process_id": version.process_id, "version": version.version,
        "status": InstanceStatus.RUNNING, "data": forms.to_json(values), "state": "", "etag": "", "revision": 0,
        "business_key": business_key(values), "started_at": clock.now(), "started_by": actor.username,
    })
    instance = Locked(instance_id, version.process_id, InstanceStatus.RUNNING, "", actor.username, version.id)
    spiff.memo(wf).update(tasks={}, timers={}, due={}, subscriptions={})  # a new instance has no rows yet
    history.record(session, instance.id, "instance_started", actor.username, start_event,
                   data={"version": version.version, "data": values,
                         **({"message": started_by_message} if started_by_message else {})})
    return instance.id, steps.advance(session, instance, version, wf, step=step)


def check_may_start(definition: definitions.Version, actor: User) -> None:
    """Admins and integrators (``INTEGRATION_ROLES``) start any process; others must be among its
    ``starters`` (``engine.starters``: candidate starters, else lane roles and who its first user tasks go
    to, else the default role), or, for a version stored before starters were, have a role of its lanes."""
    roles = actor.roles
    if roles & INTEGRATION_ROLES:
        return
    allowed = definition.elements.get("starters")
    if allowed is None:
        lanes = sorted({n.get("lane") for n in definition.elements.get("nodes", {}).values() if n.get("lane")})
        allowed = {"groups": lanes, "users": []}
    if not starters.may_start(allowed, roles, actor.username):
        raise PermissionDeniedError(
            f"You may not start '{definition.process_id}': it may be started by {starters.describe(allowed)}, "
            "admin or integrator; ask an admin for one of these roles.")


def initiator_values(version: definitions.Version, start_event: Optional[str], actor: User) -> dict:
    """The variable ``camunda:initiator`` (or ``flowable:``/``activiti:``) names on the start event taken,
    holding the starting user's name (None when the engine starts it by itself), as in Camunda 7. Without
    ``start_event``: the process's start events without a message or timer."""
    username = None if actor.username == SYSTEM else actor.username
    found = {}
    for node_id, node in version.elements.get("nodes", {}).items():
        if node.get("type") != "startEvent" or node.get("parent") or node.get("in_subprocess"):
            continue
        taken = node_id == start_event if start_event else not (node.get("messages") or node.get("timers"))
        if taken and node.get("initiator"):
            found[node["initiator"]] = username
    return found


def start_values(version: definitions.Version, data: Any) -> dict:
    """Start data checked by the start form; without a form, any JSON object is taken as is."""
    if version.start_form:
        return forms.refuse_unstorable(forms.validate(version.form(version.start_form), data if data is not None else {}))
    if data is not None and not isinstance(data, dict):
        raise ValidationError("The start data must be a JSON object.", {"data": ["Not an object."]})
    return forms.refuse_unstorable(dict(data or {}))


def business_key(values: dict) -> Optional[str]:
    """The first business key among the values (an order, PO or inquiry number, a merchant)."""
    for key in instances.BUSINESS_KEYS:
        if values.get(key):
            return str(values[key])[:256]  # the column's width; the data keeps the whole value
    return None


def system_actor() -> User:
    """The actor of what the engine does by itself (timers, messages without a user)."""
    return User(username=SYSTEM, password_hash="", display_name=SYSTEM)
