"""Commands on instances: start, complete a task, cancel.

Each command is one transaction: the instance row (state, data), its human
tasks and its history events are written together and committed at the end,
or rolled back together. Every writer of an instance first locks its row
(``SELECT ... FOR UPDATE``; on SQLite the ``BEGIN IMMEDIATE`` transaction)
and writes it back only if its ``etag`` is unchanged.

Deserialized workflows are cached per instance and reused while the row's
``etag`` matches, so a step does not re-read the whole state.
"""
from __future__ import annotations

import threading
import uuid
from contextlib import contextmanager
from typing import Any, Iterator, Optional

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from engine import clock, definitions, forms, history, workflow, worklist
from engine.errors import ConflictError, EngineError, NotFoundError, PermissionDeniedError, ValidationError
from engine.models import Definition, HumanTask, Instance, User
from engine.sandbox import find_script_error

SCRIPT_TIMEOUT = 1.0
_cache: dict[tuple[str, int], tuple[str, Any]] = {}
_cache_lock = threading.Lock()


# -- the command frame ------------------------------------------------------------

@contextmanager
def command(session: Session) -> Iterator[None]:
    """Commit what the block did, or roll all of it back."""
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise


def lock_instance(session: Session, instance_id: int) -> Instance:
    instance = session.scalar(select(Instance).where(Instance.id == instance_id).with_for_update())
    if instance is None:
        raise NotFoundError(f"Instance {instance_id} does not exist.")
    return instance


def _cache_key(session: Session, instance_id: int) -> tuple[str, int]:
    return (str(session.get_bind().url), instance_id)


def load_workflow(session: Session, instance: Instance):
    """The instance's workflow, from the cache when its etag still matches."""
    with _cache_lock:
        cached = _cache.pop(_cache_key(session, instance.id), None)
    if cached is not None and cached[0] == instance.etag:
        return cached[1]
    specs = workflow.load_spec(instance.definition_id, instance.definition.spec_json)
    return workflow.load_state(specs, instance.state, SCRIPT_TIMEOUT)


def save_workflow(session: Session, instance: Instance, wf, *, status: Optional[str] = None) -> None:
    """Prune, serialize and write back the state; keep the workflow cached after commit."""
    workflow.prune(wf)
    old_etag, new_etag = instance.etag, uuid.uuid4().hex
    values = {"state": workflow.dump_state(wf), "data": forms.to_json(workflow.process_data(wf)),
              "etag": new_etag, "revision": Instance.revision + 1}
    if status:
        values["status"] = status
        if status != "running":
            values["ended_at"] = clock.now()
    result = session.execute(update(Instance).where(Instance.id == instance.id, Instance.etag == old_etag)
                             .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise ConflictError(f"Instance {instance.id} was changed by someone else; reload and try again.")
    session.expire(instance)
    session.info.setdefault("pending_workflows", {})[_cache_key(session, instance.id)] = (new_etag, wf)


@event.listens_for(Session, "after_commit")
def _keep_committed_workflows(session: Session) -> None:
    pending = session.info.pop("pending_workflows", None)
    if pending:
        with _cache_lock:
            _cache.update(pending)


@event.listens_for(Session, "after_rollback")
def _drop_uncommitted_workflows(session: Session) -> None:
    session.info.pop("pending_workflows", None)


def forget(instance_id: Optional[int] = None) -> None:
    with _cache_lock:
        if instance_id is None:
            _cache.clear()
        else:
            for key in [k for k in _cache if k[1] == instance_id]:
                del _cache[key]


# -- commands -----------------------------------------------------------------------

def start_instance(session: Session, process_id: str, data: Any, actor: User,
                   version: Optional[int] = None) -> Instance:
    """Start the latest (or given) version of ``process_id`` with start-form data."""
    with command(session):
        definition = definitions.get_definition(session, process_id, version)
        check_may_start(definition, actor)
        values = start_values(definition, data)
        specs = workflow.load_spec(definition.id, definition.spec_json)
        wf = workflow.new_workflow(specs, values, SCRIPT_TIMEOUT)
        instance = Instance(definition_id=definition.id, process_id=definition.process_id,
                            version=definition.version, status="running", data=forms.to_json(values), state="",
                            etag="", business_key=business_key(values), started_at=clock.now(),
                            started_by=actor.username)
        session.add(instance)
        session.flush()
        history.record(session, instance.id, "instance_started", actor.username,
                       data={"version": definition.version, "data": values})
        advance(session, instance, definition, wf)
    return instance


def complete_task(session: Session, task_id: int, data: Any, actor: User) -> HumanTask:
    """Complete a human task with data checked by its form."""
    with command(session):
        row = worklist.get_task(session, task_id)
        instance = lock_instance(session, row.instance_id)
        session.refresh(row)
        worklist.check_may_work(row, actor, "complete")
        definition = instance.definition
        form = definition.forms.get(row.form_key) if row.form_key else None
        values = forms.validate(form, data if data is not None else {})
        wf = load_workflow(session, instance)
        engine_task = workflow.find_task(wf, row.engine_task_id)
        if engine_task is None:
            raise ConflictError(f"Task {task_id} is no longer waiting in its instance; reload the worklist.")
        before = {k: engine_task.data.get(k) for k in values}
        now = clock.now()
        session.execute(update(HumanTask).where(HumanTask.id == row.id).values(
            status="completed", completed_at=now, completed_by=actor.username,
            assignee=row.assignee or actor.username).execution_options(synchronize_session=False))
        history.record(session, instance.id, "task_completed", actor.username, row.element_id, row.id,
                       {"submitted": values, "before": before})
        try:
            workflow.complete(wf, row.engine_task_id, values)
        except Exception as exc:
            forget(instance.id)
            raise _as_engine_error(exc) from exc
        advance(session, instance, definition, wf, completed_task=row.engine_task_id)
    session.refresh(row)
    return row


def cancel_instance(session: Session, instance_id: int, reason: str, actor: User) -> Instance:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Give a reason for cancelling the instance.", {"reason": ["Required."]})
    with command(session):
        instance = lock_instance(session, instance_id)
        if not (actor.roles & {"admin", "supervisor"} or actor.username == instance.started_by):
            raise PermissionDeniedError("Only an admin, a supervisor or the user who started an instance may cancel it.")
        if instance.status != "running" and instance.status != "failed":
            raise ConflictError(f"Instance {instance_id} is {instance.status}; only running instances can be cancelled.")
        wf = load_workflow(session, instance)
        workflow.cancel(wf)
        worklist.close_open_tasks(session, instance.id, "cancelled", actor.username)
        save_workflow(session, instance, wf, status="cancelled")
        session.execute(update(Instance).where(Instance.id == instance.id).values(cancel_reason=reason)
                        .execution_options(synchronize_session=False))
        history.record(session, instance.id, "instance_cancelled", actor.username, data={"reason": reason})
    session.refresh(instance)
    return instance


# -- running the engine -------------------------------------------------------------

def advance(session: Session, instance: Instance, definition: Definition, wf,
            completed_task: Optional[str] = None) -> None:
    """Run engine steps, then write state, human tasks and history of what ran."""
    elements = definition.elements

    def on_step(task, before, after):
        record_engine_step(session, instance.id, elements, task, before, after)

    status = "running"
    try:
        workflow.run(wf, on_step)
    except Exception as exc:
        error = _as_engine_error(exc)
        status = "failed"
        history.record(session, instance.id, "script_failed", "system", _failed_element(wf, exc),
                       data={"error": error.message})
        history.record(session, instance.id, "instance_failed", "system", data={"error": error.message})
        session.execute(update(Instance).where(Instance.id == instance.id).values(error=error.message)
                        .execution_options(synchronize_session=False))
    if status == "running" and workflow.is_completed(wf):
        status = "completed"
    worklist.sync_tasks(session, instance, definition, wf, completed_task)
    save_workflow(session, instance, wf, status=status)
    if status == "completed":
        history.record(session, instance.id, "instance_completed", "system",
                       data={"data": workflow.process_data(wf)})


def record_engine_step(session, instance_id, elements, task, before, after) -> None:
    kind = workflow.task_kind(task)
    element_id = workflow.element_of(task)
    if "Gateway" in kind:
        targets = workflow.chosen_targets(task)
        flows = [fid for fid, f in elements.get("flows", {}).items()
                 if f["source"] == element_id and f["target"] in targets]
        history.record(session, instance_id, "gateway_taken", "system", element_id,
                       data={"flows": flows, "targets": targets})
    elif "Script" in kind:
        changed = {k: v for k, v in after.items() if k not in before or before[k] != v}
        removed = [k for k in before if k not in after]
        if changed or removed:
            history.record(session, instance_id, "script_changed_data", "system", element_id,
                           data={"changed": changed, "removed": removed,
                                 "before": {k: before.get(k) for k in changed}})


def _failed_element(wf, exc) -> Optional[str]:
    task = getattr(exc, "task", None)
    if task is not None:
        return workflow.element_of(task)
    return None


def _as_engine_error(exc: BaseException) -> EngineError:
    if isinstance(exc, EngineError):
        return exc
    script_error = find_script_error(exc)
    if script_error is not None:
        return script_error
    return EngineError(f"The process could not continue: {exc}. Check the model at the element named.")


def start_values(definition: Definition, data: Any) -> dict:
    """Start data checked by the start form; without a form, any JSON object is taken as is."""
    if definition.start_form:
        return forms.validate(definition.forms.get(definition.start_form), data if data is not None else {})
    if data is not None and not isinstance(data, dict):
        raise ValidationError("The start data must be a JSON object.", {"data": ["Not an object."]})
    return dict(data or {})


# -- permissions and helpers -----------------------------------------------------------

def check_may_start(definition: Definition, actor: User) -> None:
    roles = actor.roles
    if "admin" in roles or "integrator" in roles:
        return
    lanes = {n.get("lane") for n in definition.elements.get("nodes", {}).values() if n.get("lane")}
    if not roles & lanes:
        raise PermissionDeniedError(
            f"You may not start '{definition.process_id}': it needs a role of its lanes "
            f"({', '.join(sorted(lanes)) or 'none'}), admin or integrator.")


BUSINESS_KEYS = ("order_no", "po_no", "inquiry_no", "merchant")


def business_key(values: dict) -> Optional[str]:
    for key in BUSINESS_KEYS:
        if values.get(key):
            return str(values[key])
    return None


def get_instance(session: Session, instance_id: int) -> Instance:
    instance = session.get(Instance, instance_id)
    if instance is None:
        raise NotFoundError(f"Instance {instance_id} does not exist.")
    return instance
