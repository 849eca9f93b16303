"""What a running instance waits for, as plain dicts (the API's ``waiting_for``, the instance page's
"What it waits for").

``of(session, instance, receive_tasks)`` lists, in this order, each wait of the instance with its
``kind``, ``element_id`` and ``element_name``:

* ``task``: an open human task (``task_id``, ``role``, ``assignee``);
* ``message``: a message catch event, receive task or event gateway branch (``message``: its name,
  ``correlation``: the keys and this instance's values a sender gives, ``delivery``: the body of
  ``POST /api/v1/messages`` that delivers it, ``variables``: what the message may set, None for anything);
* ``timer``: a waiting timer (``due_at`` ISO 8601 UTC, ``due``: the stored naive UTC time for pages,
  ``attached_to`` for a boundary timer);
* ``external_task``: a service task done by an external worker (``topic``, ``worker_id`` and ``lock_expires_at``
  when locked, ``retries``, ``error_message``);
* ``signal``: a receive task without a message (``receive_tasks``: their element ids, read from the workflow by
  ``engine.runtime.waiting``), moved on by ``POST /api/v1/instances/<id>/signal``;
* ``incident``: an unresolved incident (``incident_id``, ``message``, ``status``, ``attempts``).

A call activity runs its called process inside the same instance (``engine.call_activities``), so what a
called process waits for is listed here too (named by its element id when the calling definition does not
know the element). Element names come from the definition's elements.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock, instances, spiff, timestamps
from engine.models import (
    Definition, ExternalTask, Incident, IncidentStatus, Instance, InstanceStatus, MessageSubscription, Timer,
    TimerStatus,
)

KINDS = ("task", "message", "timer", "external_task", "signal", "incident")
UNRESOLVED = (IncidentStatus.OPEN, IncidentStatus.RETRYING)
_correlation_properties: dict[tuple[int, str, str], list[str]] = {}  # (definition id, hash, message) -> ids


def of(session: Session, instance: Instance, receive_tasks: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The instance's waits (none when it is not running, but its unresolved incidents)."""
    definition = session.get(Definition, instance.definition_id)
    elements = (definition.elements or {}) if definition else {}
    nodes = elements.get("nodes", {})
    found: list[dict[str, Any]] = []
    if instance.status == InstanceStatus.RUNNING:
        found += [_task(t) for t in instances.open_tasks(session, instance.id)]
        found += _messages(session, instance, definition, elements)
        found += [_timer(t, elements) for t in session.scalars(select(Timer).where(
            Timer.instance_id == instance.id, Timer.status == TimerStatus.WAITING).order_by(Timer.due_at))]
        found += [_external(t) for t in session.scalars(select(ExternalTask).where(
            ExternalTask.instance_id == instance.id).order_by(ExternalTask.id))]
        found += [{"kind": "signal", "element_id": element_id,
                   "signal": f"/api/v1/instances/{instance.id}/signal"} for element_id in receive_tasks]
    found += [_incident(i) for i in session.scalars(select(Incident).where(
        Incident.instance_id == instance.id, Incident.status.in_(UNRESOLVED)).order_by(Incident.id))]
    return [_named(wait, nodes) for wait in found]


def _named(wait: dict[str, Any], nodes: dict) -> dict[str, Any]:
    own = wait.pop("name", None)
    wait["element_name"] = (nodes.get(wait["element_id"] or "") or {}).get("name") or own or wait["element_id"]
    return wait


def _task(task) -> dict[str, Any]:
    return {"kind": "task", "element_id": task.element_id, "name": task.name, "task_id": task.id,
            "role": task.role, "assignee": task.assignee}


def _catching(elements: dict, element_id: str, catches) -> str:
    """The event an event-based gateway's branch waits at (``catches(node)``), else ``element_id`` itself."""
    nodes = elements.get("nodes", {})
    if (nodes.get(element_id) or {}).get("type") != "eventBasedGateway":
        return element_id
    targets = [f["target"] for f in elements.get("flows", {}).values() if f.get("source") == element_id]
    found = [t for t in targets if catches(nodes.get(t) or {})]
    return found[0] if len(found) == 1 else element_id


def _messages(session: Session, instance: Instance, definition: Optional[Definition], elements: dict) -> list[dict]:
    rows = session.scalars(select(MessageSubscription).where(MessageSubscription.instance_id == instance.id)
                           .order_by(MessageSubscription.id))
    found = []
    for row in rows:
        element_id = _catching(elements, row.element_id, lambda node: row.name in (node.get("messages") or ()))
        correlation = _correlation(instance, definition, row.name)
        delivery: dict[str, Any] = {"name": row.name, "correlation": correlation}
        variables = (elements.get("nodes", {}).get(element_id) or {}).get("message_variables")
        if variables:
            delivery["data"] = {name: "…" for name in variables}
        found.append({"kind": "message", "element_id": element_id, "message": row.name,
                      "correlation": correlation, "variables": variables, "delivery": delivery,
                      "since": timestamps.iso(row.created_at)})
    return found


def _correlation(instance: Instance, definition: Optional[Definition], name: str) -> dict[str, Any]:
    """What a sender names to reach this instance: the message's BPMN correlation properties when the model has
    them, else the first business key field of the data (``engine.instances.BUSINESS_KEYS``), else the
    instance's business key (``"business_key"`` is matched against it)."""
    properties = _properties(definition, name) if definition else []
    data = instance.data or {}
    if properties:
        return {key: data.get(key, "…") for key in properties}
    for key in instances.BUSINESS_KEYS:
        if data.get(key) not in (None, ""):
            return {key: data[key]}
    return {"business_key": instance.business_key} if instance.business_key else {}


def _properties(definition: Definition, name: str) -> list[str]:
    """The ids of message ``name``'s correlation properties in a definition version, read once per process."""
    key = (definition.id, definition.content_hash, name)
    found = _correlation_properties.get(key)
    if found is None:
        found = sorted(spiff.correlation_property_ids(definition.spec_json, name))
        if len(_correlation_properties) < 10_000:
            _correlation_properties[key] = found
    return found


def _timer(timer: Timer, elements: dict) -> dict[str, Any]:
    element_id = _catching(elements, timer.element_id, lambda node: bool(node.get("timers")))
    return {"kind": "timer", "element_id": element_id, "due_at": timestamps.iso(timer.due_at),
            "due": timer.due_at, "attached_to": timer.attached_to, "timer_kind": timer.kind}


def _external(task: ExternalTask) -> dict[str, Any]:
    locked = task.worker_id if task.lock_expires_at is not None and task.lock_expires_at > clock.now() else None
    return {"kind": "external_task", "element_id": task.element_id, "external_task_id": task.id,
            "topic": task.topic, "status": task.status, "worker_id": locked,
            "lock_expires_at": timestamps.iso(task.lock_expires_at) if locked else None,
            "locked_until": task.lock_expires_at if locked else None,
            "retries": task.retries, "error_message": task.error_message}


def _incident(incident: Incident) -> dict[str, Any]:
    return {"kind": "incident", "element_id": incident.element_id, "incident_id": incident.id,
            "message": incident.message, "status": incident.status, "attempts": incident.attempts}


def as_json(waits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The waits as the API gives them: without the naive times the pages use."""
    return [{k: v for k, v in wait.items() if k not in ("due", "locked_until")} for wait in waits]
