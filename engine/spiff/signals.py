"""Signals in the SpiffWorkflow adapter: which signal catch events wait, catching a broadcast signal,
the signal start events of a spec, and the signals (and messages) an instance threw.

A signal is a broadcast (Camunda 7's ``signalEventReceived``): every waiting catch event of its name
takes it, its variables join their data. Receive tasks without a message wait on a signal of their
own (``waits.TRIGGER``); those are not signals a model or the API can send.
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Optional

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition as _BaseSignal
from SpiffWorkflow.bpmn.parser.event_parsers import (CANCEL_EVENT_XPATH, ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH,
                                                     MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, TERMINATION_EVENT_XPATH)
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.spiff.parser.event_parsers import SpiffEndEventParser
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.spiff.event_subprocesses import scope_interrupted
from engine.spiff.spec_json import spec_dicts
from engine.spiff.steps import Listener, run
from engine.spiff.waits import TRIGGER


class SignalEndEventParser(SpiffEndEventParser):
    """SpiffWorkflow's end event parser, reading a signal end event too (SpiffWorkflow's ignores its
    signal, so the end event threw nothing)."""

    def create_task(self):
        event_definition = self.get_event_definition([MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, CANCEL_EVENT_XPATH,
                                                      ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH,
                                                      TERMINATION_EVENT_XPATH])
        task = self._create_task(event_definition)
        task.connect(self.spec.end)
        return task


class ThrownSignal(str):
    """The name of a signal an instance threw, among the thrown messages' names."""


def _definitions(task) -> list:
    definition = getattr(task.task_spec, "event_definition", None)
    return list(getattr(definition, "event_definitions", None) or [definition])


def _signal_tasks(wf: BpmnWorkflow, name: str) -> list:
    return [t for t in wf.event_manager.tasks.values() if t.has_state(TaskState.WAITING)
            and any(isinstance(d, _BaseSignal) and d.name == name for d in _definitions(t))]


def _trigger_starts(wf: BpmnWorkflow, name: str) -> list:
    """The signal start events of ``name`` of the process's event subprocesses, while it runs (and no
    interrupting event subprocess has started)."""
    if wf.is_completed() or scope_interrupted(wf):
        return []
    return [ts for sp_name in wf.spec.start.trigger_specs
            for ts in getattr(wf.subprocess_specs.get(sp_name), "bpmn_start_events", [])
            if isinstance(ts.event_definition, _BaseSignal) and ts.event_definition.name == name]


def waits_for_signal(wf: BpmnWorkflow, name: str) -> bool:
    """Whether a catch event of the instance, or an event subprocess's start event, waits for ``name``."""
    return not name.startswith(TRIGGER) and bool(_signal_tasks(wf, name) or _trigger_starts(wf, name))


def catch_signal(wf: BpmnWorkflow, name: str, variables: dict, on_step: Optional[Listener] = None) -> bool:
    """Every waiting catch event of signal ``name`` takes it, ``variables`` join their data; then run
    on. False if nothing waits for it."""
    if name.startswith(TRIGGER):
        return False
    for start in _trigger_starts(wf, name)[:1]:  # SpiffWorkflow starts the event subprocess waiting at it
        wf.event_manager.update_collaboration(BpmnEvent(start.event_definition, dict(variables)))
    tasks = _signal_tasks(wf, name)
    if not tasks:
        return False
    definition = next(d for d in _definitions(tasks[0]) if isinstance(d, _BaseSignal) and d.name == name)
    for task in tasks:
        task.task_spec.catch(task, BpmnEvent(definition, dict(variables)))
        task.task_spec._update(task)
        if not task.has_state(TaskState.WAITING):
            task.data.update(variables)
    run(wf, on_step)
    return True


@lru_cache(maxsize=256)
def signal_names(spec_json: str) -> frozenset[str]:
    """The names of the signals a serialized spec catches or throws."""
    return frozenset(node["name"] for node in spec_dicts(spec_json)
                     if node.get("typename") == "SignalEventDefinition" and node.get("name")
                     and not node["name"].startswith(TRIGGER))


def take_thrown(wf: BpmnWorkflow) -> list[tuple[str, dict]]:
    """Messages and signals thrown that no task of this instance caught, in the order thrown; a
    signal's name is a ``ThrownSignal``."""
    thrown = []
    for event in wf.get_events():
        definition = event.event_definition
        payload = event.payload if isinstance(event.payload, dict) else (
            {} if event.payload is None else {"payload": event.payload})
        if isinstance(definition, MessageEventDefinition):
            thrown.append((definition.name, dict(payload)))
        elif isinstance(definition, _BaseSignal) and not definition.name.startswith(TRIGGER):
            thrown.append((ThrownSignal(definition.name), dict(payload)))
    return thrown


@lru_cache(maxsize=256)
def signal_starts(spec_json: str) -> dict[str, str]:
    """Signal name → element id of the process's (first) top-level signal start event of that name."""
    found: dict[str, str] = {}
    for task_spec in json.loads(spec_json)["spec"].get("task_specs", {}).values():
        definition = task_spec.get("event_definition") or {}
        if task_spec.get("typename") == "StartEvent" and definition.get("typename") == "SignalEventDefinition":
            found.setdefault(definition["name"], task_spec.get("bpmn_id") or task_spec["name"])
    return found
