"""engine/spiff/patches.py: every change to SpiffWorkflow's code is checked against the source it was
written for, installed at start-up only (not at import), once."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.workflow import Workflow

from conftest import ROOT
from engine import clock, spiff
from engine.errors import EngineError
from engine.spiff import branches, patches, speedups, waits


def test_the_recorded_hashes_are_those_of_the_installed_spiffworkflow():
    recorded = patches.RECORDED[patches.spiff_version()]
    assert set(recorded) == {p.key for p in patches.PATCHES}
    assert {p.key: patches.source_hash(p) for p in patches.PATCHES} == recorded
    assert patches.spiff_version() == "3.2.0"


def test_a_changed_original_is_refused_naming_the_function_and_the_version(monkeypatch):
    recorded = dict(patches.RECORDED["3.2.0"], **{"UnstructuredJoin._run_hook": "0" * 64})
    monkeypatch.setitem(patches.RECORDED, "3.2.0", recorded)
    with pytest.raises(spiff.SpiffWorkflowChanged) as refused:
        spiff.install(lambda *args: "{}")
    message = str(refused.value)
    assert isinstance(refused.value, EngineError)
    assert "UnstructuredJoin._run_hook" in message and "3.2.0" in message
    assert "record the new hash" in message and "review" in message


def test_a_changed_function_is_refused_and_nothing_is_installed(monkeypatch):
    """As on a process where SpiffWorkflow's ``Workflow.is_completed`` is other code than 3.2.0's."""
    spiff_own = {patch.key: patches.original(patch) for patch in patches.PATCHES}
    for name, empty in (("_originals", {}), ("_replacements", {}), ("_verified", set())):
        monkeypatch.setattr(patches, name, empty)  # a process that has installed nothing yet
    for patch in patches.PATCHES:
        monkeypatch.setattr(patch.owner, patch.name, spiff_own[patch.key])

    def is_completed(self) -> bool:
        return not self.completed

    monkeypatch.setattr(Workflow, "is_completed", is_completed)
    before = {p.key: p.current() for p in patches.PATCHES}
    with pytest.raises(patches.SpiffWorkflowChanged, match="Workflow.is_completed"):
        patches.install()
    assert {p.key: p.current() for p in patches.PATCHES} == before


def test_an_unknown_spiffworkflow_version_is_refused(monkeypatch):
    monkeypatch.setattr(patches, "spiff_version", lambda: "9.9.9")
    with pytest.raises(patches.SpiffWorkflowChanged) as refused:
        patches.install()
    assert "SpiffWorkflow 9.9.9" in str(refused.value) and "3.2.0" in str(refused.value)


def test_install_is_idempotent():
    patches.install()
    before = {p.key: p.current() for p in patches.PATCHES}
    patches.install()
    spiff.install(lambda *args: "{}")
    assert {p.key: p.current() for p in patches.PATCHES} == before
    assert patches.installed()
    for patch in patches.PATCHES:  # the original kept is SpiffWorkflow's, never a replacement
        assert patches.original(patch) is not patch.current()


def test_after_install_the_patched_behaviour_is_active():
    assert BpmnBaseWorkflow.get_tasks_iterator is speedups._get_tasks_iterator
    assert Workflow.update_waiting_tasks is speedups._update_waiting_tasks
    assert Workflow.is_completed is speedups._is_completed
    assert Task.collect_log_extras is speedups._task_extras
    assert UnstructuredJoin._run_hook is branches.join_branches
    assert spiff_timer.datetime is clock.EngineDatetime
    with pytest.raises(ValueError, match="beyond the calendar"):
        waits.iso_duration_from("P99999999999Y", clock.EngineDatetime(2026, 1, 1))


def test_stock_puts_spiffworkflow_back_for_the_block_only():
    installed = {p.key: p.current() for p in patches.PATCHES}
    with speedups.stock():
        assert BpmnBaseWorkflow.__dict__["get_tasks_iterator"] is patches.original(patches.PATCHES[0])
    assert {p.key: p.current() for p in patches.PATCHES} == installed


CHILD = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from SpiffWorkflow.bpmn.specs.event_definitions import timer
    from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
    from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow
    from SpiffWorkflow.task import Task
    from SpiffWorkflow.util.task import TaskState
    from SpiffWorkflow.workflow import Workflow
    points = [BpmnBaseWorkflow.get_tasks_iterator, Workflow.update_waiting_tasks, Workflow.is_completed,
              Task._set_state, Task.collect_log_extras, Workflow.collect_log_extras, TaskState.get_name,
              UnstructuredJoin._run_hook, timer.datetime, timer.TimerEventDefinition.get_timedelta_from_start,
              timer.TimerEventDefinition.get_timedelta_from_end, timer.TimeDateEventDefinition.has_fired,
              timer.DurationTimerEventDefinition.has_fired, timer.CycleTimerEventDefinition.cycle_complete]
    import engine.runtime, engine.spiff, webui
    after = [BpmnBaseWorkflow.get_tasks_iterator, Workflow.update_waiting_tasks, Workflow.is_completed,
             Task._set_state, Task.collect_log_extras, Workflow.collect_log_extras, TaskState.get_name,
             UnstructuredJoin._run_hook, timer.datetime, timer.TimerEventDefinition.get_timedelta_from_start,
             timer.TimerEventDefinition.get_timedelta_from_end, timer.TimeDateEventDefinition.has_fired,
             timer.DurationTimerEventDefinition.has_fired, timer.CycleTimerEventDefinition.cycle_complete]
    assert after == points, "importing the engine patched SpiffWorkflow"
    assert all(f.__module__.startswith("SpiffWorkflow") or f.__module__ == "datetime" for f in after)
    engine.runtime.start_engine()
    assert BpmnBaseWorkflow.get_tasks_iterator != points[0] and timer.datetime is not points[8]
    print("UNTOUCHED")
""")


def test_importing_the_engine_does_not_patch_spiffworkflow():
    done = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT))], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "UNTOUCHED" in done.stdout
