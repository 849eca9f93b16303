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
    started_at = fields.DateTime()
    started_by = fields.String()
    ended_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    error = fields.String(allow_none=True)


class InstanceSchema(InstanceSummarySchema):
    open_tasks = fields.List(fields.Nested(TaskSchema))


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
    reason = fields.String(load_default="", metadata={"description": "Required by the engine."})


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
