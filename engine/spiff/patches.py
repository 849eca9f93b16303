"""Every change Liucheng makes to SpiffWorkflow's own code: the list, the check, the installation.

Nothing is patched when the engine is imported: ``install`` (called by ``engine.spiff.install`` from
``engine.runtime.start_engine`` at start-up) puts the replacements in place, once; calling it again
changes nothing. Before it does, it compares a SHA-256 of the source of each function it replaces
with the hash recorded here for the installed SpiffWorkflow version (``RECORDED``); an unknown
version or a changed function refuses to start with ``SpiffWorkflowChanged``, naming the function:
a replacement written for other code would silently do the wrong thing. ``tests/test_spiff_patches.py``
pins the hashes.

Why each patch exists (SpiffWorkflow 3.2 has no extension point for any of them: ``Task`` and
``BpmnSubWorkflow`` are created by SpiffWorkflow itself, so a ``BpmnWorkflow`` subclass would not reach
subprocesses or tasks; the timer specs read the module's ``datetime`` directly). Only wrappers and
replacements of another design remain; none copies SpiffWorkflow's code:

* ``BpmnBaseWorkflow.get_tasks_iterator``, ``Workflow.update_waiting_tasks``, ``Workflow.is_completed``
  (``speedups``): the task-tree walks, with a plain stack instead of ``TaskIterator``: the same tasks in
  the same order, cheaper, and without the iterator's silent stop at depth 1000.
* ``Task.collect_log_extras``, ``Workflow.collect_log_extras`` (``speedups``, wrappers): log extras
  built only when the record will be emitted (SpiffWorkflow builds them for every state change).
* ``TaskState.get_name`` (a cache around SpiffWorkflow's own): the name of a state remembered instead
  of a dict of all names built per call (every state change asks for it, for its log message). This
  replaces an earlier copy of ``Task._set_state``: no patch repeats SpiffWorkflow's code any more.
* ``UnstructuredJoin._run_hook`` (``branches``): parallel and inclusive joins merge each branch's
  changes instead of copying each branch's whole data over the others (the end join keeps Spiff's).
  Not a gateway subclass (``OVERRIDE_PARSER_CLASSES`` and a converter registered under Spiff's
  typename): ``InclusiveGateway._run_hook`` calls ``UnstructuredJoin._run_hook`` by its class, so a
  subclass would need a copy of that method.
* ``timer.datetime`` (the timer module's name, ``engine.clock.EngineDatetime``): timers read the
  engine's clock (a frozen test clock, a worker firing an overdue timer at the time it was due).
* ``TimerEventDefinition.get_timedelta_from_start``/``_end`` (``waits.bounded_months``, wrappers):
  a duration beyond the calendar fails at once instead of adding months one by one for hours.
* ``TimeDateEventDefinition.has_fired``, ``DurationTimerEventDefinition.has_fired``,
  ``CycleTimerEventDefinition.cycle_complete`` (``waits.naming_the_task``, wrappers): a timer text that
  cannot be scheduled fails naming its task (the incident names the element). Inside those, Camunda's
  rules (``camunda_timers``): a cycle may be a Quartz cron (``cron_cycles``: SpiffWorkflow knows only
  ISO-8601 cycles), and all three fire only inside ``waits.fire_timers`` (``by_the_worker``,
  ``cycle_by_the_worker``): a timer due when reached waits for the worker instead of firing inline.
* ``BoundaryEventJoin._check_threshold_structured`` (``camunda_timers.keeping_spawned_paths``, a
  wrapper): when the activity ends, a non-interrupting cycle timer that already started paths is stopped
  alone; its paths go on (SpiffWorkflow cancelled them with the timer: the spawned tasks were lost). The
  join is created by SpiffWorkflow's parser for every activity with boundary events: no spec class to
  override.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import inspect
from dataclasses import dataclass
from typing import Any, Callable

from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow

from engine.clock import EngineDatetime
from engine.errors import EngineError
from engine.spiff import branches, camunda_timers, speedups, waits


class SpiffWorkflowChanged(EngineError):
    """The installed SpiffWorkflow is not a version the engine's patches were written and checked for."""

    code = "spiffworkflow_changed"


@dataclass(frozen=True)
class Patch:
    owner: Any  # the class (or module) whose attribute is replaced
    name: str
    replace: Callable[[Any], Any]  # SpiffWorkflow's attribute (as in the class's __dict__) -> the replacement

    @property
    def key(self) -> str:
        if inspect.isclass(self.owner):
            return f"{self.owner.__name__}.{self.name}"
        return f"{self.owner.__name__.rsplit('.', 1)[-1]}:{self.name}"  # a module's name: "timer:datetime"

    def current(self) -> Any:
        return self.owner.__dict__[self.name]


def _fixed(function) -> Callable[[Any], Any]:
    return lambda original: function


PATCHES = [
    Patch(BpmnBaseWorkflow, "get_tasks_iterator", _fixed(speedups._get_tasks_iterator)),
    Patch(Workflow, "update_waiting_tasks", _fixed(speedups._update_waiting_tasks)),
    Patch(Workflow, "is_completed", _fixed(speedups._is_completed)),
    Patch(Task, "collect_log_extras", _fixed(speedups._task_extras)),
    Patch(Workflow, "collect_log_extras", _fixed(speedups._workflow_extras)),
    Patch(TaskState, "get_name", lambda original: classmethod(functools.lru_cache(maxsize=None)(original.__func__))),
    Patch(UnstructuredJoin, "_run_hook", _fixed(branches.join_branches)),
    Patch(spiff_timer, "datetime", _fixed(EngineDatetime)),
    Patch(spiff_timer.TimerEventDefinition, "get_timedelta_from_start",
          lambda original: waits.bounded_months(original.__func__)),
    Patch(spiff_timer.TimerEventDefinition, "get_timedelta_from_end",
          lambda original: waits.bounded_months(original.__func__)),
    Patch(spiff_timer.TimeDateEventDefinition, "has_fired",
          lambda original: waits.naming_the_task(camunda_timers.by_the_worker(original))),
    Patch(spiff_timer.DurationTimerEventDefinition, "has_fired",
          lambda original: waits.naming_the_task(camunda_timers.by_the_worker(original))),
    Patch(spiff_timer.CycleTimerEventDefinition, "cycle_complete",
          lambda original: waits.naming_the_task(
              camunda_timers.cron_cycles(camunda_timers.cycle_by_the_worker(original)))),
    Patch(BoundaryEventJoin, "_check_threshold_structured", camunda_timers.keeping_spawned_paths),
]

# SHA-256 of the source of what each patch replaces (for ``timer:datetime``: of the timer module,
# whose functions read that name), per SpiffWorkflow version the patches were checked against.
RECORDED: dict[str, dict[str, str]] = {
    "3.2.0": {
        "BpmnBaseWorkflow.get_tasks_iterator":
            "d238edf6a8b16727570dcdccb0266bf0113ca633131778c8cac0f2465d9559d1",
        "Workflow.update_waiting_tasks":
            "258ee4cb217fa70937128f226732f00f27e7763d245a31f4e107b6b1852967c9",
        "Workflow.is_completed":
            "4f7a3c15bec818e92571754dd191b75f2295d62084e8d3b27914758d046b7122",
        "Task.collect_log_extras":
            "3cec699a9a43616a10a35705da8b7fed4136a660cc116e1244f00d0795c8362c",
        "Workflow.collect_log_extras":
            "888ba42a9b91ba27132db444c29a38eb30bfb5f8bd922456893221ba62fc7649",
        "TaskState.get_name":
            "4d02505a3d22c3d586278485ce9f36001167040d695e0d2e9161cf386e6177bb",
        "UnstructuredJoin._run_hook":
            "2618569c760d44dbde7204b269c15a7b9c4df82dd738e1cf3c68ba0f70e2c43a",
        "timer:datetime":
            "e8b6d06b682a9d0fbdedfb1fc9b7f17dd2bc5f928903516215dbc02cfecef77b",
        "TimerEventDefinition.get_timedelta_from_start":
            "455b8eac225823e0b6b2f93f6375013a469424e0251cc7f7c109aca2cc06ece9",
        "TimerEventDefinition.get_timedelta_from_end":
            "7b552e26fb03581874eab6934fbd60ec59e79e0e21b9a63d9e2e04471178c30e",
        "TimeDateEventDefinition.has_fired":
            "919a32f7b56f51c0b3f0a6afb5f80b60de5d2058ecd4fb876c8b90fa00b19e04",
        "DurationTimerEventDefinition.has_fired":
            "c78bee4e63b01fbc88df51edb4304a04bbe5f85069c719e3173676a102355ae4",
        "CycleTimerEventDefinition.cycle_complete":
            "14378cef17d054897792ac627ebdf663fab780c451905c4587966c3a100aabaf",
        "BoundaryEventJoin._check_threshold_structured":
            "658e76eef8dfd8286df2c1eaee1a5afac35733732505d6950ff7717fff2a5454",
    },
}

_originals: dict[str, Any] = {}  # key -> SpiffWorkflow's attribute, taken when first installed
_replacements: dict[str, Any] = {}  # key -> what install put there
_verified: set[tuple[str, str, str]] = set()  # (version, key, hash) already compared


def spiff_version() -> str:
    return importlib.metadata.version("SpiffWorkflow")


def original(patch: Patch) -> Any:
    """SpiffWorkflow's own attribute at the patch's point (also while the patch is installed)."""
    return _originals.get(patch.key, patch.current())


def source_hash(patch: Patch) -> str:
    """SHA-256 of the source of what ``patch`` replaces: the function (also while the patch is
    installed), or for a module's name the module, whose functions read it."""
    found = patch.owner if inspect.ismodule(patch.owner) else original(patch)
    found = getattr(found, "__func__", found)  # a staticmethod's or classmethod's function
    return hashlib.sha256(inspect.getsource(found).encode()).hexdigest()


def check(version: str | None = None) -> None:
    """Refuse (``SpiffWorkflowChanged``) unless every function a patch replaces is the one it was written for."""
    version = version or spiff_version()
    recorded = RECORDED.get(version)
    if recorded is None:
        raise SpiffWorkflowChanged(
            f"SpiffWorkflow {version} is installed, but the engine's patches were checked only against "
            f"{', '.join(sorted(RECORDED))}: install SpiffWorkflow=={max(RECORDED)} (setup.cfg pins SpiffWorkflow>=3.2,<3.3), or review "
            f"engine/spiff/patches.py for {version} and record its hashes")
    for patch in PATCHES:
        expected = recorded.get(patch.key)
        if (version, patch.key, expected) in _verified:
            continue
        try:
            found = source_hash(patch)
        except (OSError, TypeError) as exc:  # installed without its .py files: nothing to compare
            raise SpiffWorkflowChanged(f"SpiffWorkflow {version}: the source of {patch.key} cannot be read "
                                       f"({exc}); install SpiffWorkflow with its source files") from exc
        if found != expected:
            raise SpiffWorkflowChanged(
                f"SpiffWorkflow {version}: {patch.key} is not the function engine/spiff/patches.py was written for "
                f"(source SHA-256 {found[:16]}…, recorded {str(expected)[:16]}…); its replacement may no longer "
                f"fit: review it against the new code, then record the new hash in patches.RECORDED['{version}'] "
                f"(or install SpiffWorkflow=={max(RECORDED)})")
        _verified.add((version, patch.key, expected))


def install() -> None:
    """Check the originals, then put every replacement in place; a second call changes nothing."""
    check()
    for patch in PATCHES:
        if patch.key in _replacements and patch.current() is _replacements[patch.key]:
            continue
        spiff_own = _originals.setdefault(patch.key, patch.current())
        replacement = _replacements.get(patch.key)
        if replacement is None:
            replacement = _replacements[patch.key] = patch.replace(spiff_own)
        setattr(patch.owner, patch.name, replacement)


def installed() -> bool:
    """True when every patch is in place."""
    return all(_replacements.get(p.key) is not None and p.current() is _replacements[p.key] for p in PATCHES)
