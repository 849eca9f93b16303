"""What an instance waits for, read without advancing it (the instance page and ``GET /api/v1/instances/<id>``).

``waits_of`` is ``engine.waits.of`` plus the receive tasks without a message that wait in the workflow, which
only the workflow knows (``spiff.waiting_triggers`` on ``workflows.peek_workflow``, read only when the model
has such a receive task, so an instance of most processes is never deserialized for it).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine import spiff, waits
from engine.models import Definition, Instance, InstanceStatus
from engine.runtime import workflows


def waits_of(session: Session, instance: Instance) -> list[dict[str, Any]]:
    """The instance's waits (``engine.waits``), receive tasks waiting for a signal included."""
    return waits.of(session, instance, _receive_tasks(session, instance))


def _receive_tasks(session: Session, instance: Instance) -> list[str]:
    if instance.status != InstanceStatus.RUNNING or not _has_plain_receive_task(session, instance):
        return []
    workflow = workflows.peek_workflow(session, instance.id)
    return sorted({w.element_id for w in spiff.waiting_triggers(workflow)})


def _has_plain_receive_task(session: Session, instance: Instance) -> bool:
    definition = session.get(Definition, instance.definition_id)
    nodes = (definition.elements or {}).get("nodes", {}) if definition else {}
    return any(n.get("type") == "receiveTask" and not n.get("messages") for n in nodes.values())
