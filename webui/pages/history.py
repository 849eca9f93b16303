"""History events as people read them: who, when, what, on which step, data before and after.

Used by the task page, the instance page and the auditors' timeline (the exports write
``engine.history.export_row``); and ``highlight_of``: what an instance's diagram marks done,
active and failed, read from its history.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from flask_babel import lazy_gettext as _l

from engine.models import Definition, HistoryEvent, IncidentStatus, InstanceStatus, TaskStatus
from webui.diagram import Highlight
from webui.pages.display import as_text, localized, role_name

EVENT_LABELS = {
    "instance_started": _l("Instance started"), "instance_completed": _l("Instance completed"),
    "instance_cancelled": _l("Instance cancelled"), "instance_failed": _l("Instance failed"),
    "task_created": _l("Task created"), "task_claimed": _l("Task claimed"), "task_unclaimed": _l("Task unclaimed"),
    "task_reassigned": _l("Task reassigned"), "task_completed": _l("Task completed"),
    "task_cancelled": _l("Task cancelled"), "gateway_taken": _l("Decision taken"),
    "script_changed_data": _l("Script changed data"), "script_failed": _l("Script failed"),
    "step_failed": _l("Step failed"), "incident_opened": _l("Incident opened"),
    "incident_retried": _l("Incident retried"), "incident_resolved": _l("Incident resolved"),
    "timer_scheduled": _l("Timer scheduled"), "timer_fired": _l("Timer fired"),
    "timer_cancelled": _l("Timer cancelled"), "message_correlated": _l("Message received"),
    "message_sent": _l("Message sent"), "receive_task_signalled": _l("Receive task signalled"),
    "signal_received": _l("Signal received"), "signal_sent": _l("Signal sent"),
    "external_task_completed": _l("External task completed"), "external_task_failed": _l("External task failed"),
    "external_task_bpmn_error": _l("External task reported a BPMN error"),
}
STATUS_LABELS = {  # instances', tasks' and incidents' statuses (completed, cancelled and open are shared)
    InstanceStatus.RUNNING: _l("running"), InstanceStatus.COMPLETED: _l("completed"),
    InstanceStatus.CANCELLED: _l("cancelled"), InstanceStatus.FAILED: _l("failed"),
    TaskStatus.OPEN: _l("open"), TaskStatus.CLAIMED: _l("claimed"),
    IncidentStatus.RETRYING: _l("retrying"), IncidentStatus.RESOLVED: _l("resolved"),
}


def event_label(event_type: str) -> str:
    return str(EVENT_LABELS.get(event_type, event_type))


def status_label(status: Optional[str]) -> str:
    return str(STATUS_LABELS.get(status or "", status or ""))


@dataclass
class Entry:
    event: HistoryEvent
    label: str
    element: str = ""
    changes: list[tuple[str, str, str]] = field(default_factory=list)   # (field, before, after)
    details: list[tuple[str, str]] = field(default_factory=list)        # (key, value)


class Labels:
    """Names of a definition's elements and labels of its form fields."""

    def __init__(self, definition: Optional[Definition]):
        self.nodes = (definition.elements or {}).get("nodes", {}) if definition else {}
        self.forms = (definition.forms or {}) if definition else {}
        self.all_fields: dict[str, str] = {}
        for form in self.forms.values():
            for spec in form.get("fields", []):
                self.all_fields.setdefault(spec["name"], localized(spec.get("label"), spec["name"]))

    def element(self, element_id: Optional[str]) -> str:
        if not element_id:
            return ""
        return self.nodes.get(element_id, {}).get("name") or element_id

    def field(self, name: str, form_key: Optional[str] = None) -> str:
        form = self.forms.get(form_key or "") or {}
        for spec in form.get("fields", []):
            if spec.get("name") == name:
                return localized(spec.get("label"), name)
        return self.all_fields.get(name, name)

    def form_of(self, element_id: Optional[str]) -> Optional[str]:
        return self.nodes.get(element_id or "", {}).get("form_key")


def entries(events: list[HistoryEvent], labels: Labels) -> list[Entry]:
    return [entry(event, labels) for event in events]


def entry(event: HistoryEvent, labels: Labels) -> Entry:
    data = event.data or {}
    item = Entry(event, event_label(event.type), labels.element(event.element_id))
    form_key = labels.form_of(event.element_id)
    if event.type == "task_completed":
        submitted, before = data.get("submitted") or {}, data.get("before") or {}
        item.changes = [(labels.field(k, form_key), as_text(before.get(k)), as_text(v)) for k, v in submitted.items()]
    elif event.type == "script_changed_data":
        before = data.get("before") or {}
        item.changes = [(labels.field(k), as_text(before.get(k)), as_text(v))
                        for k, v in (data.get("changed") or {}).items()]
        item.changes += [(labels.field(k), as_text(before.get(k)), "—") for k in data.get("removed") or []]
    elif event.type in ("instance_started", "instance_completed"):
        values = data.get("data") or {}
        item.changes = [(labels.field(k, labels.form_of(_start(labels))), "", as_text(v)) for k, v in values.items()]
        if "version" in data:
            item.details.append((str(_l("Version")), as_text(data["version"])))
    elif event.type == "gateway_taken":
        targets = data.get("targets") or []
        item.details.append((str(_l("Next")), ", ".join(labels.element(t) for t in targets)))
    elif event.type == "task_created":
        item.details.append((str(_l("Role")), role_name(data.get("role"))))
        if data.get("assignee"):
            item.details.append((str(_l("Assignee")), as_text(data.get("assignee"))))
    elif event.type.startswith("external_task_"):
        _external_task(item, data, labels)
    else:
        item.details = [(str(key), as_text(value)) for key, value in data.items()]
    return item


def _external_task(item: Entry, data: dict, labels: Labels) -> None:
    """What a worker reported: the worker, the topic, its error and the variables it set."""
    item.details.append((str(_l("Worker")), as_text(data.get("worker_id"))))
    item.details.append((str(_l("Topic")), as_text(data.get("topic"))))
    if data.get("error_code"):
        item.details.append((str(_l("Error code")), as_text(data["error_code"])))
    if data.get("error_message"):
        item.details.append((str(_l("Error")), as_text(data["error_message"])))
    if "retries" in data:
        item.details.append((str(_l("Retries left")), as_text(data["retries"])))
    item.changes = [(labels.field(k), "", as_text(v)) for k, v in (data.get("variables") or {}).items()]


def _start(labels: Labels) -> Optional[str]:
    return next((node_id for node_id, node in labels.nodes.items()
                 if node.get("type") == "startEvent" and node.get("form_key") and not node.get("in_subprocess")), None)


def plain(event: HistoryEvent, process_id: str = "", business_key: Optional[str] = None) -> dict[str, Any]:
    """One event as an export row (JSON-safe; times ISO 8601 UTC)."""
    return {"id": event.id, "instance_id": event.instance_id, "process_id": process_id,
            "business_key": business_key, "at": event.at.isoformat() + "Z", "type": event.type,
            "actor": event.actor, "element_id": event.element_id, "task_id": event.task_id,
            "data": event.data or {}}
# -- what to highlight ------------------------------------------------------------------------------

DONE_EVENTS = {"task_completed", "gateway_taken", "script_changed_data", "timer_fired", "message_correlated",
               "message_sent", "receive_task_signalled", "signal_received", "signal_sent", "external_task_completed"}


def highlight_of(elements: dict, events: Iterable, active: set[str], failed: set[str], status: str) -> Highlight:
    """Completed elements and taken flows of an instance from its history.

    Direct evidence: completed tasks, gateway decisions, scripts that changed
    data, fired timers. Steps that leave no event (start and end events,
    scripts that changed nothing) are completed when they lie on a path from the
    start to an evidenced element that agrees with every gateway decision.
    """
    nodes, flows = elements.get("nodes", {}), elements.get("flows", {})
    done, chosen = set(), {}
    for event in events:
        if event.type in DONE_EVENTS and event.element_id:
            done.add(event.element_id)
        if event.type == "gateway_taken" and event.element_id:
            chosen.setdefault(event.element_id, set()).update((event.data or {}).get("flows") or [])
    outgoing: dict[str, list[str]] = {}
    incoming: dict[str, list[str]] = {}
    for flow_id, flow in flows.items():
        outgoing.setdefault(flow["source"], []).append(flow_id)
        incoming.setdefault(flow["target"], []).append(flow_id)
    starts = [n for n, node in nodes.items() if node["type"] == "startEvent" and not node.get("in_subprocess")]
    starts += [n for n, node in nodes.items() if node["type"] == "boundaryEvent" and n in done]
    usable = lambda f: flows[f]["source"] not in chosen or f in chosen[flows[f]["source"]]  # noqa: E731
    forward, queue = set(starts), list(starts)
    while queue:
        node = queue.pop()
        if node in active or node in failed:
            continue
        for flow_id in outgoing.get(node, []):
            target = flows[flow_id]["target"]
            if usable(flow_id) and target not in forward:
                forward.add(target)
                queue.append(target)
    evidence = done | active | failed
    if status == InstanceStatus.COMPLETED:
        evidence |= {n for n in forward if nodes.get(n, {}).get("type") == "endEvent"}
    backward, queue = set(evidence), list(evidence)
    while queue:
        node = queue.pop()
        predecessors = [flows[f]["source"] for f in incoming.get(node, [])]
        if nodes.get(node, {}).get("attached_to"):
            predecessors.append(nodes[node]["attached_to"])
        for source in predecessors:
            if source not in backward:
                backward.add(source)
                queue.append(source)
    passed = ((forward & backward) | done) - active - failed
    reached = passed | active | failed
    taken = {f for f, flow in flows.items() if flow["source"] in passed and flow["target"] in reached and usable(f)}
    return Highlight(completed=passed, active=set(active), failed=set(failed), flows=taken)
