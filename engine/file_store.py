"""Where attachments' bytes live, and how big one may be.

In the database (the ``attachments.content`` column) by default; when ``LIUCHENG_FILES_DIR`` is set,
as files in that directory named by their sha256 (the same content is stored once), and the column
stays NULL. Every read and write of an attachment's bytes goes through ``keep`` and ``content_of``.
``max_upload_bytes`` is ``LIUCHENG_MAX_UPLOAD_MB`` (default 20) in bytes.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Optional

from engine.errors import NotFoundError

DEFAULT_MAX_MB = 20
_SHA256 = re.compile(r"[0-9a-f]{64}")


def max_upload_mb() -> int:
    try:
        return max(1, int(os.environ.get("LIUCHENG_MAX_UPLOAD_MB", str(DEFAULT_MAX_MB))))
    except ValueError:
        return DEFAULT_MAX_MB


def max_upload_bytes() -> int:
    return max_upload_mb() * 1024 * 1024


def files_dir() -> Optional[Path]:
    value = os.environ.get("LIUCHENG_FILES_DIR", "").strip()
    return Path(value) if value else None


def checksum(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def keep(content: bytes, sha256: str) -> Optional[bytes]:
    """Store ``content``; returns what the ``content`` column holds (None when kept as a file)."""
    directory = files_dir()
    if directory is None:
        return content
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / sha256
    if not target.exists():  # written under another name first: a reader never sees half a file
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".upload-")
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temporary, target)
    return None


def content_of(column: Optional[bytes], sha256: str) -> bytes:
    """The bytes of an attachment: its column, else its file in ``LIUCHENG_FILES_DIR``."""
    if column is not None:
        return bytes(column)
    directory = files_dir()
    if directory is None or not _SHA256.fullmatch(sha256) or not (directory / sha256).is_file():
        raise NotFoundError("The attachment's file is missing from the files directory (LIUCHENG_FILES_DIR); "
                            "ask an administrator to restore it from the backup.")
    return (directory / sha256).read_bytes()
