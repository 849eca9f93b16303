"""The API's JSON about saved filters: a filter as the engine writes it and the body that saves one
(its query keys are the worklist's, checked by ``engine.saved_filters``)."""
from __future__ import annotations

from marshmallow import Schema, fields

from engine import saved_filters
from webui.api.schemas import timestamp_field

QUERY_KEYS = ", ".join(saved_filters.QUERY_KEYS)


class SavedFilterSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    query = fields.Dict(metadata={"description": f"Worklist query keys: {QUERY_KEYS}."})
    position = fields.Integer(metadata={"description": "Tabs are shown in this order."})
    created_at = timestamp_field()


class CreateFilterSchema(Schema):
    name = fields.Raw(required=True, metadata={"description": "1 to 60 characters, unique among your filters."})
    query = fields.Raw(load_default=dict, metadata={
        "description": f"A JSON object of worklist query keys: {QUERY_KEYS}."})
