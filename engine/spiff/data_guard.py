"""The guard between what scripts and other steps leave in task data and what is stored.

The rule (``engine.values``) is kept in two places of the SpiffWorkflow adapter:

* ``checked_script_engine``: the sandbox's script engine, with each script's result
  checked. A script that leaves a value the engine cannot store fails, like any
  script error (its task goes to ERROR; ``runtime.advance`` records the incident on
  that element), with its task's data as it was before it ran. Scripts run in a
  sandbox worker process may already be refused there; the outcome is the same.
* ``contain``: for a value that reached the data by a path nothing checked (a
  message, a future step type), find where it appeared first and replace it with
  None, so the command can still commit with an incident naming it.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Optional

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException

from engine import values
from engine.errors import ScriptError
from engine.spiff.scripts import make_script_engine


def checked_script_engine(timeout: float) -> Any:
    """The sandbox's script engine, with what each script leaves in its task's data checked."""
    engine = make_script_engine(timeout)
    engine.execute = functools.partial(_execute_checked, engine.execute)
    return engine


def _execute_checked(execute, task, script, external_context=None):
    """Run a script; if it leaves a value the engine cannot store, it fails (so does its task) with
    the task's data as before it ran, and the error names the element and the variable. (Data that
    could not be stored before the script ran is not its doing: ``contain`` finds it.)"""
    before = dict(task.data)
    if values.find_problem(before) is not None:
        return execute(task, script, external_context)
    try:
        result = execute(task, script, external_context)
    except Exception:
        if values.find_problem(task.data) is not None:
            _restore_data(task.data, before)
        raise
    problem = values.find_problem(task.data)
    if problem is not None:
        _restore_data(task.data, before)
        error = unstorable_script_error(task, problem)
        raise WorkflowTaskException(error.message, task=task, exception=error) from error
    return result


def _restore_data(data: dict, before: dict) -> None:
    data.clear()
    data.update(before)
    values.scrub(data)  # a script that changed a value inside one it was given changed it in place


def unstorable_script_error(task, problem: values.Problem) -> ScriptError:
    return ScriptError(
        f"The script of {describe_element(task)} left variable '{problem.variable}' with a value that cannot be "
        f"stored: {problem.describe()}. Change the script, then retry the incident.",
        {"element_id": _element_of(task), "variable": problem.variable, "path": problem.path,
         "error": f"{problem.path} {problem.what}"})


def describe_element(task) -> str:
    """``'Script_total' (计算合计)``: the element's id, with its name when it has one."""
    element, name = _element_of(task), task.task_spec.bpmn_name
    return f"'{element}'" + (f" ({name})" if name and name != element else "")


@dataclass
class Unstorable:
    """Where data the engine cannot store was found: the earliest task holding it (None: the
    workflow's own data objects) and the first problem."""

    element_id: Optional[str]
    engine_task_id: Optional[str]
    problem: values.Problem
    where: str


def contain(workflow) -> Optional[Unstorable]:
    """Find data that cannot be stored anywhere in the instance (every task of every tree, the
    workflow's data), replace it with None, and say where it appeared first; None when all is fine.

    Data is inherited from task to task, so the task that changed state earliest among those
    holding the value is the one that produced it (or received it). A tree's root comes last: after
    pruning it holds a copy of the data of the tasks cut away."""
    holders = sorted(_holders(workflow), key=lambda holder: holder[0])
    if not holders:
        return None
    _, task, data = holders[0]
    found = Unstorable(_element_of(task) if task is not None else None, str(task.id) if task is not None else None,
                       values.find_problem(data),
                       describe_element(task) if task is not None else "the process's data objects")
    for *_, data in holders:
        values.scrub(data)
    return found


def _holders(workflow):
    """((rank, when), task or None, data) of every data dict in the instance that breaks the rule."""
    for tree in [workflow, *workflow.subprocesses.values()]:
        for task in tree.tasks.values():
            if values.find_problem(task.data) is not None:
                yield (1 if task is tree.task_tree else 0, task.last_state_change or 0), task, task.data
        if values.find_problem(tree.data) is not None:
            yield (2, 0), None, tree.data


def _element_of(task) -> str:
    return task.task_spec.bpmn_id or task.task_spec.name
