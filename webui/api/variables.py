"""An instance's variables over the API (issue 15 item 5): one variable's history, and an admin's edit.

* ``GET /api/v1/instances/<id>/variables/<name>/history``: who may read the instance reads every change of
  the variable, oldest first (``engine.variable_history``: old and new value, who or which element, when,
  the source); a variable never changed has an empty list. 404 for an unknown instance.
* ``PUT /api/v1/instances/<id>/variables/<name>`` ``{"value", "reason"}``: admins change a running instance's
  variable (``engine.runtime.variables``): 403 for others, 404 unknown instance, 409 an instance that ended,
  422 without a reason, for a value its form refuses (naming the field) or a variable nothing declares.
"""
from __future__ import annotations

from flask import Blueprint
from marshmallow import Schema, fields, validate

from engine import runtime, variable_history
from engine.runtime.variables import check_may_edit
from webui.api.credentials import current_user
from webui.api.instances import readable_instance
from webui.api.openapi import documented
from webui.api.schemas import load_json
from webui.db import get_session

bp = Blueprint("variables", __name__)
NAME = "<string(maxlength=128):name>"


class VariableChangeSchema(Schema):
    at = fields.String(metadata={"format": "date-time"})
    actor = fields.String(metadata={"description": "Who changed it (login id), or system for the engine."})
    element_id = fields.String(allow_none=True, metadata={"description": "The element of the step that changed it."})
    task_id = fields.Integer(allow_none=True, metadata={"description": "The human task whose form changed it."})
    source = fields.String(metadata={
        "description": "start_form, task_form, script, message, signal, external_task, timer, incident_retry, "
                       "admin_edit or engine (call activities, multi-instance and other steps of the engine)."})
    old = fields.Raw(allow_none=True, metadata={"description": "The value before (JSON; null when added)."})
    new = fields.Raw(allow_none=True, metadata={"description": "The value after (JSON; absent when removed)."})
    added = fields.Boolean(metadata={"description": "True when the variable did not exist before."})
    removed = fields.Boolean(metadata={"description": "True when the change removed the variable."})
    event_id = fields.Integer(metadata={"description": "The variables_changed history event (its place in the chain)."})


class VariableHistorySchema(Schema):
    name = fields.String()
    changes = fields.List(fields.Nested(VariableChangeSchema))


class EditVariableSchema(Schema):
    value = fields.Raw(required=True, allow_none=True, metadata={
        "description": "The new value, as the variable's form field takes it (e.g. \"12.50\" for money)."})
    reason = fields.String(load_default="", validate=validate.Length(max=2000), metadata={
        "description": "Why (required: the operation log keeps it)."})


class EditedVariableSchema(Schema):
    instance_id = fields.Integer()
    name = fields.String()
    value = fields.Raw(allow_none=True, metadata={"description": "The value now (JSON)."})
    old = fields.Raw(allow_none=True, metadata={"description": "The value before (JSON)."})
    changed = fields.Boolean(metadata={"description": "False when the value was already that (nothing recorded)."})


@bp.get(f"/instances/<int:instance_id>/variables/{NAME}/history")
@documented("One variable's changes, oldest first: old and new value, who or which element, when", "instances",
            response=VariableHistorySchema, errors=(401, 403, 404))
def variable_changes(instance_id: int, name: str):
    session = get_session()
    readable_instance(session, instance_id)
    return {"name": name, "changes": [variable_history.as_dict(change)
                                      for change in variable_history.changes_of(session, instance_id, name)]}


@bp.put(f"/instances/<int:instance_id>/variables/{NAME}")
@documented("Change a running instance's variable with a reason (admins; the value is checked by the form "
            "that owns the variable)", "instances", body=EditVariableSchema, response=EditedVariableSchema,
            errors=(400, 401, 403, 404, 409, 422))
def edit_variable(instance_id: int, name: str):
    check_may_edit(current_user())  # before reading the body: a refused caller learns 403, not 400
    body = load_json(EditVariableSchema())
    return runtime.edit_variable(get_session(), instance_id, name, body["value"], body["reason"], current_user())
