"""Messages thrown in answer to messages: delivered depth first, as the engine always did (an instance
that takes a message has its own thrown messages delivered before the next instance takes it), and a
chain that never comes to rest fails as a whole after ``deliveries.MAX_CHAIN`` links."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from conftest import DATA
from engine.models import HistoryEvent, Instance, Message
from engine.runtime import deliveries


@pytest.fixture
def database(app):
    return app.extensions["liucheng_db"]


@pytest.fixture
def people(make_user):
    make_user("shop", "integrator")
    make_user("root", "admin")


def send(api, name, correlation):
    return api("post", "/messages", "shop", json={"name": name, "correlation": correlation, "data": {}})


def test_each_instance_taking_a_message_sends_what_it_throws_before_the_next_takes_it(api, deploy, people,
                                                                                      database):
    deploy(DATA / "messages_relay.bpmn")
    first, second = (api("post", "/instances", json={"process_id": "messages_relay", "data": {"order_no": n}}).json["id"]
                     for n in ("R-1", "R-2"))

    reply = send(api, "go", {})
    assert reply.status_code == 200, reply.json
    assert sorted(reply.json["instance_ids"]) == [first, second]

    with database.session() as session:
        events = session.execute(select(HistoryEvent.instance_id, HistoryEvent.type)
                                 .where(HistoryEvent.type.in_(["message_correlated", "message_sent"]))
                                 .order_by(HistoryEvent.id)).all()
    taker, other = reply.json["instance_ids"]
    assert [tuple(e) for e in events] == [(taker, "message_correlated"), (taker, "message_sent"),
                                          (other, "message_correlated"), (other, "message_sent")]


def test_a_chain_of_thrown_messages_that_never_rests_fails_as_a_whole(api, deploy, people, database):
    deploy(DATA / "messages_echo.bpmn")

    reply = send(api, "echo", {"order_no": "E-1"})

    assert reply.status_code == 422, reply.json
    assert f"went {deliveries.MAX_CHAIN} deep" in reply.json["message"]
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Instance)) == 0
        assert session.scalar(select(func.count()).select_from(Message)) == 0
        assert session.scalar(select(func.count()).select_from(HistoryEvent)
                              .where(HistoryEvent.instance_id.is_not(None))) == 0  # (operations: deploys, users)
