"""The API's JSON about external tasks (Camunda 7's external task service): the bodies a worker
sends to fetch and lock tasks by topic, complete them, report a failure or a BPMN error, or extend
a lock; an external task as the engine writes it, the outcome of a report, and the list's query
string."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from webui.api.schemas import MAX_PAGE, PageSchema, WholeNumber, id_field
from webui.strict_input import ID_MAX

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
    instance_id = id_field()
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
