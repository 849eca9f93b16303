"""Process instances over the API: start, read, list, cancel, signal (a receive task without a message
moves on: ``engine.runtime.signals``), and their history.

Who may read which instance is ``engine.access``'s rule: admins, auditors and
supervisors every one; other users the instances they started or that have a
task of one of their roles or assigned to them (403 otherwise). An instance becomes
JSON through ``engine.instances.as_dict`` plus its open tasks (``engine.worklist.as_dict``);
an event through ``engine.history.as_dict``.
"""
from __future__ import annotations

from flask import Blueprint
from sqlalchemy import Select
from sqlalchemy.orm import Session

from engine import access, history, instances, runtime, waits
from engine.models import Instance
from engine.runtime import waiting
from engine.runtime.signals import check_may_signal, signal_instance as signal_command
from webui.api.credentials import current_user
from webui.api.instance_schemas import (
    CancelInstanceSchema, HistoryEventSchema, InstanceQuerySchema, InstanceSchema, InstanceSummarySchema,
    SignalInstanceReplySchema, SignalInstanceSchema, StartInstanceSchema,
)
from webui.api.openapi import documented
from webui.api.schemas import load_json, load_query
from webui.api.tasks import task_view
from webui.db import get_session

bp = Blueprint("instances", __name__)


def readable_instance(session: Session, instance_id: int) -> Instance:
    instance = runtime.get_instance(session, instance_id)
    access.check_may_see_instance(session, current_user(), instance_id)
    return instance


def instance_view(session: Session, instance: Instance) -> dict:
    """The instance with its open (or claimed) tasks and what it waits for (``engine.runtime.waiting``)."""
    return {**instances.as_dict(instance),
            "open_tasks": [task_view(session, row) for row in instances.open_tasks(session, instance.id)],
            "waiting_for": waits.as_json(waiting.waits_of(session, instance))}


@bp.post("/instances")
@documented("Start an instance with the data of the start form", "instances", body=StartInstanceSchema,
            response=InstanceSchema, status=201, errors=(400, 401, 403, 404, 422))
def start_instance():
    body = load_json(StartInstanceSchema())
    session = get_session()
    instance = runtime.start_instance(session, body["process_id"], body["data"], current_user(), body["version"])
    return instance_view(session, instance), 201


@bp.get("/instances")
@documented("List the instances I may read (newest first)", "instances", query=InstanceQuerySchema,
            response=InstanceSummarySchema, many=True, errors=(400, 401))
def list_instances():
    query = load_query(InstanceQuerySchema())
    session = get_session()
    found: Select = instances.search(session, current_user(), query.get("process_id"), query.get("status"),
                                     variables=query.get("variables"))
    rows = session.scalars(found.order_by(Instance.id.desc()).limit(query["limit"]).offset(query["offset"]))
    return [instances.as_dict(row) for row in rows]


@bp.get("/instances/<int:instance_id>")
@documented("One instance with its data and open tasks", "instances", response=InstanceSchema)
def get_instance(instance_id: int):
    session = get_session()
    return instance_view(session, readable_instance(session, instance_id))


@bp.post("/instances/<int:instance_id>/cancel")
@documented("Cancel a running instance with a reason (admin, supervisor or who started it; 422 without a "
            "reason, nothing changed); kept in the operation log", "instances",
            body=CancelInstanceSchema, response=InstanceSchema, errors=(400, 401, 403, 404, 409, 422))
def cancel_instance(instance_id: int):
    body = load_json(CancelInstanceSchema())
    session = get_session()
    instance = runtime.cancel_instance(session, instance_id, body["reason"], current_user())
    return instance_view(session, instance)


@bp.post("/instances/<int:instance_id>/signal")
@documented("Move on a receive task without a message that waits in the instance, its data joining the "
            "instance's (integrators and admins; Camunda's runtimeService.signal; 409 when no such receive task "
            "waits, 422 when the data cannot be stored)", "instances", body=SignalInstanceSchema,
            response=SignalInstanceReplySchema, errors=(400, 401, 403, 404, 409, 422))
def signal_instance(instance_id: int):
    check_may_signal(current_user())  # before reading the body: a refused caller learns 403, not 400
    body = load_json(SignalInstanceSchema())
    instance = signal_command(get_session(), instance_id, body["element_id"], body["data"], current_user())
    return {"instance_id": instance.id, "element_id": body["element_id"].strip(), "status": instance.status}


@bp.get("/instances/<int:instance_id>/history")
@documented("The instance's events, oldest first", "instances", response=HistoryEventSchema, many=True)
def instance_history(instance_id: int):
    session = get_session()
    readable_instance(session, instance_id)
    return [history.as_dict(event) for event in history.events_of(session, instance_id)]
