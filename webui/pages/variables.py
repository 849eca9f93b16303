"""The instance page's variable history and the admin's edit of a variable (issue 15 item 5).

``variable_panel(instance, labels)`` (a template global; the partial ``instances/_variable_history.html`` calls
it): each changed variable by its label with its changes, oldest first (when, who by display name, the step by
its name or else the source, old → new as people read them: ``values_view``), and, for admins on a running
instance, what they may edit with the value as its field takes it (a choice or yes/no as a list, a list or an
object as JSON); the page shows one variable's form when asked (``?edit=<name>``: a link per variable), so it
holds no codes nor JSON otherwise. ``POST /instances/<id>/variables/<name>`` changes one (value and reason:
``engine.runtime.edit_variable``), back to the instance page with a flash; a refusal draws the page again
with that variable's form open, the value and reason kept and the refusal beside them (status 4xx).
"""
from __future__ import annotations

import json
from typing import Any, Optional

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine import access, runtime, variable_history
from engine.errors import EngineError, FormValidationError
from engine.models import ADMIN, Definition, Instance, InstanceStatus
from webui.db import get_session
from webui.http_status import status_of
from webui.pages import values_view
from webui.pages.display import engine_text
from webui.pages.history import Labels
from webui.pages.instances import panels, readable
from webui.pages.signed_in import actor, page

bp = Blueprint("variables", __name__)
SOURCE_LABELS = {
    "start_form": _l("Start form"), "task_form": _l("Task form"), "script": _l("Script"),
    "message": _l("Message caught"), "signal": _l("Signal caught"), "external_task": _l("External task"),
    "timer": _l("Timer"), "incident_retry": _l("Incident retry"), "admin_edit": _l("Admin edit"),
    "engine": _l("Engine"),
}
JSON_TYPES = ("list", "object")


@bp.app_template_global("variable_panel")
def variable_panel(instance: Instance, labels: Labels) -> dict:
    """What the partial shows: ``changed`` (each variable's name, label, spec and changes), and for an admin on a
    running instance ``editable`` (every variable they may set: name, label, field, the value as typed)."""
    session = get_session()
    changed = [{"name": name, "label": labels.field(name), "spec": labels.spec(name), "changes": changes}
               for name, changes in variable_history.history_of(session, instance.id).items()]
    may_edit = ADMIN in actor().roles and instance.status == InstanceStatus.RUNNING
    editable = [{"name": name, "label": labels.field(name), "field": labels.spec(name) or {},
                 "typed": typed_text((instance.data or {}).get(name), labels.spec(name)),
                 "options": options(labels.spec(name))}
                for name in _editable_names(labels)] if may_edit else []
    return {"changed": changed, "editable": editable, "editable_names": {e["name"] for e in editable}}


@bp.app_template_global("variable_source")
def source_label(source: Optional[str]) -> str:
    return str(SOURCE_LABELS.get(source or "", source or ""))


def options(spec: Optional[dict]) -> list[tuple[str, str]]:
    """A single choice's options as ``(value, label)``, or [] (a field without choices, a list, an object)."""
    if not spec or spec.get("type") in JSON_TYPES or not spec.get("choices"):
        return []
    found = []
    for choice in spec["choices"]:
        value = str(choice.get("value") if isinstance(choice, dict) else choice)
        found.append((value, values_view.choice_label(value, spec) or value))
    return found


def typed_text(value: Any, spec: Optional[dict]) -> str:
    """The value as its edit field shows it: JSON for lists and objects, true/false, a number as written."""
    if value is None:
        return ""
    if (spec or {}).get("type") in JSON_TYPES or isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def submitted_value(text: str, spec: Optional[dict]) -> Any:
    """The value typed in the page, as the API would take it: JSON for a list or an object, nothing for an
    empty field that is not text."""
    kind = (spec or {}).get("type")
    if kind in JSON_TYPES:
        try:
            return json.loads(text) if text.strip() else None
        except ValueError:
            raise FormValidationError(_("Write a list or an object as JSON, for example [\"a\", \"b\"] or "
                                        "{\"a\": 1}."), {"value": [_("Not JSON.")]}) from None
    if not text.strip() and kind not in ("str", "text"):
        return None
    return text


@bp.post("/instances/<int:instance_id>/variables/<string(maxlength=128):name>")
@page(changes=True)
def edit(instance_id: int, name: str):
    """Change one variable (admins): back to the instance page, or the page again with the refusal."""
    session = get_session()
    instance = readable(session, instance_id)
    text, reason = request.form.get("value", ""), request.form.get("reason", "")
    try:
        value = submitted_value(text, Labels(session.get(Definition, instance.definition_id), instance.data).spec(name))
        runtime.edit_variable(session, instance_id, name, value, reason, actor())
    except EngineError as exc:
        session.rollback()
        instance = readable(session, instance_id)
        return render_template("instances/detail.html", instance=instance, may_cancel=access.may_cancel(
            instance, actor()), variable_form={"name": name, "value": text, "reason": reason,
                                               "error": engine_text(exc.message)},
            **panels(session, instance)), status_of(exc)
    flash(_("The variable was changed; the change and its reason are in the history."), "success")
    return redirect(url_for("instances.detail", instance_id=instance_id, _anchor="variable-history"))


def _editable_names(labels: Labels) -> list[str]:
    """The variables an admin may set: every variable the version declares but files and notes, by label."""
    names = [name for name, spec in (labels.variables or {}).items() if spec.get("type") not in ("file", "note")]
    return sorted(names, key=lambda n: labels.field(n))
