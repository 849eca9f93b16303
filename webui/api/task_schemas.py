"""The API's JSON about human tasks: a task as the engine writes it, the bodies that complete, reassign
(with its required reason), unclaim, delegate, resolve, prioritize or claim (several) tasks, and the
worklist's query string (scope, process, role, instance, status, due dates, priority, follow-up, sort)."""
from __future__ import annotations

from datetime import timezone

from marshmallow import Schema, fields, validate

from engine import task_listing, worklist
from engine.models import TaskStatus
from webui.api.schemas import FormSchema, PageSchema, WholeNumber, id_field, timestamp_field

TASK_STATUSES = tuple(str(s) for s in TaskStatus)  # open, claimed, completed, cancelled
TASK_SCOPES = task_listing.SCOPES  # mine, claimable, delegated, all
BULK_CLAIM = 100


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
    owner = fields.String(allow_none=True, metadata={
        "description": "Who keeps the task while a delegate holds it (Camunda's owner)."})
    delegation = fields.String(allow_none=True, validate=validate.OneOf(("pending", "resolved")), metadata={
        "description": "pending: a delegate holds it and must resolve it; resolved: back with its owner."})
    priority = fields.Integer(metadata={"description": "0-100, 50 by default (camunda:priority)."})
    follow_up = fields.Date(allow_none=True, metadata={"description": "Follow-up date (camunda:followUpDate)."})
    draft = fields.Dict(allow_none=True, metadata={"description": "Values the delegate entered on resolving."})
    completes_without_input = fields.Boolean(metadata={
        "description": "The form has no field at all: it may be completed in one click."})


class CompleteTaskSchema(Schema):
    data = fields.Dict(load_default=dict, metadata={"description": "Values of the task's form."})


REASON = {"description": "Why (kept in the operation log with who did it and when)."}


class ReassignTaskSchema(Schema):
    user = fields.String(required=True, validate=validate.Length(min=1, max=64))
    reason = fields.String(load_default="", validate=validate.Length(max=2000), metadata={
        "description": "Why the task changes hands: required, not blank (422 without one, nothing changed); "
                       "kept in the operation log."})


class UnclaimTaskSchema(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000), metadata={
        "description": "Why, when a supervisor or an admin gives back someone else's task (optional; kept in "
                       "the operation log)."})


class DelegateTaskSchema(Schema):
    user = fields.String(required=True, validate=validate.Length(min=1, max=64),
                         metadata={"description": "The delegate: any active user who works on tasks."})
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000), metadata=REASON)


class ResolveTaskSchema(Schema):
    data = fields.Raw(load_default=None, metadata={
        "description": "Values of the task's form (any part of it), kept as the task's draft for its owner."})


class PrioritizeTaskSchema(Schema):
    priority = fields.Raw(allow_none=True, metadata={"description": "A whole number 0-100."})
    follow_up = fields.Raw(allow_none=True, metadata={"description": "A date YYYY-MM-DD, or null to clear it."})


class ClaimTasksSchema(Schema):
    task_ids = fields.List(id_field(), required=True, validate=validate.Length(min=1, max=BULK_CLAIM))


class RefusedClaimSchema(Schema):
    id = fields.Integer()
    error = fields.String()
    message = fields.String()


class ClaimedTasksSchema(Schema):
    claimed = fields.List(fields.Integer())
    refused = fields.List(fields.Nested(RefusedClaimSchema))


class TaskQuerySchema(PageSchema):
    scope = fields.String(load_default="mine", validate=validate.OneOf(TASK_SCOPES))
    process_id = fields.String()
    instance_id = id_field()
    status = fields.String(validate=validate.OneOf(TASK_STATUSES))
    overdue = fields.Boolean(load_default=False)
    due_before = fields.NaiveDateTime(timezone=timezone.utc)
    role = fields.String(validate=validate.Length(max=64))
    min_priority = WholeNumber(validate=validate.Range(min=0, max=100), metadata={
        "description": "Only tasks of at least this priority (Camunda's minPriority)."})
    follow_up = fields.String(validate=validate.OneOf(worklist.FOLLOW_UPS), metadata={
        "description": "due: follow-up date today or earlier; current: none, or today or earlier (hides the "
                       "tasks to follow up later, Camunda's followUpBeforeOrNotExistent)."})
    sort = fields.String(load_default="due", validate=validate.OneOf(worklist.SORTS), metadata={
        "description": "due (default), -due, created (newest first), priority, -priority (highest first), "
                       "follow_up, -follow_up; '-' is descending."})
    variables = fields.String(validate=validate.Length(max=2000), metadata={
        "description": "Only tasks whose instance's data match ALL of the comma-separated conditions "
                       "name_op_value (Camunda 7), op one of eq, neq, gt, gteq, lt, lteq, like; e.g. "
                       "order_no_eq_A1001,amount_gt_100. true/false are booleans, numbers compare numerically, "
                       "like takes % as the wildcard (case-insensitive); a backslash escapes a comma or an "
                       "underscore (\\, \\_). Top-level text, number and boolean variables only."})
