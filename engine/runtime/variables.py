"""The admin's edit of a running instance's variable (issue 15 item 5): ``edit_variable``.

Only admins; only a running instance; a non-blank reason. The value is checked by the field of the form that
owns the variable (the version's catalogue, ``engine.variable_catalog``: the first form where it is an input,
else the process's data dictionary), so a wrong type is a 422 naming the field, as the form itself would say.
A variable no form and no data dictionary declares is refused (422 naming the variables there are): the engine
would have no type to check the value against and the pages no label to show it with, and a name nothing
declares is more likely a typo than a variable a later step reads. A declared variable the instance does not
hold yet may be set (its form would have set it). File fields are not edited here (their attachments are).

The edit changes the data at the workflow's front (``spiff.set_variable``: the tasks that run next inherit it)
without running a step, and saves the workflow as every command does (``workflows.save_workflow``, which records
the ``variables_changed`` event, source ``admin_edit``: ``engine.variable_history``); an operation event
``variable_edit`` says who changed what from what to what, and why, in the same transaction. A value equal to
the one held changes nothing and records nothing.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine import definitions, forms, history, spiff, variable_history
from engine.database import command
from engine.errors import ConflictError, FormValidationError, PermissionDeniedError
from engine.models import ADMIN, InstanceStatus, User
from engine.runtime import workflows

ENTITY = "variable"
NOT_CHECKED = ("readonly", "required_if")  # a shown-only field is still edited; a condition names other fields


def edit_variable(session: Session, instance_id: int, name: str, value: Any, reason: str, actor: User) -> dict:
    """Set variable ``name`` of running instance ``instance_id`` to ``value`` (checked by its form) for
    ``reason``; returns ``{"instance_id", "name", "value", "old", "changed"}`` (values as JSON)."""
    check_may_edit(actor)
    reason = (reason or "").strip()
    if not reason:
        raise FormValidationError("Give a reason for changing the variable.", {"reason": ["Required."]})
    with command(session):
        instance, version = workflows.lock_instance(session, instance_id)
        if instance.status != InstanceStatus.RUNNING:
            raise ConflictError(f"Instance {instance_id} is {instance.status}; only a running instance's variables "
                                "can be changed.")
        wf = workflows.load_workflow(session, instance, version)
        typed = checked_value(workflows.with_bound(session, version, wf), name, value)
        data = spiff.process_data(wf)
        old, new = forms.to_json(data.get(name)), forms.to_json(typed)
        if name in data and type(old) is type(new) and old == new:
            return _reply(instance_id, name, old, new, changed=False)
        history.record_operation(session, actor.username, variable_history.EDIT_OPERATION, ENTITY,
                                 f"{instance_id}:{name}", instance_id=instance_id, property=name, old=old, new=new,
                                 reason=reason)
        spiff.set_variable(wf, name, typed)
        workflows.save_workflow(session, instance, wf, instance.status, forms.to_json(spiff.process_data(wf)))
    return _reply(instance_id, name, old, new, changed=True)


def check_may_edit(actor: User) -> None:
    if ADMIN not in actor.roles:
        raise PermissionDeniedError("Only an admin may change an instance's variables.")


def checked_value(version: definitions.Version, name: str, value: Any) -> Any:
    """``value`` typed and checked by the field that owns ``name`` (422 naming the field, or naming the
    variables there are when no form or data dictionary declares ``name``)."""
    field = owning_field(version, name)
    if field.get("type") == "file":
        raise FormValidationError(f"Variable '{name}' holds files; add or remove its attachments instead.",
                              {name: ["A file field."]})
    one_field = {"id": f"{field.get('form') or version.process_id}:{name}",
                 "fields": [{k: v for k, v in field.items() if k not in NOT_CHECKED and k != "form"}]}
    return forms.validate(one_field, {name: value}).get(name)


def owning_field(version: definitions.Version, name: str) -> dict:
    """The field of the form (or data dictionary) that owns ``name``, with ``form``: its key."""
    catalog = version.elements.get("variables") or {}
    spec = catalog.get(name)
    if spec is None:
        known = ", ".join(sorted(catalog)) or "none"
        raise FormValidationError(f"No form or data dictionary of process '{version.process_id}' declares a variable "
                              f"'{name}'; the variables it declares are: {known}.", {"name": ["Unknown variable."]})
    form = version.form(spec.get("form")) or {}
    for field in form.get("fields", []):
        if field.get("name") == name:
            return {**field, "form": spec.get("form")}
    return dict(spec)


def variable_names(version: definitions.Version) -> list[str]:
    """The variables an admin may edit in instances of ``version`` (the declared ones but files), sorted."""
    return sorted(name for name, spec in (version.elements.get("variables") or {}).items()
                  if spec.get("type") not in ("file", "note"))


def _reply(instance_id: int, name: str, old: Any, new: Any, changed: bool) -> dict:
    return {"instance_id": instance_id, "name": name, "value": new, "old": old, "changed": changed}
