"""The operation log over the API: ``GET /api/v1/operations``, the administrative actions (reassign, cancel,
incident retry, deploy, user and role changes, tokens, variable edits…) newest first, filtered by who, what,
on which entity and when; paged with ``limit``/``offset`` like every list.

Auditors and admins only (``engine.operation_log.check_may_audit``; supervisors read instances, not the log).
``since`` and ``until`` are ISO 8601 times, with an offset (converted to UTC) or without one (read as UTC);
``since`` is inclusive, ``until`` exclusive. An operation becomes JSON through ``engine.operation_log.as_dict``.
"""
from __future__ import annotations

from datetime import timezone

from flask import Blueprint
from marshmallow import Schema, fields, validate

from engine import operation_log
from webui.api.credentials import current_user
from webui.api.openapi import documented
from webui.api.schemas import PageSchema, id_field, load_query
from webui.db import get_session

bp = Blueprint("operations", __name__)


class OperationQuerySchema(PageSchema):
    actor = fields.String(validate=validate.Length(max=64), metadata={"description": "Who did it (login id)."})
    operation = fields.String(validate=validate.Length(max=48), metadata={
        "description": "One of " + ", ".join(o.name for o in operation_log.OPERATIONS) + " (others may appear)."})
    entity_type = fields.String(validate=validate.Length(max=32), metadata={
        "description": "What it was done to: " + ", ".join(e.name for e in operation_log.ENTITY_TYPES) + "."})
    entity_id = fields.String(validate=validate.Length(max=128))
    since = fields.NaiveDateTime(timezone=timezone.utc, metadata={
        "description": "At or after this time (ISO 8601; an offset is converted, none means UTC)."})
    until = fields.NaiveDateTime(timezone=timezone.utc, metadata={
        "description": "Before this time (ISO 8601; an offset is converted, none means UTC)."})
    instance_id = id_field()


class OperationSchema(Schema):
    id = fields.Integer(metadata={"description": "The history event's id (its place in the hash chain)."})
    at = fields.String(metadata={"format": "date-time"})
    actor = fields.String()
    operation = fields.String()
    entity_type = fields.String()
    entity_id = fields.String(allow_none=True)
    property = fields.String(allow_none=True, metadata={"description": "What changed, when one thing did."})
    old = fields.Raw(allow_none=True, metadata={"description": "The value before (JSON)."})
    new = fields.Raw(allow_none=True, metadata={"description": "The value after (JSON)."})
    reason = fields.String(allow_none=True)
    instance_id = fields.Integer(allow_none=True)
    details = fields.Dict(metadata={"description": "Anything else the operation recorded."})


@bp.get("/operations")
@documented("The operation log: administrative actions with old and new values and the reason, newest first "
            "(auditors and admins)", "audit", query=OperationQuerySchema, response=OperationSchema, many=True,
            errors=(400, 401, 403))
def list_operations():
    operation_log.check_may_audit(current_user())  # before reading the query: a refused caller learns 403
    query = load_query(OperationQuerySchema())
    found = operation_log.search(query.get("actor"), query.get("operation"), query.get("entity_type"),
                                 query.get("entity_id"), query.get("since"), query.get("until"),
                                 query.get("instance_id"))
    rows = get_session().scalars(found.limit(query["limit"]).offset(query["offset"]))
    return [operation_log.as_dict(row) for row in rows]
