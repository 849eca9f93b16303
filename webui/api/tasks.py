"""Human tasks over the API: the worklist, and claim (one or several) / unclaim / complete / reassign /
delegate / resolve / prioritize (priority and follow-up date).

A task becomes JSON through ``engine.task_listing.as_dict`` (with its form); who may read, claim,
unclaim, complete, reassign, delegate, resolve or prioritize is the engine's rule.
"""
from __future__ import annotations

from flask import Blueprint
from sqlalchemy.orm import Session

from engine import error_texts, runtime, task_listing, worklist
from engine.errors import PermissionDeniedError
from engine.models import HumanTask
from webui.api.credentials import current_user
from webui.api.errors import reader_language
from webui.api.openapi import documented
from webui.api.schemas import load_json, load_query
from webui.api.task_schemas import (ClaimedTasksSchema, ClaimTasksSchema, CompleteTaskSchema, DelegateTaskSchema,
                                    PrioritizeTaskSchema, ReassignTaskSchema, ResolveTaskSchema, TaskQuerySchema,
                                    TaskSchema, UnclaimTaskSchema)
from webui.db import get_session

bp = Blueprint("tasks", __name__)
CHANGE_ERRORS = (400, 401, 403, 404, 409)


def task_view(session: Session, row: HumanTask) -> dict:
    """A task as the API shows it: the row plus its form with fields."""
    return task_listing.as_dict(row, task_listing.task_form(session, row))


def readable_task(session: Session, task_id: int) -> HumanTask:
    row = worklist.get_task(session, task_id)
    if not worklist.may_read(row, current_user()):
        raise PermissionDeniedError(f"Task {task_id} is for role '{row.role}', which you do not have.")
    return row


@bp.get("/tasks")
@documented("List tasks: mine (assigned to me), claimable (open for my roles) or all I may see", "tasks",
            query=TaskQuerySchema, response=TaskSchema, many=True, errors=(400, 401))
def list_tasks():
    query = load_query(TaskQuerySchema())
    session = get_session()
    rows = task_listing.list_tasks(session, current_user(), **query)
    return [task_view(session, row) for row in rows]


@bp.get("/tasks/<int:task_id>")
@documented("One task with its form", "tasks", response=TaskSchema)
def get_task(task_id: int):
    session = get_session()
    return task_view(session, readable_task(session, task_id))


@bp.post("/tasks/<int:task_id>/claim")
@documented("Claim an open task of one of my roles", "tasks", response=TaskSchema, errors=CHANGE_ERRORS)
def claim_task(task_id: int):
    session = get_session()
    return task_view(session, runtime.claim_task(session, task_id, current_user()))


@bp.post("/tasks/<int:task_id>/unclaim")
@documented("Give a claimed task back to its role (assignee, supervisor or admin; someone else's task with an "
            "optional reason, kept in the operation log)", "tasks", body=UnclaimTaskSchema, response=TaskSchema,
            errors=CHANGE_ERRORS)
def unclaim_task(task_id: int):
    body = load_json(UnclaimTaskSchema())
    session = get_session()
    return task_view(session, runtime.unclaim_task(session, task_id, current_user(), body["reason"]))


@bp.post("/tasks/<int:task_id>/complete")
@documented("Complete a task with the values of its form; the instance runs on", "tasks",
            body=CompleteTaskSchema, response=TaskSchema, errors=CHANGE_ERRORS + (422,))
def complete_task(task_id: int):
    body = load_json(CompleteTaskSchema())
    session = get_session()
    return task_view(session, runtime.complete_task(session, task_id, body["data"], current_user()))


@bp.post("/tasks/<int:task_id>/reassign")
@documented("Assign a task to another member of its role (supervisor, admin or its assignee), with a reason "
            "(422 without one); kept in the operation log", "tasks", body=ReassignTaskSchema, response=TaskSchema,
            errors=CHANGE_ERRORS + (422,))
def reassign_task(task_id: int):
    body = load_json(ReassignTaskSchema())
    session = get_session()
    return task_view(session, runtime.reassign_task(session, task_id, body["user"], current_user(), body["reason"]))


@bp.post("/tasks/claim")
@documented("Claim several open tasks (at most 100), each on its own; the refused ones say why", "tasks",
            body=ClaimTasksSchema, response=ClaimedTasksSchema, errors=(400, 401, 403))
def claim_tasks():
    body = load_json(ClaimTasksSchema())
    result = runtime.claim_tasks(get_session(), body["task_ids"], current_user())
    lang = reader_language()  # each refusal's message as the error handler writes one (Accept-Language: zh)
    return {**result, "refused": [{**refusal, "message": error_texts.translate(refusal["message"], lang)}
                                  for refusal in result["refused"]]}


@bp.patch("/tasks/<int:task_id>")
@documented("Set a task's priority (0-100) and/or follow-up date (assignee, owner, supervisor or admin)",
            "tasks", body=PrioritizeTaskSchema, response=TaskSchema, errors=CHANGE_ERRORS + (422,))
def prioritize_task(task_id: int):
    body = load_json(PrioritizeTaskSchema())
    session = get_session()
    return task_view(session, runtime.prioritize_task(session, task_id, current_user(), **body))


@bp.post("/tasks/<int:task_id>/delegate")
@documented("Delegate a claimed task: the assignee becomes its owner, the user its assignee until they "
            "resolve it (assignee, supervisor or admin)", "tasks", body=DelegateTaskSchema, response=TaskSchema,
            errors=CHANGE_ERRORS)
def delegate_task(task_id: int):
    body = load_json(DelegateTaskSchema())
    session = get_session()
    return task_view(session, runtime.delegate_task(session, task_id, body["user"], current_user(), body["reason"]))


@bp.post("/tasks/<int:task_id>/resolve")
@documented("Resolve a delegated task (the delegate): it goes back to its owner with the data as its draft",
            "tasks", body=ResolveTaskSchema, response=TaskSchema, errors=CHANGE_ERRORS + (422,))
def resolve_task(task_id: int):
    body = load_json(ResolveTaskSchema())
    session = get_session()
    return task_view(session, runtime.resolve_task(session, task_id, body["data"], current_user()))
