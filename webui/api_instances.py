"""Process instances: start, read, list, cancel, and their history.

Who may read which instance: admins, auditors and supervisors every one; other
users the instances they started or that have a task of one of their roles or
assigned to them (the engine has no such query yet, so it lives here).
"""
from __future__ import annotations

from flask import Blueprint
from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import Session

from engine import history, runtime, worklist
from engine.errors import PermissionDeniedError
from engine.models import HumanTask, Instance, User
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

def reads_everything(actor: User) -> bool:
    return bool(actor.roles & worklist.READ_ALL_ROLES)


def involves(actor: User):
    """SQL condition: ``actor`` started the instance or has (had) a task in it."""
    task_of_actor = exists().where(HumanTask.instance_id == Instance.id,
                                   or_(HumanTask.role.in_(actor.roles), HumanTask.assignee == actor.username))
    return or_(Instance.started_by == actor.username, task_of_actor)


def visible_instances(actor: User) -> Select:
    query = select(Instance)
    return query if reads_everything(actor) else query.where(involves(actor))


def readable_instance(session: Session, instance_id: int) -> Instance:
    instance = runtime.get_instance(session, instance_id)
    actor = current_user()
    if not reads_everything(actor) and session.scalar(
            select(Instance.id).where(Instance.id == instance_id, involves(actor))) is None:
        raise PermissionDeniedError(f"Instance {instance_id} is not one you started or have a task in.")
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
    statement = visible_instances(current_user())
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
