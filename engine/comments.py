"""Comments on instances and their tasks: the rows, their text rule and their JSON.

A comment is 1 to 2000 characters (after stripping), by one user, on an instance (``task_id`` None) or
on one of its tasks, and is never changed: the table refuses UPDATE and DELETE (migration 0007), and no
route edits or deletes one. Each is recorded in the history (``comment_added``: text, author, task) by the
command that adds it (``engine.runtime.collaboration``). Read oldest first.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock, history, timestamps
from engine.errors import FormValidationError
from engine.models import Comment, HumanTask, User

MAX_TEXT = 2000


def clean_text(text: Any) -> str:
    """The comment's text, stripped; refused (422) when blank or longer than ``MAX_TEXT``."""
    if not isinstance(text, str) or not text.strip():
        raise FormValidationError("Write the comment's text; it cannot be blank.", {"text": ["Required."]})
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise FormValidationError(f"A comment is at most {MAX_TEXT} characters ({len(text)} given); shorten it.",
                                  {"text": [f"At most {MAX_TEXT} characters."]})
    return text


def add(session: Session, instance_id: int, task_id: Optional[int], author: str, text: str) -> Comment:
    """Insert a comment (text already cleaned) and record it in the history."""
    row = Comment(instance_id=instance_id, task_id=task_id, author=author, text=text, at=clock.now())
    session.add(row)
    session.flush()
    history.record(session, instance_id, "comment_added", author, task_id=task_id,
                   data={"comment_id": row.id, "text": text, "author": author, "task_id": task_id}, at=row.at)
    return row


def of_instance(session: Session, instance_id: int) -> list[Comment]:
    """The instance's comments and its tasks', oldest first."""
    return list(session.scalars(select(Comment).where(Comment.instance_id == instance_id).order_by(Comment.id)))


def of_task(session: Session, task_id: int) -> list[Comment]:
    return list(session.scalars(select(Comment).where(Comment.task_id == task_id).order_by(Comment.id)))


def task_names(session: Session, instance_id: int) -> dict[int, str]:
    """The names of the instance's tasks by id (to say which task a comment is on)."""
    rows = session.execute(select(HumanTask.id, HumanTask.name, HumanTask.element_id)
                           .where(HumanTask.instance_id == instance_id))
    return {task_id: name or element_id for task_id, name, element_id in rows}


def author_names(session: Session, usernames: Iterable[str]) -> dict[str, str]:
    """Display names by user name (the user name itself when a user has none)."""
    wanted = set(usernames)
    if not wanted:
        return {}
    rows = session.execute(select(User.username, User.display_name).where(User.username.in_(wanted)))
    return {name: shown or name for name, shown in rows}


def as_dicts(session: Session, rows: list[Comment]) -> list[dict[str, Any]]:
    """Comments as the API shows them, each with its author's display name."""
    names = author_names(session, (r.author for r in rows))
    return [{"id": r.id, "instance_id": r.instance_id, "task_id": r.task_id, "author": r.author,
             "author_name": names.get(r.author, r.author), "text": r.text, "at": timestamps.iso(r.at)} for r in rows]
