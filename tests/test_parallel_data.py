"""Data at a parallel join: every branch's changes survive, whatever order the branches end in
(SpiffWorkflow alone lets the last branch's copy of unchanged values overwrite the others)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import runtime, users
from engine.models import HumanTask, Instance

from conftest import DATA

START = {"a": 0, "b": 0, "c": 0, "shared": "start", "keep": "x"}


@pytest.fixture
def run(db_session, deploy, make_user):
    deploy(DATA / "parallel_data.bpmn", DATA / "forms")
    make_user("wang", "warehouse")
    wang = users.get_user(db_session, "wang")

    def start():
        return runtime.start_instance(db_session, "parallel_data", dict(START), wang).id

    def complete(instance_id, element_id, data):
        task_id = db_session.scalar(select(HumanTask.id).where(
            HumanTask.instance_id == instance_id, HumanTask.element_id == element_id, HumanTask.status == "open"))
        runtime.complete_task(db_session, task_id, data, wang)

    def data(instance_id):
        db_session.expire_all()
        return db_session.get(Instance, instance_id).data

    return start, complete, data


@pytest.mark.parametrize("order", [("Task_a", "Task_b"), ("Task_b", "Task_a")])
def test_each_branch_keeps_what_it_changed(run, order):
    start, complete, data = run
    instance_id = start()
    answers = {"Task_a": {"a": 1}, "Task_b": {"b": 2}}
    for element_id in order:
        complete(instance_id, element_id, answers[element_id])
    assert {k: data(instance_id)[k] for k in START} == {"a": 1, "b": 2, "c": 1, "shared": "start", "keep": "x"}
    complete(instance_id, "Task_done", {})
    assert data(instance_id)["a"] == 1 and data(instance_id)["b"] == 2 and data(instance_id)["c"] == 1


def test_a_value_two_branches_change_is_the_last_ones(run):
    start, complete, data = run
    instance_id = start()
    complete(instance_id, "Task_b", {"b": 2, "shared": "from b"})
    complete(instance_id, "Task_a", {"a": 1, "shared": "from a"})
    assert {k: data(instance_id)[k] for k in ("a", "b", "shared")} == {"a": 1, "b": 2, "shared": "from a"}


def test_branch_changes_survive_a_reload_between_the_branches(run):
    start, complete, data = run
    instance_id = start()
    complete(instance_id, "Task_a", {"a": 1})
    runtime.forget()  # the next command reads the pruned state from the database
    complete(instance_id, "Task_b", {"b": 2})
    assert {k: data(instance_id)[k] for k in ("a", "b", "c")} == {"a": 1, "b": 2, "c": 1}


def test_the_instance_data_shows_a_finished_branch_while_another_still_runs(run):
    start, complete, data = run
    instance_id = start()
    complete(instance_id, "Task_a", {"a": 1})  # Task_b still open with its copy of a = 0
    assert {k: data(instance_id)[k] for k in ("a", "b", "c")} == {"a": 1, "b": 0, "c": 1}
