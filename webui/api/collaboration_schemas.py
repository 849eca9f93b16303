"""The API's JSON about comments and attachments: a comment, the body that adds one, an attachment,
the multipart body that uploads one, and the download's content."""
from __future__ import annotations

from marshmallow import Schema, fields

from webui.api.schemas import timestamp_field


class CommentSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    task_id = fields.Integer(allow_none=True, metadata={"description": "None: a comment on the instance itself."})
    author = fields.String()
    author_name = fields.String()
    text = fields.String()
    at = timestamp_field()


class AddCommentSchema(Schema):
    """The text is checked by the engine: 1-2000 characters after stripping, else 422."""

    text = fields.Raw(metadata={"type": "string", "description": "1-2000 characters (after stripping)."})


class AttachmentSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    task_id = fields.Integer(allow_none=True)
    name = fields.String()
    content_type = fields.String()
    size = fields.Integer(metadata={"description": "Bytes."})
    sha256 = fields.String()
    uploaded_by = fields.String()
    at = timestamp_field()
    url = fields.String(metadata={"description": "Where to download it (GET, same credentials)."})


UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"},
                            "description": "One or more files (field 'file'): png, jpg, gif, webp, pdf, txt, csv, "
                                           "docx, xlsx, zip, mp4; each at most LIUCHENG_MAX_UPLOAD_MB (20) MB."}}}}}}
DOWNLOAD_CONTENT = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
