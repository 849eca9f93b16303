"""The SpiffWorkflow adapter: the only runtime module that speaks Spiff's words.

Everything above it talks about definitions, instances and tasks; here those are
``BpmnProcessSpec``, ``BpmnWorkflow`` and ``Task``. Three things matter:

* **Specs are serialized once per definition version** and restored once per
  process (``load_spec`` caches them); instance state is stored without them.
* **The task tree is pruned after every command** (``prune``): SpiffWorkflow
  keeps every task ever run, so both the step cost and the state size grow with
  history, and its iterators silently stop at depth 1000 (a loop of ~250
  rounds "completes" with work left). Pruning cuts every finished task above the
  lowest common ancestor of the unfinished ones, so the tree holds only the
  live region of the instance.
* Data values of type ``Decimal`` and ``date`` survive serialization.
"""
from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Callable, Optional

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.sandbox import make_script_engine

FINISHED = TaskState.FINISHED_MASK


def _registry():
    registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
    return registry


SERIALIZER = BpmnWorkflowSerializer(_registry())
_WORKFLOW_CONVERTER = BpmnWorkflowConverter(BpmnWorkflow, SERIALIZER.registry)
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

def new_workflow(specs: tuple, data: dict, script_timeout: float = 1.0) -> BpmnWorkflow:
    spec, subprocess_specs = specs
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=make_script_engine(script_timeout))
    workflow.task_tree.data.update(data)
    start = workflow.task_tree.children[0] if workflow.task_tree.children else None
    if start is not None:
        start.data.update(data)
    return workflow


def dump_state(workflow: BpmnWorkflow) -> str:
    """Instance state as JSON, without the spec (stored once per version)."""
    registry = SERIALIZER.registry
    state = {
        "data": registry.convert(registry.clean(workflow.data)),
        "correlations": workflow.correlations,
        "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "tasks": {str(k): registry.convert(t) for k, t in workflow.tasks.items()},
        "root": str(workflow.task_tree.id),
        "subprocesses": {str(k): registry.convert(sp) for k, sp in workflow.subprocesses.items()},
        "bpmn_events": registry.convert(workflow.bpmn_events),
    }
    return json.dumps(state, separators=(",", ":"), cls=SERIALIZER._encoder_cls)


def load_state(specs: tuple, state_json: str, script_timeout: float = 1.0) -> BpmnWorkflow:
    spec, subprocess_specs = specs
    state = json.loads(state_json)
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
    _WORKFLOW_CONVERTER.subprocesses_from_dict(state["subprocesses"], workflow)
    workflow.bpmn_events = converter.restore(state.get("bpmn_events", []))
    workflow.script_engine = make_script_engine(script_timeout)
    return workflow


# -- pruning ------------------------------------------------------------------

def prune(workflow: BpmnWorkflow) -> int:
    """Drop finished history from the task trees; returns how many tasks went."""
    removed = _prune_tree(workflow)
    for subprocess in list(workflow.subprocesses.values()):
        removed += _prune_tree(subprocess)
    live = {tid for wf in [workflow, *workflow.subprocesses.values()] for tid in wf.tasks}
    for task_id in [k for k in workflow.subprocesses if k not in live]:
        del workflow.subprocesses[task_id]
    return removed


def _prune_tree(workflow) -> int:
    root = workflow.task_tree
    unfinished = [t for t in workflow.tasks.values() if not t.has_state(FINISHED)]
    if not unfinished:
        return 0
    anchor = _common_ancestor(unfinished)
    if anchor is None or anchor is root or anchor.parent is root:
        return 0
    keep = {root.id}
    stack = [anchor]
    while stack:
        task = stack.pop()
        keep.add(task.id)
        stack.extend(task.children)
    removed = [k for k in workflow.tasks if k not in keep]
    for key in removed:
        del workflow.tasks[key]
    root._children = [anchor.id]
    anchor._parent = root.id
    if workflow.last_task is not None and workflow.last_task.id not in keep:
        workflow.last_task = anchor
    return len(removed)


def _common_ancestor(tasks: list):
    """The deepest task that is an ancestor-or-self of every task given."""
    path = []
    node = tasks[0]
    while node is not None:
        path.append(node)
        node = node.parent
    path.reverse()
    index = {t.id: i for i, t in enumerate(path)}
    deepest = len(path) - 1
    for task in tasks[1:]:
        node = task
        while node is not None and node.id not in index:
            node = node.parent
        if node is None:
            return None
        deepest = min(deepest, index[node.id])
    return path[deepest]


# -- tasks ----------------------------------------------------------------------

@dataclass
class ReadyTask:
    engine_task_id: str
    element_id: str
    name: str
    lane: Optional[str]


def ready_user_tasks(workflow: BpmnWorkflow) -> list[ReadyTask]:
    return [
        ReadyTask(str(t.id), t.task_spec.bpmn_id, t.task_spec.bpmn_name or t.task_spec.bpmn_id,
                  t.task_spec.lane)
        for t in workflow.get_tasks(state=TaskState.READY, manual=True)
    ]


def find_task(workflow: BpmnWorkflow, engine_task_id: str):
    try:
        return workflow.get_task_from_id(uuid.UUID(engine_task_id))
    except Exception:
        return None


Listener = Callable[[Any, dict, dict], None]


def run(workflow: BpmnWorkflow, on_step: Optional[Listener] = None) -> None:
    """Run engine steps until only human work or waiting is left.

    ``on_step(task, data_before, data_after)`` is called for every task the
    engine completed, so the caller can record gateways and script changes.
    """
    before: dict = {}

    def will(task):
        before[task.id] = dict(task.data) if on_step else None

    def did(task):
        if on_step:
            on_step(task, before.pop(task.id, {}) or {}, task.data)

    workflow.do_engine_steps(will_complete_task=will, did_complete_task=did)


def complete(workflow: BpmnWorkflow, engine_task_id: str, data: dict) -> None:
    task = find_task(workflow, engine_task_id)
    task.data.update(data)
    task.run()


def cancel(workflow: BpmnWorkflow) -> None:
    workflow.cancel()


def is_completed(workflow: BpmnWorkflow) -> bool:
    return workflow.is_completed()


def process_data(workflow: BpmnWorkflow) -> dict:
    """The instance's current data: the workflow's data when finished, else the
    data of the tasks at the front, merged (latest change wins)."""
    if workflow.is_completed():
        return dict(workflow.data) or dict(workflow.last_task.data if workflow.last_task else {})
    merged: dict = {}
    fronts = workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED)
    for task in sorted(fronts, key=lambda t: t.last_state_change or 0):
        merged.update(task.data)
    if not merged and workflow.last_task is not None:
        merged.update(workflow.last_task.data)
    return merged


def element_of(task) -> str:
    return task.task_spec.bpmn_id or task.task_spec.name


def chosen_targets(task) -> list[str]:
    """Element ids of the flow nodes a gateway task sent the token to."""
    return [c.task_spec.bpmn_id for c in task.children
            if c.task_spec.bpmn_id and not c.has_state(TaskState.CANCELLED | TaskState.MAYBE | TaskState.LIKELY)]


def task_kind(task) -> str:
    return type(task.task_spec).__name__


# -- time, timers and messages ------------------------------------------------------

from contextvars import ContextVar  # noqa: E402
from datetime import datetime as _datetime, timedelta as _timedelta, timezone as _timezone  # noqa: E402

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer  # noqa: E402
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition as _BaseMessage  # noqa: E402
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition  # noqa: E402
from SpiffWorkflow.bpmn.util import BpmnEvent  # noqa: E402

from engine import clock as _clock  # noqa: E402

_firing_at: ContextVar[Optional[_datetime]] = ContextVar("firing_at", default=None)


class _EngineDatetime(_datetime):
    """SpiffWorkflow's timers ask ``datetime.now``; answer with the engine's clock."""

    @classmethod
    def now(cls, tz=None):
        current = _firing_at.get() or _clock.now()
        aware = current.replace(tzinfo=_timezone.utc)
        return aware.astimezone(tz) if tz else aware.replace(tzinfo=None)


_spiff_timer.datetime = _EngineDatetime


@dataclass
class WaitingTimer:
    engine_task_id: str
    element_id: str
    due_at: _datetime  # naive UTC


@dataclass
class WaitingMessage:
    engine_task_id: str
    element_id: str
    name: str


def _definitions_of(task) -> list:
    definition = getattr(task.task_spec, "event_definition", None)
    if definition is None:
        return []
    return list(getattr(definition, "event_definitions", None) or [definition])


def _waiting_tasks(wf: BpmnWorkflow) -> list:
    return [t for t in wf.event_manager.tasks.values() if t.has_state(TaskState.WAITING)]


def waiting_timers(wf: BpmnWorkflow) -> list[WaitingTimer]:
    timers = []
    for task in _waiting_tasks(wf):
        if not any(isinstance(d, TimerEventDefinition) for d in _definitions_of(task)):
            continue
        value = task.internal_data.get("event_value")
        if isinstance(value, dict):
            value = value.get("next")
        due = _parse_due(value)
        if due is not None:
            timers.append(WaitingTimer(str(task.id), element_of(task), due))
    return timers


def _parse_due(value) -> Optional[_datetime]:
    if not isinstance(value, str):
        return None
    try:
        parsed = _datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(_timezone.utc).replace(tzinfo=None)
    return parsed


def waiting_messages(wf: BpmnWorkflow) -> list[WaitingMessage]:
    return [WaitingMessage(str(task.id), element_of(task), definition.name)
            for task in _waiting_tasks(wf) for definition in _definitions_of(task)
            if isinstance(definition, _BaseMessage)]


def fire_timers(wf: BpmnWorkflow, at: _datetime, on_step: Optional[Listener] = None) -> None:
    """Fire every timer due at ``at`` (naive UTC) and run on."""
    token = _firing_at.set(at)
    try:
        wf.refresh_timers()
        run(wf, on_step)
    finally:
        _firing_at.reset(token)


def deliver_message(wf: BpmnWorkflow, name: str, payload: dict, on_step: Optional[Listener] = None) -> bool:
    """Deliver a message to the instance's waiting catch events; the payload joins the data."""
    waiting = {w.engine_task_id for w in waiting_messages(wf) if w.name == name}
    if not waiting:
        return False
    definition = next(d for t in _waiting_tasks(wf) if str(t.id) in waiting for d in _definitions_of(t)
                      if isinstance(d, _BaseMessage) and d.name == name)
    wf.send_event(BpmnEvent(type(definition)(name), dict(payload), {}))
    for task_id in waiting:
        task = find_task(wf, task_id)
        if task is not None and not task.has_state(TaskState.WAITING):
            task.data.update(payload)
    run(wf, on_step)
    return True


def failed_task_ids(wf: BpmnWorkflow) -> list[str]:
    return [str(t.id) for t in wf.get_tasks(state=TaskState.ERROR)]


def failing_task(exc: BaseException):
    """The Spiff task a run failed on, if the exception says."""
    return getattr(exc, "task", None)


def retry_failed(wf: BpmnWorkflow, engine_task_id: Optional[str], on_step: Optional[Listener] = None) -> None:
    """Make a failed task ready again and run on."""
    task = find_task(wf, engine_task_id) if engine_task_id else None
    if task is not None and task.has_state(TaskState.ERROR):
        task._set_state(TaskState.READY)
    run(wf, on_step)


def fire_start_timer(wf: BpmnWorkflow, at: _datetime, on_step: Optional[Listener] = None) -> None:
    """Fire a timer start event exactly once: the host starts one instance per tick, so a
    cycle must not go on looping inside this instance (SpiffWorkflow would)."""
    token = _firing_at.set(_datetime(1970, 1, 2))  # arm the timers without firing them
    try:
        run(wf, on_step)
    finally:
        _firing_at.reset(token)
    due = (at - _timedelta(microseconds=1)).replace(tzinfo=_timezone.utc).isoformat()
    for task in _waiting_tasks(wf):
        value = task.internal_data.get("event_value")
        if isinstance(value, dict) and "cycles" in value:
            task.internal_data["event_value"] = {**value, "cycles": 1, "next": due}
    token = _firing_at.set(at)
    try:
        for _ in range(3):
            wf.refresh_timers()
            run(wf, on_step)
            if not _waiting_tasks(wf) or all(t.task_spec.name != "Start" for t in _waiting_tasks(wf)):
                break
    finally:
        _firing_at.reset(token)


def take_thrown_messages(wf: BpmnWorkflow) -> list[tuple[str, dict]]:
    """Messages thrown by send tasks / throw events that no task of this instance caught."""
    thrown = []
    for event in wf.get_events():
        if isinstance(event.event_definition, _BaseMessage):
            payload = event.payload if isinstance(event.payload, dict) else {"payload": event.payload}
            thrown.append((event.event_definition.name, dict(payload)))
    return thrown
