"""The API's JSON about process instances: an instance (with or without its open tasks) and its
history events, the bodies that start, cancel or signal one (a receive task without a message),
and the list's query string."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from engine import instances
from webui.api.schemas import PageSchema, id_field, timestamp_field
from webui.api.task_schemas import TaskSchema

INSTANCE_STATUSES = tuple(str(s) for s in instances.STATUSES)  # running, completed, cancelled, failed


class InstanceSummarySchema(Schema):
    id = fields.Integer()
    process_id = fields.String()
    version = fields.Integer()
    status = fields.String(validate=validate.OneOf(INSTANCE_STATUSES))
    business_key = fields.String(allow_none=True)
    data = fields.Dict()
    started_at = timestamp_field()
    started_by = fields.String()
    ended_at = timestamp_field()
    cancel_reason = fields.String(allow_none=True)
    error = fields.String(allow_none=True)


class WaitSchema(Schema):
    """One thing a running instance waits for (``engine.waits``); the keys beyond the first three depend on
    the kind."""
    kind = fields.String(validate=validate.OneOf(("task", "message", "timer", "external_task", "signal",
                                                  "incident")))
    element_id = fields.String(allow_none=True)
    element_name = fields.String(allow_none=True)
    message = fields.String(metadata={"description": "message: its name; incident: what failed."})
    correlation = fields.Dict(metadata={"description": "message: what POST /api/v1/messages names to reach it."})
    delivery = fields.Dict(metadata={"description": "message: a body of POST /api/v1/messages that delivers it."})
    due_at = timestamp_field()  # timer: when it fires
    topic = fields.String(metadata={"description": "external_task: the workers' topic."})
    worker_id = fields.String(allow_none=True, metadata={"description": "external_task: the worker locking it."})
    lock_expires_at = timestamp_field()
    retries = fields.Integer(allow_none=True)
    task_id = fields.Integer()
    incident_id = fields.Integer()


class InstanceSchema(InstanceSummarySchema):
    open_tasks = fields.List(fields.Nested(TaskSchema))
    waiting_for = fields.List(fields.Nested(WaitSchema), metadata={
        "description": "What the instance waits for: open tasks, messages, timers, external tasks, receive tasks "
                       "waiting for a signal, unresolved incidents."})


class HistoryEventSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    type = fields.String()
    actor = fields.String(metadata={"description": "A username or 'system'."})
    at = timestamp_field()
    element_id = fields.String(allow_none=True)
    task_id = fields.Integer(allow_none=True)
    data = fields.Dict()


class StartInstanceSchema(Schema):
    process_id = fields.String(required=True, validate=validate.Length(min=1, max=128))
    data = fields.Dict(load_default=dict, metadata={"description": "Values of the start form."})
    version = id_field(strict=True, allow_none=True, load_default=None,
                       metadata={"description": "A deployed version; the latest when left out."})


class CancelInstanceSchema(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=2000), metadata={
        "description": "Why: required, not blank (422 without one, nothing changed); kept in the operation log."})


class SignalInstanceSchema(Schema):
    element_id = fields.String(required=True, validate=validate.Length(min=1, max=255), metadata={
        "description": "The id of the receive task (without a message) that waits, as in the diagram."})
    data = fields.Dict(load_default=dict, metadata={"description": "Values that join the instance's data."})


class SignalInstanceReplySchema(Schema):
    instance_id = fields.Integer()
    element_id = fields.String(metadata={"description": "The receive task that moved on."})
    status = fields.String(validate=validate.OneOf(INSTANCE_STATUSES),
                           metadata={"description": "The instance's status once it waits again (or ended)."})


class InstanceQuerySchema(PageSchema):
    process_id = fields.String()
    status = fields.String(validate=validate.OneOf(INSTANCE_STATUSES))
    variables = fields.String(validate=validate.Length(max=2000), metadata={
        "description": "Only instances whose data match ALL of the comma-separated conditions "
                       "name_op_value (Camunda 7), op one of eq, neq, gt, gteq, lt, lteq, like; e.g. "
                       "order_no_eq_A1001,amount_gt_100. true/false are booleans, numbers compare numerically, "
                       "like takes % as the wildcard (case-insensitive); a backslash escapes a comma or an "
                       "underscore (\\, \\_). Top-level text, number and boolean variables only."})
