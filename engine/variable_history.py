"""Variable history: every change of an instance's process variables, as ``variables_changed`` events.

Writing (``record_changes``, called by ``engine.runtime.workflows`` whenever a command saves a workflow):
the data as last saved is compared with the data saved now (top-level variables, one comparison each) and
the changes are recorded, one event per source of the step, each ``{"changes": {name: {"old", "new"}},
"source"}`` (a variable that appeared also says ``"added": true``; one that went ``{"old", "removed": true}``).
Who or what changed a variable is read from the events the command queued for the instance since its last
save (``history.queued_since``):

* each script's own changes (``script_changed_data``): source ``script``, the script's element, ``system``;
* the rest of the change: the latest event of the command that brought that variable (a task's submitted
  values, a message's or signal's data, an external task's variables, the start values), else the command's
  first such event (a timer, an incident retry, an admin's edit: ``SOURCES``), else the engine (``engine``,
  ``system``: call activities' outputs, multi-instance results… with no command event).

Reading: ``changes_of`` (one variable's changes, oldest first), ``names_changed`` and ``history_of`` (every
changed variable's changes, in one query, for the instance page and the audit report).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import bindparam, event as orm_event, select
from sqlalchemy.orm import Session

from engine import database, history, timestamps
from engine.models import HistoryEvent
from engine.statements import Statement

EVENT = "variables_changed"
ENGINE = "engine"  # the source of a change no event of the command explains
ADMIN_EDIT = "admin_edit"
EDIT_OPERATION = "variable_edit"
SOURCES = {  # an event a command records -> the source of the variables it brings, and where its values are
    "instance_started": ("start_form", "data"),
    "task_completed": ("task_form", "submitted"),
    "message_correlated": ("message", "data"),
    "receive_task_signalled": ("signal", "data"),
    "signal_received": ("signal", "data"),
    "external_task_completed": ("external_task", "variables"),
    "external_task_bpmn_error": ("external_task", "variables"),
    "timer_fired": ("timer", None),
    "incident_retried": ("incident_retry", None),
}
_MARKS = "liucheng_variable_marks"  # session.info: {instance id: the last event queued at its last save}
_MISSING = object()
_EVENTS = HistoryEvent.__table__
_CHANGES = Statement(
    select(_EVENTS.c.id, _EVENTS.c.at, _EVENTS.c.actor, _EVENTS.c.element_id, _EVENTS.c.task_id, _EVENTS.c.data)
    .where(_EVENTS.c.instance_id == bindparam("iid"), _EVENTS.c.type == EVENT).order_by(_EVENTS.c.id))

Group = tuple[str, str, Optional[str], Optional[int]]  # source, actor, element id, task id


# -- writing --------------------------------------------------------------------------------------

def record_changes(session: Session, instance_id: int, before: dict, after: dict) -> None:
    """Queue the ``variables_changed`` events of one save of the instance (``before``: its data as last
    saved, ``{}`` for a new instance; ``after``: its data now, both JSON)."""
    changes = diff(before, after)
    marks = session.info.setdefault(_MARKS, {})
    if changes:
        events = _with_start_events([e for e in _queued_since_last_save(session, marks.get(instance_id))
                                     if e["instance_id"] == instance_id])
        for (source, actor, element_id, task_id), found in attribute(changes, before, after, events).items():
            history.record(session, instance_id, EVENT, actor, element_id, task_id,
                           {"changes": found, "source": source})
    queued = history.queued_since(session, 0)
    marks[instance_id] = queued[-1] if queued else None


def _queued_since_last_save(session: Session, last: Optional[dict]) -> list[dict]:
    """The events queued after ``last`` (the last event queued when the instance was saved before in this
    command, found by identity; all of them when it is not queued any more: written, or none)."""
    queued = history.queued_since(session, 0)
    for index in range(len(queued) - 1, -1, -1):
        if queued[index] is last:
            return queued[index + 1:]
    return queued


@orm_event.listens_for(Session, "after_commit")
@database.on("after_commit")
def _forget_marks_on_commit(session: Session) -> None:
    session.info.pop(_MARKS, None)


@orm_event.listens_for(Session, "after_rollback")
@database.on("after_rollback")
def _forget_marks_on_rollback(session: Session) -> None:
    session.info.pop(_MARKS, None)


def diff(before: dict, after: dict) -> dict[str, dict]:
    """``{name: {"old", "new"}}`` of the top-level variables that differ (``added`` or ``removed``)."""
    changes: dict[str, dict] = {}
    for name, value in after.items():
        old = before.get(name, _MISSING)
        if old is value or (type(old) is type(value) and old == value):
            continue
        changes[name] = {"old": None, "new": value, "added": True} if old is _MISSING else {"old": old, "new": value}
    for name, old in before.items():
        if name not in after:
            changes[name] = {"old": old, "removed": True}
    return changes


def attribute(changes: dict[str, dict], before: dict, after: dict, events: list[dict]) -> dict[Group, dict]:
    """The changes grouped by who or what made them (``events``: the command's queued events of the
    instance, oldest first): scripts their own, the rest the event that brought the variable."""
    groups: dict[Group, dict] = {}
    by_scripts: dict[Group, dict] = {}  # after the command's own changes: scripts run after them
    first_script_value: dict[str, Any] = {}  # each variable's value before the first script that changed it
    for event in events:
        if event["type"] == "script_changed_data":
            for name, change in _script_changes(event["data"], before, after).items():
                first_script_value.setdefault(name, change["old"])
                script = by_scripts.setdefault(("script", "system", event["element_id"], None), {})
                if name in script:  # the script ran again (a loop): from the value its first run found
                    change = {**change, "old": script[name]["old"],
                              **({"added": True} if script[name].get("added") else {})}
                script[name] = change
    sources = [e for e in events if _source(e) is not None]
    for name, change in changes.items():
        if name in first_script_value:  # the command's own part: up to the value the first script found
            change = _before_scripts(change, first_script_value[name])
            if change is None:
                continue
        groups.setdefault(_owner(name, sources), {})[name] = change
    return {**groups, **by_scripts}


def _before_scripts(change: dict, found: Any) -> Optional[dict]:
    """The part of a step's change made before its first script found ``found`` (None: no part)."""
    if change.get("added"):
        return None if found is None else {"old": None, "new": found, "added": True}
    return None if _same(change["old"], found) else {"old": change["old"], "new": found}


def _script_changes(data: dict, before: dict, after: dict) -> dict[str, dict]:
    """What one script changed among the process variables (a script's task-local names are left out)."""
    found = {}
    for name, value in (data.get("changed") or {}).items():
        if name in before or name in after:
            old = (data.get("before") or {}).get(name)
            found[name] = {"old": old, "new": value, **({"added": True} if old is None and name not in before else {})}
    for name in data.get("removed") or []:
        if name in before or name in after:
            found[name] = {"old": (data.get("before") or {}).get(name), "removed": True}
    return found


def _source(event: dict) -> Optional[tuple[str, Optional[str]]]:
    """The source an event of the command stands for, and where its values are (None: no source)."""
    if event["type"] == "operation":
        return (ADMIN_EDIT, None) if event.get("operation") == EDIT_OPERATION else None
    found = SOURCES.get(event["type"])
    if found and event["type"] == "instance_started" and (event["data"] or {}).get("message"):
        return "message", "data"
    return found


def _owner(name: str, sources: list[dict]) -> Group:
    """The latest source event whose values hold ``name``, else the command's first, else the engine."""
    for event in reversed(sources):
        source, key = _source(event)
        brought = (event["data"] or {}).get(key) if key else None
        if event["type"] == "operation":
            brought = {(event["data"] or {}).get("property"): True}
        if isinstance(brought, dict) and name in brought:
            return source, event["actor"], event["element_id"], event["task_id"]
    if sources:
        first = sources[0]
        return _source(first)[0], first["actor"], first["element_id"], first["task_id"]
    return ENGINE, "system", None, None


def _with_start_events(events: list[dict]) -> list[dict]:
    """The events, an ``instance_started`` that names no start event given the element of the step that
    follows it (the start event the engine took: its ``element_completed``)."""
    for index, event in enumerate(events):
        if event["type"] == "instance_started" and event["element_id"] is None:
            taken = next((e["element_id"] for e in events[index + 1:] if e["type"] == "element_completed"), None)
            events[index] = {**event, "element_id": taken}
    return events


def _same(old: Any, new: Any) -> bool:
    return old is new or (type(old) is type(new) and old == new)


# -- reading --------------------------------------------------------------------------------------

def history_of(session: Session, instance_id: int) -> dict[str, list[dict]]:
    """Every changed variable's changes (``changes_of``'s dicts), variables in the order first changed."""
    history.write_queued(session)
    found: dict[str, list[dict]] = {}
    for row in _CHANGES.all(session, {"iid": instance_id}):
        data = row.data or {}
        for name, change in (data.get("changes") or {}).items():
            found.setdefault(name, []).append(_change(row, data.get("source"), change))
    return found


def changes_of(session: Session, instance_id: int, name: str) -> list[dict]:
    """Variable ``name``'s changes, oldest first: each ``{at, actor, element_id, task_id, source, old, new,
    event_id}`` (``added``/``removed`` true when it appeared or went)."""
    return history_of(session, instance_id).get(name, [])


def names_changed(session: Session, instance_id: int) -> list[str]:
    """The instance's variables that have a change, in the order first changed."""
    return list(history_of(session, instance_id))


def as_dict(change: dict) -> dict:
    """A change as the API returns it (``at`` ISO 8601 UTC with ``+00:00``)."""
    return {**change, "at": timestamps.iso(change["at"])}


def _change(row, source: Optional[str], change: dict) -> dict:
    at: datetime = row.at
    return {"at": at, "actor": row.actor, "element_id": row.element_id, "task_id": row.task_id,
            "source": source, "old": change.get("old"), "new": change.get("new"), "event_id": row.id,
            **{flag: True for flag in ("added", "removed") if change.get(flag)}}
