"""External tasks over the API (Camunda 7's external task service): workers fetch and lock the service
tasks of their topics, then complete them, report a failure or a BPMN error, or extend their lock.

Only ``integrator`` and ``admin`` users may call these (403 otherwise; the rule is
``engine.runtime.external_tasks.check_may_work``); listing the tasks is for admins. A report from a
worker that does not hold the task's lock answers 409; a task that is gone (completed, interrupted,
cancelled) 404. The commands are ``engine.runtime.external_tasks``; a task becomes JSON through
``engine.external_tasks.as_dict``.
"""
from __future__ import annotations

from flask import Blueprint

from engine import external_tasks
from engine.errors import PermissionDeniedError
from engine.external_tasks import TopicRequest
from engine.models import ADMIN
from engine.runtime import external_tasks as commands
from webui.api.credentials import current_user
from webui.api.external_task_schemas import (
    BpmnErrorSchema, CompleteExternalTaskSchema, ExtendLockSchema, ExternalTaskFailureSchema,
    ExternalTaskOutcomeSchema, ExternalTaskQuerySchema, ExternalTaskSchema, FetchAndLockSchema,
)
from webui.api.openapi import documented
from webui.api.schemas import load_json, load_query
from webui.db import get_session

bp = Blueprint("external_tasks", __name__)
TAG = "external tasks"


@bp.post("/external-tasks/fetch-and-lock")
@documented("Lock up to max_tasks external tasks of the topics for this worker, with their variables "
            "(integrators and admins; highest priority first; a task whose lock expired is fetched again)", TAG,
            body=FetchAndLockSchema, response=ExternalTaskSchema, many=True, errors=(400, 401, 403))
def fetch_and_lock():
    commands.check_may_work(current_user())  # before reading the body: a refused caller learns 403, not 400
    body = load_json(FetchAndLockSchema())
    topics = [TopicRequest(t["name"], t["lock_duration_ms"], t.get("variables")) for t in body["topics"]]
    return commands.fetch_and_lock(get_session(), body["worker_id"], body["max_tasks"], topics, current_user())


@bp.post("/external-tasks/<int:task_id>/complete")
@documented("Complete an external task this worker holds: the variables join the instance's data and it runs "
            "on (409 when another worker holds it)", TAG, body=CompleteExternalTaskSchema,
            response=ExternalTaskOutcomeSchema, errors=(400, 401, 403, 404, 409, 422))
def complete(task_id: int):
    commands.check_may_work(current_user())
    body = load_json(CompleteExternalTaskSchema())
    return commands.complete(get_session(), task_id, body["worker_id"], body["variables"], current_user())


@bp.post("/external-tasks/<int:task_id>/failure")
@documented("Report that the work failed: with retries left the task is fetched again after retry_timeout_ms; "
            "with retries 0 an incident opens on its element", TAG, body=ExternalTaskFailureSchema,
            response=ExternalTaskSchema, errors=(400, 401, 403, 404, 409))
def failure(task_id: int):
    commands.check_may_work(current_user())
    body = load_json(ExternalTaskFailureSchema())
    return commands.report_failure(get_session(), task_id, body["worker_id"], body["error_message"],
                                   body["error_details"], body["retries"], body["retry_timeout_ms"], current_user())


@bp.post("/external-tasks/<int:task_id>/bpmn-error")
@documented("Report a business error: an error boundary event of that code on the task catches it; when none "
            "does, an incident opens on its element", TAG, body=BpmnErrorSchema,
            response=ExternalTaskOutcomeSchema, errors=(400, 401, 403, 404, 409, 422))
def bpmn_error(task_id: int):
    commands.check_may_work(current_user())
    body = load_json(BpmnErrorSchema())
    return commands.report_bpmn_error(get_session(), task_id, body["worker_id"], body["error_code"],
                                      body["error_message"], body["variables"], current_user())


@bp.post("/external-tasks/<int:task_id>/extend-lock")
@documented("Lock the task for new_duration_ms more from now (only the worker holding a live lock)", TAG,
            body=ExtendLockSchema, response=ExternalTaskSchema, errors=(400, 401, 403, 404, 409))
def extend_lock(task_id: int):
    commands.check_may_work(current_user())
    body = load_json(ExtendLockSchema())
    return commands.extend_lock(get_session(), task_id, body["worker_id"], body["new_duration_ms"], current_user())


@bp.get("/external-tasks")
@documented("External tasks waiting for workers, by topic, instance or whether locked (admins)", TAG,
            query=ExternalTaskQuerySchema, response=ExternalTaskSchema, many=True, errors=(400, 401, 403))
def list_external_tasks():
    if ADMIN not in current_user().roles:
        raise PermissionDeniedError("Only admins may list the external tasks.")
    query = load_query(ExternalTaskQuerySchema())
    rows = external_tasks.list_rows(get_session(), query.get("topic"), query.get("instance_id"), query.get("locked"),
                                    query["limit"], query["offset"])
    return [external_tasks.as_dict(row) for row in rows]
