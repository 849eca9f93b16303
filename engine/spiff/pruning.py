"""Pruning in the SpiffWorkflow adapter: finished history cut from the task trees after every command.

SpiffWorkflow keeps every task ever run, so both the step cost and the state size grow with
history, and its iterators silently stop at depth 1000 (a loop of ~250 rounds "completes"
with work left). ``prune`` cuts every finished task above the lowest common ancestor of the
unfinished ones, so the tree holds only the live region of the instance.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from engine.spiff import branches
from engine.spiff.tasks import DONE


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
