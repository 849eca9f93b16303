"""What a workflow holds now, in the SpiffWorkflow adapter: its ready user tasks, its data, its
failed tasks, and the engine's notes about its rows.

``process_data`` is the instance's data as the rows above show it: the workflow's data when it
has finished, else the data at its front, parallel branches merged (``branches``).
"""
from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Optional

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.util.task import TaskState

from engine.spiff import branches, speedups

DONE = TaskState.COMPLETED | TaskState.CANCELLED  # an ERROR task is not done: it is retried later
FRONT = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


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


def task_data(workflow: BpmnWorkflow, engine_task_id: str) -> Optional[dict]:
    """The data of task ``engine_task_id`` (the workflow's own dict: read it, do not change it), or None
    when the workflow has no such task any more."""
    task = find_task(workflow, engine_task_id)
    return task.data if task is not None else None


def is_completed(workflow: BpmnWorkflow) -> bool:
    return workflow.is_completed()


def process_data(workflow: BpmnWorkflow, completed: Optional[bool] = None) -> dict:
    """The instance's current data: the workflow's data when finished, else the
    data of the tasks at the front, merged (latest change wins)."""
    if completed if completed is not None else workflow.is_completed():
        return dict(workflow.data) or dict(workflow.last_task.data if workflow.last_task else {})
    sources = _front_sources(workflow)
    merged = branches.merge(sources) if sources else None
    if merged is None:  # tasks in different (sub)process trees: the latest values win
        merged = {}
        for task in sources:
            merged.update(task.data)
    if not merged and workflow.last_task is not None:
        merged.update(workflow.last_task.data)
    return merged


def set_variable(workflow: BpmnWorkflow, name: str, value) -> None:
    """Set a top-level variable in the data a running workflow holds at its front (every task ``process_data``
    reads, so the tasks that run next inherit it): an administrator's edit."""
    sources = _front_sources(workflow) or ([workflow.last_task] if workflow.last_task is not None else [])
    for task in sources:
        task.data[name] = copy.deepcopy(value)


def _front_sources(workflow: BpmnWorkflow) -> list:
    """The tasks whose data is the running workflow's data, oldest change first."""
    front = list(speedups.walk(workflow.task_tree, state=FRONT))
    sources = [_data_source(t) for t in front]
    for join in [t for t in front if t.has_state(TaskState.WAITING) and isinstance(t.task_spec, Join)]:
        sources += [t.parent for t in join.workflow.tasks.values()  # branches that already arrived
                    if t.task_spec == join.task_spec and t is not join and t.parent is not None
                    and t.has_state(TaskState.FINISHED_MASK) and not join.is_descendant_of(t)]
    sources += [t.parent for t in workflow.tasks.values()
                if t.task_spec.name.endswith("EndJoin") and t.has_state(DONE) and t.parent is not None]
    sources.sort(key=lambda t: t.last_state_change or 0)
    return sources


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




def memo(wf: BpmnWorkflow) -> dict:
    """Facts about the instance's rows (open tasks, timers, subscriptions) kept on the cached
    workflow object, so a step need not re-read them. Valid exactly as long as the cached
    workflow is (the instance's etag): a workflow read from the database starts empty."""
    found = getattr(wf, "liucheng_memo", None)
    if found is None:
        found = {}
        wf.liucheng_memo = found
    return found
