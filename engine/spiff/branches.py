"""Parallel branches: where they split, and what their data is once they meet again.

SpiffWorkflow gives every branch its own copy of the process data and, at a join,
copies each branch's whole data over the others, so the last branch to arrive
overwrote what the others had changed with its stale copies. Here a join's data
is the data at the split plus each branch's own changes, in the order the branches
arrived (as in Camunda, where branches share one set of variables: of two
branches changing the same value, the later change wins). ``join_branches`` is
installed on SpiffWorkflow's ``UnstructuredJoin`` (parallel and inclusive gateways)
by ``engine.spiff.patches`` at engine start-up; the process end join keeps
SpiffWorkflow's merge.
"""
from __future__ import annotations

import copy
from typing import Optional

from SpiffWorkflow.bpmn.specs.control import _EndJoin
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.util.task import TaskState


def common_ancestor(tasks: list):
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


def merge(tasks: list) -> Optional[dict]:
    """The data of parallel branches together: the data where they split, plus each branch's own
    changes (in the order given, so of two branches changing one value the later wins). None when
    the tasks share no ancestor."""
    split = common_ancestor(tasks)
    if split is None:
        return None
    base = split.data
    merged = dict(base)
    for task in tasks:
        data = task.data
        for key, value in data.items():
            if key not in base or base[key] != value:
                merged[key] = value
        for key in base:
            if key not in data:
                merged.pop(key, None)
    return merged


def join_branches(spec, my_task) -> bool:
    """``_run_hook`` of SpiffWorkflow's parallel and inclusive joins, merging the branches' changes
    (SpiffWorkflow copies each branch's whole data in turn, so the last branch to arrive overwrote
    what the others changed with its own stale copies). The process end join keeps Spiff's merge."""
    if isinstance(spec, _EndJoin):
        return _spiff_join_run_hook(spec, my_task)
    others = sorted((t for t in my_task.workflow.tasks.values()
                     if t.task_spec == spec and t.has_state(TaskState.FINISHED_MASK)
                     and not my_task.is_descendant_of(t)), key=lambda t: t.last_state_change)
    ends = [t.parent for t in others if t.parent is not None] + [my_task.parent]
    merged = merge(ends)
    if merged is None:
        return _spiff_join_run_hook(spec, my_task)
    for task in others:
        if task.has_state(TaskState.COMPLETED):  # as Spiff does: a reset branch's old descendants go
            task._drop_children(force=True)
    my_task.data = copy.deepcopy(merged)
    return True


_spiff_join_run_hook = UnstructuredJoin.__dict__["_run_hook"]  # SpiffWorkflow's (nothing is installed at import)
