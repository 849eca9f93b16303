"""An instance's audit report: everything an auditor asks about one instance, in one dict (``build``), which
the report page (``/instances/<id>/report``) and the API (``/api/v1/instances/<id>/report.json``) both show.

Sections: ``report`` (when, by whom, the chain's head at that moment and how to check it), ``instance``,
``path`` (the elements completed in order and the flows taken: ``engine.report_path``), ``tasks`` (each with
who claimed and completed it, when, and the data submitted), ``comments``, ``attachments`` (with their
SHA-256), ``variables`` (each variable's changes: old, new, who or which element, when), ``operations`` (the
operation log's events on this instance) and ``chain`` (every event's hashed content with its ``hash`` and
``prev_hash``, and the verdict of ``engine.chain_verify.verify`` for the instance's stretch of the chain, walked
up to ``LONGEST_STRETCH`` events: a longer stretch is ``"checked": false`` with its length, and the CLI checks
it). Times are ISO 8601 UTC (``+00:00``); values are as stored (codes, not labels: the page labels them).

It is an audit document, read by auditors and admins only (``operation_log.check_may_audit``), like the
operation log and the chain's proofs it holds; whoever else may read the instance reads its pages.

The variable history is ``engine.variable_history``'s (its ``variables_changed`` events); an instance whose
history predates them has its changes derived from the events that carried data (the start's data, tasks'
submitted values with their values before, scripts' changes, external tasks' variables).
Memory is linear in the instance's events (read once), never in the whole history.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import (access, attachments, chain_verify, clock, comments, history, instances, operation_log, timestamps,
                    variable_history)
from engine.external_tasks import list_rows as external_task_rows
from engine.models import Definition, HistoryEvent, HumanTask, IncidentStatus, Instance, User
from engine.report_path import path_of

__all__ = ["build", "verify_commands", "VERSION", "LONGEST_STRETCH"]

VERSION = 1  # the report's layout; a reader can check it
LONGEST_STRETCH = 50_000  # events a report's verification walks at most (about a second), as the audit pages do
UNRESOLVED = (IncidentStatus.OPEN, IncidentStatus.RETRYING)
TASK_EVENTS = ("task_created", "task_claimed", "task_unclaimed", "task_reassigned", "task_delegated",
               "task_resolved", "task_updated", "task_completed", "task_cancelled")
CARRY_DATA = ("instance_started", "task_completed", "script_changed_data", "external_task_completed")


def build(session: Session, instance_id: int, viewer: User, longest: Optional[int]) -> dict[str, Any]:
    """The report of ``instance_id`` for ``viewer``, an auditor or an admin (``PermissionDeniedError`` for
    anyone else, before the instance is looked at; ``NotFoundError`` for no such instance). The verification
    walks the instance's stretch of the chain if it holds at most ``longest`` events (the web layer passes
    ``LONGEST_STRETCH``; ``None``: any length).
    The chain's head is read after the events, so it counts every event the report lists
    (``--against HEAD:COUNT`` covers them all)."""
    operation_log.check_may_audit(viewer)
    instance = access.get_visible_instance(session, viewer, instance_id)
    definition = session.get(Definition, instance.definition_id)
    events = history.events_of(session, instance_id)
    head, count = chain_verify.current_head(session)
    generated_at = clock.now()
    elements = (definition.elements if definition else None) or {}
    return {
        "report": header(instance_id, viewer, generated_at, (head, count), len(events)),
        "instance": instance_part(instance, definition),
        "path": path_of(elements, events, active_elements(session, instance_id), failed_elements(session, instance_id)),
        "tasks": tasks_part(session, instance_id, events),
        "comments": comments.as_dicts(session, comments.of_instance(session, instance_id)),
        "attachments": [attachments.as_dict(row) for row in attachments.of_instance(session, instance_id)],
        "variables": variables_part(session, instance_id, events),
        "operations": [operation_log.as_dict(event) for event in events if event.operation is not None],
        "chain": chain_part(session, instance_id, events, (head, count), longest),
    }


def verify_commands(instance_id: int, head: str, count: int) -> dict[str, str]:
    """How to check the report: the instance's stretch of the chain, and the chain up to the head it names."""
    return {"instance": f"liucheng audit verify --instance {instance_id}",
            "against": f"liucheng audit verify --against {head}:{count}"}


def header(instance_id: int, viewer: User, generated_at: datetime, chain_head: tuple[str, int],
           listed: int) -> dict[str, Any]:
    """When and by whom the report was made, the chain's head then (``hash``, ``events``: an anchor), how many
    of the instance's events the report lists, and the commands that check it."""
    head, count = chain_head
    return {"version": VERSION, "generated_at": timestamps.iso(generated_at), "generated_by": viewer.username,
            "generated_by_name": viewer.display_name or viewer.username, "head": {"hash": head, "events": count},
            "instance_events": listed, "verify": verify_commands(instance_id, head, count)}


def instance_part(instance: Instance, definition: Optional[Definition]) -> dict[str, Any]:
    return {**instances.as_dict(instance),
            "definition": None if definition is None else {
                "id": definition.id, "process_id": definition.process_id, "name": definition.name,
                "version": definition.version, "content_hash": definition.content_hash,
                "deployed_at": timestamps.iso(definition.deployed_at), "deployed_by": definition.deployed_by}}


def active_elements(session: Session, instance_id: int) -> set[str]:
    """Elements waiting now: open tasks, timers, message subscriptions, external tasks."""
    active = {task.element_id for task in instances.open_tasks(session, instance_id)}
    active |= instances.waiting_elements(session, instance_id)
    return active | {row.element_id for row in external_task_rows(session, instance_id=instance_id, limit=1000)}


def failed_elements(session: Session, instance_id: int) -> set[str]:
    return {i.element_id for i in instances.incidents_of(session, instance_id)
            if i.status in UNRESOLVED and i.element_id}


# -- tasks ------------------------------------------------------------------------------------------

def tasks_part(session: Session, instance_id: int, events: list[HistoryEvent]) -> list[dict[str, Any]]:
    """Every human task of the instance, oldest first: its row, its events (who did what when) and the data
    it was completed with (``submitted``, and ``before``: the values those fields had before)."""
    by_task: dict[int, list[HistoryEvent]] = {}
    for event in events:
        task_id = task_of(event)
        if task_id is not None:
            by_task.setdefault(task_id, []).append(event)
    rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id).order_by(HumanTask.id))
    return [task_row(row, by_task.get(row.id, [])) for row in rows]


def task_of(event: HistoryEvent) -> Optional[int]:
    """The task an event is about: a task event's ``task_id``, or an operation's task (reassign, delegate…)."""
    if event.type in TASK_EVENTS:
        return event.task_id
    if event.operation is not None and event.entity_type == "task" and str(event.entity_id or "").isdigit():
        return int(event.entity_id)
    return None


def task_row(row: HumanTask, events: list[HistoryEvent]) -> dict[str, Any]:
    done = next((e for e in reversed(events) if e.type == "task_completed"), None)
    data = (done.data or {}) if done else {}
    return {"id": row.id, "element_id": row.element_id, "name": row.name, "role": row.role,
            "form_key": row.form_key, "status": row.status, "assignee": row.assignee, "owner": row.owner,
            "created_at": timestamps.iso(row.created_at), "claimed_at": timestamps.iso(row.claimed_at),
            "completed_at": timestamps.iso(row.completed_at), "completed_by": row.completed_by,
            "due_at": timestamps.iso(row.due_at), "submitted": data.get("submitted") or {},
            "before": data.get("before") or {},
            "events": [{"id": e.id, "type": e.type, "operation": e.operation, "actor": e.actor,
                        "at": timestamps.iso(e.at), "data": e.data or {}} for e in events]}


# -- variables --------------------------------------------------------------------------------------

def variables_part(session: Session, instance_id: int, events: list[HistoryEvent]) -> list[dict[str, Any]]:
    """``[{"name", "changes": [{"event_id", "at", "actor", "element_id", "task_id", "source", "old", "new"}]}]``
    (``added``/``removed`` true when the variable appeared or went), variables in the order first changed,
    each one's changes oldest first: ``engine.variable_history``'s, else derived (``derived_changes``)."""
    recorded = variable_history.history_of(session, instance_id)
    if recorded:
        return [{"name": name, "changes": [variable_history.as_dict(c) for c in changes]}
                for name, changes in recorded.items()]
    by_name: dict[str, list[dict]] = {}
    for name, change in derived_changes(events):
        by_name.setdefault(name, []).append(change)
    return [{"name": name, "changes": changes_of_name} for name, changes_of_name in by_name.items()]


def change(event: HistoryEvent, source: str, old: Any, new: Any, removed: bool = False) -> dict[str, Any]:
    """A derived change, as ``engine.variable_history.as_dict`` writes a recorded one."""
    return {"event_id": event.id, "at": timestamps.iso(event.at), "actor": event.actor,
            "element_id": event.element_id, "task_id": event.task_id, "source": source, "old": old, "new": new,
            **({"removed": True} if removed else {})}


def derived_changes(events: Iterable[HistoryEvent]) -> Iterable[tuple[str, dict]]:
    """Changes read from the events that carried data (an instance recorded before ``variables_changed``)."""
    current: dict[str, Any] = {}
    for event in events:
        if event.type not in CARRY_DATA:
            continue
        data = event.data or {}
        for name, new, removed in carried(event.type, data):
            old = current.get(name)
            if event.type in ("task_completed", "script_changed_data"):
                old = (data.get("before") or {}).get(name, old)
            if removed:
                current.pop(name, None)
            elif old == new and name in current:
                continue  # a task's field submitted unchanged
            else:
                current[name] = new
            yield name, change(event, source_of(event.type), old, None if removed else new, removed)


def carried(event_type: str, data: dict) -> Iterable[tuple[str, Any, bool]]:
    if event_type == "instance_started":
        return ((k, v, False) for k, v in (data.get("data") or {}).items())
    if event_type == "task_completed":
        return ((k, v, False) for k, v in (data.get("submitted") or {}).items())
    if event_type == "external_task_completed":
        return ((k, v, False) for k, v in (data.get("variables") or {}).items())
    changed = [(k, v, False) for k, v in (data.get("changed") or {}).items()]
    return changed + [(k, None, True) for k in data.get("removed") or []]


def source_of(event_type: str) -> str:
    """The source as ``engine.variable_history`` names it."""
    return {"instance_started": "start_form", "task_completed": "task_form", "script_changed_data": "script",
            "external_task_completed": "external_task"}[event_type]


# -- the chain ---------------------------------------------------------------------------------------

def chain_part(session: Session, instance_id: int, events: list[HistoryEvent], chain_head: tuple[str, int],
               longest: Optional[int]) -> dict:
    """The instance's events with everything their hash covers (so each hash can be recomputed from the
    report: ``engine.hash_chain``), the verification of the instance's stretch of the chain, and the head."""
    head, count = chain_head
    return {"verification": verification(session, instance_id, longest), "head": {"hash": head, "events": count},
            "events": [chained(event) for event in events]}


def verification(session: Session, instance_id: int, longest: Optional[int]) -> dict[str, Any]:
    """``chain_verify.as_dict`` of the instance's verdict with ``checked`` and ``stretch``: ``checked`` false
    when the stretch holding the instance's events is longer than ``longest`` (``stretch`` says how long). Such
    a stretch was not walked, so its ``intact`` is ``None`` (not known): ``verify_commands``' first checks it."""
    verdict = chain_verify.verify(session, instance_id, longest=longest)
    found = chain_verify.as_dict(verdict)
    return {**found, "intact": found["intact"] if verdict.checked else None, "checked": verdict.checked,
            "stretch": verdict.stretch}


def chained(event: HistoryEvent) -> dict[str, Any]:
    return {"id": event.id, "type": event.type, "instance_id": event.instance_id, "actor": event.actor,
            "at": timestamps.iso(event.at), "element_id": event.element_id, "task_id": event.task_id,
            "data": event.data or {}, "operation": event.operation, "entity_type": event.entity_type,
            "entity_id": event.entity_id, "prev_hash": event.prev_hash, "hash": event.hash}
