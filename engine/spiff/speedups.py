"""Cheaper versions of SpiffWorkflow's hottest paths, with the same results.

Most of a step's time inside SpiffWorkflow 3.2 goes to two things that do not change what
it does:

* **Walking the task tree.** ``get_tasks``, ``update_waiting_tasks`` and ``is_completed``
  walk the tree with ``TaskIterator``, which pops from the front of a list, builds a filter
  object per query and re-walks parents to count depth. ``walk`` visits the same tasks in
  the same order (depth first, a subprocess's tasks before the task's children, no descent
  below tasks in a state the query cannot reach) with a plain stack. It has no depth limit:
  SpiffWorkflow's iterator silently stops at depth 1000 (a deeper task is never visited), which the
  engine's pruning keeps trees far from anyway.
* **Log records nobody reads.** Every state change builds a dict of log extras (and a dict
  of all state names to name its new state), and every workflow start and end lists all its
  tasks for its log record, even when the log level drops the record. Here the extras are
  built only when the record will be emitted, and a state's name is remembered
  (``patches`` wraps ``TaskState.get_name`` in a cache).

Queries the fast walk does not cover (``end_at_spec``, ``updated_ts``, ``catches_event``,
breadth first, a task filter object) go to SpiffWorkflow's own iterator. This module only
defines the replacements; ``engine.spiff.patches`` installs them at engine start-up (after
checking the originals). The suite compares ``walk`` with SpiffWorkflow's iterators in
every test (``tests/conftest.py``).
"""
from __future__ import annotations

import logging
from contextlib import contextmanager

from SpiffWorkflow import task as spiff_task
from SpiffWorkflow import workflow as spiff_workflow
from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow

ANY = TaskState.ANY_MASK
_FINISHED = TaskState.FINISHED_MASK
_FAST_QUERY = frozenset({"state", "manual", "spec_name", "spec_class", "lane", "skip_subprocesses"})


def walk(first, state: int = ANY, manual=None, spec_name=None, spec_class=None, lane=None,
         skip_subprocesses: bool = False, subprocesses: bool = True):
    """The tasks from ``first`` down that match, in SpiffWorkflow's order. ``subprocesses``:
    descend into subprocess trees (``BpmnTaskIterator``) or not (``TaskIterator``)."""
    min_state = (TaskState.MAYBE if state & TaskState.PREDICTED_MASK
                 else TaskState.FUTURE if state & TaskState.DEFINITE_MASK else TaskState.COMPLETED)
    trees = first.workflow.top_workflow.subprocesses if subprocesses else {}
    enter_trees = not skip_subprocesses
    stack = [first]
    pop, push = stack.pop, stack.extend
    while stack:
        task = pop()
        task_state = task._state
        subprocess = trees.get(task.id) if trees else None
        if subprocess is None:
            if task._children and task_state >= min_state:
                tasks = task.workflow.tasks
                push([tasks.get(child) for child in reversed(task._children)])
        else:
            tasks = task.workflow.tasks
            push([tasks.get(child) for child in reversed(task._children)])
            if enter_trees and not (task_state >= _FINISHED and state <= _FINISHED):
                stack.append(subprocess.task_tree)
        if task_state & state and (manual is None or task.task_spec.manual == manual) \
                and (spec_name is None or task.task_spec.name == spec_name) \
                and (spec_class is None or isinstance(task.task_spec, spec_class)) \
                and (lane is None or task.task_spec.lane == lane):
            yield task


# -- installed on SpiffWorkflow by engine.spiff.patches ------------------------------------------------------------

def _get_tasks_iterator(self, first_task=None, **kwargs):
    if kwargs.keys() <= _FAST_QUERY:
        return walk(first_task or self.task_tree, **kwargs)
    return BpmnTaskIterator(first_task or self.task_tree, **kwargs)


def _update_waiting_tasks(self) -> None:
    for task in walk(self.task_tree, state=TaskState.WAITING, subprocesses=False):
        task.task_spec._update(task)


def _is_completed(self) -> bool:
    if not self.completed:
        if next(walk(self.task_tree, state=TaskState.NOT_FINISHED_MASK, subprocesses=False), None) is None:
            self.completed = True
    return self.completed


_task_log = spiff_task.logger
_data_log = logging.getLogger("spiff.data")  # data object specs log with the task's extras too
_workflow_log = spiff_workflow.logger
_task_log_extras = Task.collect_log_extras
_workflow_log_extras = Workflow.collect_log_extras


def _task_extras(self, dct=None) -> dict:
    if not (_task_log.isEnabledFor(logging.INFO) or _data_log.isEnabledFor(logging.INFO)):
        return dict(dct or {})
    return _task_log_extras(self, dct)


def _workflow_extras(self, dct=None) -> dict:
    if not _workflow_log.isEnabledFor(logging.INFO):
        return dict(dct or {})
    return _workflow_log_extras(self, dct)


# SpiffWorkflow's own functions at these points, taken when this module is imported (``patches.install``
# replaces them later, at start-up): ``stock`` puts them back for a block.
_POINTS = [(BpmnBaseWorkflow, "get_tasks_iterator"), (Workflow, "update_waiting_tasks"), (Workflow, "is_completed"),
           (Task, "collect_log_extras"), (Workflow, "collect_log_extras"), (TaskState, "get_name")]
_STOCK = [(owner, name, owner.__dict__[name]) for owner, name in _POINTS]


@contextmanager
def stock():
    """SpiffWorkflow as released at the speedups' points, for as long as the block runs (the
    benchmark's reference); what was installed before is back afterwards."""
    current = [(owner, name, owner.__dict__[name]) for owner, name in _POINTS]
    for owner, name, function in _STOCK:
        setattr(owner, name, function)
    try:
        yield
    finally:
        for owner, name, function in current:
            setattr(owner, name, function)
