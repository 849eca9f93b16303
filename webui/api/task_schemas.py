"""The API's JSON about human tasks: a task as the engine writes it, the bodies that complete or
reassign one, and the worklist's query string (scope, process, instance, status, due dates)."""
from __future__ import annotations

from datetime import timezone

from marshmallow import Schema, fields, validate

from engine import worklist
from engine.models import TaskStatus
from webui.api.schemas import FormSchema, PageSchema, id_field, timestamp_field

TASK_STATUSES = tuple(str(s) for s in TaskStatus)  # open, claimed, completed, cancelled
TASK_SCOPES = worklist.SCOPES  # mine, claimable, all


class TaskSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    process_id = fields.String()
    element_id = fields.String()
    name = fields.String()
    role = fields.String()
    status = fields.String(validate=validate.OneOf(TASK_STATUSES))
    assignee = fields.String(allow_none=True)
    created_at = timestamp_field()
    claimed_at = timestamp_field()
    completed_at = timestamp_field()
    completed_by = fields.String(allow_none=True)
    due_at = timestamp_field()
    form = fields.Nested(FormSchema, allow_none=True)


class CompleteTaskSchema(Schema):
    data = fields.Dict(load_default=dict, metadata={"description": "Values of the task's form."})


class ReassignTaskSchema(Schema):
    user = fields.String(required=True, validate=validate.Length(min=1, max=64))


class TaskQuerySchema(PageSchema):
    scope = fields.String(load_default="mine", validate=validate.OneOf(TASK_SCOPES))
    process_id = fields.String()
    instance_id = id_field()
    status = fields.String(validate=validate.OneOf(TASK_STATUSES))
    overdue = fields.Boolean(load_default=False)
    due_before = fields.NaiveDateTime(timezone=timezone.utc)
