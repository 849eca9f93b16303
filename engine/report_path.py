"""The path an instance took through its diagram, read from its history only: the elements it completed, in
order, and the sequence flows it took (the part of an instance's audit report, ``engine.audit_report``,
that the report page also marks on the diagram).

An element completed when the history records its step (``STEP_EVENTS``: the engine writes
``element_completed`` for every step that leaves no other event) or, for an element with no such event, an
event it caused (``DONE_EVENTS``: a timer fired, a message received…). A flow was taken when its source
completed and: the source is a gateway and its decision named the flow (an event-based gateway's flow also
needs its event to have happened or to be waited on), or the source has this one outgoing flow, or (an
activity splitting without a gateway) the flow's target ran or is active. This is the rule of the
instance page's diagram (``webui.pages.history.highlight_of``); nothing is guessed from the diagram.
"""
from __future__ import annotations

from typing import Any, Iterable

from engine import timestamps
from engine.models import HistoryEvent

__all__ = ["STEP_EVENTS", "DONE_EVENTS", "path_of"]

STEP_EVENTS = frozenset({"element_completed", "gateway_taken", "script_changed_data", "task_completed",
                         "external_task_completed"})
DONE_EVENTS = frozenset({"timer_fired", "message_correlated", "message_sent", "receive_task_signalled",
                         "signal_received", "signal_sent"})


def path_of(elements: dict, events: Iterable[HistoryEvent], active: set[str], failed: set[str]) -> dict[str, Any]:
    """``{"steps", "flows", "counts", "active", "failed"}``: the completed steps in the order they happened
    (each with the event that proves it), the flows taken (in the order their source first completed), how
    often each element ran, and the elements active (waiting) or failed (an open incident) now."""
    nodes, flows = elements.get("nodes", {}), elements.get("flows", {})
    steps, counts, chosen = completed_steps(nodes, events)
    reached = set(counts) | active | failed
    outgoing: dict[str, list[str]] = {}
    for flow_id, flow in flows.items():
        outgoing.setdefault(flow.get("source"), []).append(flow_id)
    first_done = {}
    for position, step in enumerate(steps):
        first_done.setdefault(step["element_id"], position)
    taken = [flow_id for flow_id, flow in flows.items()
             if was_taken(flow_id, flow, nodes, first_done, chosen, outgoing, reached)]
    taken.sort(key=lambda flow_id: (first_done[flows[flow_id]["source"]], flow_id))
    return {"steps": steps, "flows": [flow_row(flow_id, flows[flow_id], nodes) for flow_id in taken],
            "counts": counts, "active": sorted(active), "failed": sorted(failed)}


def completed_steps(nodes: dict, events: Iterable[HistoryEvent]) -> tuple[list[dict], dict[str, int], dict]:
    """The steps (``STEP_EVENTS``, then ``DONE_EVENTS`` of elements without one) in event order, how often
    each element ran, and the flows each gateway's decisions named."""
    stepped: list[HistoryEvent] = []
    caused: list[HistoryEvent] = []
    chosen: dict[str, set[str]] = {}
    for event in events:
        if not event.element_id:
            continue
        if event.type in STEP_EVENTS:
            stepped.append(event)
        elif event.type in DONE_EVENTS:
            caused.append(event)
        if event.type == "gateway_taken":
            chosen.setdefault(event.element_id, set()).update((event.data or {}).get("flows") or [])
    with_step = {event.element_id for event in stepped}
    proofs = sorted(stepped + [e for e in caused if e.element_id not in with_step], key=lambda e: e.id)
    counts: dict[str, int] = {}
    for event in proofs:
        counts[event.element_id] = counts.get(event.element_id, 0) + 1
    return [step_row(event, nodes) for event in proofs], counts, chosen


def was_taken(flow_id: str, flow: dict, nodes: dict, first_done, chosen: dict, outgoing: dict,
              reached: set[str]) -> bool:
    """Did the instance take ``flow_id``: its source completed (``first_done`` holds it) and, after a gateway,
    the gateway chose it (an event-based one: and its target was reached); else it is the source's only way
    out or its target was reached. One rule for the instance page's diagram and the audit report."""
    source, target = flow.get("source"), flow.get("target")
    if source not in first_done:
        return False
    if source in chosen:
        event_based = nodes.get(source, {}).get("type") == "eventBasedGateway"
        return flow_id in chosen[source] and (not event_based or target in reached)
    return len(outgoing[source]) == 1 or target in reached


def step_row(event: HistoryEvent, nodes: dict) -> dict[str, Any]:
    node = nodes.get(event.element_id, {})
    return {"event_id": event.id, "at": timestamps.iso(event.at), "element_id": event.element_id,
            "name": node.get("name") or "", "element_type": node.get("type") or "", "event": event.type,
            "actor": event.actor}


def flow_row(flow_id: str, flow: dict, nodes: dict) -> dict[str, Any]:
    return {"flow_id": flow_id, "name": flow.get("name") or "", "source": flow.get("source"),
            "target": flow.get("target"), "target_name": nodes.get(flow.get("target"), {}).get("name") or ""}
