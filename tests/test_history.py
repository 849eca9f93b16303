"""The audit trail: append-only in the database itself, complete for an auditor."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from engine import history, runtime, users
from engine.models import HistoryEvent

from conftest import DATA


@pytest.fixture
def instance_id(db_session, deploy, make_user):
    deploy(DATA / "approval.bpmn", DATA / "forms")
    make_user("wang", "warehouse")
    wang = users.get_user(db_session, "wang")
    instance = runtime.start_instance(db_session, "approval", {"order_no": "H-1", "item": "茶叶", "amount": "12.50"},
                                      wang)
    return instance.id


@pytest.mark.parametrize("statement", [
    "UPDATE history_events SET actor = 'mallory' WHERE instance_id = :i",
    "DELETE FROM history_events WHERE instance_id = :i",
])
def test_the_database_refuses_to_change_or_delete_history(db_session, instance_id, statement):
    before = db_session.scalar(select(func.count()).select_from(HistoryEvent))
    with pytest.raises(DatabaseError, match="append-only"):
        db_session.execute(text(statement), {"i": instance_id})
        db_session.commit()
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(HistoryEvent)) == before
    assert {e.actor for e in history.events_of(db_session, instance_id)} == {"wang", "system"}


def test_each_event_names_actor_time_instance_and_element(db_session, instance_id):
    events = history.events_of(db_session, instance_id)
    assert [e.type for e in events][:3] == ["instance_started", "element_completed", "task_created"]  # issue 14
    started, created = events[0], events[2]
    assert events[1].element_id == "StartEvent_request"  # the start event's step is recorded (issue 14)
    assert started.actor == "wang" and started.data["data"]["order_no"] == "H-1"
    assert started.data["data"]["amount"] == 12.5  # money as a JSON number
    assert created.actor == "system" and created.element_id == "Task_check" and created.task_id is not None
    assert all(e.at is not None and e.instance_id == instance_id for e in events)
