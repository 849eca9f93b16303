"""engine/spiff/state.py: the stored state records SpiffWorkflow's serializer version; a state written
before it did loads as it is, an older one goes through SpiffWorkflow's migration path, a newer one is
refused.

``data/spiff_state_unversioned_refund.json`` is a real dump by the engine as it was before the version
was recorded (SpiffWorkflow 3.2.0): processes/refund.bpmn started, the supervisor's first answer given,
pruned; the after-sales negotiation is ready.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.serializer.migration import version_migration

from conftest import DATA, ROOT
from engine import spiff
from engine.spiff import state as spiff_state

UNVERSIONED = DATA / "spiff_state_unversioned_refund.json"
START = {"order_no": "B-1", "buyer": "buyer", "amount": "100.00", "shipping_fee": "10.00",
         "free_shipping": False, "goods_received": False, "quality_issue": False,
         "days_since_signed": 2, "reason": "not arrived"}
ANSWERS = {  # the rest of the benchmark's refund path: the buyer escalates, the supervisor approves, finance pays
    "Task_aftersales_negotiate": [{"buyer_accepts": False, "negotiation_note": "escalates"}],
    "Task_supervisor_approve_refund_only": [{"approved": True, "approval_comment": "ok"}],
    "Task_finance_refund": [{"payment_ref": "PAY-1"}],
}


def refund_specs() -> tuple:
    path = ROOT / "processes" / "refund.bpmn"
    specs = spiff.parse_specs(path.name, etree.fromstring(path.read_bytes()), ["refund"])
    return spiff.load_spec(f"test-spiff-state:{hash(specs['refund'])}", specs["refund"])


def run_to_the_end(wf) -> list[str]:
    answers = {element: list(given) for element, given in ANSWERS.items()}
    done = []
    while not spiff.is_completed(wf):
        (task,) = spiff.ready_user_tasks(wf)
        spiff.complete(wf, task.engine_task_id, answers[task.element_id].pop(0))
        spiff.run(wf)
        spiff.prune(wf)
        done.append(task.element_id)
    return done


def test_a_state_written_before_the_version_was_recorded_loads_and_runs_on():
    text = UNVERSIONED.read_text()
    assert spiff_state.VERSION_KEY not in json.loads(text)
    wf = spiff.load_state(refund_specs(), text)
    assert [t.element_id for t in spiff.ready_user_tasks(wf)] == ["Task_aftersales_negotiate"]
    assert spiff.process_data(wf)["approved"] is False
    assert run_to_the_end(wf) == ["Task_aftersales_negotiate", "Task_supervisor_approve_refund_only",
                                  "Task_finance_refund"]
    assert spiff.process_data(wf)["payment_ref"] == "PAY-1"
    assert json.loads(spiff.dump_state(wf))[spiff_state.VERSION_KEY] == spiff.SERIALIZER.VERSION


def test_every_new_dump_records_the_serializer_version():
    wf = spiff.new_workflow(refund_specs(), dict(START))
    spiff.run(wf)
    state = json.loads(spiff.dump_state(wf))
    assert state[spiff_state.VERSION_KEY] == spiff.SERIALIZER.VERSION == "1.5"
    assert spiff_state.VERSION_KEY == "serializer_version"  # SpiffWorkflow's own key
    again = spiff.load_state(refund_specs(), spiff.dump_state(wf))
    assert spiff.dump_state(again) == spiff.dump_state(wf)


def test_an_older_state_goes_through_spiffworkflows_migration(monkeypatch):
    migrated = []
    real = version_migration.MIGRATIONS["1.4"]

    def recording(dct):
        migrated.append(dct)
        real(dct)  # SpiffWorkflow's own 1.4 -> 1.5 step, given the specs beside the spec-less state

    monkeypatch.setitem(version_migration.MIGRATIONS, "1.4", recording)
    older = dict(json.loads(UNVERSIONED.read_text()), **{spiff_state.VERSION_KEY: "1.4"})
    wf = spiff.load_state(refund_specs(), json.dumps(older))
    (whole,) = migrated
    assert whole["spec"]["name"] == "refund" and whole["tasks"].keys() == older["tasks"].keys()
    assert spiff_state.VERSION_KEY not in whole  # taken by BpmnWorkflowSerializer.migrate
    assert [t.element_id for t in spiff.ready_user_tasks(wf)] == ["Task_aftersales_negotiate"]
    assert run_to_the_end(wf)[-1] == "Task_finance_refund"


def test_what_the_migration_changes_is_what_loads(monkeypatch):
    def renaming(dct):  # as a migration rewriting the tasks would
        for task in dct["tasks"].values():
            if "reason" in task["data"]:
                task["data"]["reason"] = "migrated"

    monkeypatch.setitem(version_migration.MIGRATIONS, "1.2", renaming)
    older = dict(json.loads(UNVERSIONED.read_text()), **{spiff_state.VERSION_KEY: "1.2"})
    wf = spiff.load_state(refund_specs(), json.dumps(older))
    assert spiff.process_data(wf)["reason"] == "migrated"


@pytest.mark.parametrize("version", ["1.6", "2.0", "0.9"])
def test_a_version_spiffworkflow_cannot_read_is_refused(version):
    newer = dict(json.loads(UNVERSIONED.read_text()), **{spiff_state.VERSION_KEY: version})
    with pytest.raises(spiff.StateVersionError) as refused:
        spiff.load_state(refund_specs(), json.dumps(newer))
    assert f"serializer version {version}" in str(refused.value) and "reads 1.5" in str(refused.value)


def test_the_fixture_is_a_real_dump_of_a_running_refund():
    state = json.loads(Path(UNVERSIONED).read_text())
    assert {"data", "tasks", "root", "subprocesses", "bpmn_events", "last_task"} <= state.keys()
    assert not state["completed"]
