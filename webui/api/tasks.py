"""Human tasks: the worklist, and claim / unclaim / complete / reassign."""
from __future__ import annotations

from flask import Blueprint
from sqlalchemy.orm import Session

from engine import runtime, worklist
from engine.errors import PermissionDeniedError
from engine.models import HumanTask
from webui.api_openapi import documented
from webui.auth import current_user
from webui.db import get_session
from webui.schemas import (
    CompleteTaskSchema, ReassignTaskSchema, TaskQuerySchema, TaskSchema, dump, load_json, load_query,
)

tasks = Blueprint("tasks", __name__)
CHANGE_ERRORS = (400, 401, 403, 404, 409)


def task_view(session: Session, row: HumanTask) -> dict:
    """A task as the API shows it: the row plus its form with fields."""
    return worklist.as_dict(row, worklist.task_form(session, row))


def readable_task(session: Session, task_id: int) -> HumanTask:
    row = worklist.get_task(session, task_id)
    if not worklist.may_read(row, current_user()):
        raise PermissionDeniedError(f"Task {task_id} is for role '{row.role}', which you do not have.")
    return row


@tasks.get("/tasks")
@documented("List tasks: mine (assigned to me), claimable (open for my roles) or all I may see", "tasks",
            query=TaskQuerySchema, response=TaskSchema, many=True, errors=(400, 401))
def list_tasks():
    query = load_query(TaskQuerySchema())
    session = get_session()
    rows = worklist.list_tasks(session, current_user(), **query)
    return dump(TaskSchema(many=True), [task_view(session, row) for row in rows])


@tasks.get("/tasks/<int:task_id>")
@documented("One task with its form", "tasks", response=TaskSchema)
def get_task(task_id: int):
    session = get_session()
    return dump(TaskSchema(), task_view(session, readable_task(session, task_id)))


@tasks.post("/tasks/<int:task_id>/claim")
@documented("Claim an open task of one of my roles", "tasks", response=TaskSchema, errors=CHANGE_ERRORS)
def claim_task(task_id: int):
    session = get_session()
    return dump(TaskSchema(), task_view(session, worklist.claim(session, task_id, current_user())))


@tasks.post("/tasks/<int:task_id>/unclaim")
@documented("Give a claimed task back to its role (assignee, supervisor or admin)", "tasks",
            response=TaskSchema, errors=CHANGE_ERRORS)
def unclaim_task(task_id: int):
    session = get_session()
    return dump(TaskSchema(), task_view(session, worklist.unclaim(session, task_id, current_user())))


@tasks.post("/tasks/<int:task_id>/complete")
@documented("Complete a task with the values of its form; the instance runs on", "tasks",
            body=CompleteTaskSchema, response=TaskSchema, errors=CHANGE_ERRORS + (422,))
def complete_task(task_id: int):
    body = load_json(CompleteTaskSchema())
    session = get_session()
    row = runtime.complete_task(session, task_id, body["data"], current_user())
    return dump(TaskSchema(), task_view(session, row))


@tasks.post("/tasks/<int:task_id>/reassign")
@documented("Assign a task to another member of its role (supervisor or admin)", "tasks",
            body=ReassignTaskSchema, response=TaskSchema, errors=CHANGE_ERRORS)
def reassign_task(task_id: int):
    body = load_json(ReassignTaskSchema())
    session = get_session()
    row = worklist.reassign(session, task_id, body["user"], current_user())
    return dump(TaskSchema(), task_view(session, row))
