"""File fields of forms (``"type": "file"``): the shape of their values and which fields of a form they are.

A file field's value is a reference to an attachment of the instance: ``{"attachment_id", "name",
"size", "sha256", "content_type"}`` (a list of them with ``"multiple": true``; one given alone is a list
of one). Submitted data may give just ``{"attachment_id": N}``; ``engine.attachments.resolve_references`` checks that the attachment
exists and belongs to the instance and writes the full reference. ``accept`` (optional) narrows the
extensions a field takes (e.g. ``["jpg", "png", "mp4"]``). With ``"text_allowed": true`` the value may
instead be a plain text of 1 to 1000 characters (a file name or a link written by hand, e.g. ``"IMG_2041.jpg"``),
stored as that text: the refund's evidence keeps its data contract so.
"""
from __future__ import annotations

from typing import Any, Iterator

from marshmallow import ValidationError as MarshmallowError, fields

REFERENCE_KEYS = ("attachment_id", "name", "size", "sha256", "content_type")
MAX_TEXT = 1000


def field(item: dict, options: dict) -> fields.Field:
    """The marshmallow field of a file field (``options``: required, allow_none, load_default)."""
    if item.get("multiple"):
        required = options.get("required")
        files: fields.Field = References(Reference(required=True), validate=_at_least(1 if required else 0),
                                         **options)
    else:
        files = Reference(**options)
    return TextOrFiles(files, **options) if item.get("text_allowed") else files


def _at_least(count: int):
    def check(value):
        if value is not None and len(value) < count:
            raise MarshmallowError("Attach at least one file.")
    return check


class Reference(fields.Field):
    """``{"attachment_id": N, ...}``: an attachment of the same instance uploaded before."""

    def _deserialize(self, value: Any, attr, data, **kwargs) -> dict:
        if not isinstance(value, dict) or set(value) - set(REFERENCE_KEYS):
            raise MarshmallowError("Give an attachment as {\"attachment_id\": N} (upload it first with "
                                   "POST /api/v1/tasks/<id>/attachments).")
        attachment_id = value.get("attachment_id")
        if isinstance(attachment_id, bool) or not isinstance(attachment_id, int) or not 0 < attachment_id < 2 ** 63:
            raise MarshmallowError("'attachment_id' must be the number of an uploaded attachment.")
        return {"attachment_id": attachment_id}


class References(fields.List):
    """The references of a field taking several files; one given alone (``{"attachment_id": N}``) is a list of one."""

    def _deserialize(self, value: Any, attr, data, **kwargs) -> list:
        return super()._deserialize([value] if isinstance(value, dict) else value, attr, data, **kwargs)


class TextOrFiles(fields.Field):
    """A file field with ``"text_allowed": true``: a text of 1 to 1000 characters, or what ``files`` takes."""

    def __init__(self, files: fields.Field, **options):
        super().__init__(**options)
        self.files = files

    def _deserialize(self, value: Any, attr, data, **kwargs) -> Any:
        if isinstance(value, str):
            return text_value(value)
        if isinstance(value, (list, dict) if isinstance(self.files, fields.List) else dict):
            return self.files.deserialize(value, attr, data, **kwargs)
        raise MarshmallowError("Give a file name or link as text (at most 1000 characters), or attachments as "
                               "{\"attachment_id\": N}.")


def text_value(value: str) -> str:
    """A text given for a file field, trimmed: 1 to 1000 characters."""
    value = value.strip()
    if not value or len(value) > MAX_TEXT:
        raise MarshmallowError("Write a file name or link of 1 to 1000 characters, or attach the file.")
    return value


def is_text(value: Any) -> bool:
    """A file field's value written as text (``text_allowed``), not attachment references."""
    return isinstance(value, str)


def file_fields(form: dict | None) -> Iterator[dict]:
    """The form's top-level file fields that are submitted (not ``readonly``)."""
    for item in (form or {}).get("fields") or []:
        if isinstance(item, dict) and item.get("type") == "file" and not item.get("readonly"):
            yield item


def problems(item: dict) -> list[str]:
    """What is wrong with a file field's own keys."""
    found = []
    if "multiple" in item and not isinstance(item["multiple"], bool):
        found.append("'multiple' is true or false.")
    if "text_allowed" in item and not isinstance(item["text_allowed"], bool):
        found.append("'text_allowed' is true or false.")
    accept = item.get("accept")
    if accept is not None and (not isinstance(accept, list) or not all(isinstance(a, str) for a in accept)):
        found.append("'accept' is a list of file extensions, e.g. [\"jpg\", \"png\", \"mp4\"].")
    return found
