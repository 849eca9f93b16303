"""Specs and instance state in the SpiffWorkflow adapter: serialized, restored, migrated.

* **Specs are serialized once per definition version** and restored once per process
  (``load_spec`` caches them); instance state is stored without them (``spec_json.spec_dicts`` reads
  a serialized spec without restoring it).
* **A state is JSON of the workflow as SpiffWorkflow's serializer writes it**, without the
  specs, with its tasks written by a faster path that gives the same result (``_tasks_dict``;
  the suite compares the two in every test) and with the serializer's version
  (``serializer_version``). ``load_state`` migrates an older state through SpiffWorkflow's
  migration path first (``migrated``).
* Data values of type ``Decimal`` and ``date`` survive serialization; what else data may hold
  is ``engine.values``' rule, kept by ``data_guard``.
"""
from __future__ import annotations

import json
import threading
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine import encoding
from engine.clock import EngineDate, EngineDatetime
from engine.errors import EngineError
from engine.spiff import calls, correlation, data_guard, external, multi_instance
from engine.spiff.waits import timers_held


def _registry():
    registry = BpmnWorkflowSerializer.configure({**SPIFF_CONFIG, **external.CONVERTERS, **multi_instance.CONVERTERS, **calls.CONVERTERS})
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
    registry.register(EngineDatetime, lambda v: {"value": v.isoformat()},
                      lambda v: datetime.fromisoformat(v["value"]), typename="EngineDatetime")
    registry.register(EngineDate, lambda v: {"value": v.isoformat()},
                      lambda v: date.fromisoformat(v["value"]), typename="EngineDate")
    return registry


SERIALIZER = BpmnWorkflowSerializer(_registry())
VERSION_KEY = BpmnWorkflowSerializer.VERSION_KEY  # "serializer_version", as SpiffWorkflow names it
UNMARKED_VERSION = "1.5"  # the serializer version of SpiffWorkflow 3.2.0, which wrote states without one
_WORKFLOW_CONVERTER = BpmnWorkflowConverter(BpmnWorkflow, SERIALIZER.registry)
_STATE_DEFAULT = encoding.registry_default(SERIALIZER.registry)
_spec_cache: dict[str, tuple] = {}
_spec_lock = threading.Lock()


# -- specs ------------------------------------------------------------------

def dump_spec(spec, subprocess_specs: dict) -> str:
    """JSON of a parsed process spec and the specs of its subprocesses/call activities."""
    registry = SERIALIZER.registry
    return json.dumps({
        "spec": registry.convert(spec),
        "subprocess_specs": {name: registry.convert(s) for name, s in subprocess_specs.items()},
    })


def load_spec(key: str, spec_json: str) -> tuple:
    """The (spec, subprocess_specs) of one definition version, restored once per process."""
    cached = _spec_cache.get(key)
    if cached is None:
        with _spec_lock:
            cached = _spec_cache.get(key)
            if cached is None:
                raw = json.loads(spec_json)
                registry = SERIALIZER.registry
                cached = (registry.restore(raw["spec"]),
                          {n: registry.restore(s) for n, s in raw["subprocess_specs"].items()})
                _spec_cache[key] = cached
    return cached


# -- instance state -----------------------------------------------------------

def new_workflow(specs: tuple, data: dict, script_timeout: float = 1.0,
                 start_event: Optional[str] = None, resolve: Optional[calls.Resolver] = None) -> BpmnWorkflow:
    """A new workflow with its start data, started by ``start_event`` (a timer or message start
    event) or, when None, by its plain start event(s); ``resolve`` binds processes of other files it calls."""
    spec, subprocess_specs = specs
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=data_guard.checked_script_engine(script_timeout))
    calls.use_called(workflow, subprocess_specs, resolve)
    workflow.task_tree.data.update(data)
    start = workflow.task_tree.children[0] if workflow.task_tree.children else None
    if start is not None:
        start.data.update(data)
        if any(name.endswith("StartEventSplit") for name in spec.task_specs):
            _choose_start_event(workflow, start, start_event)
        elif start_event is None:
            correlation.started_by_key(workflow, start)
    return workflow


def _choose_start_event(workflow: BpmnWorkflow, start, start_event: Optional[str]) -> None:
    """With several start events SpiffWorkflow would run them all (a manual start would also
    arm the timer start); keep only the one that started this instance."""
    with timers_held():  # choosing must not fire the timer start events it looks at
        start.run()
    splits = [start] if start.task_spec.name.endswith("StartEventSplit") else start.children
    candidates = [t for split in splits if split.task_spec.name.endswith("StartEventSplit") for t in split.children]
    if start_event is not None:
        wanted = {t.id for t in candidates if t.task_spec.bpmn_id == start_event}
    else:
        wanted = {t.id for t in candidates
                  if type(getattr(t.task_spec, "event_definition", None)).__name__ == "NoneEventDefinition"}
    if wanted:
        for task in candidates:
            if task.id not in wanted:
                task.cancel()


def dump_state(workflow: BpmnWorkflow) -> str:
    """Instance state as JSON, without the spec (stored once per version)."""
    registry = SERIALIZER.registry
    state = {
        "data": registry.convert(registry.clean(workflow.data)),
        "correlations": workflow.correlations,
        "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "tasks": _tasks_dict(workflow, registry),
        "root": str(workflow.task_tree.id),
        "subprocesses": {str(k): registry.convert(sp) for k, sp in workflow.subprocesses.items()},
        "bpmn_events": registry.convert(workflow.bpmn_events),
        VERSION_KEY: SERIALIZER.VERSION,
    }
    return encoding.dumps(state, _STATE_DEFAULT)


def _tasks_dict(workflow: BpmnWorkflow, registry) -> dict:
    """The tasks exactly as SpiffWorkflow's TaskConverter writes them (data as a delta to the
    parent's), without its generic per-value dispatch, and with task ids named once."""
    names = getattr(workflow, "liucheng_ids", None)
    if names is None or len(names) > 4 * len(workflow.tasks) + 64:
        names = workflow.liucheng_ids = {}

    def name(task_id) -> str:
        found = names.get(task_id)
        if found is None:
            found = names[task_id] = str(task_id)
        return found

    result = {}
    for task_id, task in workflow.tasks.items():
        if registry.typenames.get(type(task)) != "Task":
            result[name(task_id)] = registry.convert(task)
            continue
        parent = task.parent
        if parent is None:
            data, delta = task.data, {}
        else:
            before, after = parent.data, task.data
            data = {}
            delta = {"updates": {k: v for k, v in after.items() if k not in before or v != before[k]},
                     "deletions": [k for k in before if k not in after]}
        result[name(task_id)] = {
            "id": name(task.id), "parent": name(task._parent) if parent is not None else None,
            "children": [name(c) for c in task._children], "last_state_change": task.last_state_change,
            "state": task.state, "task_spec": task.task_spec.name, "triggered": task.triggered,
            "internal_data": registry.convert(task.internal_data) if task.internal_data else task.internal_data,
            "data": data, "delta": delta,
            "typename": "Task"}
    return result


def load_state(specs: tuple, state_json: str, script_timeout: float = 1.0,
               resolve: Optional[calls.Resolver] = None) -> BpmnWorkflow:
    """The workflow of a stored state; a state of an older serializer version is migrated first.
    ``resolve`` gives the processes of other files it called (bound in the state) and will call."""
    spec, subprocess_specs = specs
    state = migrated(json.loads(state_json), specs)
    converter = SERIALIZER.registry
    workflow = BpmnWorkflow(spec, subprocess_specs, deserializing=True)
    workflow.tasks = {uuid.UUID(k): converter.restore(v, workflow=workflow) for k, v in state["tasks"].items()}
    workflow.task_tree = workflow.tasks.get(uuid.UUID(state["root"]))
    workflow.success = state["success"]
    workflow.completed = state.get("completed", False)
    workflow.correlations = state.get("correlations", {})
    if state.get("last_task"):
        workflow.last_task = workflow.tasks.get(uuid.UUID(state["last_task"]))
    workflow.data = converter.restore(state.get("data", {}))
    calls.use_called(workflow, subprocess_specs, resolve)
    _WORKFLOW_CONVERTER.subprocesses_from_dict(state["subprocesses"], workflow)
    workflow.bpmn_events = converter.restore(state.get("bpmn_events", []))
    workflow.script_engine = data_guard.checked_script_engine(script_timeout)
    return workflow


# -- serializer versions ------------------------------------------------------------

def migrated(state: dict, specs: tuple) -> dict:
    """``state`` in the format of the installed SpiffWorkflow's serializer (``SERIALIZER.VERSION``).

    A state without a version was written before the version was recorded, by SpiffWorkflow 3.2.0
    (``UNMARKED_VERSION``). An older one goes through SpiffWorkflow's own migration path
    (``BpmnWorkflowSerializer.migrate``, the functions of ``SpiffWorkflow.bpmn.serializer.migration``),
    given the process specs it may read beside the spec-less state; a version the installed
    SpiffWorkflow does not know (a newer one) is refused with ``StateVersionError``."""
    version = state.pop(VERSION_KEY, UNMARKED_VERSION)
    if version == SERIALIZER.VERSION:
        return state
    if version not in MIGRATIONS:
        raise StateVersionError(
            f"The instance's state was written by SpiffWorkflow serializer version {version}; the installed "
            f"SpiffWorkflow reads {SERIALIZER.VERSION} and migrates only {', '.join(sorted(MIGRATIONS))}: install "
            "the SpiffWorkflow version that wrote it (the SpiffWorkflow of the release that ran the instance)")
    spec, subprocess_specs = specs
    registry = SERIALIZER.registry
    whole = {**state, VERSION_KEY: version, "spec": registry.convert(spec),
             "subprocess_specs": {name: registry.convert(s) for name, s in subprocess_specs.items()}}
    SERIALIZER.migrate(whole)  # one step, as SpiffWorkflow's deserialize_json does
    return {key: value for key, value in whole.items() if key not in ("spec", "subprocess_specs", "VERSION")}


class StateVersionError(EngineError):
    """A stored state of a serializer version the installed SpiffWorkflow cannot read."""

    code = "state_version"
