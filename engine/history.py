"""The audit trail: an append-only table of what happened to each instance.

Events are only ever inserted (the database refuses UPDATE and DELETE on the
table). ``record`` writes within the caller's transaction, so an event exists
exactly when the change it describes was committed.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from engine import clock
from engine.forms import to_json
from engine.models import HistoryEvent

EVENT_TYPES = {
    "instance_started", "instance_completed", "instance_cancelled", "instance_failed",
    "task_created", "task_claimed", "task_unclaimed", "task_reassigned", "task_completed", "task_cancelled",
    "gateway_taken", "script_changed_data", "script_failed",
}


def record(session: Session, instance_id: int, type_: str, actor: str = "system",
           element_id: Optional[str] = None, task_id: Optional[int] = None,
           data: Optional[dict[str, Any]] = None, at: Optional[datetime] = None) -> None:
    session.execute(insert(HistoryEvent).values(
        instance_id=instance_id, type=type_, actor=actor or "system", element_id=element_id,
        task_id=task_id, data=to_json(data or {}), at=at or clock.now()))


def events_of(session: Session, instance_id: int) -> list[HistoryEvent]:
    return list(session.scalars(
        select(HistoryEvent).where(HistoryEvent.instance_id == instance_id).order_by(HistoryEvent.id)))


def as_dict(event: HistoryEvent) -> dict[str, Any]:
    return {"id": event.id, "instance_id": event.instance_id, "type": event.type, "actor": event.actor,
            "at": event.at.isoformat(), "element_id": event.element_id, "task_id": event.task_id,
            "data": event.data}
