"""History events as people read them: who, when, what, on which step, data before and after.

Used by the task page, the instance page, the auditors' timeline and the exports with labels (without
labels they write ``engine.history.export_row``). ``Labels``: an element's name (an unnamed one by its type
in words), a variable's label and field spec (the form of the task, else the form that owns the variable,
``engine.variable_catalog``); values are shown by ``values_view``. And ``highlight_of``: what an
instance's diagram marks done, active and failed, read from its history.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from flask_babel import lazy_gettext as _l

from markupsafe import Markup

from engine import report_path, variable_catalog
from engine.models import Definition, HistoryEvent, IncidentStatus, InstanceStatus, TaskStatus
from webui.diagram import Highlight
from webui.pages import collaboration, values_view
from webui.pages.display import as_text, localized, person, role_name

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
    "comment_added": _l("Comment added"), "attachment_added": _l("Attachment added"),
    "element_completed": _l("Step completed"),
    "variables_changed": _l("Variables changed"),
    "task_delegated": _l("Task delegated"), "task_resolved": _l("Task resolved"),
    "task_updated": _l("Task priority or follow-up date changed"),
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


DETAIL_LABELS = {  # keys of events' data shown as details
    "due_at": _l("Due at"), "kind": _l("Kind"), "reason": _l("Reason"), "error": _l("Error"), "name": _l("Name"),
    "data": _l("Data"), "payload": _l("Data"), "message": _l("Message"), "message_id": _l("Message no."),
    "incident_id": _l("Incident"), "instance_ids": _l("Instances"), "status": _l("Status"),
    "late_seconds": _l("Seconds late"), "fired_at": _l("Fired at"), "attempt": _l("Attempt"),
    "attempts": _l("Attempts"), "retry_at": _l("Next retry"), "to": _l("To"), "from": _l("From"), "by": _l("By"),
    "previous_assignee": _l("Previous assignee"), "kept_since": _l("Kept since"), "comment": _l("Comment"),
    "first_status": _l("First status"), "external_task_id": _l("External task"), "version": _l("Version"),
    "owner": _l("Owner"),
}
PERSON_KEYS = frozenset({"to", "from", "by", "previous_assignee", "owner", "assignee"})  # users, by name
TIME_KEYS = {"due_at", "fired_at", "retry_at", "kept_since"}  # the engine's times (UTC) in events' data
ELEMENT_TYPES = {  # an element without a name is named by its type
    "exclusiveGateway": _l("Exclusive gateway"), "parallelGateway": _l("Parallel gateway"),
    "inclusiveGateway": _l("Inclusive gateway"), "eventBasedGateway": _l("Event-based gateway"),
    "complexGateway": _l("Complex gateway"), "startEvent": _l("Start event"), "endEvent": _l("End event"),
    "intermediateCatchEvent": _l("Intermediate event"), "intermediateThrowEvent": _l("Intermediate event"),
    "boundaryEvent": _l("Boundary event"), "userTask": _l("User task"), "manualTask": _l("Manual task"),
    "scriptTask": _l("Script task"), "serviceTask": _l("Service task"), "sendTask": _l("Send task"),
    "receiveTask": _l("Receive task"), "businessRuleTask": _l("Business rule task"),
    "callActivity": _l("Call activity"), "subProcess": _l("Subprocess"), "task": _l("Task"),
}


@dataclass
class Entry:
    event: HistoryEvent
    label: str
    element: str = ""
    changes: list[tuple[str, Markup, Markup]] = field(default_factory=list)  # (field, before, after) as HTML
    details: list[tuple[str, str]] = field(default_factory=list)              # (key, value)
    texts: list[tuple[str, str, str]] = field(default_factory=list)           # the changes in one line each

    def change(self, label: str, before: Any, after: Any, spec: Optional[dict], removed: bool = False) -> None:
        self.changes.append((label, values_view.html(before, spec), Markup("—") if removed
                             else values_view.html(after, spec)))
        self.texts.append((label, values_view.text(before, spec), "—" if removed else values_view.text(after, spec)))


class Labels:
    """Names of a definition's elements, labels and field specs of its variables (``data``: the instance's
    data, for the currency of money)."""

    def __init__(self, definition: Optional[Definition], data: Optional[dict] = None):
        elements = (definition.elements or {}) if definition else {}
        self.nodes = elements.get("nodes", {})
        self.flows = elements.get("flows", {})
        self.forms = (definition.forms or {}) if definition else {}
        self.data = data or {}
        self.variables = elements.get("variables")
        if self.variables is None:  # a version deployed before the catalogue was stored
            self.variables = variable_catalog.catalog(elements, self.forms)[0]
        values_view.remember(self.variables, self.data)

    def element(self, element_id: Optional[str]) -> str:
        if not element_id:
            return ""
        node = self.nodes.get(element_id)
        if node is None:
            return element_id
        return node.get("name") or str(ELEMENT_TYPES.get(node.get("type"), node.get("type") or element_id))

    def flow(self, flow_id: str) -> str:
        """A taken flow by its name, and where it leads: 「同意 → 财务退款」."""
        flow = self.flows.get(flow_id) or {}
        target = self.element(flow.get("target")) if flow.get("target") else flow_id
        return f"{flow['name']} → {target}" if flow.get("name") else target

    def spec(self, name: str, form_key: Optional[str] = None) -> Optional[dict]:
        """The field ``name`` of form ``form_key`` when it has one, else of the form that owns the variable."""
        form = self.forms.get(form_key or "") or {}
        found = next((spec for spec in form.get("fields", []) if spec.get("name") == name), None)
        return values_view.with_currency(found or self.variables.get(name), self.data)

    def field(self, name: str, form_key: Optional[str] = None) -> str:
        spec = self.spec(name, form_key)
        return localized(spec.get("label"), name) if spec else name

    def form_of(self, element_id: Optional[str]) -> Optional[str]:
        return self.nodes.get(element_id or "", {}).get("form_key")


def entries(events: list[HistoryEvent], labels: Labels) -> list[Entry]:
    return [entry(event, labels) for event in events]


def entry(event: HistoryEvent, labels: Labels) -> Entry:
    data = event.data or {}
    item = Entry(event, event_label(event.type), labels.element(event.element_id))
    form_key = labels.form_of(event.element_id)
    if event.type == "task_completed":  # the labels of the form the person filled in
        submitted, before = data.get("submitted") or {}, data.get("before") or {}
        for key, value in submitted.items():
            item.change(labels.field(key, form_key), before.get(key), value, labels.spec(key, form_key))
    elif event.type == "script_changed_data":
        before = data.get("before") or {}
        for key, value in (data.get("changed") or {}).items():
            item.change(labels.field(key), before.get(key), value, labels.spec(key))
        for key in data.get("removed") or []:
            item.change(labels.field(key), before.get(key), None, labels.spec(key), removed=True)
    elif event.type in ("instance_started", "instance_completed"):
        start_form = labels.form_of(_start(labels)) if event.type == "instance_started" else None
        for key, value in (data.get("data") or {}).items():
            item.change(labels.field(key, start_form), None, value, labels.spec(key, start_form))
        if "version" in data:
            item.details.append((str(_l("Version")), as_text(data["version"])))
    elif event.type == "gateway_taken":
        taken = [labels.flow(f) for f in data.get("flows") or []] or \
            [labels.element(t) for t in data.get("targets") or []]
        item.details.append((str(_l("Next")), values_view.joined(taken)))
    elif event.type == "task_created":
        item.details.append((str(_l("Role")), role_name(data.get("role"))))
        if data.get("assignee"):
            item.details.append((str(_l("Assignee")), person(data.get("assignee"))))
    elif event.type == "task_resolved":  # what the delegate entered, with the task form's labels
        item.details.append((str(DETAIL_LABELS["owner"]), person(data.get("owner"))))
        for key, value in (data.get("draft") or {}).items():
            item.change(labels.field(key, form_key), None, value, labels.spec(key, form_key))
    elif event.type in ("comment_added", "attachment_added"):  # issue 14: webui.pages.collaboration
        item.details += collaboration.event_details(event.type, data)
    elif event.type.startswith("external_task_"):
        _external_task(item, data, labels)
    else:
        item.details = [(str(DETAIL_LABELS.get(key, key)), detail(key, value)) for key, value in data.items()]
    return item


def detail(key: str, value: Any) -> str:
    """A value of an event's data in one line: the engine's times in the local zone, users by their names, data
    as people read it."""
    if key in TIME_KEYS and isinstance(value, str):
        return values_view.local_time(value)
    if key in PERSON_KEYS and isinstance(value, str):
        return person(value)
    return values_view.text(value)


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
    for key, value in (data.get("variables") or {}).items():
        item.change(labels.field(key), None, value, labels.spec(key))


def _start(labels: Labels) -> Optional[str]:
    return next((node_id for node_id, node in labels.nodes.items()
                 if node.get("type") == "startEvent" and node.get("form_key") and not node.get("in_subprocess")), None)


# -- what to highlight ------------------------------------------------------------------------------

STEP_EVENTS = {"element_completed", "gateway_taken", "script_changed_data",  # one per step the engine ran
               "task_completed", "external_task_completed"}                  # one per task people/workers did
DONE_EVENTS = {"timer_fired", "message_correlated", "message_sent", "receive_task_signalled", "signal_received",
               "signal_sent"}  # evidence too, but the step that ran is counted by STEP_EVENTS when recorded


def highlight_of(elements: dict, events: Iterable, active: set[str], failed: set[str], status: str) -> Highlight:
    """Completed elements (with how often each ran) and taken flows of an instance, from its history only.

    An element completed when the history records its step (``STEP_EVENTS``: ``element_completed``
    is written for every step that leaves no other event) or an event it caused (``DONE_EVENTS``);
    nothing is inferred from the diagram's paths. A flow was taken when its source completed and:
    the source is a gateway and its decision named the flow (an event-based gateway's flow also needs
    its event to have happened or to be waited on), or the source has this one outgoing flow, or (an
    activity splitting without a gateway) the flow's target ran or is active. ``status`` is unused
    (kept for callers): an end event is completed by its own step.
    """
    del status
    flows = elements.get("flows", {})
    nodes = elements.get("nodes", {})
    steps: dict[str, int] = {}
    other: dict[str, int] = {}
    chosen: dict[str, set[str]] = {}
    for event in events:
        element = event.element_id
        if not element:
            continue
        if event.type in STEP_EVENTS:
            steps[element] = steps.get(element, 0) + 1
        elif event.type in DONE_EVENTS:
            other[element] = other.get(element, 0) + 1
        if event.type == "gateway_taken":
            chosen.setdefault(element, set()).update((event.data or {}).get("flows") or [])
    counts = {**other, **steps}
    done = set(counts)
    reached = done | set(active) | set(failed)
    outgoing: dict[str, list[str]] = {}
    for flow_id, flow in flows.items():
        outgoing.setdefault(flow["source"], []).append(flow_id)

    def taken(flow_id: str) -> bool:  # the audit report's rule, so the page and the report mark the same flows
        return report_path.was_taken(flow_id, flows[flow_id], nodes, done, chosen, outgoing, reached)

    return Highlight(completed=done - set(active) - set(failed), active=set(active), failed=set(failed),
                     flows={f for f in flows if taken(f)}, counts=counts)
