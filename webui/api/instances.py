"""Process instances: start, read, list, cancel, and their history.

Who may read which instance is ``engine.access``'s rule: admins, auditors and
supervisors every one; other users the instances they started or that have a
task of one of their roles or assigned to them (403 otherwise).
"""
from __future__ import annotations

from flask import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import access, history, runtime, worklist
from engine.models import HumanTask, Instance
from webui.api_openapi import documented
from webui.api_tasks import task_view
from webui.auth import current_user
from webui.db import get_session
from webui.schemas import (
    CancelInstanceSchema, HistoryEventSchema, InstanceQuerySchema, InstanceSchema, InstanceSummarySchema,
    StartInstanceSchema, dump, load_json, load_query,
)

instances = Blueprint("instances", __name__)
SUMMARY_FIELDS = tuple(InstanceSummarySchema().fields)


# -- visibility ----------------------------------------------------------------------------

def readable_instance(session: Session, instance_id: int) -> Instance:
    instance = runtime.get_instance(session, instance_id)
    access.check_may_see_instance(session, current_user(), instance_id)
    return instance


# -- views ------------------------------------------------------------------------------------

def instance_view(session: Session, instance: Instance) -> dict:
    """The instance with its open (or claimed) tasks."""
    open_rows = session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance.id, HumanTask.status.in_(worklist.ACTIVE)).order_by(HumanTask.id))
    return {**summary_view(instance), "open_tasks": [task_view(session, row) for row in open_rows]}


def summary_view(instance: Instance) -> dict:
    return {name: getattr(instance, name) for name in SUMMARY_FIELDS}


@instances.post("/instances")
@documented("Start an instance with the data of the start form", "instances", body=StartInstanceSchema,
            response=InstanceSchema, status=201, errors=(400, 401, 403, 404, 422))
def start_instance():
    body = load_json(StartInstanceSchema())
    session = get_session()
    instance = runtime.start_instance(session, body["process_id"], body["data"], current_user(), body["version"])
    return dump(InstanceSchema(), instance_view(session, instance)), 201


@instances.get("/instances")
@documented("List the instances I may read (newest first)", "instances", query=InstanceQuerySchema,
            response=InstanceSummarySchema, many=True, errors=(400, 401))
def list_instances():
    query = load_query(InstanceQuerySchema())
    statement = access.visible_instances(get_session(), current_user())
    if query.get("process_id"):
        statement = statement.where(Instance.process_id == query["process_id"])
    if query.get("status"):
        statement = statement.where(Instance.status == query["status"])
    statement = statement.order_by(Instance.id.desc()).limit(query["limit"]).offset(query["offset"])
    rows = get_session().scalars(statement)
    return dump(InstanceSummarySchema(many=True), [summary_view(row) for row in rows])


@instances.get("/instances/<int:instance_id>")
@documented("One instance with its data and open tasks", "instances", response=InstanceSchema)
def get_instance(instance_id: int):
    session = get_session()
    return dump(InstanceSchema(), instance_view(session, readable_instance(session, instance_id)))


@instances.post("/instances/<int:instance_id>/cancel")
@documented("Cancel a running instance with a reason (admin, supervisor or who started it)", "instances",
            body=CancelInstanceSchema, response=InstanceSchema, errors=(400, 401, 403, 404, 409))
def cancel_instance(instance_id: int):
    body = load_json(CancelInstanceSchema())
    session = get_session()
    instance = runtime.cancel_instance(session, instance_id, body["reason"], current_user())
    return dump(InstanceSchema(), instance_view(session, instance))


@instances.get("/instances/<int:instance_id>/history")
@documented("The instance's events, oldest first", "instances", response=HistoryEventSchema, many=True)
def instance_history(instance_id: int):
    session = get_session()
    readable_instance(session, instance_id)
    return dump(HistoryEventSchema(many=True), [history.as_dict(e) for e in history.events_of(session, instance_id)])
