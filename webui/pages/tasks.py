"""A task's page: its form, the instance's key data, history and diagram; claim, unclaim, complete.

What the user may do with the task is ``engine.worklist.abilities``; the commands are ``engine.runtime``'s.
"""
from __future__ import annotations

from typing import Callable, Optional

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response
from flask_babel import gettext as _

from engine import runtime, worklist
from engine.errors import EngineError, FormValidationError
from engine.models import Definition, HumanTask, Instance
from webui.db import get_session
from webui.http_status import status_of
from webui.pages.display import safe_next
from webui.pages.form_input import parse, rework, row_action
from webui.pages.form_messages import field_errors
from webui.pages.forms import fields
from webui.pages.generic_form import FORM as GENERIC_FORM, parse_variables, variable_errors
from webui.pages.instances import panels
from webui.pages.signed_in import actor, page

bp = Blueprint("tasks", __name__)


def readable_task(task_id: int) -> HumanTask:
    row = worklist.get_task(get_session(), task_id)
    if not worklist.may_read(row, actor()):
        abort(403)
    return row


def task_form(row: HumanTask) -> Optional[dict]:
    if not row.form_key:
        return None
    session = get_session()
    definition = session.get(Definition, session.get(Instance, row.instance_id).definition_id)
    return definition.forms.get(row.form_key)


def render_task(row: HumanTask, submitted=None, errors=None, message=None, status: int = 200):
    """The task page; a form without a definition is the generic form (variables), drawn empty."""
    session = get_session()
    instance = runtime.get_instance(session, row.instance_id)
    info = panels(session, instance)
    form = info["definition"].forms.get(row.form_key) if row.form_key else None
    data = (instance.data or {}) if form is not None else {}
    return render_template("tasks/task.html", task=row, instance=instance, form=form,
                           inputs=fields(form or GENERIC_FORM, data, submitted, errors), errors=errors or {},
                           message=message, can=worklist.abilities(row, actor()), **info), status


@bp.get("/tasks/<int:task_id>")
@page()
def task(task_id: int):
    return render_task(readable_task(task_id))


@bp.post("/tasks/<int:task_id>/complete")
@page(changes=True)
def complete(task_id: int):
    row = readable_task(task_id)
    session = get_session()
    form = task_form(row)
    submitted = rework(form or GENERIC_FORM, request.form)
    if row_action(request.form):  # a row added or removed without JavaScript: the form again, nothing sent
        return render_task(row, submitted)
    data, errors = parse_variables(submitted) if form is None else (parse(form, submitted), {})
    if errors:
        return render_task(row, submitted, errors, _("Correct the marked fields and submit again."), 422)
    try:
        runtime.complete_task(session, task_id, data, actor())
    except FormValidationError as exc:
        session.rollback()
        errors = field_errors(exc.details, form) if form is not None else variable_errors(exc.details, submitted)
        return render_task(row, submitted, errors, _("Correct the marked fields and submit again."), status_of(exc))
    except EngineError as exc:  # e.g. completed by someone else meanwhile: say so, keep what was typed
        session.rollback()
        return render_task(row, submitted, {}, refused(exc), status_of(exc))
    flash(_("Task “%(name)s” completed.", name=row.name or row.element_id), "success")
    return redirect(safe_next(request.form.get("next"), url_for("worklist.index")))


def refused(exc: EngineError) -> str:
    """Why the engine refused a completion, with the reassurance that nothing typed is lost."""
    return _("The task could not be completed: %(reason)s What you typed is kept below.", reason=exc.message)


@bp.post("/tasks/<int:task_id>/claim")
@page(changes=True)
def claim(task_id: int):
    return change_claim(task_id, runtime.claim_task,
                        lambda row: _("You claimed “%(name)s”.", name=row.name or row.element_id))


@bp.post("/tasks/<int:task_id>/unclaim")
@page(changes=True)
def unclaim(task_id: int):
    return change_claim(task_id, runtime.unclaim_task,
                        lambda row: _("“%(name)s” is back in the role's queue.", name=row.name or row.element_id))


def change_claim(task_id: int, command: Callable[..., HumanTask], done: Callable[[HumanTask], str]) -> Response:
    """Claim or unclaim (``command``) a task the user may read; flash ``done(task)`` or the engine's refusal,
    and go back to the page the form names (else the task's)."""
    readable_task(task_id)
    try:
        row = command(get_session(), task_id, actor())
    except EngineError as exc:
        flash(exc.message, "error")
    else:
        flash(done(row), "success")
    return redirect(safe_next(request.form.get("next"), url_for("tasks.task", task_id=task_id)))
