"""The OpenAPI 3 document of the API, generated from the routes and their schemas, and its route.

Every API view carries a ``Doc`` (set with ``@documented``): summary, request
body, query and response schemas, status and error codes (415 is added to every
changing method, 429 and 503 to every non-public one). ``build_spec`` walks the app's URL
map, so a route cannot be served without being described.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, jsonify
from werkzeug.routing import Rule

from webui.api import (definition_schemas, incident_schemas, instance_schemas, message_schemas, schemas,
                       task_schemas)

API_PREFIX = "/api/v1"
CACHE_KEY = "liucheng_openapi"
ERROR_TEXT = {400: "Malformed request (fields in details)", 401: "Missing or wrong credentials",
              403: "Not allowed for your roles", 404: "No such resource", 409: "Changed by someone else",
              413: "Upload larger than LIUCHENG_MAX_UPLOAD_MB (default 20 MB)",
              415: "Body not application/json", 422: "Data or definition rejected (details per field / problem)",
              429: "Too many failed sign-ins; try again after Retry-After seconds",
              503: "Database unreachable; try again after Retry-After seconds"}
CHANGING_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
SECURITY = [{"basicAuth": []}, {"bearerAuth": []}]
COMPONENT_SCHEMAS = {
    "Error": schemas.ErrorSchema, "Token": schemas.TokenSchema, "TokenRequest": schemas.TokenRequestSchema,
    "Form": schemas.FormSchema, "Task": task_schemas.TaskSchema, "Instance": instance_schemas.InstanceSchema,
    "InstanceSummary": instance_schemas.InstanceSummarySchema, "HistoryEvent": instance_schemas.HistoryEventSchema,
    "Definition": definition_schemas.DefinitionSchema, "Deployed": definition_schemas.DeployedSchema,
    "StartInstance": instance_schemas.StartInstanceSchema, "CancelInstance": instance_schemas.CancelInstanceSchema,
    "CompleteTask": task_schemas.CompleteTaskSchema, "ReassignTask": task_schemas.ReassignTaskSchema,
    "SendMessage": message_schemas.SendMessageSchema, "MessageReply": message_schemas.MessageReplySchema,
    "Message": message_schemas.MessageSchema, "Incident": incident_schemas.IncidentSchema,
    "ResolveIncident": incident_schemas.ResolveIncidentSchema, "Deploy": definition_schemas.DeploySchema,
}
PATH_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


@dataclass
class Doc:
    summary: str
    tag: str
    body: Optional[type] = None
    query: Optional[type] = None
    response: Optional[type] = None
    many: bool = False
    status: int = 200
    errors: tuple[int, ...] = (400, 401, 403, 404)
    public: bool = False
    request_body: Optional[dict] = None
    response_content: Optional[dict] = None
    extra: dict[str, Any] = field(default_factory=dict)


def documented(summary: str, tag: str, **options: Any) -> Callable:
    """Attach a ``Doc`` to a view; ``public=True`` also means no credentials are asked."""
    def mark(view: Callable) -> Callable:
        view.openapi = Doc(summary, tag, **options)
        return view
    return mark


def build_spec(app: Flask) -> dict:
    spec = APISpec(title="Liucheng API", version="1", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Deploy BPMN processes, run instances, work on human tasks, "
                                        "read history. JSON only; errors are {error, message, details}."})
    spec.components.security_scheme("basicAuth", {"type": "http", "scheme": "basic"})
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for name, schema in COMPONENT_SCHEMAS.items():
        spec.components.schema(name, schema=schema)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        doc = getattr(app.view_functions.get(rule.endpoint), "openapi", None)
        if doc is None or not rule.rule.startswith(API_PREFIX):
            continue
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        spec.path(path=openapi_path(rule), operations={m.lower(): operation(rule, doc, m) for m in methods})
    return spec.to_dict()


def openapi_path(rule: Rule) -> str:
    return PATH_ARGUMENT.sub(lambda m: "{%s}" % m.group("name"), rule.rule)


def operation(rule: Rule, doc: Doc, method: str) -> dict:
    op: dict[str, Any] = {"summary": doc.summary, "tags": [doc.tag], "operationId": rule.endpoint,
                          "parameters": path_parameters(rule), "responses": responses(doc, method)}
    if doc.query is not None:
        op["parameters"].append({"in": "query", "schema": doc.query})
    if doc.request_body is not None:
        op["requestBody"] = doc.request_body
    elif doc.body is not None:
        op["requestBody"] = {"required": False, "content": {"application/json": {"schema": doc.body}}}
    op["security"] = [] if doc.public else SECURITY
    op.update(doc.extra)
    return op


def path_parameters(rule: Rule) -> list[dict]:
    return [{"in": "path", "name": m.group("name"), "required": True,
             "schema": {"type": "integer", "format": "int64", "minimum": 0} if m.group("converter") == "int"
             else {"type": "string"}}
            for m in PATH_ARGUMENT.finditer(rule.rule)]


def responses(doc: Doc, method: str) -> dict:
    result: dict[str, Any] = {}
    if doc.response_content is not None:
        result[str(doc.status)] = {"description": "OK", "content": doc.response_content}
    elif doc.response is not None:
        schema = doc.response(many=True) if doc.many else doc.response
        result[str(doc.status)] = {"description": "OK", "content": {"application/json": {"schema": schema}}}
    else:
        result[str(doc.status)] = {"description": "OK"}
    extra = ((415,) if method in CHANGING_METHODS else ()) + (() if doc.public else (429, 503))
    for status in (*doc.errors, *extra):
        result[str(status)] = {"description": ERROR_TEXT[status],
                               "content": {"application/json": {"schema": "Error"}}}
    return result


# -- the route ----------------------------------------------------------------------------------

bp = Blueprint("openapi", __name__)


@bp.get("/openapi.json")
@documented("This OpenAPI document", "meta", public=True, errors=(),
            response_content={"application/json": {"schema": {"type": "object"}}})
def openapi_document():
    app = current_app._get_current_object()
    if CACHE_KEY not in app.extensions:
        app.extensions[CACHE_KEY] = build_spec(app)
    return jsonify(app.extensions[CACHE_KEY])
