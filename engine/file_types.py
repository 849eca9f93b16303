"""The kinds of file an attachment may be: the allow-list, each kind known by its extension AND its
first bytes, and a file name made safe to store and to send back.

A file is accepted when its extension is on the list (``KINDS``) and its content starts as that kind's
content does (a ``.png`` that is not a PNG is refused): the department's photos and videos of
evidence (png, jpeg, gif, webp, mp4), PDF, plain text and CSV, Word and Excel documents (docx, xlsx)
and zip archives. The stored content type is the kind's, never the one the browser sent.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, Optional

from engine.errors import FormValidationError

MAX_NAME = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Kind:
    content_type: str
    looks_right: Callable[[bytes], bool]
    image: bool = False


def _starts(*prefixes: bytes) -> Callable[[bytes], bool]:
    return lambda head: any(head.startswith(p) for p in prefixes)


def _webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def _mp4(head: bytes) -> bool:
    return head[4:8] == b"ftyp"


def _text(head: bytes) -> bool:
    """Text: UTF-8 (a character cut at the end of the sample aside) or GB18030, without NUL bytes."""
    if b"\x00" in head:
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            head.decode(encoding)
            return True
        except UnicodeDecodeError as exc:
            if encoding == "utf-8" and exc.start >= len(head) - 3:
                return True
    return False


_ZIP = _starts(b"PK\x03\x04", b"PK\x05\x06")
KINDS: dict[str, Kind] = {
    "png": Kind("image/png", _starts(b"\x89PNG\r\n\x1a\n"), True),
    "jpg": Kind("image/jpeg", _starts(b"\xff\xd8\xff"), True),
    "jpeg": Kind("image/jpeg", _starts(b"\xff\xd8\xff"), True),
    "gif": Kind("image/gif", _starts(b"GIF87a", b"GIF89a"), True),
    "webp": Kind("image/webp", _webp, True),
    "pdf": Kind("application/pdf", _starts(b"%PDF-")),
    "txt": Kind("text/plain; charset=utf-8", _text),
    "csv": Kind("text/csv; charset=utf-8", _text),
    "docx": Kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _ZIP),
    "xlsx": Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _ZIP),
    "zip": Kind("application/zip", _ZIP),
    "mp4": Kind("video/mp4", _mp4),
}
ACCEPTED = ", ".join(sorted(KINDS))
IMAGE_TYPES = frozenset(k.content_type for k in KINDS.values() if k.image)


def clean_name(name: Optional[str]) -> str:
    """The name without folders or control characters, at most 255 characters (its extension kept)."""
    name = unicodedata.normalize("NFC", name or "")
    name = _CONTROL.sub("", name.replace("\\", "/").rsplit("/", 1)[-1]).strip().strip(".")
    if not name:
        raise FormValidationError("The file has no name; give it one, e.g. photo.jpg.",
                                  {"file": ["No name."], "reason": "name"})
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        name = stem[:MAX_NAME - len(ext) - 1] + dot + ext if dot and len(ext) < 16 else name[:MAX_NAME]
    return name


def extension_of(name: str) -> str:
    return name.rpartition(".")[2].lower() if "." in name else ""


def kind_of(name: str, head: bytes) -> Kind:
    """The kind of a file named ``name`` whose content starts with ``head``; refused (422) when its
    extension is not on the list or its content is not what the extension says."""
    extension = extension_of(name)
    kind = KINDS.get(extension)
    if kind is None:
        raise FormValidationError(
            f"Files of type '.{extension or '?'}' are not accepted; upload one of: {ACCEPTED}.",
            {"file": [f"Type not accepted; use one of: {ACCEPTED}."], "reason": "type", "accepted": ACCEPTED})
    if not kind.looks_right(head):
        raise FormValidationError(
            f"The file '{name}' is not a real .{extension} file (its content is of another type); upload the "
            "original file.", {"file": [f"Content is not .{extension}."], "reason": "content"})
    return kind


def is_image(content_type: str) -> bool:
    return content_type in IMAGE_TYPES
