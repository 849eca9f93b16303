"""Deployed process definitions: list, read, BPMN XML, and upload (admins and designers).

An upload is checked exactly like ``liucheng deploy``: all files or none, a new
version only when the content changed, problems naming file, line and element.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, request

from engine import definitions
from engine.errors import PermissionDeniedError, ValidationError
from engine import forms as forms_module
from webui.api_openapi import documented
from webui.auth import current_user
from webui.db import get_session
from webui.schemas import (
    DefinitionQuerySchema, DefinitionSchema, DeployedSchema, UploadQuerySchema, VersionQuerySchema, dump,
    load_query,
)

definitions_bp = Blueprint("definitions", __name__)
XML_TYPES = ("application/xml", "text/xml")
UPLOAD_BODY = {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "array", "items": {"type": "string", "format": "binary"},
                 "description": "BPMN files (repeat the field for several)."},
        "form": {"type": "array", "items": {"type": "string", "format": "binary"},
                 "description": "Form JSON files (see forms/README.md), named <form id>.json."}}}},
    "application/xml": {"schema": {"type": "string", "description": "One BPMN document; name it with ?filename=."}},
}}
XML_CONTENT = {"application/xml": {"schema": {"type": "string"}}}


@definitions_bp.get("/definitions")
@documented("List deployed definitions, every version, newest first per process", "definitions",
            query=DefinitionQuerySchema, response=DefinitionSchema, many=True, errors=(400, 401))
def list_definitions():
    process_id = load_query(DefinitionQuerySchema()).get("process_id")
    rows = [row for row in definitions.list_definitions(get_session())
            if process_id is None or row.process_id == process_id]
    return dump(DefinitionSchema(many=True), [definitions.as_dict(row) for row in rows])


@definitions_bp.get("/definitions/<process_id>")
@documented("One definition: the latest version, or ?version=", "definitions", query=VersionQuerySchema,
            response=DefinitionSchema)
def get_definition(process_id: str):
    version = load_query(VersionQuerySchema()).get("version")
    row = definitions.get_definition(get_session(), process_id, version)
    return dump(DefinitionSchema(), definitions.as_dict(row))


@definitions_bp.get("/definitions/<process_id>/xml")
@documented("The BPMN XML of a definition (latest, or ?version=), e.g. to draw the diagram", "definitions",
            query=VersionQuerySchema, response_content=XML_CONTENT)
def definition_xml(process_id: str):
    version = load_query(VersionQuerySchema()).get("version")
    row = definitions.get_definition(get_session(), process_id, version)
    return Response(row.bpmn_xml, mimetype="application/xml")


@definitions_bp.post("/definitions")
@documented("Deploy BPMN files and forms (admins and designers); all or nothing", "definitions",
            query=UploadQuerySchema, request_body=UPLOAD_BODY, response=DeployedSchema, many=True, status=201,
            errors=(400, 401, 403, 422))
def deploy_definitions():
    actor = current_user()
    if not actor.roles & {"admin", "designer"}:
        raise PermissionDeniedError("Only an admin or a designer may deploy definitions.")
    documents, forms = uploaded_files()
    deployed = definitions.deploy(get_session(), documents, forms, actor.username)
    return dump(DeployedSchema(many=True), [d.as_dict() for d in deployed]), 201


# -- reading the upload -----------------------------------------------------------------------

def uploaded_files() -> tuple[dict[str, bytes], dict[str, dict]]:
    """The BPMN documents ``{file name: bytes}`` and the forms ``{form id: form}`` of the request."""
    if request.mimetype in XML_TYPES:
        name = Path(load_query(UploadQuerySchema())["filename"]).name
        documents = {name: request.get_data()} if request.get_data().strip() else {}
        forms: dict[str, dict] = {}
    elif request.mimetype == "multipart/form-data":
        documents = files_of("file")
        forms = forms_module.read_forms(files_of("form"))
    else:
        raise ValidationError("Upload BPMN as multipart/form-data (field 'file', forms in field 'form') or as "
                              "a raw body with Content-Type: application/xml.", {"_body": ["Unsupported type."]})
    if not documents:
        raise ValidationError("No BPMN file in the request: send at least one in the field 'file'.",
                              {"file": ["Missing data for required field."]})
    return documents, forms


def files_of(field: str) -> dict[str, bytes]:
    result: dict[str, bytes] = {}
    for upload in request.files.getlist(field):
        name = Path(upload.filename or f"{field}.upload").name
        if name in result:
            raise ValidationError(f"Two files are named '{name}'; give each file its own name.",
                                  {field: [f"Duplicate file name {name}."]})
        result[name] = upload.read()
    return result


