"""Where attachments' bytes live, and how big one may be.

In the database (the ``attachments.content`` column) by default; when ``LIUCHENG_FILES_DIR`` is set,
as files in that directory named by their sha256 (the same content is stored once), and the column
stays NULL. Every read and write of an attachment's bytes goes through ``keep`` and ``content_of``.
``max_upload_bytes`` is ``LIUCHENG_MAX_UPLOAD_MB`` (default 20) in bytes; ``max_request_bytes`` the most one
request may carry: ``FILES_PER_REQUEST`` (10) files' worth and 1 MB for the form around them. A relative
``LIUCHENG_FILES_DIR`` is taken from the working directory of the first use (``create_app`` pins it at start-up).
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
FILES_PER_REQUEST = 10
_SHA256 = re.compile(r"[0-9a-f]{64}")


def max_upload_mb() -> int:
    try:
        return max(1, int(os.environ.get("LIUCHENG_MAX_UPLOAD_MB", str(DEFAULT_MAX_MB))))
    except ValueError:
        return DEFAULT_MAX_MB


def max_upload_bytes() -> int:
    return max_upload_mb() * 1024 * 1024


def max_request_bytes() -> int:
    return FILES_PER_REQUEST * max_upload_bytes() + 1024 * 1024


def max_request_mb() -> int:
    return max_request_bytes() // (1024 * 1024)


_absolute: dict[str, Path] = {}  # LIUCHENG_FILES_DIR as given -> the absolute path it meant at its first use


def files_dir() -> Optional[Path]:
    """``LIUCHENG_FILES_DIR`` as an absolute path (a relative one against the working directory of its first
    use, so a later ``chdir`` does not move the files), or None."""
    value = os.environ.get("LIUCHENG_FILES_DIR", "").strip()
    if not value:
        return None
    if value not in _absolute:
        _absolute[value] = Path(value).expanduser().absolute()
    return _absolute[value]


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


def discard(sha256: str) -> None:
    """Remove the file of ``sha256`` from ``LIUCHENG_FILES_DIR`` (when set and present)."""
    directory = files_dir()
    if directory is not None and _SHA256.fullmatch(sha256):
        (directory / sha256).unlink(missing_ok=True)


def content_of(column: Optional[bytes], sha256: str) -> bytes:
    """The bytes of an attachment: its column, else its file in ``LIUCHENG_FILES_DIR``."""
    if column is not None:
        return bytes(column)
    directory = files_dir()
    if directory is None or not _SHA256.fullmatch(sha256) or not (directory / sha256).is_file():
        raise NotFoundError("The attachment's file is missing from the files directory (LIUCHENG_FILES_DIR); "
                            "ask an administrator to restore it from the backup.")
    return (directory / sha256).read_bytes()
