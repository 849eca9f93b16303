"""The API's JSON about messages and signals from outside: the bodies that send a message or
broadcast a signal, their replies, a kept or delivered message as the engine writes it, and the
message list's query string."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from engine.models import MessageStatus
from webui.api.schemas import PageSchema

LISTED_MESSAGE_STATUSES = tuple(str(s) for s in (MessageStatus.DELIVERED, MessageStatus.STARTED, MessageStatus.KEPT,
                                                 MessageStatus.EXPIRED))


class SendMessageSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=128),
                         metadata={"description": "The BPMN message name, e.g. return_parcel_received."})
    correlation = fields.Dict(load_default=dict, metadata={
        "description": "Values the waiting instance's data must have, e.g. {\"order_no\": \"A1001\"}."})
    data = fields.Dict(load_default=dict, metadata={"description": "Values that join the instance's data."})
    message_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=128), metadata={
        "description": "Idempotency key: the same message_id twice is delivered once."})
    business_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=256), metadata={
        "description": "Only instances with this business key (Camunda's processInstanceBusinessKey)."})
    all = fields.Boolean(load_default=False, metadata={
        "description": "Deliver to every catch event of an instance that waits for it (Camunda's correlateAll); "
                       "without it several waiting catch events in one instance are a 409."})


class MessageReplySchema(Schema):
    message_id = fields.String()
    status = fields.String(metadata={"description": "delivered | started | kept | duplicate"})
    instance_ids = fields.List(fields.Integer())
    first_status = fields.String(metadata={"description": "For a duplicate: what happened the first time."})


class MessageSchema(Schema):
    message_id = fields.String()
    name = fields.String()
    correlation = fields.Dict()
    data = fields.Dict()
    status = fields.String(metadata={"description": "delivered | started | kept | expired"})
    instance_ids = fields.List(fields.Integer())
    received_at = fields.String()
    expires_at = fields.String(allow_none=True)


class MessageQuerySchema(PageSchema):
    name = fields.String()
    status = fields.String(validate=validate.OneOf(LISTED_MESSAGE_STATUSES))


class SendSignalSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=128),
                         metadata={"description": "The BPMN signal name, e.g. recall_announced."})
    variables = fields.Dict(load_default=dict, metadata={
        "description": "Values that join the data of every instance the signal reaches or starts."})


class SignalReplySchema(Schema):
    name = fields.String()
    instance_ids = fields.List(fields.Integer(), metadata={"description": "Waiting instances the signal reached."})
    started_instance_ids = fields.List(fields.Integer(), metadata={"description": "Instances it started."})
