"""Deployed process definitions: list, read, BPMN XML, and upload (admins and designers).

An upload is checked exactly like ``liucheng deploy``: all files or none, a new
version only when the content changed, problems naming file, line and element.
It comes as JSON (``{"files": {name: XML}, "forms": {name: form}}``) or as one
raw BPMN document (``application/xml``, a type no cross-site form can send);
not as multipart/form-data, which any web page could post. The XML is served
as a download (``application/octet-stream``, attachment), never as a document
the browser would render in the app's origin. A definition becomes JSON through
``engine.definitions.as_dict``, a deployed file through ``Deployed.as_dict``.
"""
from __future__ import annotations

import json
from typing import Optional
from pathlib import Path

from flask import Blueprint, Response, request

from engine import access, definitions, runtime
from engine import forms as forms_module
from engine.errors import ValidationError
from webui.api.credentials import current_user
from webui.api.definition_schemas import (
    DefinitionQuerySchema, DefinitionSchema, DeployedSchema, DeploySchema, UploadQuerySchema, VersionQuerySchema,
)
from webui.api.openapi import documented
from webui.api.schemas import load_json, load_query
from webui.db import get_session

bp = Blueprint("definitions", __name__)
XML_TYPES = ("application/xml", "text/xml")
UPLOAD_BODY = {"required": True, "content": {
    "application/json": {"schema": "Deploy"},
    "application/xml": {"schema": {"type": "string", "description": "One BPMN document; name it with ?filename=."}},
}}
XML_CONTENT = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}


@bp.get("/definitions")
@documented("List deployed definitions, every version, newest first per process", "definitions",
            query=DefinitionQuerySchema, response=DefinitionSchema, many=True, errors=(400, 401))
def list_definitions():
    process_id = load_query(DefinitionQuerySchema()).get("process_id")
    rows = [row for row in definitions.list_definitions(get_session())
            if process_id is None or row.process_id == process_id]
    return [definitions.as_dict(row) for row in rows]


@bp.get("/definitions/<process_id>")
@documented("One definition: the latest version, or ?version=", "definitions", query=VersionQuerySchema,
            response=DefinitionSchema)
def get_definition(process_id: str):
    version = load_query(VersionQuerySchema()).get("version")
    row = definitions.get_definition(get_session(), process_id, version)
    return definitions.as_dict(row)


@bp.get("/definitions/<process_id>/xml")
@documented("The BPMN XML of a definition (latest, or ?version=), e.g. to draw the diagram", "definitions",
            query=VersionQuerySchema, response_content=XML_CONTENT)
def definition_xml(process_id: str):
    version = load_query(VersionQuerySchema()).get("version")
    row = definitions.get_definition(get_session(), process_id, version)
    return download(row.bpmn_xml, f"{process_id}-v{row.version}.bpmn")


def download(content: str, filename: str) -> Response:
    """``content`` as a file to save, which no browser renders (so no script in it runs on this site)."""
    response = Response(content.encode("utf-8"), mimetype="application/octet-stream")
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    return response


@bp.post("/definitions")
@documented("Deploy BPMN files and forms (admins and designers); all or nothing", "definitions",
            query=UploadQuerySchema, request_body=UPLOAD_BODY, response=DeployedSchema, many=True, status=201,
            errors=(400, 401, 403, 422))
def deploy_definitions():
    actor = current_user()
    access.check_may_deploy(actor)
    documents, forms, default_role = uploaded_files()
    deployed = runtime.deploy_definitions(get_session(), documents, forms, actor.username, default_role)
    return [d.as_dict() for d in deployed], 201


# -- reading the upload -----------------------------------------------------------------------

def uploaded_files() -> tuple[dict[str, bytes], dict[str, dict], Optional[str]]:
    """The BPMN documents ``{file name: bytes}``, the forms ``{form id: form}`` and the default role
    (query ``default_role`` of an XML upload, or the JSON body's) of the request."""
    if request.mimetype in XML_TYPES:
        query = load_query(UploadQuerySchema())
        name, default_role = Path(query["filename"]).name, query["default_role"]
        documents = {name: request.get_data()} if request.get_data().strip() else {}
        forms: dict[str, dict] = {}
    else:
        body = load_json(DeploySchema())
        default_role = body["default_role"]
        documents = named(body["files"], "files", lambda text: text.encode("utf-8"))
        camunda_forms = {name: documents.pop(name) for name in list(documents) if name.lower().endswith(".form")}
        forms = forms_module.read_forms({**named(body["forms"], "forms", lambda form: json.dumps(form).encode()),
                                         **camunda_forms})
    if not documents:
        raise ValidationError("No BPMN file in the request: send at least one in 'files' (JSON) or as the "
                              "application/xml body.", {"files": ["Missing data for required field."]})
    return documents, forms, default_role


def named(files: dict, field: str, content) -> dict[str, bytes]:
    """``{base name: bytes}`` of ``files``; two entries with one base name are refused."""
    result: dict[str, bytes] = {}
    for path, value in files.items():
        name = Path(path).name or f"{field}.upload"
        if name in result:
            raise ValidationError(f"Two files are named '{name}'; give each file its own name.",
                                  {field: [f"Duplicate file name {name}."]})
        result[name] = content(value)
    return result
