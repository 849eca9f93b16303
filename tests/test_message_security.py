"""Messages are authorized and cannot overwrite data (issue 10, point 1).

Only integrators and admins send; a catching element may declare the variables its message may set
(``camunda:inputOutput`` output parameters) and anything else is refused with 422; duplicates are
detected per sender; a message the instance cannot catch (its correlation fails) changes nothing.
"Nothing changed" is checked by reading the rows (messages, instances, history events, subscriptions,
incidents) before and after.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text
from werkzeug.security import generate_password_hash

from engine import definitions, runtime, users
from engine.errors import DefinitionError, ValidationError
from engine.models import HistoryEvent, Incident, Instance, Membership, Message, MessageSubscription, User

API = "/api/v1"
HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
        'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'id="Definitions_{pid}" targetNamespace="http://liucheng.example/tests">\n')


def model(pid: str, message: str, catch_extra: str = "", after: str = "", top: str = "",
          lane: str = "aftersales_cs", start: str = "") -> str:
    """A process: start, catch ``message`` (with ``catch_extra`` inside the catch event), optional
    ``after`` element (id Step_after), a user task, end."""
    after_node = after.format(incoming="Flow_caught", outgoing="Flow_after") if after else ""
    into_task = "Flow_after" if after else "Flow_caught"
    nodes = ["Start", "Catch", *(["Step_after"] if after else []), "Task_handle", "End_done"]
    refs = "".join(f"<bpmn:flowNodeRef>{n}_{pid}</bpmn:flowNodeRef>" if n in ("Start", "Catch") else
                   f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in nodes)
    return (HEAD.format(pid=pid) + f'<bpmn:message id="Message_{pid}" name="{message}"/>\n{top}'
            f'<bpmn:process id="{pid}" isExecutable="true">\n'
            f'<bpmn:laneSet id="LaneSet_{pid}"><bpmn:lane id="Lane_{pid}" name="{lane}">{refs}</bpmn:lane></bpmn:laneSet>\n'
            f'<bpmn:startEvent id="Start_{pid}">{start}<bpmn:outgoing>Flow_started</bpmn:outgoing></bpmn:startEvent>\n'
            f'<bpmn:intermediateCatchEvent id="Catch_{pid}">{catch_extra}<bpmn:incoming>Flow_started</bpmn:incoming>'
            f'<bpmn:outgoing>Flow_caught</bpmn:outgoing>'
            f'<bpmn:messageEventDefinition id="Def_{pid}" messageRef="Message_{pid}"/></bpmn:intermediateCatchEvent>\n'
            f'{after_node}'
            f'<bpmn:userTask id="Task_handle"><bpmn:incoming>{into_task}</bpmn:incoming>'
            f'<bpmn:outgoing>Flow_handled</bpmn:outgoing></bpmn:userTask>\n'
            f'<bpmn:endEvent id="End_done"><bpmn:incoming>Flow_handled</bpmn:incoming></bpmn:endEvent>\n'
            f'<bpmn:sequenceFlow id="Flow_started" sourceRef="Start_{pid}" targetRef="Catch_{pid}"/>\n'
            f'<bpmn:sequenceFlow id="Flow_caught" sourceRef="Catch_{pid}" targetRef="{"Step_after" if after else "Task_handle"}"/>\n'
            + (f'<bpmn:sequenceFlow id="Flow_after" sourceRef="Step_after" targetRef="Task_handle"/>\n' if after else "")
            + '<bpmn:sequenceFlow id="Flow_handled" sourceRef="Task_handle" targetRef="End_done"/>\n'
            '</bpmn:process>\n</bpmn:definitions>\n')


def outputs(*names: str) -> str:
    params = "".join(f'<camunda:outputParameter name="{n}">${{{n}}}</camunda:outputParameter>' for n in names)
    return f"<bpmn:extensionElements><camunda:inputOutput>{params}</camunda:inputOutput></bpmn:extensionElements>"


FAILING_SCRIPT = ('<bpmn:scriptTask id="Step_after" scriptFormat="python"><bpmn:incoming>{incoming}</bpmn:incoming>'
                  '<bpmn:outgoing>{outgoing}</bpmn:outgoing><bpmn:script>ratio = 1 / 0</bpmn:script></bpmn:scriptTask>\n')
CORRELATION = ('<bpmn:correlationProperty id="order_ref" name="order_ref">'
               '<bpmn:correlationPropertyRetrievalExpression messageRef="Message_{pid}">'
               '<bpmn:messagePath>order["ref"]</bpmn:messagePath>'
               '</bpmn:correlationPropertyRetrievalExpression></bpmn:correlationProperty>\n')
MESSAGE_START = ('<bpmn:extensionElements><camunda:inputOutput><camunda:outputParameter name="order_no"/>'
                 '<camunda:outputParameter name="buyer">${buyer}</camunda:outputParameter></camunda:inputOutput>'
                 '</bpmn:extensionElements>')


def message_start_model() -> str:
    """``order_placed`` starts it (lane presales_cs); the start event declares order_no and buyer."""
    return (HEAD.format(pid="placed") + '<bpmn:message id="Message_placed" name="order_placed"/>\n'
            '<bpmn:process id="placed" isExecutable="true">\n'
            '<bpmn:laneSet id="LaneSet_placed"><bpmn:lane id="Lane_placed" name="presales_cs">'
            '<bpmn:flowNodeRef>Start_placed</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_confirm</bpmn:flowNodeRef>'
            '<bpmn:flowNodeRef>End_placed</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>\n'
            f'<bpmn:startEvent id="Start_placed">{MESSAGE_START}<bpmn:outgoing>Flow_1</bpmn:outgoing>'
            '<bpmn:messageEventDefinition id="Def_placed" messageRef="Message_placed"/></bpmn:startEvent>\n'
            '<bpmn:userTask id="Task_confirm"><bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>'
            '</bpmn:userTask>\n<bpmn:endEvent id="End_placed"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>\n'
            '<bpmn:sequenceFlow id="Flow_1" sourceRef="Start_placed" targetRef="Task_confirm"/>\n'
            '<bpmn:sequenceFlow id="Flow_2" sourceRef="Task_confirm" targetRef="End_placed"/>\n'
            '</bpmn:process>\n</bpmn:definitions>\n')


MODELS = {
    "declared": lambda: model("declared", "parcel_back", outputs("tracking_no")),
    "open": lambda: model("open", "note_added"),
    "silent": lambda: model("silent", "confirmed", "<bpmn:extensionElements><camunda:inputOutput/>"
                                                   "</bpmn:extensionElements>"),
    "correlated": lambda: model("correlated", "paid", top=CORRELATION.format(pid="correlated")),
    "plain_paid": lambda: model("plain_paid", "paid"),
    "later_fails": lambda: model("later_fails", "go", after=FAILING_SCRIPT),
    "open_parcel": lambda: model("open_parcel", "parcel_back"),
    "placed": message_start_model,
}


# -- fixtures and helpers -----------------------------------------------------------------------------

@pytest.fixture
def database(app):
    return app.extensions["liucheng_db"]


@pytest.fixture
def people(make_user):
    """shop, other_shop: integrators; root: admin; others: department roles and an auditor."""
    for name, role in [("shop", "integrator"), ("other_shop", "integrator"), ("root", "admin"),
                       ("chen", "aftersales_cs"), ("wang", "warehouse"), ("zhao", "supervisor"),
                       ("audrey", "auditor"), ("pei", "presales_cs"), ("dora", "designer")]:
        make_user(name, role)


@pytest.fixture
def deploy_models(database, tmp_path, people, clock):
    def run(*names: str):
        paths = []
        for name in names:
            path = tmp_path / f"{name}.bpmn"
            path.write_text(MODELS[name](), encoding="utf-8")
            paths.append(path)
        with database.session() as session:
            return runtime.deploy_paths(session, paths)
    return run


@pytest.fixture
def start(api):
    def run(process_id: str, data: dict) -> int:
        response = api("post", "/instances", "root", json={"process_id": process_id, "data": data})
        assert response.status_code == 201, response.json
        return response.json["id"]
    return run


def send(api, user: str, name: str, correlation: dict | None = None, data: dict | None = None,
         message_id: str | None = None):
    body = {"name": name, "correlation": correlation or {}, "data": data or {}}
    if message_id:
        body["message_id"] = message_id
    return api("post", "/messages", user, json=body)


def snapshot(database) -> dict:
    """Every row a message could change."""
    with database.session() as session:
        return {
            "messages": [(m.id, m.sender, m.message_id, m.status, m.instance_ids, m.data)
                         for m in session.scalars(select(Message).order_by(Message.id))],
            "instances": [(i.id, i.status, i.data, i.etag, i.revision, i.state)
                          for i in session.scalars(select(Instance).order_by(Instance.id))],
            "history": [(h.id, h.type, h.element_id) for h in session.scalars(  # (not users' operations: setup)
                select(HistoryEvent).where(HistoryEvent.instance_id.is_not(None)).order_by(HistoryEvent.id))],
            "subscriptions": [(s.id, s.instance_id, s.name) for s in session.scalars(select(MessageSubscription)
                                                                                   .order_by(MessageSubscription.id))],
            "incidents": [(i.id, i.status) for i in session.scalars(select(Incident).order_by(Incident.id))],
        }


def instance_data(api, instance_id: int) -> dict:
    return api("get", f"/instances/{instance_id}", "root").json["data"]


def open_elements(api, instance_id: int) -> list[str]:
    return sorted(t["element_id"] for t in api("get", f"/instances/{instance_id}", "root").json["open_tasks"])


# -- who may send ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("user", ["chen", "wang", "zhao", "audrey", "pei", "dora"])
def test_only_integrators_and_admins_may_send_anyone_else_changes_nothing(api, database, deploy_models, start, user):
    deploy_models("open", "placed")
    waiting = start("open", {"order_no": "N-1"})
    before = snapshot(database)
    for name, correlation in [("note_added", {"order_no": "N-1"}), ("order_placed", {"order_no": "P-1"}),
                              ("nobody_waits", {"order_no": "K-1"})]:
        reply = send(api, user, name, correlation, {"buyer": "小王"}, message_id=f"{user}-{name}")
        assert reply.status_code == 403, reply.json
        assert reply.json["error"] == "permission_denied"
        assert "integrator" in reply.json["message"] or user == "audrey"  # auditors are refused every change
    assert snapshot(database) == before  # nothing kept, delivered or started
    assert "buyer" not in instance_data(api, waiting)


def test_an_account_named_system_is_not_taken_for_the_engine(api, database, deploy_models, start, make_user):
    """The engine's own messages (sender ``system``) are trusted; a user account that happens to be named
    ``system`` must not be: its kept message would skip the declarations of the element it reaches later.
    No such account can be created any more; one made before that (here: written directly) is refused."""
    with database.session() as session:
        with pytest.raises(ValidationError, match="engine's own name"):
            users.add_user(session, "System", "secret-system", ["integrator"])
        session.rollback()
        account = User(username="system", password_hash=generate_password_hash("secret-system",
                                                                              users.PASSWORD_METHOD),
                       display_name="system", created_at=datetime(2026, 1, 1))
        account.memberships = [Membership(role_id="integrator")]
        session.add(account)
        session.commit()
    deploy_models("declared", "open_parcel")
    before = snapshot(database)
    reply = send(api, "system", "parcel_back", {"order_no": "S-1"}, {"tracking_no": "SF1", "amount": "0.01"})
    assert reply.status_code == 403, reply.json
    assert "system" in reply.json["message"]
    assert snapshot(database) == before
    waiting = start("declared", {"order_no": "S-1", "amount": "99.00"})
    assert instance_data(api, waiting)["amount"] == "99.00"


@pytest.mark.parametrize("user", ["shop", "root"])
def test_integrators_and_admins_deliver_start_and_keep(api, deploy_models, start, user):
    deploy_models("open", "placed")
    waiting = start("open", {"order_no": "N-2"})
    delivered = send(api, user, "note_added", {"order_no": "N-2"}, {"note": "已联系"})
    assert delivered.status_code == 200 and delivered.json["instance_ids"] == [waiting]
    started = send(api, user, "order_placed", {"order_no": "P-2"}, {"buyer": "小王"})
    assert started.status_code == 201 and started.json["status"] == "started"
    kept = send(api, user, "nobody_waits", {"order_no": "K-2"})
    assert kept.status_code == 202 and kept.json["status"] == "kept"


def test_a_kept_message_starts_a_process_deployed_later_only_if_its_sender_may_still_start_it(
        api, database, deploy_models):
    assert send(api, "shop", "order_placed", {"order_no": "P-3"}, {"buyer": "甲"}, "from-shop").status_code == 202
    assert send(api, "other_shop", "order_placed", {"order_no": "P-4"}, {"buyer": "乙"}, "from-other").status_code == 202
    assert send(api, "root", "order_placed", {"order_no": "P-5"}, {"buyer": "丙"}, "from-root").status_code == 202
    with database.session() as session:  # shop loses its role, root's account is removed
        shop = session.scalar(select(User).where(User.username == "shop"))
        session.execute(delete(Membership).where(Membership.user_id == shop.id))
        session.execute(text("UPDATE users SET username = 'root-gone' WHERE username = 'root'"))
        session.commit()
    deploy_models("placed")
    with database.session() as session:
        rows = {m.message_id: (m.status, m.instance_ids) for m in session.scalars(select(Message))}
        instances = session.scalars(select(Instance)).all()
    assert rows["from-shop"] == ("kept", [])      # its sender may not start 'placed' any more
    assert rows["from-root"] == ("kept", [])      # no such user any more: not started as "system" either
    assert rows["from-other"][0] == "started" and len(instances) == 1
    assert instances[0].started_by == "other_shop" and instances[0].data == {"order_no": "P-4", "buyer": "乙"}


# -- declared variables -----------------------------------------------------------------------------------

def test_data_a_catch_event_does_not_declare_is_refused_with_422_listing_the_names(api, database, deploy_models,
                                                                                   start):
    deploy_models("declared")
    waiting = start("declared", {"order_no": "D-1", "amount": 100})
    before = snapshot(database)
    reply = send(api, "shop", "parcel_back", {"order_no": "D-1"},
                 {"tracking_no": "SF-1", "amount": 1, "approved": True}, "evil-1")
    assert reply.status_code == 422, reply.json
    assert reply.json["error"] == "message_refused"
    assert reply.json["details"]["refused"] == ["amount", "approved"]
    assert reply.json["details"]["allowed"] == ["tracking_no"]
    assert "amount" in reply.json["message"] and "approved" in reply.json["message"]
    assert snapshot(database) == before
    # the declared variable alone is delivered; the same message_id may be used again (nothing was kept)
    good = send(api, "shop", "parcel_back", {"order_no": "D-1"}, {"tracking_no": "SF-1"}, "evil-1")
    assert good.status_code == 200 and good.json["instance_ids"] == [waiting]
    data = instance_data(api, waiting)
    assert data["tracking_no"] == "SF-1" and data["amount"] == 100 and "approved" not in data
    assert open_elements(api, waiting) == ["Task_handle"]


def test_an_empty_declaration_takes_no_data_and_a_model_without_one_takes_all(api, database, deploy_models, start):
    deploy_models("silent", "open")
    silent = start("silent", {"order_no": "S-1"})
    opened = start("open", {"order_no": "S-1"})
    before = snapshot(database)
    refused = send(api, "root", "confirmed", {"order_no": "S-1"}, {"note": "x"})
    assert refused.status_code == 422 and refused.json["details"]["refused"] == ["note"]
    assert snapshot(database) == before
    assert send(api, "root", "confirmed", {"order_no": "S-1"}).status_code == 200
    taken = send(api, "shop", "note_added", {"order_no": "S-1"}, {"note": "任意", "amount": 5})  # as in Camunda
    assert taken.status_code == 200 and taken.json["instance_ids"] == [opened]
    assert instance_data(api, opened)["amount"] == 5
    assert open_elements(api, silent) == ["Task_handle"]


def test_a_message_nobody_waits_for_is_refused_when_every_deployed_catcher_refuses_its_data(api, database,
                                                                                         deploy_models, start):
    deploy_models("declared")
    before = snapshot(database)
    reply = send(api, "shop", "parcel_back", {"order_no": "D-2"}, {"tracking_no": "SF-2", "refund_amount": 0})
    assert reply.status_code == 422 and reply.json["details"]["refused"] == ["refund_amount"]
    assert snapshot(database) == before  # not kept
    kept = send(api, "shop", "parcel_back", {"order_no": "D-2"}, {"tracking_no": "SF-2"}, "early")
    assert kept.status_code == 202
    waiting = start("declared", {"order_no": "D-2"})  # waits: the kept message is delivered now
    assert instance_data(api, waiting)["tracking_no"] == "SF-2"
    with database.session() as session:
        assert session.scalar(select(Message.status).where(Message.message_id == "early")) == "delivered"


def test_a_kept_message_is_not_delivered_to_an_element_that_refuses_its_data(api, database, deploy_models, start):
    deploy_models("declared", "open_parcel")  # one catcher of parcel_back declares tracking_no, one declares nothing
    kept = send(api, "shop", "parcel_back", {"order_no": "D-3"}, {"tracking_no": "SF-3", "amount": 1}, "mixed")
    assert kept.status_code == 202  # some deployed catcher takes it
    strict = start("declared", {"order_no": "D-3", "amount": 100})
    assert instance_data(api, strict)["amount"] == 100 and open_elements(api, strict) == []  # still waiting
    with database.session() as session:
        assert session.scalar(select(Message.status).where(Message.message_id == "mixed")) == "kept"
    lenient = start("open_parcel", {"order_no": "D-3"})
    assert instance_data(api, lenient)["amount"] == 1
    with database.session() as session:
        message = session.scalar(select(Message).where(Message.message_id == "mixed"))
        assert (message.status, message.instance_ids) == ("delivered", [lenient])


def test_a_message_start_event_refuses_undeclared_start_data(api, database, deploy_models):
    deploy_models("placed")
    before = snapshot(database)
    reply = send(api, "shop", "order_placed", {"order_no": "P-9"}, {"buyer": "丁", "discount": 50})
    assert reply.status_code == 422 and reply.json["details"]["refused"] == ["discount"]
    assert snapshot(database) == before
    assert send(api, "shop", "order_placed", {"order_no": "P-9"}, {"buyer": "丁"}).status_code == 201


def test_a_declaration_that_renames_is_a_deploy_error(database, tmp_path, people):
    path = tmp_path / "renaming.bpmn"
    path.write_text(model("renaming", "parcel_back",
                          "<bpmn:extensionElements><camunda:inputOutput><camunda:outputParameter name=\"tracking_no\">"
                          "${courier_no}</camunda:outputParameter><camunda:outputParameter name=\"bad name\"/>"
                          "</camunda:inputOutput></bpmn:extensionElements>"), encoding="utf-8")
    with database.session() as session, pytest.raises(DefinitionError) as refused:
        runtime.deploy_paths(session, [path])
    messages = [p["message"] for p in refused.value.details["problems"]]
    assert any("tracking_no" in m and "${tracking_no}" in m for m in messages)
    assert any("'bad name' is not a variable name" in m for m in messages)
    assert all(p["element_id"] == "Catch_renaming" for p in refused.value.details["problems"])


def test_the_departments_catch_events_declare_what_their_messages_set(deploy, database):
    deploy()
    with database.session() as session:
        versions = {row.process_id: definitions.version_of(session, row.id, row.content_hash)
                    for row in definitions.list_definitions(session, latest_only=True)}
    catching = {(pid, element_id): node.get("message_variables") for pid, v in versions.items()
                for element_id, node in v.elements["nodes"].items()
                if node.get("messages") and node["type"] in ("startEvent", "intermediateCatchEvent", "boundaryEvent",
                                                              "receiveTask")}
    assert len(catching) >= 20
    assert all(declared is not None for declared in catching.values()), catching
    assert catching["refund", "Event_return_parcel_received"] == ["tracking_no"]
    assert catching["distributor_reconciliation", "Event_payment_received"] == ["paid_amount", "payment_ref", "paid_at"]
    assert catching["order_dispatch", "Boundary_print_changed"] == ["address", "lines", "phone"]
    assert catching["order_dispatch", "Event_receipt_confirmed"] == []
    assert "amount" not in catching["refund", "StartEvent_refund_by_message"]


# -- the refund's amount --------------------------------------------------------------------------------

def test_an_integrator_cannot_change_a_refunds_amount_through_return_parcel_received(scenario_only, database):
    scenario = scenario_only("refund")
    order = {"order_no": "RF-SEC-1", "buyer": "小李", "amount": "100.00", "shipping_fee": "12.00",
             "free_shipping": False, "goods_received": True, "quality_issue": False, "days_since_signed": 3,
             "reason": "尺码不合适"}
    instance_id = scenario.start("refund", order, as_role="aftersales_cs")["id"]
    scenario.complete(instance_id, "Task_aftersales_offer_exchange", {"real_reason": "买大了", "exchange_instead": False})
    scenario.complete(instance_id, "Task_supervisor_approve_return", {"approved": True, "approval_comment": "同意"})
    scenario.complete(instance_id, "Task_aftersales_send_return_address",
                      {"return_address": "杭州市余杭区仓库 1 号", "order_flag": "purple", "return_instructions": "附订单号"})
    assert scenario.open_elements(instance_id) == []  # waiting for the parcel
    amounts = {k: scenario.data(instance_id)[k] for k in ("amount", "refund_amount")}
    before = snapshot(database)
    for forged in ({"amount": 9999}, {"refund_amount": 9999}, {"amount": 9999, "refund_amount": 9999}):
        reply = scenario.client.post(API + "/messages", headers=scenario.headers("integrator"), json={
            "name": "return_parcel_received", "correlation": {"order_no": "RF-SEC-1"},
            "data": {"tracking_no": "SF-9", **forged}, "message_id": "forged"})
        assert reply.status_code == 422, reply.get_json()
        assert reply.get_json()["details"]["refused"] == sorted(forged)
        assert all(name in reply.get_json()["message"] for name in forged)
    assert snapshot(database) == before
    assert {k: scenario.data(instance_id)[k] for k in amounts} == amounts
    reply = scenario.message("return_parcel_received", {"order_no": "RF-SEC-1"}, {"tracking_no": "SF-9"}, "forged")
    assert reply["status"] == "delivered"
    data = scenario.data(instance_id)
    assert data["tracking_no"] == "SF-9" and {k: data[k] for k in amounts} == amounts


# -- duplicates per sender ------------------------------------------------------------------------------

def test_duplicates_are_detected_per_sender(api, database, deploy_models, start):
    deploy_models("open")
    first = start("open", {"order_no": "U-1"})
    second = start("open", {"order_no": "U-2"})
    assert send(api, "shop", "note_added", {"order_no": "U-1"}, {"n": 1}, "evt-1").json["instance_ids"] == [first]
    other = send(api, "other_shop", "note_added", {"order_no": "U-2"}, {"n": 2}, "evt-1")  # same id, other sender
    assert other.status_code == 200 and other.json["status"] == "delivered" and other.json["instance_ids"] == [second]
    again = send(api, "shop", "note_added", {"order_no": "U-2"}, {"n": 3}, "evt-1")
    assert again.status_code == 200 and again.json["status"] == "duplicate" and again.json["instance_ids"] == [first]
    twice = send(api, "other_shop", "note_added", {"order_no": "U-1"}, {"n": 4}, "evt-1")  # its own first message
    assert twice.json["status"] == "duplicate" and twice.json["instance_ids"] == [second]
    assert instance_data(api, second)["n"] == 2
    with database.session() as session:
        rows = session.execute(select(Message.sender, Message.message_id, Message.instance_ids)
                               .order_by(Message.id)).all()
    assert [tuple(r) for r in rows] == [("shop", "evt-1", [first]), ("other_shop", "evt-1", [second])]


# -- a message that cannot be caught ----------------------------------------------------------------------

def test_a_correlation_that_fails_on_the_instance_refuses_the_whole_delivery(api, database, deploy_models, start):
    deploy_models("plain_paid", "correlated")
    plain = start("plain_paid", {"shop_id": "S1"})       # would take it
    correlated = start("correlated", {"shop_id": "S1"})  # its retrieval expression order["ref"] fails
    before = snapshot(database)
    reply = send(api, "shop", "paid", {"shop_id": "S1"}, {"amount_paid": 10}, "pay-1")
    assert reply.status_code == 422, reply.json
    assert reply.json["error"] == "message_refused" and reply.json["details"]["instance_id"] == correlated
    assert "correlation" in reply.json["message"] and "order" in reply.json["message"]
    assert snapshot(database) == before  # not even the first instance got it; no message row, no history
    good = send(api, "shop", "paid", {"shop_id": "S1"}, {"amount_paid": 10, "order": {"ref": "R-1"}}, "pay-1")
    assert good.status_code == 200 and sorted(good.json["instance_ids"]) == [plain, correlated]
    assert open_elements(api, correlated) == ["Task_handle"] and open_elements(api, plain) == ["Task_handle"]


def test_a_failure_after_the_catch_is_an_incident_and_the_message_is_delivered(api, database, deploy_models, start):
    deploy_models("later_fails")
    instance_id = start("later_fails", {"order_no": "L-1"})
    reply = send(api, "shop", "go", {"order_no": "L-1"}, {"note": "go"}, "go-1")
    assert reply.status_code == 200 and reply.json["status"] == "delivered"
    with database.session() as session:
        incident = session.scalar(select(Incident).where(Incident.instance_id == instance_id))
        assert incident is not None and incident.element_id == "Step_after"
        assert session.scalar(select(Message.status).where(Message.message_id == "go-1")) == "delivered"
        correlated = session.scalars(select(HistoryEvent.element_id).where(
            HistoryEvent.instance_id == instance_id, HistoryEvent.type == "message_correlated")).all()
    assert correlated == ["Catch_later_fails"]
    assert instance_data(api, instance_id)["note"] == "go"



def test_message_data_the_engine_cannot_store_is_refused_before_anything_happens(api, database, people):
    """Data nested deeper than engine.values allows (JSON accepts up to 64 levels) or text over its size: 422."""
    deep: dict = {"leaf": 1}
    for _ in range(40):
        deep = {"level": deep}
    before = snapshot(database)
    for correlation, data in (({"order_no": "R-1"}, {"tracking_no": deep}), ({"order_no": "x" * 1_000_001}, {})):
        response = send(api, "shop", "return_parcel_received", correlation, data)
        assert response.status_code == 422, response.json
        assert "cannot be stored" in response.json["message"]
    assert snapshot(database) == before
