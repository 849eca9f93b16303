"""The API's JSON: marshmallow schemas of request bodies, query strings and responses.

``load_json``/``load_query`` read the current request through a schema and turn
marshmallow's complaints into ``engine.errors.ValidationError`` (HTTP 400, the
offending fields in ``details``); bodies are parsed by ``strict_input.parse_json``
(no NaN, 64-bit integers, no NUL or lone surrogates, 64 levels at most), and
every integer of a body or query string is a ``WholeNumber`` (``1.5`` is refused,
not cut to 1; 64 bits). The same classes feed the OpenAPI document.

Responses: an entity (task, instance, definition, deployed file, incident, message, history
event) becomes JSON in the engine only (its row module's ``as_dict``); the response schemas here
describe that JSON for the OpenAPI document. ``dump`` writes the two bodies the engine has no
dict of: a bearer token and the reply to a message.
"""
from __future__ import annotations

from datetime import timezone
from typing import Any

from flask import request
from marshmallow import Schema, fields, validate
from marshmallow.exceptions import ValidationError as MarshmallowError

from engine import instances, worklist
from engine.errors import ValidationError
from engine.models import IncidentStatus, MessageStatus, TaskStatus
from webui.strict_input import ID_MAX, INT_MAX, INT_MIN, parse_json

INSTANCE_STATUSES = tuple(str(s) for s in instances.STATUSES)  # running, completed, cancelled, failed
TASK_STATUSES = tuple(str(s) for s in TaskStatus)  # open, claimed, completed, cancelled
TASK_SCOPES = worklist.SCOPES  # mine, claimable, all
INCIDENT_STATUSES = tuple(str(s) for s in IncidentStatus)  # retrying, open, resolved
LISTED_MESSAGE_STATUSES = tuple(str(s) for s in (MessageStatus.DELIVERED, MessageStatus.STARTED, MessageStatus.KEPT,
                                                 MessageStatus.EXPIRED))
MAX_PAGE = 500


class WholeNumber(fields.Integer):
    """An integer within 64 bits: JSON integers (not ``1.5``, not ``true``) or, in a query string, digits."""

    def __init__(self, **options):
        bounds = validate.Range(min=INT_MIN, max=INT_MAX, error="Must be within 64 bits (-2^63 .. 2^63-1).")
        given = options.pop("validate", None)
        extra = list(given) if isinstance(given, (list, tuple)) else [given] if given else []
        super().__init__(validate=[bounds, *extra], **options)

    def _validated(self, value):
        if isinstance(value, float):
            raise self.make_error("invalid")
        return super()._validated(value)


def _id(**options) -> fields.Field:
    """An id or version in a request: a positive INTEGER column value (at most 2^31-1)."""
    return WholeNumber(validate=validate.Range(min=1, max=ID_MAX), **options)


def _timestamp(**options) -> fields.Field:
    """An ISO-8601 timestamp the engine already wrote as text (naive UTC)."""
    return fields.String(allow_none=True, metadata={"format": "date-time"}, **options)


# -- responses ---------------------------------------------------------------------------

class ErrorSchema(Schema):
    error = fields.String(required=True, metadata={"description": "Machine-readable code, e.g. not_found."})
    message = fields.String(required=True, metadata={"description": "What went wrong and how to fix it."})
    details = fields.Raw(metadata={"description": "Field messages, or problems with file/line/element_id."})


class TokenSchema(Schema):
    token = fields.String(required=True, metadata={"description": "Send as 'Authorization: Bearer <token>'."})
    label = fields.String()


class FormSchema(Schema):
    id = fields.String()
    title = fields.Dict(keys=fields.String(), values=fields.String())
    fields_ = fields.List(fields.Dict(), data_key="fields", attribute="fields",
                          metadata={"description": "Field descriptions, see forms/README.md."})


class TaskSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    process_id = fields.String()
    element_id = fields.String()
    name = fields.String()
    role = fields.String()
    status = fields.String(validate=validate.OneOf(TASK_STATUSES))
    assignee = fields.String(allow_none=True)
    created_at = _timestamp()
    claimed_at = _timestamp()
    completed_at = _timestamp()
    completed_by = fields.String(allow_none=True)
    due_at = _timestamp()
    form = fields.Nested(FormSchema, allow_none=True)


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
    at = _timestamp()
    element_id = fields.String(allow_none=True)
    task_id = fields.Integer(allow_none=True)
    data = fields.Dict()


class DefinitionSchema(Schema):
    id = fields.Integer()
    process_id = fields.String()
    version = fields.Integer()
    name = fields.String()
    content_hash = fields.String()
    file = fields.String()
    deployed_at = _timestamp()
    deployed_by = fields.String()
    start_form = fields.Nested(FormSchema, allow_none=True)


class DeployedSchema(Schema):
    process_id = fields.String()
    version = fields.Integer()
    status = fields.String(validate=validate.OneOf(("created", "unchanged")))
    file = fields.String()
    default_role_tasks = fields.List(fields.Dict(), metadata={
        "description": "User tasks with no lane, assignee or candidates, which went to the default role(s): "
                       "[{element_id, name, roles}] (left out when there are none)."})
    notes = fields.List(fields.Dict(), metadata={
        "description": "What the designer should know but does not refuse the file (an ignored data store, a "
                       "form that is not deployed…): [{file, line, element_id, message}] (left out when there are none)."})


# -- request bodies ---------------------------------------------------------------------------

class TokenRequestSchema(Schema):
    label = fields.String(load_default="", validate=validate.Length(max=128))


class StartInstanceSchema(Schema):
    process_id = fields.String(required=True, validate=validate.Length(min=1, max=128))
    data = fields.Dict(load_default=dict, metadata={"description": "Values of the start form."})
    version = _id(strict=True, allow_none=True, load_default=None,
                             metadata={"description": "A deployed version; the latest when left out."})


class CancelInstanceSchema(Schema):
    reason = fields.String(load_default="", metadata={"description": "Required by the engine."})


class SignalInstanceSchema(Schema):
    element_id = fields.String(required=True, validate=validate.Length(min=1, max=255), metadata={
        "description": "The id of the receive task (without a message) that waits, as in the diagram."})
    data = fields.Dict(load_default=dict, metadata={"description": "Values that join the instance's data."})


class SignalReplySchema(Schema):
    instance_id = fields.Integer()
    element_id = fields.String(metadata={"description": "The receive task that moved on."})
    status = fields.String(validate=validate.OneOf(INSTANCE_STATUSES),
                           metadata={"description": "The instance's status once it waits again (or ended)."})


class CompleteTaskSchema(Schema):
    data = fields.Dict(load_default=dict, metadata={"description": "Values of the task's form."})


class ReassignTaskSchema(Schema):
    user = fields.String(required=True, validate=validate.Length(min=1, max=64))


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


class SendSignalSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=128),
                         metadata={"description": "The BPMN signal name, e.g. recall_announced."})
    variables = fields.Dict(load_default=dict, metadata={
        "description": "Values that join the data of every instance the signal reaches or starts."})


class SignalReplySchema(Schema):
    name = fields.String()
    instance_ids = fields.List(fields.Integer(), metadata={"description": "Waiting instances the signal reached."})
    started_instance_ids = fields.List(fields.Integer(), metadata={"description": "Instances it started."})


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


# -- query strings --------------------------------------------------------------------------------

class PageSchema(Schema):
    """``limit`` (1-500, default 100) and ``offset`` of a list."""

    limit = WholeNumber(load_default=100, validate=validate.Range(min=1, max=MAX_PAGE))
    offset = WholeNumber(load_default=0, validate=validate.Range(min=0))


class InstanceQuerySchema(PageSchema):
    process_id = fields.String()
    status = fields.String(validate=validate.OneOf(INSTANCE_STATUSES))


class TaskQuerySchema(PageSchema):
    scope = fields.String(load_default="mine", validate=validate.OneOf(TASK_SCOPES))
    process_id = fields.String()
    instance_id = _id()
    status = fields.String(validate=validate.OneOf(TASK_STATUSES))
    overdue = fields.Boolean(load_default=False)
    due_before = fields.NaiveDateTime(timezone=timezone.utc)


class IncidentSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    process_id = fields.String()
    element_id = fields.String(allow_none=True)
    message = fields.String()
    attempts = fields.Integer()
    status = fields.String(metadata={"description": "retrying | open | resolved"})
    created_at = fields.String()
    updated_at = fields.String()
    next_retry_at = fields.String(allow_none=True)
    resolved_at = fields.String(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)


class ResolveIncidentSchema(Schema):
    comment = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class IncidentQuerySchema(PageSchema):
    status = fields.String(validate=validate.OneOf(INCIDENT_STATUSES))
    instance_id = _id()


class MessageQuerySchema(PageSchema):
    name = fields.String()
    status = fields.String(validate=validate.OneOf(LISTED_MESSAGE_STATUSES))


class DefinitionQuerySchema(Schema):
    process_id = fields.String()


class VersionQuerySchema(Schema):
    version = _id()


class DeploySchema(Schema):
    files = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=255)), values=fields.String(),
                        required=True, validate=validate.Length(min=1), metadata={
                            "description": "BPMN documents: {file name: XML text}, e.g. {\"refund.bpmn\": \"<?xml …\"}."})
    forms = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=255)), values=fields.Dict(),
                        load_default=dict, metadata={
                            "description": "Forms (see forms/README.md): {file name: form}, e.g. {\"refund_start.json\": {…}}."})
    default_role = fields.String(load_default=None, validate=validate.Length(min=1, max=255), metadata={
        "description": "Role(s), comma separated, of user tasks with no lane, assignee or candidates (default admin)."})


class UploadQuerySchema(Schema):
    filename = fields.String(load_default="upload.bpmn",
                             metadata={"description": "File name of a raw application/xml upload."})
    default_role = fields.String(load_default=None, validate=validate.Length(min=1, max=255), metadata={
        "description": "Role(s), comma separated, of user tasks with no lane, assignee or candidates (default admin)."})


# -- reading and writing ---------------------------------------------------------------------------

def load_json(schema: Schema) -> dict[str, Any]:
    """The request's JSON body checked by ``schema``; an empty body counts as ``{}``."""
    raw = request.get_data(cache=True)
    body = parse_json(raw) if raw.strip() else {}
    return _load(schema, body, "request body")


def load_query(schema: Schema) -> dict[str, Any]:
    return _load(schema, request.args.to_dict(flat=True), "query string")


def _load(schema: Schema, value: Any, where: str) -> dict[str, Any]:
    try:
        return schema.load(value)
    except MarshmallowError as exc:
        messages = exc.normalized_messages()
        names = ", ".join(sorted(str(k) for k in messages)) if isinstance(messages, dict) else where
        raise ValidationError(f"The {where} is not accepted: correct {names} (see details).", messages) from None


def dump(schema: Schema, value: Any) -> Any:
    return schema.dump(value)


# -- external tasks (Camunda 7's external task service) ----------------------------------------

_MS = dict(validate=validate.Range(min=0, max=ID_MAX))
_WORKER = dict(required=True, validate=validate.Length(min=1, max=128),
               metadata={"description": "The worker's id; only the worker holding a lock may report on the task."})


class TopicSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=128))
    lock_duration_ms = WholeNumber(required=True, validate=validate.Range(min=1, max=ID_MAX), metadata={
        "description": "How long the tasks fetched stay locked for this worker."})
    variables = fields.List(fields.String(), load_default=None, allow_none=True, metadata={
        "description": "The variables to return (all when left out)."})


class FetchAndLockSchema(Schema):
    worker_id = fields.String(**_WORKER)
    max_tasks = WholeNumber(required=True, validate=validate.Range(min=1, max=MAX_PAGE))
    topics = fields.List(fields.Nested(TopicSchema), required=True, validate=validate.Length(min=1, max=50))


class CompleteExternalTaskSchema(Schema):
    worker_id = fields.String(**_WORKER)
    variables = fields.Dict(load_default=dict, metadata={"description": "Values that join the instance's data."})


class ExternalTaskFailureSchema(Schema):
    worker_id = fields.String(**_WORKER)
    error_message = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    error_details = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100_000))
    retries = WholeNumber(required=True, validate=validate.Range(min=0, max=1000), metadata={
        "description": "Retries left; 0 opens an incident on the task's element."})
    retry_timeout_ms = WholeNumber(load_default=0, **_MS, metadata={
        "description": "The task is not fetched again before this many milliseconds."})


class BpmnErrorSchema(Schema):
    worker_id = fields.String(**_WORKER)
    error_code = fields.String(required=True, validate=validate.Length(min=1, max=255))
    error_message = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))
    variables = fields.Dict(load_default=dict)


class ExtendLockSchema(Schema):
    worker_id = fields.String(**_WORKER)
    new_duration_ms = WholeNumber(required=True, validate=validate.Range(min=1, max=ID_MAX))


class ExternalTaskQuerySchema(PageSchema):
    topic = fields.String()
    instance_id = _id()
    locked = fields.Boolean()


class ExternalTaskSchema(Schema):
    id = fields.Integer()
    topic = fields.String()
    worker_id = fields.String(allow_none=True)
    lock_expires_at = fields.String(allow_none=True)
    instance_id = fields.Integer()
    process_id = fields.String()
    element_id = fields.String()
    business_key = fields.String(allow_none=True)
    retries = fields.Integer(allow_none=True)
    priority = fields.Integer()
    status = fields.String(metadata={"description": "open | failed"})
    error_message = fields.String(allow_none=True)
    error_details = fields.String(allow_none=True)
    available_at = fields.String(allow_none=True)
    created_at = fields.String()
    variables = fields.Dict()


class ExternalTaskOutcomeSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    status = fields.String(metadata={"description": "completed | error_caught | incident"})
