"""The steps in the SpiffWorkflow adapter: running a workflow on, completing a user task,
cancelling, retrying a failed task; and what they tell the rows above (``Step``, ``FailedStep``).

Timers and messages are fired and delivered in ``waits``, which runs on with ``run``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.spiff import data_guard, event_subprocesses
from engine.spiff.tasks import chosen_targets, element_of, find_task, task_kind


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
        event_subprocesses.interrupt_scope(task)  # an interrupting event subprocess started: the rest of its scope ends
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
