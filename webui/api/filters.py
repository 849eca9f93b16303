"""Saved filters over the API: a user's named worklist queries (``engine.saved_filters``), their own only.

``GET /filters`` lists the caller's filters in tab order, ``POST /filters`` saves one (201; at most 20,
names unique per user), ``DELETE /filters/<id>`` deletes one of theirs (204; another user's is not found).
"""
from __future__ import annotations

from flask import Blueprint

from engine import saved_filters
from webui.api.credentials import current_user
from webui.api.filter_schemas import CreateFilterSchema, SavedFilterSchema
from webui.api.openapi import documented
from webui.api.schemas import load_json
from webui.db import get_session

bp = Blueprint("filters", __name__)


@bp.get("/filters")
@documented("My saved worklist filters, in tab order", "filters", response=SavedFilterSchema, many=True,
            errors=(401,))
def list_filters():
    session = get_session()
    return [saved_filters.as_dict(row) for row in saved_filters.list_filters(session, current_user())]


@bp.post("/filters")
@documented("Save a worklist query as a named filter (at most 20 per user)", "filters", body=CreateFilterSchema,
            response=SavedFilterSchema, status=201, errors=(400, 401, 403, 409))
def create_filter():
    body = load_json(CreateFilterSchema())
    session = get_session()
    row = saved_filters.create_filter(session, current_user(), body["name"], body["query"])
    return saved_filters.as_dict(row), 201


@bp.delete("/filters/<int:filter_id>")
@documented("Delete one of my saved filters", "filters", status=204, errors=(400, 401, 403, 404))
def delete_filter(filter_id: int):
    saved_filters.delete_filter(get_session(), current_user(), filter_id)
    return "", 204
