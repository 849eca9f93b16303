"""Messages (issue 3): ``POST /api/v1/messages`` correlates, delivers once, starts or keeps;
send tasks and throw events of one process reach waiting instances of another."""
from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from conftest import DATA
from engine import messages, runtime, scheduler
from engine.runtime import deliveries
from engine.errors import ValidationError
from engine.models import HistoryEvent, HumanTask, Instance, Message, MessageSubscription

API = "/api/v1"
T0 = datetime(2026, 11, 2, 9, 0)
ON_POSTGRES = os.environ.get("LIUCHENG_TEST_DATABASE_URL", "").startswith("postgresql")


# -- helpers ----------------------------------------------------------------------------------------

@pytest.fixture
def database(app):
    return app.extensions["liucheng_db"]


@pytest.fixture
def people(make_user):
    """shop: integrator; chen: aftersales_cs; wang: warehouse; zhao: supervisor; root: admin; audrey: auditor."""
    for name, role in [("shop", "integrator"), ("chen", "aftersales_cs"), ("wang", "warehouse"),
                       ("zhao", "supervisor"), ("root", "admin"), ("audrey", "auditor")]:
        make_user(name, role)


@pytest.fixture
def models(deploy, people, clock):
    return deploy(DATA / "messages_wait.bpmn", DATA / "messages_late_wait.bpmn", DATA / "messages_start.bpmn",
                  DATA / "messages_sender.bpmn", DATA / "messages_receiver.bpmn", DATA / "forms")


@pytest.fixture
def start(api, models):
    def run(process_id: str, data: dict | None = None) -> int:
        response = api("post", "/instances", json={"process_id": process_id, "data": data or {}})
        assert response.status_code == 201, response.json
        return response.json["id"]
    return run


def send(api, name, correlation=None, data=None, message_id=None, user="shop", expect=None):
    body = {"name": name, "correlation": correlation or {}, "data": data or {}}
    if message_id is not None:
        body["message_id"] = message_id
    response = api("post", "/messages", user, json=body)
    if expect is not None:
        assert response.status_code == expect, response.json
    return response


def instance(api, instance_id: int) -> dict:
    response = api("get", f"/instances/{instance_id}")
    assert response.status_code == 200, response.json
    return response.json


def open_elements(api, instance_id: int) -> list[str]:
    return sorted(t["element_id"] for t in instance(api, instance_id)["open_tasks"])


def history(api, instance_id: int, *types: str) -> list[dict]:
    events = api("get", f"/instances/{instance_id}/history").json
    return [e for e in events if not types or e["type"] in types]


def complete(api, instance_id: int, element_id: str, user: str, data: dict | None = None) -> None:
    task = next(t for t in instance(api, instance_id)["open_tasks"] if t["element_id"] == element_id)
    assert api("post", f"/tasks/{task['id']}/claim", user).status_code == 200
    response = api("post", f"/tasks/{task['id']}/complete", user, json={"data": data or {}})
    assert response.status_code == 200, response.json


def stored(database, message_id: str) -> Message:
    with database.session() as session:
        return session.scalar(select(Message).where(Message.message_id == message_id))


# -- correlation and delivery ------------------------------------------------------------------------

def test_a_message_reaches_only_the_instance_whose_data_matches(api, start, database):
    a1 = start("messages_wait", {"order_no": "A1001"})
    a2 = start("messages_wait", {"order_no": "A1002"})
    reply = send(api, "order_cancelled", {"order_no": "A1001"}, {"reason": "拍错了", "refund": 88.5},
                 message_id="shop-1", expect=200)
    assert reply.json["status"] == "delivered" and reply.json["instance_ids"] == [a1]
    assert reply.json["message_id"] == "shop-1"
    assert open_elements(api, a1) == ["Task_refund"]
    assert open_elements(api, a2) == []
    data = instance(api, a1)["data"]
    assert data["order_no"] == "A1001" and data["reason"] == "拍错了" and data["refund"] == 88.5
    assert "reason" not in instance(api, a2)["data"]
    (correlated,) = history(api, a1, "message_correlated")
    assert correlated["data"]["name"] == "order_cancelled" and correlated["data"]["message_id"] == "shop-1"
    assert correlated["actor"] == "shop" and "kept_since" not in correlated["data"]
    assert history(api, a2, "message_correlated") == []
    with database.session() as session:  # a1 waits for nothing any more, a2 still does
        subscribed = session.scalars(select(MessageSubscription.instance_id)).all()
    assert subscribed == [a2]
    message = stored(database, "shop-1")
    assert (message.status, message.instance_ids, message.sender) == ("delivered", [a1], "shop")


def test_correlation_numbers_and_strings_match_and_every_waiting_instance_gets_it(api, start):
    first = start("messages_wait", {"order_no": "7", "shop": "tmall"})
    second = start("messages_wait", {"order_no": "8", "shop": "tmall"})
    reply = send(api, "order_cancelled", {"order_no": 7}, expect=200)
    assert reply.json["instance_ids"] == [first]
    reply = send(api, "order_cancelled", {"shop": "tmall"}, expect=200)  # only order 8 still waits
    assert reply.json["instance_ids"] == [second]
    assert open_elements(api, first) == ["Task_refund"] and open_elements(api, second) == ["Task_refund"]


def test_the_same_message_id_twice_is_delivered_once(api, start, database):
    a1 = start("messages_wait", {"order_no": "A1"})
    first = send(api, "order_cancelled", {"order_no": "A1"}, {"reason": "x"}, message_id="dup-1", expect=200)
    second = send(api, "order_cancelled", {"order_no": "A1"}, {"reason": "y"}, message_id="dup-1", expect=200)
    assert first.json["status"] == "delivered"
    assert second.json["status"] == "duplicate"
    assert second.json["first_status"] == "delivered" and second.json["instance_ids"] == [a1]
    assert len(history(api, a1, "message_correlated")) == 1
    assert instance(api, a1)["data"]["reason"] == "x"
    assert open_elements(api, a1) == ["Task_refund"]
    # a second instance waiting with the same order_no does not get the duplicate either
    again = start("messages_wait", {"order_no": "A1"})
    third = send(api, "order_cancelled", {"order_no": "A1"}, message_id="dup-1", expect=200)
    assert third.json["status"] == "duplicate"
    assert open_elements(api, again) == []


def test_a_duplicate_is_recorded(api, start, database):
    a1 = start("messages_wait", {"order_no": "A1"})
    send(api, "order_cancelled", {"order_no": "A1"}, message_id="dup-2", expect=200)
    send(api, "order_cancelled", {"order_no": "A1"}, message_id="dup-2", expect=200)
    types = [e["type"] for e in history(api, a1)]
    assert any("duplicate" in t for t in types), types


def test_a_message_nobody_waits_for_is_kept_and_delivered_when_an_instance_starts_waiting(api, start, clock,
                                                                                        database):
    reply = send(api, "parcel_returned", {"order_no": "R-9"}, {"parcel_weight": 1.2}, message_id="kept-1",
                 expect=202)
    assert reply.json == {"message_id": "kept-1", "status": "kept", "instance_ids": []}
    kept = stored(database, "kept-1")
    assert kept.status == "kept" and kept.expires_at == T0 + messages.KEEP_FOR

    other = start("messages_late_wait", {"order_no": "R-1"})
    iid = start("messages_late_wait", {"order_no": "R-9"})
    assert open_elements(api, iid) == ["Task_register"]  # not waiting yet: the message stays kept
    assert stored(database, "kept-1").status == "kept"

    clock.advance(hours=5)
    complete(api, iid, "Task_register", "chen")  # now the instance waits for parcel_returned
    assert open_elements(api, iid) == ["Task_inspect"]
    assert instance(api, iid)["data"]["parcel_weight"] == 1.2
    (correlated,) = history(api, iid, "message_correlated")
    assert correlated["data"]["message_id"] == "kept-1"
    assert correlated["data"]["kept_since"].startswith("2026-11-02T09:00:00")
    message = stored(database, "kept-1")
    assert (message.status, message.instance_ids) == ("delivered", [iid])

    complete(api, other, "Task_register", "chen")  # the other order's instance does not get it
    assert open_elements(api, other) == []
    assert history(api, other, "message_correlated") == []


def test_a_kept_message_expires_and_is_not_delivered_later(api, start, clock, database):
    send(api, "parcel_returned", {"order_no": "R-5"}, message_id="old-1", expect=202)
    clock.advance(days=6, hours=23)
    send(api, "parcel_returned", {"order_no": "R-6"}, message_id="young-1", expect=202)
    clock.advance(hours=1, seconds=1)
    scheduler.tick(database)  # the worker expires old kept messages
    assert stored(database, "old-1").status == "expired"
    assert stored(database, "young-1").status == "kept"
    listed = api("get", "/messages?status=expired", "audrey").json
    assert [m["message_id"] for m in listed] == ["old-1"]

    late = start("messages_late_wait", {"order_no": "R-5"})
    complete(api, late, "Task_register", "chen")
    assert open_elements(api, late) == []  # still waiting: the expired message is not delivered
    assert history(api, late, "message_correlated") == []
    young = start("messages_late_wait", {"order_no": "R-6"})
    complete(api, young, "Task_register", "chen")
    assert open_elements(api, young) == ["Task_inspect"]


def test_a_kept_message_past_its_expiry_is_not_delivered_even_before_the_worker_ran(api, start, clock, database):
    with database.session() as session:
        reply = runtime.receive_message(session, "parcel_returned", {"order_no": "R-7"}, {}, "short-1",
                                 runtime.system_actor(), keep_for=timedelta(hours=1))
    assert reply["status"] == "kept"
    clock.advance(hours=1)
    late = start("messages_late_wait", {"order_no": "R-7"})
    complete(api, late, "Task_register", "chen")
    assert open_elements(api, late) == []
    assert stored(database, "short-1").status in ("kept", "expired")
    scheduler.tick(database)
    assert stored(database, "short-1").status == "expired"


def test_a_message_start_event_starts_a_process(api, start, database):
    reply = send(api, "return_requested", {"order_no": "S-1"}, {"reason": "尺码不对"}, message_id="start-1",
                 expect=201)
    assert reply.json["status"] == "started"
    (iid,) = reply.json["instance_ids"]
    view = instance(api, iid)
    assert view["process_id"] == "messages_start" and view["status"] == "running"
    assert view["started_by"] == "shop"
    assert view["data"]["order_no"] == "S-1" and view["data"]["reason"] == "尺码不对"
    assert view["business_key"] == "S-1"
    assert [t["element_id"] for t in view["open_tasks"]] == ["Task_review_return"]
    again = send(api, "return_requested", {"order_no": "S-1"}, message_id="start-1", expect=200)
    assert again.json["status"] == "duplicate" and again.json["instance_ids"] == [iid]
    with database.session() as session:
        assert session.scalar(select(Instance.id).where(Instance.process_id == "messages_start")
                              .order_by(Instance.id.desc())) == iid


def test_send_task_and_throw_event_reach_a_waiting_instance_of_another_process(api, start, database):
    receiver = start("messages_receiver", {"order_no": "B7"})
    bystander = start("messages_receiver", {"order_no": "B8"})
    sender = start("messages_sender", {"order_no": "B7"})
    assert open_elements(api, receiver) == []
    complete(api, sender, "Task_ship", "wang", {"tracking_no": "SF123"})
    assert instance(api, sender)["status"] == "completed"
    sent = history(api, sender, "message_sent")
    assert [(e["data"]["name"], e["data"]["status"], e["data"]["instance_ids"]) for e in sent] == \
        [("goods_shipped", "delivered", [receiver]), ("invoice_issued", "delivered", [receiver])]
    assert open_elements(api, receiver) == ["Task_tell_buyer"]
    data = instance(api, receiver)["data"]
    assert data["tracking_no"] == "SF123" and data["invoice_no"] == "INV-B7"
    assert [e["data"]["name"] for e in history(api, receiver, "message_correlated")] == \
        ["goods_shipped", "invoice_issued"]
    assert open_elements(api, bystander) == [] and "tracking_no" not in instance(api, bystander)["data"]


def test_a_thrown_message_nobody_waits_for_is_kept_for_a_later_instance(api, start, database):
    sender = start("messages_sender", {"order_no": "C3"})
    complete(api, sender, "Task_ship", "wang", {"tracking_no": "YT9"})
    sent = history(api, sender, "message_sent")
    assert [e["data"]["status"] for e in sent] == ["kept", "kept"]
    receiver = start("messages_receiver", {"order_no": "C3"})
    assert open_elements(api, receiver) == ["Task_tell_buyer"]  # both kept messages delivered on start
    assert [e["data"]["name"] for e in history(api, receiver, "message_correlated")] == \
        ["goods_shipped", "invoice_issued"]


def test_a_message_to_a_cancelled_instance_is_kept_not_delivered(api, start, database):
    iid = start("messages_wait", {"order_no": "X1"})
    assert api("post", f"/instances/{iid}/cancel", json={"reason": "测试"}).status_code == 200
    with database.session() as session:
        assert session.scalars(select(MessageSubscription)).all() == []
    reply = send(api, "order_cancelled", {"order_no": "X1"}, expect=202)
    assert reply.json["status"] == "kept"
    assert history(api, iid, "message_correlated") == []


# -- validation and permissions ---------------------------------------------------------------------------

def test_a_message_without_a_name_or_with_a_bad_correlation_is_400(api, start):
    for body in [{"correlation": {"order_no": "A1"}}, {"name": "", "correlation": {}},
                 {"name": "order_cancelled", "correlation": ["A1"]},
                 {"name": "order_cancelled", "correlation": "A1"},
                 {"name": "order_cancelled", "data": [1, 2]}]:
        response = api("post", "/messages", "shop", json=body)
        assert response.status_code == 400, (body, response.json)
        assert response.json["error"] == "bad_request" and response.json["message"]
    for name, correlation, data in [(None, {}, {}), ("  ", {}, {}), ("order_cancelled", "A1", {}),
                                    ("order_cancelled", {}, "x")]:
        with pytest.raises(ValidationError):
            runtime.receive_message(None, name, correlation, data, None, runtime.system_actor())


def test_auditors_may_read_messages_but_not_send_them(api, start, database):
    iid = start("messages_wait", {"order_no": "A1"})
    response = send(api, "order_cancelled", {"order_no": "A1"}, user="audrey")
    assert response.status_code == 403, response.json
    assert response.json["error"] == "permission_denied"
    assert open_elements(api, iid) == []
    with database.session() as session:
        assert session.scalars(select(Message)).all() == []
    assert api("get", "/messages", "audrey").status_code == 200
    assert api("get", "/messages", "wang").status_code == 403
    assert send(api, "order_cancelled", {"order_no": "A1"}, user="root").status_code == 200


def test_unauthenticated_messages_are_401(client, start):
    response = client.post(API + "/messages", json={"name": "order_cancelled"})
    assert response.status_code == 401


# -- concurrency (PostgreSQL) ------------------------------------------------------------------------------

@pytest.mark.skipif(not ON_POSTGRES, reason="a race between two writers needs PostgreSQL (SQLite serializes them)")
def test_a_kept_message_is_delivered_to_only_one_of_two_instances_starting_at_once(api, start, database,
                                                                                   monkeypatch, clock):
    send(api, "parcel_returned", {"order_no": "K-1"}, message_id="kept-race", expect=202)
    waiting = [start("messages_late_wait", {"order_no": "K-1"}) for _ in range(2)]
    meet = threading.Barrier(2, timeout=5)
    real = messages.take_kept

    def slow_mark(session, message, instance_id):
        try:
            meet.wait()  # both commands have read the message as kept before either marks it
        except threading.BrokenBarrierError:
            pass
        return real(session, message, instance_id)

    monkeypatch.setattr(messages, "take_kept", slow_mark)
    chen = _user(database, "chen")
    task_ids = [instance(api, iid)["open_tasks"][0]["id"] for iid in waiting]
    errors = []

    def finish(task_id):
        try:
            with database.session() as session:
                runtime.complete_task(session, task_id, {}, chen)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=finish, args=(task_id,)) for task_id in task_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    got = [iid for iid in waiting if history(api, iid, "message_correlated")]
    assert len(got) == 1, (got, errors)


def _user(database, name: str):
    from engine import users
    with database.session() as session:
        user = users.find_user(session, name)
        _ = user.roles
        session.expunge(user)
        return user


@pytest.mark.skipif(not ON_POSTGRES, reason="a race between two writers needs PostgreSQL (SQLite serializes them)")
def test_the_same_message_id_sent_twice_at_once_gives_one_kept_and_one_duplicate(models, database, monkeypatch):
    meet = threading.Barrier(2, timeout=5)
    real = messages.expire_old

    def expire_after_both_checked(session):
        try:
            meet.wait()  # both requests have looked for an existing message_id
        except threading.BrokenBarrierError:
            pass
        return real(session)

    monkeypatch.setattr(messages, "expire_old", expire_after_both_checked)
    shop = _user(database, "shop")
    replies, errors = [], []

    def receive():
        try:
            with database.session() as session:
                replies.append(runtime.receive_message(session, "parcel_returned", {"order_no": "D-1"}, {}, "same-id", shop))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(f"{type(exc).__name__}: {exc}"[:200])

    threads = [threading.Thread(target=receive) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(r["status"] for r in replies) == ["duplicate", "kept"]


def test_a_kept_message_starts_a_process_deployed_after_it_arrived(api, deploy, people, clock, database):
    deploy(DATA / "messages_wait.bpmn", DATA / "forms")
    reply = send(api, "return_requested", {"order_no": "L-1"}, {"reason": "尺码不对"}, message_id="late-1",
                 expect=202)
    assert reply.json["status"] == "kept"
    send(api, "order_cancelled", {"order_no": "L-2"}, message_id="other-1", expect=202)  # no start event for it
    clock.advance(hours=2)

    deploy(DATA / "messages_start.bpmn", DATA / "forms")

    message = stored(database, "late-1")
    assert message.status == "started" and len(message.instance_ids) == 1
    view = instance(api, message.instance_ids[0])
    assert view["process_id"] == "messages_start" and view["started_by"] == "shop"
    assert view["data"]["order_no"] == "L-1" and view["data"]["reason"] == "尺码不对"
    assert [t["element_id"] for t in view["open_tasks"]] == ["Task_review_return"]
    (started,) = history(api, view["id"], "instance_started")
    assert started["data"]["message"] == {"name": "return_requested", "message_id": "late-1"}
    assert stored(database, "other-1").status == "kept"

    deploy(DATA / "messages_start.bpmn", DATA / "forms")  # unchanged: no new version, nothing started again
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Instance)) == 1


def test_an_expired_message_does_not_start_a_process_deployed_later(api, deploy, people, clock, database):
    deploy(DATA / "messages_wait.bpmn", DATA / "forms")
    send(api, "return_requested", {"order_no": "L-3"}, message_id="late-3", expect=202)
    clock.advance(days=8)
    deploy(DATA / "messages_start.bpmn", DATA / "forms")
    assert stored(database, "late-3").status == "expired"
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Instance)) == 0


def test_a_kept_message_starts_every_process_of_one_deployment_that_it_starts(api, deploy, people, database,
                                                                              tmp_path):
    deploy(DATA / "messages_wait.bpmn", DATA / "forms")
    send(api, "return_requested", {"order_no": "L-4"}, message_id="late-4", expect=202)
    twin = (DATA / "messages_start.bpmn").read_text(encoding="utf-8").replace('"messages_start"', '"messages_twin"')
    (tmp_path / "twin.bpmn").write_text(twin, encoding="utf-8")

    deploy(DATA / "messages_start.bpmn", tmp_path / "twin.bpmn", DATA / "forms")

    message = stored(database, "late-4")
    assert message.status == "started" and len(message.instance_ids) == 2
    assert sorted(instance(api, i)["process_id"] for i in message.instance_ids) == ["messages_start", "messages_twin"]


def test_a_kept_message_whose_start_fails_stays_kept_and_the_deployment_goes_on(api, deploy, people, database,
                                                                               monkeypatch):
    deploy(DATA / "messages_wait.bpmn", DATA / "forms")
    send(api, "return_requested", {"order_no": "L-5"}, message_id="late-5", expect=202)
    real_start = deliveries.start_with

    def start_then_fail(session, *args):
        real_start(session, *args)  # the instance, its task and its history are written...
        raise RuntimeError("the start broke")  # ...and then undone

    monkeypatch.setattr(deliveries, "start_with", start_then_fail)
    (deployed,) = deploy(DATA / "messages_start.bpmn", DATA / "forms")
    assert deployed.created and deployed.process_id == "messages_start"

    assert stored(database, "late-5").status == "kept"
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Instance)) == 0
        assert session.scalar(select(func.count()).select_from(HistoryEvent)
                              .where(HistoryEvent.instance_id.is_not(None))) == 0  # (operations: deploys, users)
        assert session.scalar(select(func.count()).select_from(HumanTask)) == 0
    assert api("get", "/definitions").json and any(
        d["process_id"] == "messages_start" for d in api("get", "/definitions").json)


def test_a_business_key_longer_than_its_column_is_cut_not_refused(api, start, database):
    order_no = "R" * 300
    reply = send(api, "return_requested", {"order_no": order_no}, message_id="long-1", expect=201)
    view = instance(api, reply.json["instance_ids"][0])
    assert view["data"]["order_no"] == order_no and view["business_key"] == order_no[:256]
