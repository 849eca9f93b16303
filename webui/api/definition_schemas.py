"""The API's JSON about process definitions: a deployed definition, the result of deploying a
file, the deploy body (BPMN documents and forms), and the query strings of the list, of a
version and of a raw XML upload."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from webui.api.schemas import FormSchema, id_field, timestamp_field

DEFAULT_ROLE_TEXT = "Role(s), comma separated, of user tasks with no lane, assignee or candidates (default admin)."


class DefinitionSchema(Schema):
    id = fields.Integer()
    process_id = fields.String()
    version = fields.Integer()
    name = fields.String()
    content_hash = fields.String()
    file = fields.String()
    deployed_at = timestamp_field()
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


class DeploySchema(Schema):
    files = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=255)), values=fields.String(),
                        required=True, validate=validate.Length(min=1), metadata={
                            "description": "BPMN documents: {file name: XML text}, e.g. {\"refund.bpmn\": \"<?xml …\"}."})
    forms = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=255)), values=fields.Dict(),
                        load_default=dict, metadata={
                            "description": "Forms (see forms/README.md): {file name: form}, e.g. {\"refund_start.json\": {…}}."})
    default_role = fields.String(load_default=None, validate=validate.Length(min=1, max=255),
                                 metadata={"description": DEFAULT_ROLE_TEXT})


class DefinitionQuerySchema(Schema):
    process_id = fields.String()


class VersionQuerySchema(Schema):
    version = id_field()


class UploadQuerySchema(Schema):
    filename = fields.String(load_default="upload.bpmn",
                             metadata={"description": "File name of a raw application/xml upload."})
    default_role = fields.String(load_default=None, validate=validate.Length(min=1, max=255),
                                 metadata={"description": DEFAULT_ROLE_TEXT})
