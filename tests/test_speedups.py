"""engine/spiff/speedups.py: SpiffWorkflow's tree walks and log records, cheaper and with the same results.
(Every test of the suite also compares ``walk`` with SpiffWorkflow's iterators: see conftest.py.)"""
from __future__ import annotations

import logging

from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow

from conftest import DATA
from engine import bpmn, spiff
from engine.spiff import speedups


def loop_workflow(limit: int) -> BpmnWorkflow:
    """bench-style loop (user task, counting script, gateway) in memory, never pruned."""
    (model,) = bpmn.read_document("loop.bpmn", (DATA / "loop.bpmn").read_bytes(), {}, {"warehouse", "supervisor"})
    specs = spiff.load_spec(f"test-speedups:{model.content_hash({})}", model.spec_json)
    wf = spiff.new_workflow(specs, {"rounds": 0, "limit": limit})
    wf.do_engine_steps()
    return wf


def run_rounds(wf: BpmnWorkflow, rounds: int) -> None:
    for _ in range(rounds):
        (task,) = wf.get_tasks(state=TaskState.READY, manual=True)
        task.run()
        wf.do_engine_steps()


def test_the_walk_goes_past_depth_1000_where_spiffworkflows_iterator_stops():
    wf = loop_workflow(limit=400)
    run_rounds(wf, 300)  # three tasks a round: the ready task is about 900 deep... then deeper
    run_rounds(wf, 50)
    ready = wf.get_tasks(state=TaskState.READY, manual=True)
    assert [t.task_spec.bpmn_id for t in ready] == ["Task_work"]
    assert ready[0].depth > 1000
    stock = list(BpmnTaskIterator(wf.task_tree, state=TaskState.READY, manual=True))
    assert stock == []  # SpiffWorkflow's own iterator stops at depth 1000: it no longer sees it
    assert not wf.is_completed() and wf.data.get("rounds") is None


def test_log_records_are_built_only_when_they_are_emitted(caplog, monkeypatch):
    built = []
    for name in ("_task_log_extras", "_workflow_log_extras"):
        original = getattr(speedups, name)
        monkeypatch.setattr(speedups, name, lambda self, dct=None, _o=original: built.append(self) or _o(self, dct))
    wf = loop_workflow(limit=2)
    with caplog.at_level(logging.WARNING, logger="spiff"):
        run_rounds(wf, 1)
    assert [r for r in caplog.records if r.name.startswith("spiff")] == []
    assert built == []  # no extras built for records nobody emits

    with caplog.at_level(logging.INFO, logger="spiff"):
        run_rounds(wf, 1)
    changes = [r for r in caplog.records if r.name == "spiff.task" and r.getMessage().startswith("State changed")]
    assert changes, "state changes are still logged when INFO is on"
    assert {"task_spec", "task_id", "state", "elapsed", "workflow_spec"} <= set(vars(changes[0]))
    assert any(r.task_spec == "Task_work" and r.state == "COMPLETED" for r in changes)
    assert built, "the extras are SpiffWorkflow's own, built when the record is emitted"
    completed = [r for r in caplog.records if r.name == "spiff.workflow" and r.getMessage() == "Workflow completed"]
    assert completed and completed[0].workflow_spec == "bench_loop"
    assert wf.is_completed()


def test_data_object_logs_keep_the_task_extras_when_only_they_are_on(caplog):
    wf = loop_workflow(limit=1)
    task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
    with caplog.at_level(logging.WARNING, logger="spiff.task"), caplog.at_level(logging.INFO, logger="spiff.data"):
        extras = task.collect_log_extras({"bpmn_id": "DataObject_x"})
    assert extras["task_spec"] == "Task_work" and extras["bpmn_id"] == "DataObject_x"


def test_stock_restores_spiffworkflow_as_released_for_the_block_only():
    installed = (BpmnBaseWorkflow.get_tasks_iterator, Workflow.update_waiting_tasks, Workflow.is_completed,
                 Task._set_state, Task.collect_log_extras, Workflow.collect_log_extras)
    assert BpmnBaseWorkflow.get_tasks_iterator is speedups._get_tasks_iterator
    with speedups.stock():
        assert BpmnBaseWorkflow.get_tasks_iterator.__module__ == "SpiffWorkflow.bpmn.util.subworkflow"
        assert Task._set_state.__module__ == "SpiffWorkflow.task"
        wf = loop_workflow(limit=1)
        run_rounds(wf, 1)
        assert wf.is_completed()
    assert (BpmnBaseWorkflow.get_tasks_iterator, Workflow.update_waiting_tasks, Workflow.is_completed,
            Task._set_state, Task.collect_log_extras, Workflow.collect_log_extras) == installed


def test_queries_the_walk_does_not_cover_go_to_spiffworkflows_iterator():
    wf = loop_workflow(limit=3)
    run_rounds(wf, 1)
    assert isinstance(wf.get_tasks_iterator(end_at_spec="Script_count"), BpmnTaskIterator)
    assert [t.task_spec.name for t in wf.get_tasks(end_at_spec="Gateway_more", state=TaskState.COMPLETED)] == [
        t.task_spec.name for t in BpmnTaskIterator(wf.task_tree, end_at_spec="Gateway_more",
                                                   state=TaskState.COMPLETED)]
    assert not isinstance(wf.get_tasks_iterator(state=TaskState.READY), BpmnTaskIterator)
