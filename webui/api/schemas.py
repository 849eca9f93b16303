"""The API's shared JSON pieces: the error body, the page query string, whole numbers, ids and
timestamps, the form a task or definition carries, and reading and writing a request.

``load_json``/``load_query`` read the current request through a schema and turn
marshmallow's complaints into ``engine.errors.ValidationError`` (HTTP 400, the
offending fields in ``details``); bodies are parsed by ``strict_input.parse_json``
(no NaN, 64-bit integers, no NUL or lone surrogates, 64 levels at most), and
every integer of a body or query string is a ``WholeNumber`` (``1.5`` is refused,
not cut to 1; 64 bits). The same classes feed the OpenAPI document.

The schemas of each noun live next door: ``task_schemas``, ``instance_schemas``,
``definition_schemas``, ``message_schemas`` (messages and signals), ``incident_schemas`` and
``external_task_schemas``. Responses: an entity (task, instance, definition, deployed file,
incident, message, history event) becomes JSON in the engine only (its row module's ``as_dict``);
the response schemas describe that JSON for the OpenAPI document. ``dump`` writes the bodies the
engine has no dict of (a bearer token, the reply to a message or a signal). ``TokenSchema`` and
``TokenRequestSchema`` are listed in the document's components only.
"""
from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, fields, validate
from marshmallow.exceptions import ValidationError as MarshmallowError

from engine import timestamps
from engine.errors import ValidationError
from webui.strict_input import ID_MAX, INT_MAX, INT_MIN, parse_json

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


def id_field(**options) -> fields.Field:
    """An id or version in a request: a positive INTEGER column value (at most 2^31-1)."""
    return WholeNumber(validate=validate.Range(min=1, max=ID_MAX), **options)


def timestamp_field(**options) -> fields.Field:
    """An ISO-8601 timestamp the engine already wrote as text (UTC with ``+00:00``, ``engine.timestamps``)."""
    return fields.String(allow_none=True, metadata={"format": "date-time"}, **options)


class UtcDateTime(fields.DateTime):
    """A stored (naive UTC) time a schema dumps itself: ISO 8601 UTC with ``+00:00`` like the engine's JSON."""

    def _serialize(self, value, attr, obj, **kwargs):
        return timestamps.iso(value)


# -- shared bodies ------------------------------------------------------------------------------

class ErrorSchema(Schema):
    error = fields.String(required=True, metadata={"description": "Machine-readable code, e.g. not_found."})
    message = fields.String(required=True, metadata={"description": "What went wrong and how to fix it."})
    details = fields.Raw(metadata={"description": "Field messages, or problems with file/line/element_id."})


class PageSchema(Schema):
    """``limit`` (1-500, default 100) and ``offset`` of a list."""

    limit = WholeNumber(load_default=100, validate=validate.Range(min=1, max=MAX_PAGE))
    offset = WholeNumber(load_default=0, validate=validate.Range(min=0))


class FormSchema(Schema):
    id = fields.String()
    title = fields.Dict(keys=fields.String(), values=fields.String())
    fields_ = fields.List(fields.Dict(), data_key="fields", attribute="fields",
                          metadata={"description": "Field descriptions, see forms/README.md."})


class TokenSchema(Schema):
    token = fields.String(required=True, metadata={"description": "Send as 'Authorization: Bearer <token>'."})
    label = fields.String()


class TokenRequestSchema(Schema):
    label = fields.String(load_default="", validate=validate.Length(max=128))


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
