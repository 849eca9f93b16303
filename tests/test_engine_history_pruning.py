"""SpiffWorkflow's tree keeps every task it ran; the engine prunes it so a long loop
neither slows down, grows its stored state, nor "completes" silently past depth 1000."""
from __future__ import annotations

from sqlalchemy import select, text

from engine import runtime, users
from engine.runtime import workflows
from engine.models import HumanTask, Instance

from conftest import DATA

ROUNDS = 320  # an unpruned 3-task loop stops silently after ~333 rounds, a 4-task one after ~250


def state_size(session, instance_id):
    return len(session.execute(text("SELECT state FROM instances WHERE id = :i"), {"i": instance_id}).scalar_one())


def test_long_loop_ends_correctly_with_bounded_state(db_session, deploy, make_user):
    deploy(DATA / "loop.bpmn")
    make_user("wang", "warehouse")
    wang = users.get_user(db_session, "wang")
    instance_id = runtime.start_instance(db_session, "bench_loop", {"rounds": 0, "limit": ROUNDS}, wang).id
    sizes = {}
    for round_no in range(1, ROUNDS + 1):
        task_id = db_session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                               HumanTask.status == "open"))
        assert task_id is not None, f"no open task at round {round_no}"
        runtime.complete_task(db_session, task_id, {}, wang)
        if round_no in (10, ROUNDS - 1):
            sizes[round_no] = state_size(db_session, instance_id)
    db_session.expire_all()
    instance = db_session.get(Instance, instance_id)
    assert instance.status == "completed"
    assert instance.data["rounds"] == ROUNDS
    assert sizes[ROUNDS - 1] <= sizes[10] * 1.2, sizes
    opened = db_session.scalar(select(text("count(*)")).select_from(HumanTask.__table__)
                               .where(HumanTask.instance_id == instance_id))
    assert opened == ROUNDS


def test_loop_survives_reloading_from_the_database(db_session, deploy, make_user):
    """Without the in-process cache every step deserializes the pruned state."""
    deploy(DATA / "loop.bpmn")
    make_user("wang", "warehouse")
    wang = users.get_user(db_session, "wang")
    instance_id = runtime.start_instance(db_session, "bench_loop", {"rounds": 0, "limit": 40}, wang).id
    for _ in range(40):
        runtime.forget()
        task_id = db_session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                               HumanTask.status == "open"))
        runtime.complete_task(db_session, task_id, {}, wang)
    db_session.expire_all()
    assert db_session.get(Instance, instance_id).status == "completed"


def test_the_workflow_cache_keeps_only_the_latest_running_instances(db_session, deploy, make_user, monkeypatch):
    """Memory stays bounded: at most CACHE_SIZE running instances are kept, ended ones never;
    an instance that fell out of the cache carries on from the database."""
    monkeypatch.setattr(workflows, "CACHE_SIZE", 2)
    deploy(DATA / "loop.bpmn")
    make_user("wang", "warehouse")
    wang = users.get_user(db_session, "wang")
    ids = [runtime.start_instance(db_session, "bench_loop", {"rounds": 0, "limit": 2}, wang).id for _ in range(3)]
    assert sorted(key[1] for key in workflows._cache) == ids[1:]  # the oldest went first

    def finish(instance_id):
        for _ in range(2):
            task_id = db_session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                                   HumanTask.status == "open"))
            runtime.complete_task(db_session, task_id, {}, wang)

    finish(ids[0])  # read back from the database; kept again while running, which pushes ids[1] out
    assert len(workflows._cache) <= 2 and ids[0] not in {key[1] for key in workflows._cache}  # ended: not kept
    finish(ids[2])
    assert workflows._cache == {}
    finish(ids[1])
    db_session.expire_all()
    assert [(db_session.get(Instance, i).status, db_session.get(Instance, i).data["rounds"]) for i in ids] == [
        ("completed", 2)] * 3
