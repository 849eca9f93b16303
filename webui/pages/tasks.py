"""A task's page: its form (pre-filled with a delegate's draft), the instance's key data, history and diagram;
claim (the task then opens), give back (放回; someone else's task with an optional reason), complete, reassign
(with a required reason), delegate, resolve (the delegate hands it back with what they filled in; files are
refused there), and its priority and follow-up date. Complete and resolve read the form alike (``submitted_or_page``); flashes name people by their display names.

What the user may do with the task is ``engine.worklist.abilities``; the commands are ``engine.runtime``'s.
"""
from __future__ import annotations

import re
from typing import Callable, Optional

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import comments, runtime, users, worklist
from engine.errors import EngineError, FormValidationError
from engine.models import Definition, HumanTask, Instance
from webui.db import get_session
from webui.http_status import status_of
from webui.pages import form_files
from webui.pages.display import engine_text, safe_next
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


def render_task(row: HumanTask, submitted=None, errors=None, message=None, status: int = 200,
                handover: Optional[dict] = None):
    """The task page; a form without a definition is the generic form (variables), drawn empty. ``handover``:
    a refused reassign or delegation drawn again open, with what was chosen and typed (``action``, ``user``,
    ``reason``, ``error``)."""
    session = get_session()
    instance = runtime.get_instance(session, row.instance_id)
    info = panels(session, instance)
    form = info["definition"].forms.get(row.form_key) if row.form_key else None
    data = {**(instance.data or {}), **(row.draft or {})} if form is not None else {}
    can = worklist.abilities(row, actor())
    return render_template("tasks/task.html", task=row, instance=instance, form=form,
                           inputs=fields(form or GENERIC_FORM, data, submitted, errors), errors=errors or {},
                           message=message, can=can, people=handover_choices(session, row, can),
                           handover=handover or {}, **info), status


def handover_choices(session, row: HumanTask, can: dict) -> list:
    """Who the task may be reassigned or delegated to: active users with its role, but not who holds it."""
    if not (can.get("reassign") or can.get("delegate")):
        return []
    return [u for u in users.users_with_role(session, row.role) if u.username != row.assignee]


@bp.get("/tasks/<int:task_id>")
@page()
def task(task_id: int):
    return render_task(readable_task(task_id))


@bp.post("/tasks/<int:task_id>/complete")
@page(changes=True)
def complete(task_id: int):
    row = readable_task(task_id)
    again = submitted_or_page(row, lambda session, form, data: form_files.complete(session, task_id, data, form,
                                                                                   actor()), refused)  # and files
    if again is not None:
        return again
    flash(_("Task “%(name)s” completed.", name=row.name or row.element_id), "success")
    return redirect(safe_next(request.form.get("next"), url_for("worklist.index")))


def submitted_or_page(row: HumanTask, send: Callable, refusal: Callable[[EngineError], str]):
    """The task's form as submitted, parsed and given to ``send(session, form, data)``: None once sent, else the
    page again (a row added or removed, marked fields, or the engine's refusal) with what was typed."""
    session = get_session()
    form = task_form(row)
    submitted = rework(form or GENERIC_FORM, request.form)
    if row_action(request.form):  # a row added or removed without JavaScript: the form again, nothing sent
        return render_task(row, submitted)
    data, errors = parse_variables(submitted) if form is None else (parse(form, submitted), {})
    if errors:
        return render_task(row, submitted, errors, _("Correct the marked fields and submit again."), 422)
    try:
        send(session, form, data)
    except FormValidationError as exc:
        session.rollback()
        errors = field_errors(exc.details, form) if form is not None else variable_errors(exc.details, submitted)
        return render_task(row, submitted, errors, _("Correct the marked fields and submit again."), status_of(exc))
    except EngineError as exc:  # e.g. completed by someone else meanwhile: say so, keep what was typed
        session.rollback()
        return render_task(row, submitted, {}, refusal(exc), status_of(exc))
    return None


def refused(exc: EngineError) -> str:
    """Why the engine refused a completion, with the reassurance that nothing typed is lost."""
    return _("The task could not be completed: %(reason)s What you typed is kept below.",
             reason=engine_text(exc.message))


@bp.post("/tasks/<int:task_id>/claim")
@page(changes=True)
def claim(task_id: int):
    """After claiming, the task opens (from the list too); a refusal goes back to the page the form names."""
    claimed = perform(task_id, runtime.claim_task,
                           lambda row: _("You claimed “%(name)s”.", name=row.name or row.element_id))
    return redirect(url_for("tasks.task", task_id=task_id) if claimed else back_to(task_id))


@bp.post("/tasks/<int:task_id>/unclaim")
@page(changes=True)
def unclaim(task_id: int):
    reason = request.form.get("reason")  # a supervisor's give-back of someone else's task (optional)
    perform(task_id, lambda session, tid, user: runtime.unclaim_task(session, tid, user, reason),
                 lambda row: _("“%(name)s” was given back to the role's queue.", name=row.name or row.element_id))
    return redirect(back_to(task_id))


@bp.post("/tasks/<int:task_id>/reassign")
@page(changes=True)
def reassign(task_id: int):
    """Hand the task to the user chosen, with the reason typed (required); a refusal draws the page again with
    the box open and both kept."""
    username, reason = (request.form.get("user") or "").strip(), request.form.get("reason") or ""
    return hand_over(task_id, "reassign", lambda session: runtime.reassign_task(session, task_id, username, actor(),
                                                                                reason),
                     lambda row: _("“%(name)s” was handed to %(user)s.", name=row.name or row.element_id,
                                   user=display_name(username)))


@bp.post("/tasks/<int:task_id>/delegate")
@page(changes=True)
def delegate(task_id: int):
    """Delegate the task to the user chosen (the reason is optional); a refusal draws the page again."""
    username, reason = (request.form.get("user") or "").strip(), request.form.get("reason") or ""
    return hand_over(task_id, "delegate", lambda session: runtime.delegate_task(session, task_id, username, actor(),
                                                                                reason),
                     lambda row: _("“%(name)s” was delegated to %(user)s; it comes back to you when they resolve it.",
                                   name=row.name or row.element_id, user=display_name(username)))


def hand_over(task_id: int, action: str, send: Callable, done: Callable[[HumanTask], str]):
    """Run a reassign or a delegation (``send(session)``): flash ``done(task)`` and show the task, or the page
    again with the engine's refusal and the box (``action``) open with what was chosen and typed."""
    row = readable_task(task_id)
    session = get_session()
    try:
        row = send(session)
    except EngineError as exc:
        session.rollback()
        refusal = engine_text(exc.message)
        kept = {"action": action, "user": (request.form.get("user") or "").strip(),
                "reason": request.form.get("reason") or "", "error": refusal}
        return render_task(readable_task(task_id), message=refusal, status=status_of(exc), handover=kept)
    flash(done(row), "success")
    return redirect(url_for("tasks.task", task_id=task_id))


@bp.post("/tasks/<int:task_id>/resolve")
@page(changes=True)
def resolve(task_id: int):
    """The delegate hands the task back to its owner with the form's values as a draft (partial allowed); files
    chosen in file fields are refused (a draft holds no upload): attach them in the attachments panel."""
    row = readable_task(task_id)
    if form_files.chosen_files(task_form(row)):
        return render_task(row, rework(task_form(row) or GENERIC_FORM, request.form), {},
                           _("Files cannot be handed back with the task: attach them in the Attachments panel "
                             "below, or let the owner attach them. Nothing was handed back."), 422)
    again = submitted_or_page(row, lambda session, form, data: runtime.resolve_task(session, task_id, data, actor()),
                              lambda exc: engine_text(exc.message))
    if again is not None:
        return again
    flash(_("“%(name)s” was handed back to %(user)s with what you filled in.",
            name=row.name or row.element_id, user=display_name(row.owner)), "success")
    return redirect(url_for("worklist.index"))


@bp.post("/tasks/<int:task_id>/plan")
@page(changes=True)
def plan(task_id: int):
    """Set the task's priority (left as it is when blank) and follow-up date (a blank date clears it)."""
    priority, follow_up = request.form.get("priority", "").strip(), request.form.get("follow_up", "").strip()
    changes = {"follow_up": follow_up or None}
    if priority:
        changes["priority"] = int(priority) if re.fullmatch(r"-?[0-9]{1,6}", priority) else priority
    perform(task_id, lambda session, tid, user: runtime.prioritize_task(session, tid, user, **changes),
            lambda row: _("Priority and follow-up date saved."))
    return redirect(url_for("tasks.task", task_id=task_id))


def perform(task_id: int, command: Callable[..., HumanTask], done: Callable[[HumanTask], str]) -> bool:
    """Run ``command`` (claim, give back, reassign…) on a task the user may read; flash ``done(task)`` or the
    engine's refusal; whether it was done."""
    readable_task(task_id)
    try:
        row = command(get_session(), task_id, actor())
    except EngineError as exc:
        flash(engine_text(exc.message), "error")
        return False
    flash(done(row), "success")
    return True


def display_name(username: Optional[str]) -> str:
    """How the pages name a user: the display name, else the user name."""
    return comments.author_names(get_session(), [username]).get(username, username) if username else ""


def back_to(task_id: int) -> str:
    """The page the form names (the worklist), else the task's."""
    return safe_next(request.form.get("next"), url_for("tasks.task", task_id=task_id))
