"""File fields of task and start forms on the pages: the files chosen in each ``<input type=file>`` are
uploaded as attachments and the form's value becomes their references, in the same transaction as the
completion or the start (``engine.runtime.collaboration``), so a refused submission stores no file.

A field keeps the files it already holds (its references come back as hidden inputs named like the
field, e.g. after another field was refused); a new file replaces the kept one, or is added with
``"multiple": true``. A field with ``"text_allowed": true`` that holds a text (a file name written by hand)
keeps it (hidden input ``<name>:text``) unless files are chosen, which replace it. A refused file is
reported on its field in the page's language.
"""
from __future__ import annotations

from typing import Any, Optional

from flask import request

from engine import file_fields
from engine.errors import EngineError, FormValidationError
from engine.models import User
from engine.runtime import collaboration
from webui.pages import collaboration as collaboration_page

TEXT_SUFFIX = ":text"  # the hidden input keeping a file field's text (``text_allowed``); no field name has ':'


def complete(session, task_id: int, data: dict, form: Optional[dict], user: User):
    """Complete the task with ``data`` and the files of the form's file fields."""
    with refusals_on_fields(form):
        return collaboration.complete_with_files(session, task_id, with_kept(form, data), chosen_files(form), form,
                                                 user)


def start(session, process_id: str, data: dict, form: Optional[dict], user: User):
    """Start ``process_id`` with ``data`` and the files of the start form's file fields."""
    with refusals_on_fields(form):
        return collaboration.start_with_files(session, process_id, with_kept(form, data), chosen_files(form), form,
                                              user)


def chosen_files(form: Optional[dict]) -> dict[str, list[tuple[Optional[str], bytes]]]:
    """``{field name: [(file name, content)]}`` of the files chosen in the request."""
    chosen = {}
    for item in file_fields.file_fields(form):
        files = [f for f in request.files.getlist(item["name"]) if f.filename]
        if files:
            chosen[item["name"]] = [(f.filename, f.read()) for f in files]
    return chosen


def with_kept(form: Optional[dict], data: dict) -> dict:
    """``data`` with each file field's kept references (hidden inputs of attachment ids), or its kept text
    (``text_allowed``: the hidden input ``<name>:text``) when no file is chosen for it."""
    data = dict(data)
    for item in file_fields.file_fields(form):
        ids = [int(v) for v in request.form.getlist(item["name"]) if v.isdigit() and len(v) < 19]
        refs: Any = [{"attachment_id": i} for i in ids]
        if not item.get("multiple"):
            refs = refs[-1] if refs else None
        data.pop(item["name"], None)
        if refs:
            data[item["name"]] = refs
        elif item.get("text_allowed") and not _chosen(item["name"]):
            text = request.form.get(item["name"] + TEXT_SUFFIX, "").strip()
            if text:
                data[item["name"]] = text
    return data


def _chosen(name: str) -> bool:
    return any(f.filename for f in request.files.getlist(name))


class refusals_on_fields:
    """A refused upload (``details`` with a ``reason``) said in the page's language on its field."""

    def __init__(self, form: Optional[dict]):
        self.names = [item["name"] for item in file_fields.file_fields(form)]

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if not isinstance(exc, FormValidationError) or not isinstance(exc.__cause__, EngineError):
            return False
        cause = exc.__cause__
        field = next((name for name in self.names if name in (exc.details or {})), None)
        if field is None or not isinstance(cause.details, dict) or "reason" not in cause.details:
            return False
        raise FormValidationError(cause.message, {field: [collaboration_page.refusal_text(cause)]}) from None
