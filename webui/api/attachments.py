"""Attachments over the API: upload files to a task or an instance (multipart, field ``file``), list an
instance's, download one.

A download is always a file to save (``Content-Disposition: attachment`` with the UTF-8 name,
``X-Content-Type-Options: nosniff``, the type found when it was uploaded), so no browser renders it on
this site. An upload over ``LIUCHENG_MAX_UPLOAD_MB`` is 413 with the usual JSON error; a type not on
the list, or content that is not what its extension says, 422.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from engine import attachments, file_store
from engine.errors import ValidationError
from engine.runtime import collaboration
from webui.api.collaboration_schemas import DOWNLOAD_CONTENT, UPLOAD_BODY, AttachmentSchema
from webui.api.credentials import current_user
from webui.api.errors import error_response
from webui.api.openapi import documented
from webui.db import get_session

bp = Blueprint("attachments", __name__)
UPLOAD_ERRORS = (400, 401, 403, 404, 413, 422)


def attachment_view(row) -> dict:
    return dict(attachments.as_dict(row), url=url_for("api.attachments.download", attachment_id=row.id))


def uploads() -> list[tuple[str | None, bytes]]:
    """The files of the request's ``file`` field (at least one)."""
    try:
        files = [f for f in request.files.getlist("file") if f.filename or f.content_length]
    except RequestEntityTooLarge:
        raise attachments.too_large() from None
    if not files:
        raise ValidationError("Send the file as multipart/form-data in the field 'file'.", {"file": ["Required."]})
    return [(f.filename, f.read(file_store.max_upload_bytes() + 1)) for f in files]


@bp.post("/tasks/<int:task_id>/attachments")
@documented("Upload files to a task (anyone who may see it, not auditors)", "attachments", request_body=UPLOAD_BODY,
            response=AttachmentSchema, many=True, status=201, errors=UPLOAD_ERRORS)
def attach_to_task(task_id: int):
    rows = collaboration.attach_to_task(get_session(), task_id, uploads(), current_user())
    return [attachment_view(r) for r in rows], 201


@bp.post("/instances/<int:instance_id>/attachments")
@documented("Upload files to an instance (anyone who may see it, not auditors)", "attachments",
            request_body=UPLOAD_BODY, response=AttachmentSchema, many=True, status=201, errors=UPLOAD_ERRORS)
def attach_to_instance(instance_id: int):
    rows = collaboration.attach_to_instance(get_session(), instance_id, uploads(), current_user())
    return [attachment_view(r) for r in rows], 201


@bp.post("/attachments")
@documented("Upload files for a start you make next (a start form's file field): referenced in the start data "
            "as {\"attachment_id\": N}, they become the new instance's", "attachments", request_body=UPLOAD_BODY,
            response=AttachmentSchema, many=True, status=201, errors=(400, 401, 403, 413, 422))
def stage_for_start():
    rows = collaboration.stage_for_start(get_session(), uploads(), current_user())
    return [dict(attachments.as_dict(r), url=None) for r in rows], 201


@bp.get("/instances/<int:instance_id>/attachments")
@documented("An instance's attachments (its tasks' too), oldest first", "attachments", response=AttachmentSchema,
            many=True)
def instance_attachments(instance_id: int):
    session = get_session()
    collaboration.visible_instance(session, instance_id, current_user())
    return [attachment_view(r) for r in attachments.of_instance(session, instance_id)]


@bp.get("/attachments/<int:attachment_id>")
@documented("Download an attachment (who may see its instance)", "attachments", response_content=DOWNLOAD_CONTENT)
def download(attachment_id: int):
    session = get_session()
    row = attachments.get_attachment(session, attachment_id)
    collaboration.visible_instance(session, row.instance_id, current_user())
    return file_response(attachments.content_of(session, row), row.name, row.content_type)


def file_response(content: bytes, name: str, content_type: str, inline: bool = False) -> Response:
    """``content`` as a download named ``name`` (RFC 6266/5987: an ASCII fallback and the UTF-8 name)."""
    response = Response(content, mimetype=content_type.split(";")[0], content_type=content_type)
    fallback = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    response.headers["Content-Disposition"] = (
        f"{'inline' if inline else 'attachment'}; filename=\"{fallback}\"; filename*=UTF-8''{quote_name(name)}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def quote_name(name: str) -> str:
    return quote(name, safe="!#$&+-.^_`|~")


@bp.errorhandler(attachments.FileTooLargeError)
def too_large(exc: attachments.FileTooLargeError):
    return error_response(exc.code, exc.message, exc.details, 413)
