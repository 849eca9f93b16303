"""Attachments: files uploaded to an instance or one of its tasks, their checks, rows and JSON, and the
references that file fields of forms hold.

``add`` checks an upload (size at most ``LIUCHENG_MAX_UPLOAD_MB``, a kind on the allow-list by extension
and first bytes: ``engine.file_types``), keeps its bytes (``engine.file_store``) and inserts its row with
the sha256; the ``attachment_added`` history event (id, name, size, sha256, content type) is written
with it, or, for a file uploaded with a start (no instance yet), when ``bind_staged`` gives it the
new instance. A file of 0 bytes is refused; a user's files staged for starts hold at most ``STAGED_QUOTA_MB``
in all, and ``prune_staged`` removes those no start used within ``STAGED_HOURS``. ``resolve_references`` checks the values of a form's file fields (an attachment of the
same instance, or one staged by the same user for a start) and writes the full references; a text given
instead (a field with ``text_allowed``) is left as it is.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Optional

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine import clock, file_fields, file_store, file_types, history, timestamps
from engine.errors import FormValidationError, NotFoundError, ValidationError
from engine.models import Attachment

SNIFF_BYTES = 64
STAGED_QUOTA_MB = 100  # a user's uploads staged for starts not made yet, in all
STAGED_HOURS = 24  # a staged upload no start used is removed after this
PRUNE_BATCH = 500


class FileTooLargeError(ValidationError):
    """An upload over ``LIUCHENG_MAX_UPLOAD_MB`` (the web layer answers 413)."""

    code = "payload_too_large"


def too_large(name: Optional[str] = None) -> FileTooLargeError:
    limit = file_store.max_upload_mb()
    what = f"The file '{name}'" if name else "The upload"
    return FileTooLargeError(f"{what} is larger than {limit} MB, the most one file may be; send a smaller "
                             "or compressed file.",
                             {"file": [f"At most {limit} MB."], "reason": "size", "max_mb": limit})


def request_too_large(multipart: bool) -> FileTooLargeError:
    """A request body over ``file_store.max_request_bytes`` (Flask's ``MAX_CONTENT_LENGTH``)."""
    limit, total = file_store.max_upload_mb(), file_store.max_request_mb()
    if multipart:
        return FileTooLargeError(f"The upload is larger than {total} MB, the most one request may carry (at most "
                                 f"{limit} MB a file); send the files in several requests.",
                                 {"file": [f"At most {limit} MB a file, {total} MB in all."], "reason": "size",
                                  "max_mb": limit, "max_request_mb": total})
    return FileTooLargeError(f"The request body is larger than {total} MB; send less.",
                             {"reason": "size", "max_request_mb": total})


# -- uploading ------------------------------------------------------------------------------------

def add(session: Session, instance_id: Optional[int], task_id: Optional[int], name: Optional[str], content: bytes,
        uploader: str, accept: Optional[list[str]] = None) -> Attachment:
    """Check and store one upload; ``instance_id`` None stages it for a start (``bind_staged``)."""
    if len(content) > file_store.max_upload_bytes():
        raise too_large(name)
    name = file_types.clean_name(name)
    if not content:
        raise ValidationError(f"The file '{name}' is empty (0 bytes); choose the file again or another one.",
                              {"file": ["The file is empty."], "reason": "empty", "name": name})
    if instance_id is None:
        _check_staged_quota(session, uploader, len(content))
    if accept and file_types.extension_of(name) not in {a.lower().lstrip(".") for a in accept}:
        raise FormValidationError(f"This field takes {', '.join(accept)} files, not '{name}'.",
                                  {"file": [f"Use one of: {', '.join(accept)}."], "reason": "accept",
                                   "accepted": ", ".join(accept)})
    kind = file_types.kind_of(name, content[:SNIFF_BYTES])
    sha256 = file_store.checksum(content)
    row = Attachment(instance_id=instance_id, task_id=task_id, name=name, content_type=kind.content_type,
                     size=len(content), sha256=sha256, uploaded_by=uploader, at=clock.now(),
                     content=file_store.keep(content, sha256))
    session.add(row)
    session.flush()
    if instance_id is not None:
        _record(session, row)
    return row


def _check_staged_quota(session: Session, uploader: str, size: int) -> None:
    staged = session.scalar(select(func.coalesce(func.sum(Attachment.size), 0))
                            .where(Attachment.instance_id.is_(None), Attachment.uploaded_by == uploader))
    quota, hours = STAGED_QUOTA_MB, STAGED_HOURS
    if staged + size > quota * 1024 * 1024:
        raise FileTooLargeError(f"Your files uploaded for starts not made yet would be more than {quota} MB; start "
                                f"with the files uploaded, or wait: unused ones are removed after {hours} hours.",
                                {"file": [f"At most {quota} MB staged in all."], "reason": "quota",
                                 "max_staged_mb": quota})


def prune_staged(session: Session) -> tuple[int, set[str]]:
    """Delete up to ``PRUNE_BATCH`` uploads staged for a start more than ``STAGED_HOURS`` ago that no start
    used: how many, and the sha256 of those whose content no attachment holds any more (for
    ``file_store.discard`` once the deletion is committed)."""
    cutoff = clock.now() - timedelta(hours=STAGED_HOURS)
    rows = session.execute(select(Attachment.id, Attachment.sha256)
                           .where(Attachment.instance_id.is_(None), Attachment.at < cutoff)
                           .order_by(Attachment.id).limit(PRUNE_BATCH)).all()
    if not rows:
        return 0, set()
    session.execute(delete(Attachment).where(Attachment.id.in_([r.id for r in rows])))
    orphans = {r.sha256 for r in rows
               if session.scalar(select(Attachment.id).where(Attachment.sha256 == r.sha256).limit(1)) is None}
    return len(rows), orphans


def _record(session: Session, row: Attachment) -> None:
    history.record(session, row.instance_id, "attachment_added", row.uploaded_by, task_id=row.task_id,
                   data={"attachment_id": row.id, "name": row.name, "size": row.size, "sha256": row.sha256,
                         "content_type": row.content_type}, at=row.at)


def bind_staged(session: Session, attachment_ids: list[int], instance_id: int) -> None:
    """Give the attachments staged for a start their new instance, and record them (nothing to read when
    the start named none: most starts)."""
    if not attachment_ids:
        return
    for row in session.scalars(select(Attachment).where(Attachment.id.in_(attachment_ids),
                                                        Attachment.instance_id.is_(None))):
        row.instance_id = instance_id
        _record(session, row)
    session.flush()


# -- reading --------------------------------------------------------------------------------------

def find_attachment(session: Session, attachment_id: int) -> Optional[Attachment]:
    return session.get(Attachment, attachment_id)


def get_attachment(session: Session, attachment_id: int) -> Attachment:
    row = find_attachment(session, attachment_id)
    if row is None or row.instance_id is None:
        raise NotFoundError(f"Attachment {attachment_id} does not exist.")
    return row


def of_instance(session: Session, instance_id: int) -> list[Attachment]:
    """The instance's attachments (its tasks' too), oldest first."""
    return list(session.scalars(select(Attachment).where(Attachment.instance_id == instance_id)
                                .order_by(Attachment.id)))


def content_of(session: Session, row: Attachment) -> bytes:
    column = session.scalar(select(Attachment.content).where(Attachment.id == row.id))
    return file_store.content_of(column, row.sha256)


def as_dict(row: Attachment) -> dict[str, Any]:
    return {"id": row.id, "instance_id": row.instance_id, "task_id": row.task_id, "name": row.name,
            "content_type": row.content_type, "size": row.size, "sha256": row.sha256,
            "uploaded_by": row.uploaded_by, "at": timestamps.iso(row.at)}


def reference(row: Attachment) -> dict[str, Any]:
    """The value a file field holds for this attachment."""
    return {"attachment_id": row.id, "name": row.name, "size": row.size, "sha256": row.sha256,
            "content_type": row.content_type}


def is_image(row: Attachment) -> bool:
    return file_types.is_image(row.content_type)


# -- file fields ----------------------------------------------------------------------------------

def resolve_references(session: Session, form: Optional[dict], values: dict, instance_id: Optional[int],
                       actor: str) -> tuple[dict, list[int]]:
    """``values`` with each file field's references checked and completed, and the ids of the staged
    attachments among them (a start: ``instance_id`` None). A missing attachment, one of another
    instance or another user's staged one is refused per field (422)."""
    errors: dict[str, list[str]] = {}
    staged: list[int] = []
    values = dict(values)
    for item in file_fields.file_fields(form):
        value = values.get(item["name"])
        if value is None or file_fields.is_text(value):  # a text given instead (``text_allowed``) stays as it is
            continue
        given = value if isinstance(value, list) else [value]
        resolved = []
        for ref in given:
            row = find_attachment(session, ref["attachment_id"])
            if row is None or not _usable(row, instance_id, actor):
                given_id = ref["attachment_id"]
                errors.setdefault(item["name"], []).append(
                    f"Attachment {given_id} is not a file uploaded to this instance; upload the file first."
                    if instance_id else f"Attachment {given_id} is not a file uploaded to this start; upload the "
                    "file first.")
                continue
            if row.instance_id is None:
                staged.append(row.id)
            resolved.append(reference(row))
        values[item["name"]] = resolved if isinstance(value, list) else (resolved[0] if resolved else None)
    if errors:
        raise FormValidationError("A file field names an attachment that cannot be used here: correct the fields "
                                  "listed in details.", errors)
    return values, staged


def _usable(row: Attachment, instance_id: Optional[int], actor: str) -> bool:
    if instance_id is not None:
        return row.instance_id == instance_id
    return row.instance_id is None and row.uploaded_by == actor
