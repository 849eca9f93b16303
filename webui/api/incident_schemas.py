"""The API's JSON about incidents (a failed step waiting for a person): an incident as the engine
writes it, the bodies that retry one (an optional reason) and resolve one (a required comment), and the list's query string
(status, instance)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from engine.models import IncidentStatus
from webui.api.schemas import PageSchema, id_field

INCIDENT_STATUSES = tuple(str(s) for s in IncidentStatus)  # retrying, open, resolved


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


class RetryIncidentSchema(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000), metadata={
        "description": "Why the step is run again (optional; kept in the operation log)."})


class ResolveIncidentSchema(Schema):
    comment = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class IncidentQuerySchema(PageSchema):
    status = fields.String(validate=validate.OneOf(INCIDENT_STATUSES))
    instance_id = id_field()
