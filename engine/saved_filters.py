"""Saved filters: a user's named worklist queries, shown as tabs (Camunda Tasklist's filters, per user).

A filter is a ``name`` (1-60 characters, unique per user) and a ``query`` made of the worklist's query
keys (``QUERY_KEYS``: the tab, process, role, due, business key text, variables, sort, minimum priority
and follow-up), each checked as the worklist checks it, so a saved filter always runs. A user keeps at
most ``MAX_PER_USER`` filters, in the order they were saved (``position``); each is theirs only: another
user's filter is not found. Each change is one transaction.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import clock, timestamps, variable_index, worklist
from engine.database import command
from engine.errors import ConflictError, NotFoundError, ValidationError
from engine.models import SavedFilter, User

QUERY_KEYS = ("tab", "process_id", "role", "due", "text", "variables", "sort", "min_priority", "follow_up")
NAME_LENGTH = 60
VALUE_LENGTH = 500
MAX_PER_USER = 20
CHOICES = {"tab": worklist.TABS, "due": ("overdue", "soon"), "sort": worklist.SORTS,
           "follow_up": worklist.FOLLOW_UPS}


def list_filters(session: Session, user: User) -> list[SavedFilter]:
    return list(session.scalars(select(SavedFilter).where(SavedFilter.user_id == user.id)
                                .order_by(SavedFilter.position, SavedFilter.id)))


def create_filter(session: Session, user: User, name: Any, query: Any) -> SavedFilter:
    """Save ``query`` under ``name`` as ``user``'s last filter."""
    name = checked_name(name)
    query = checked_query(query)
    try:
        with command(session):
            mine = session.execute(select(func.count(), func.max(SavedFilter.position))
                                   .where(SavedFilter.user_id == user.id)).one()
            if mine[0] >= MAX_PER_USER:
                raise ConflictError(f"You have {MAX_PER_USER} saved filters already, the most one may keep: "
                                    "delete one first.")
            if session.scalar(select(SavedFilter.id).where(SavedFilter.user_id == user.id,
                                                           SavedFilter.name == name)) is not None:
                raise ConflictError(f"You have a filter named '{name}' already; choose another name.")
            row = SavedFilter(user_id=user.id, name=name, query=query, position=(mine[1] or 0) + 1,
                              created_at=clock.now())
            session.add(row)
            session.flush()
    except IntegrityError as exc:  # the same name saved at the same moment
        raise ConflictError(f"You have a filter named '{name}' already; choose another name.") from exc
    return row


def delete_filter(session: Session, user: User, filter_id: int) -> None:
    """Delete one of ``user``'s filters (another user's is not found)."""
    with command(session):
        row = session.get(SavedFilter, filter_id)
        if row is None or row.user_id != user.id:
            raise NotFoundError(f"You have no saved filter {filter_id}.")
        session.delete(row)


def checked_name(name: Any) -> str:
    text = name.strip() if isinstance(name, str) else ""
    if not 1 <= len(text) <= NAME_LENGTH:
        raise ValidationError(f"A filter's name is 1 to {NAME_LENGTH} characters.",
                              {"name": [f"Give 1 to {NAME_LENGTH} characters."]})
    return text


def checked_query(query: Any) -> dict[str, Any]:
    """``query`` with only the worklist's keys, each value as the worklist takes it (empty ones dropped)."""
    if not isinstance(query, dict):
        raise ValidationError("A filter's query is a JSON object of worklist query keys.",
                              {"query": ["Not an object."]})
    unknown = sorted(set(query) - set(QUERY_KEYS))
    if unknown:
        raise ValidationError(f"A filter's query takes only the keys {', '.join(QUERY_KEYS)}; remove "
                              f"{', '.join(unknown)}.", {"query": {k: ["Unknown key."] for k in unknown}})
    checked = {key: _checked_value(key, value) for key, value in query.items() if value not in (None, "")}
    if "variables" in checked:
        variable_index.parse(checked["variables"])  # a ValidationError saying which part is wrong
    return checked


def _checked_value(key: str, value: Any) -> Any:
    if key == "min_priority":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            raise ValidationError("min_priority is a whole number from 0 to 100.",
                                  {"query": {key: ["Give a whole number from 0 to 100."]}})
        return value
    if not isinstance(value, str) or len(value) > VALUE_LENGTH:
        raise ValidationError(f"{key} is a text of at most {VALUE_LENGTH} characters.",
                              {"query": {key: ["Not a text."]}})
    if key in CHOICES and value not in CHOICES[key]:
        raise ValidationError(f"{key} must be one of {', '.join(CHOICES[key])}.",
                              {"query": {key: ["Unknown value."]}})
    return value


def as_dict(row: SavedFilter) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "query": dict(row.query or {}), "position": row.position,
            "created_at": timestamps.iso(row.created_at)}
