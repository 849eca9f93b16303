"""The values of file fields (attachment references ``{"attachment_id", "name", "size", "sha256",
"content_type"}``, or lists of them) as people read them: a download link per file, with a small preview
for images (the original, scaled by CSS ``.attachment-thumb``), or the names in one line.

``webui.pages.values_view`` asks ``is_reference`` first wherever it shows data.
"""
from __future__ import annotations

from typing import Any

from flask import url_for
from markupsafe import Markup, escape

from engine import file_types

KEYS = {"attachment_id", "name"}


def is_reference(value: Any) -> bool:
    """An attachment reference, or a non-empty list of them."""
    if isinstance(value, list):
        return bool(value) and all(_one(v) for v in value)
    return _one(value)


def _one(value: Any) -> bool:
    return isinstance(value, dict) and KEYS <= set(value) and isinstance(value.get("attachment_id"), int)


def html(value: Any) -> Markup:
    refs = value if isinstance(value, list) else [value]
    return Markup("<span class=\"file-links\">" + "".join(_link(ref) for ref in refs) + "</span>")


def _link(ref: dict) -> str:
    attachment_id = ref["attachment_id"]
    href = escape(url_for("collaboration.download", attachment_id=attachment_id))
    name = escape(str(ref.get("name") or attachment_id))
    thumb = ""
    if file_types.is_image(str(ref.get("content_type") or "")):
        src = escape(url_for("collaboration.thumbnail", attachment_id=attachment_id))
        thumb = f"<img class=\"attachment-thumb\" src=\"{src}\" alt=\"\" loading=\"lazy\">"
    return f"<a class=\"file-link\" href=\"{href}\" download>{thumb}<span>{name}</span></a>"


def text(value: Any) -> str:
    refs = value if isinstance(value, list) else [value]
    return "、".join(str(ref.get("name") or ref["attachment_id"]) for ref in refs)
