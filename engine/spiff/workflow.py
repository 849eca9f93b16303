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
* Data values of type ``Decimal`` and ``date`` survive serialization; what else data
  may hold is ``engine.values``' rule, kept by ``engine.data_guard`` (scripts that
  break it fail; what slipped in by another path is found and cleared).
"""
from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable, Optional

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.util.task import TaskState

from engine import encoding
from engine.spiff import branches, data_guard, speedups
from engine.clock import EngineDate, EngineDatetime

DONE = TaskState.COMPLETED | TaskState.CANCELLED  # an ERROR task is not done: it is retried later
_FRONT = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


def _registry():
    registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
    registry.register(EngineDatetime, lambda v: {"value": v.isoformat()},
                      lambda v: datetime.fromisoformat(v["value"]), typename="EngineDatetime")
    registry.register(EngineDate, lambda v: {"value": v.isoformat()},
                      lambda v: date.fromisoformat(v["value"]), typename="EngineDate")
    return registry


SERIALIZER = BpmnWorkflowSerializer(_registry())
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
                 start_event: Optional[str] = None) -> BpmnWorkflow:
    """A new workflow with its start data, started by ``start_event`` (a timer or message start
    event) or, when None, by its plain start event(s)."""
    spec, subprocess_specs = specs
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=data_guard.checked_script_engine(script_timeout))
    workflow.task_tree.data.update(data)
    start = workflow.task_tree.children[0] if workflow.task_tree.children else None
    if start is not None:
        start.data.update(data)
        if any(name.endswith("StartEventSplit") for name in spec.task_specs):
            _choose_start_event(workflow, start, start_event)
    return workflow


def _choose_start_event(workflow: BpmnWorkflow, start, start_event: Optional[str]) -> None:
    """With several start events SpiffWorkflow would run them all (a manual start would also
    arm the timer start); keep only the one that started this instance."""
    from engine.spiff.waits import timers_held

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
    workflow.script_engine = data_guard.checked_script_engine(script_timeout)
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
    unfinished = [t for t in workflow.tasks.values() if not t.has_state(DONE)]
    if not unfinished:
        return 0
    anchor = branches.common_ancestor(unfinished)
    if anchor is None or anchor is root or anchor.parent is root:
        return 0
    keep = {root.id}
    stack = [anchor]
    while stack:
        task = stack.pop()
        keep.add(task.id)
        stack.extend(task.children)
    grafts = _branch_ends(workflow, keep)
    root.data = dict(anchor.parent.data)  # a task updated later re-inherits its parent's data (the
    # parent leaves the tree here, so nothing else changes its values: no deep copy needed)
    removed = [k for k in workflow.tasks if k not in keep]
    for key in removed:
        del workflow.tasks[key]
    root._children = [anchor.id] + [end.parent.id for end in grafts]
    anchor._parent = root.id
    for end in grafts:
        end.parent._parent, end.parent._children, end._children = root.id, [end.id], []
    if workflow.last_task is not None and workflow.last_task.id not in keep:
        workflow.last_task = anchor
    return len(removed)


def _branch_ends(workflow, keep: set) -> list:
    """Ended parallel branches the process's end join will still merge data from: they are
    kept (with the task before them) as small grafts under the root, outside the pruned part."""
    ends = [t for t in workflow.tasks.values() if t.id not in keep and t.task_spec.name.endswith("EndJoin")
            and t.has_state(DONE) and t.parent is not None]
    for end in ends:
        keep.update((end.id, end.parent.id))
    return ends


# -- what the database holds for a workflow ---------------------------------------------

def memo(wf: BpmnWorkflow) -> dict:
    """Facts about the instance's rows (open tasks, timers, subscriptions) kept on the cached
    workflow object, so a step need not re-read them. Valid exactly as long as the cached
    workflow is (the instance's etag): a workflow read from the database starts empty."""
    found = getattr(wf, "liucheng_memo", None)
    if found is None:
        found = {}
        wf.liucheng_memo = found
    return found


# -- tasks ----------------------------------------------------------------------

@dataclass
class ReadyTask:
    engine_task_id: str
    element_id: str
    name: str
    lane: Optional[str]
    data: dict


def ready_user_tasks(workflow: BpmnWorkflow) -> list[ReadyTask]:
    return [
        ReadyTask(str(t.id), t.task_spec.bpmn_id, t.task_spec.bpmn_name or t.task_spec.bpmn_id,
                  t.task_spec.lane, t.data)
        for t in speedups.walk(workflow.task_tree, state=TaskState.READY, manual=True)
    ]


def find_task(workflow: BpmnWorkflow, engine_task_id: str):
    try:
        return workflow.get_task_from_id(uuid.UUID(engine_task_id))
    except Exception:
        return None


@dataclass
class Step:
    """A task the engine completed by itself, as the rows above see it: ``targets`` are the element
    ids a gateway sent the token to; ``data_before``/``data_after`` are a script's data around it
    (empty for other kinds)."""

    element_id: str
    kind: str  # the spec's class name: "ExclusiveGateway", "ScriptTask", ...
    engine_task_id: str
    targets: list
    data_before: dict
    data_after: dict


Listener = Callable[[Step], None]


def run(workflow: BpmnWorkflow, on_step: Optional[Listener] = None) -> None:
    """Run engine steps until only human work or waiting is left.

    ``on_step(step)`` is called for every task the engine completed, so the caller can record
    gateways and script changes.
    """
    before: dict = {}

    def will(task):
        if on_step and "Script" in type(task.task_spec).__name__:  # only scripts' changes are recorded
            before[task.id] = dict(task.data)

    def did(task):
        if on_step:
            kind = task_kind(task)
            on_step(Step(element_of(task), kind, str(task.id),
                         chosen_targets(task) if "Gateway" in kind else [],
                         before.pop(task.id, {}) or {}, task.data if "Script" in kind else {}))

    workflow.do_engine_steps(will_complete_task=will, did_complete_task=did)


def complete(workflow: BpmnWorkflow, engine_task_id: str, data: dict) -> None:
    task = find_task(workflow, engine_task_id)
    task.data.update(data)
    task.run()


def cancel(workflow: BpmnWorkflow) -> None:
    workflow.cancel()


def is_completed(workflow: BpmnWorkflow) -> bool:
    return workflow.is_completed()


def process_data(workflow: BpmnWorkflow, completed: Optional[bool] = None) -> dict:
    """The instance's current data: the workflow's data when finished, else the
    data of the tasks at the front, merged (latest change wins)."""
    if completed if completed is not None else workflow.is_completed():
        return dict(workflow.data) or dict(workflow.last_task.data if workflow.last_task else {})
    front = list(speedups.walk(workflow.task_tree, state=_FRONT))
    sources = [_data_source(t) for t in front]
    for join in [t for t in front if t.has_state(TaskState.WAITING) and isinstance(t.task_spec, Join)]:
        sources += [t.parent for t in join.workflow.tasks.values()  # branches that already arrived
                    if t.task_spec == join.task_spec and t is not join and t.parent is not None
                    and t.has_state(TaskState.FINISHED_MASK) and not join.is_descendant_of(t)]
    sources += [t.parent for t in workflow.tasks.values()
                if t.task_spec.name.endswith("EndJoin") and t.has_state(DONE) and t.parent is not None]
    sources.sort(key=lambda t: t.last_state_change or 0)
    merged = branches.merge(sources) if sources else None
    if merged is None:  # tasks in different (sub)process trees: the latest values win
        merged = {}
        for task in sources:
            merged.update(task.data)
    if not merged and workflow.last_task is not None:
        merged.update(workflow.last_task.data)
    return merged




def _data_source(task):
    """A join waiting for other branches holds no data yet: its branch's data is its parent's."""
    if task.has_state(TaskState.WAITING) and isinstance(task.task_spec, Join) and task.parent is not None:
        return task.parent
    return task


def element_of(task) -> str:
    return task.task_spec.bpmn_id or task.task_spec.name


def chosen_targets(task) -> list[str]:
    """Element ids of the flow nodes a gateway task sent the token to."""
    return [c.task_spec.bpmn_id for c in task.children
            if c.task_spec.bpmn_id and not c.has_state(TaskState.CANCELLED | TaskState.MAYBE | TaskState.LIKELY)]


def task_kind(task) -> str:
    return type(task.task_spec).__name__


def failed_task_ids(wf: BpmnWorkflow) -> list[str]:
    return [str(t.id) for t in wf.get_tasks(state=TaskState.ERROR)]


@dataclass
class FailedStep:
    """The task a run failed on, if the exception says: its element, task id and a readable name."""

    element_id: str
    engine_task_id: str
    description: str  # "'id' (name)", as data_guard.describe_element writes it


def failed_step(exc: BaseException) -> Optional[FailedStep]:
    task = getattr(exc, "task", None)
    if task is None:
        return None
    return FailedStep(element_of(task), str(task.id), data_guard.describe_element(task))


def retry_failed(wf: BpmnWorkflow, engine_task_id: Optional[str], on_step: Optional[Listener] = None) -> None:
    """Make a failed task ready again and run on."""
    task = find_task(wf, engine_task_id) if engine_task_id else None
    if task is not None and task.has_state(TaskState.ERROR):
        task._set_state(TaskState.READY)
    run(wf, on_step)
