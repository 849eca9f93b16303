"""Commands of working together on an instance: comment on it or one of its tasks, attach files to it,
and start it or complete a task with the files of its form's file fields.

Who: anyone who may see the task (``worklist.may_read``) or its instance (``access``), except a read-only
auditor, who reads comments and attachments but adds none. Each command is one transaction with its
history event (``comment_added``, ``attachment_added``). Starting or completing with files uploads them
and starts or completes in the same transaction (the task and start commands join it), so a refused
submission leaves no file behind. ``prune_staged_uploads`` (the worker's tick) removes uploads staged for a
start that none used within a day.
"""
from __future__ import annotations

from typing import Any, Optional

from sqlalchemy.orm import Session

from engine import access, attachments, comments, file_fields, file_store, worklist
from engine.database import command
from engine.errors import FormValidationError, PermissionDeniedError, ValidationError
from engine.models import Attachment, Comment, HumanTask, Instance, User
from engine.runtime import instances, tasks

Upload = tuple[Optional[str], bytes]  # (file name, content)


# -- who may -----------------------------------------------------------------------------------

def visible_task(session: Session, task_id: int, actor: User) -> HumanTask:
    """The task, if ``actor`` may see it (its role, offered, assigned, or its instance visible)."""
    row = worklist.get_task(session, task_id)
    if not (worklist.may_read(row, actor) or access.may_see_instance(session, actor, row.instance_id)):
        raise PermissionDeniedError(f"Task {task_id} is not one you may see: it is for role '{row.role}'.")
    return row


def visible_instance(session: Session, instance_id: int, actor: User) -> Instance:
    """The instance, if ``actor`` may see it (``access.get_visible_instance``)."""
    return access.get_visible_instance(session, actor, instance_id)


def check_may_add(actor: User, what: str) -> None:
    if actor.read_only:
        raise PermissionDeniedError(f"Auditors may read {what} but not add them.")


# -- comments ----------------------------------------------------------------------------------

def comment_on_task(session: Session, task_id: int, text: Any, actor: User) -> Comment:
    with command(session):
        row = visible_task(session, task_id, actor)
        check_may_add(actor, "comments")
        return comments.add(session, row.instance_id, row.id, actor.username, comments.clean_text(text))


def comment_on_instance(session: Session, instance_id: int, text: Any, actor: User) -> Comment:
    with command(session):
        visible_instance(session, instance_id, actor)
        check_may_add(actor, "comments")
        return comments.add(session, instance_id, None, actor.username, comments.clean_text(text))


# -- attachments -------------------------------------------------------------------------------

def attach_to_task(session: Session, task_id: int, uploads: list[Upload], actor: User) -> list[Attachment]:
    with command(session):
        row = visible_task(session, task_id, actor)
        check_may_add(actor, "attachments")
        return [attachments.add(session, row.instance_id, row.id, name, content, actor.username)
                for name, content in uploads]


def attach_to_instance(session: Session, instance_id: int, uploads: list[Upload], actor: User) -> list[Attachment]:
    with command(session):
        visible_instance(session, instance_id, actor)
        check_may_add(actor, "attachments")
        return [attachments.add(session, instance_id, None, name, content, actor.username)
                for name, content in uploads]


def stage_for_start(session: Session, uploads: list[Upload], actor: User) -> list[Attachment]:
    """Files for a start the same user makes next: no instance yet; the start binds them."""
    with command(session):
        check_may_add(actor, "attachments")
        return [attachments.add(session, None, None, name, content, actor.username) for name, content in uploads]


def prune_staged_uploads(session: Session) -> int:
    """One batch of ``attachments.prune_staged``, then the files no attachment holds any more; how many."""
    with command(session):
        count, orphans = attachments.prune_staged(session)
    for sha256 in orphans:
        file_store.discard(sha256)
    return count


# -- starting and completing with the files of file fields ----------------------------------------

def complete_with_files(session: Session, task_id: int, data: dict, files: dict[str, list[Upload]],
                        form: Optional[dict], actor: User):
    """Upload the files of the form's file fields to the task, put their references in ``data`` and
    complete the task, in one transaction."""
    with command(session):
        row = visible_task(session, task_id, actor)
        data = dict(data, **_uploaded(session, form, data, files, actor, row.instance_id, row.id))
        return tasks.complete_task(session, task_id, data, actor)


def start_with_files(session: Session, process_id: str, data: dict, files: dict[str, list[Upload]],
                     form: Optional[dict], actor: User):
    """Stage the files of the start form's file fields, start the instance with their references (the
    start binds them to it), in one transaction."""
    with command(session):
        data = dict(data, **_uploaded(session, form, data, files, actor, None, None))
        return instances.start_instance(session, process_id, data, actor)


def _uploaded(session: Session, form: Optional[dict], data: dict, files: dict[str, list[Upload]], actor: User,
              instance_id: Optional[int], task_id: Optional[int]) -> dict:
    """For each file field with files: their references (a list when the field takes several), after the
    references the form already held (``data`` given as kept ids); errors under the field's name."""
    values: dict[str, Any] = {}
    for item in file_fields.file_fields(form):
        given = [(name, content) for name, content in files.get(item["name"], []) if name or content]
        if not given:
            continue
        check_may_add(actor, "attachments")
        try:
            rows = [attachments.add(session, instance_id, task_id, name, content, actor.username, item.get("accept"))
                    for name, content in given]
        except (FormValidationError, ValidationError) as exc:  # said on the field (the cause keeps the reason)
            raise FormValidationError(exc.message, {item["name"]: list(exc.details.get("file", []))}) from exc
        refs = [{"attachment_id": r.id} for r in rows]
        kept = data.get(item["name"])
        kept = kept if isinstance(kept, list) else [kept] if kept else []
        values[item["name"]] = kept + refs if item.get("multiple") else refs[-1]
    return values
