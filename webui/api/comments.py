"""Comments over the API: add one to a task or an instance, list an instance's or a task's (oldest first).

Comments are never edited or deleted: there is no route for it (405). Who may comment and read is
``engine.runtime.collaboration``'s rule (who may see the task or instance; auditors read only).
"""
from __future__ import annotations

from flask import Blueprint

from engine import comments
from engine.runtime import collaboration
from webui.api.collaboration_schemas import AddCommentSchema, CommentSchema
from webui.api.credentials import current_user
from webui.api.openapi import documented
from webui.api.schemas import load_json
from webui.db import get_session

bp = Blueprint("comments", __name__)
ADD_ERRORS = (400, 401, 403, 404, 422)


@bp.post("/tasks/<int:task_id>/comments")
@documented("Comment on a task (anyone who may see it, not auditors)", "comments", body=AddCommentSchema,
            response=CommentSchema, status=201, errors=ADD_ERRORS)
def comment_on_task(task_id: int):
    text = load_json(AddCommentSchema()).get("text")
    session = get_session()
    row = collaboration.comment_on_task(session, task_id, text, current_user())
    return comments.as_dicts(session, [row])[0], 201


@bp.post("/instances/<int:instance_id>/comments")
@documented("Comment on an instance (anyone who may see it, not auditors)", "comments", body=AddCommentSchema,
            response=CommentSchema, status=201, errors=ADD_ERRORS)
def comment_on_instance(instance_id: int):
    text = load_json(AddCommentSchema()).get("text")
    session = get_session()
    row = collaboration.comment_on_instance(session, instance_id, text, current_user())
    return comments.as_dicts(session, [row])[0], 201


@bp.get("/instances/<int:instance_id>/comments")
@documented("An instance's comments and its tasks', oldest first", "comments", response=CommentSchema, many=True)
def instance_comments(instance_id: int):
    session = get_session()
    collaboration.visible_instance(session, instance_id, current_user())
    return comments.as_dicts(session, comments.of_instance(session, instance_id))


@bp.get("/tasks/<int:task_id>/comments")
@documented("A task's comments, oldest first", "comments", response=CommentSchema, many=True)
def task_comments(task_id: int):
    session = get_session()
    collaboration.visible_task(session, task_id, current_user())
    return comments.as_dicts(session, comments.of_task(session, task_id))
