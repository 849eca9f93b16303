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
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import bindparam, event, func, or_, select, update
from sqlalchemy.orm import Session

from engine import (
    clock, config, connectors, database, definitions, forms, history, incidents, messages, timers, worklist,
)
from engine import spiff
from engine.spiff import data_guard, waits, workflow
from engine import values as storable
from engine.database import command
from engine.errors import (
    ConflictError, EngineError, NotFoundError, PermissionDeniedError, ValidationError,
)
from engine.models import Definition, HumanTask, Instance, User
from engine.spiff.scripts import find_script_error
from engine.statements import Row, Statement

SCRIPT_TIMEOUT = config.script_timeout()


def start_engine() -> None:
    """Start-up, once per process before any command: install the SpiffWorkflow adapter (patches,
    connectors for service tasks). The web app, the CLI, the worker, tests and benchmarks call it."""
    spiff.install(connectors.call)

CACHE_SIZE = config.workflow_cache_size()
_cache: OrderedDict[tuple[str, int], tuple[str, Any]] = OrderedDict()  # least recently saved first
_cache_lock = threading.Lock()


# -- statements, the instance lock and the workflow cache ---------------------------------

_TASKS = HumanTask.__table__
_INSTANCES = Instance.__table__
_SAVE = Statement(update(_INSTANCES)
         .where(_INSTANCES.c.id == bindparam("iid"), _INSTANCES.c.etag == bindparam("old_etag"))
         .values(state=bindparam("state"), data=bindparam("data"), etag=bindparam("new_etag"),
                 revision=_INSTANCES.c.revision + 1, status=bindparam("status"), ended_at=bindparam("ended")))
_FINISH_TASK = Statement(update(_TASKS).where(_TASKS.c.id == bindparam("tid"),
                                      or_(_TASKS.c.status == "open", _TASKS.c.status == "claimed"),
                                      or_(_TASKS.c.assignee.is_(None), _TASKS.c.assignee == bindparam("user")))
                .values(status="completed", completed_at=bindparam("now"), completed_by=bindparam("user"),
                        assignee=func.coalesce(_TASKS.c.assignee, bindparam("user"))))


@dataclass
class Locked:
    """The columns of a locked instance row a command needs."""

    id: int
    process_id: str
    status: str
    etag: str
    started_by: str
    definition_id: int


_LOCK = Statement(select(_INSTANCES.c.id, _INSTANCES.c.process_id, _INSTANCES.c.status, _INSTANCES.c.etag,
                _INSTANCES.c.started_by, _INSTANCES.c.definition_id, Definition.__table__.c.content_hash)
         .join(Definition.__table__, Definition.__table__.c.id == _INSTANCES.c.definition_id)
         .where(_INSTANCES.c.id == bindparam("iid")).with_for_update(of=_INSTANCES, key_share=True))
_NEW_INSTANCE = ("definition_id", "process_id", "version", "status", "data", "state", "etag", "revision",
                 "business_key", "started_at", "started_by")
_CREATE_INSTANCE = Statement(_INSTANCES.insert().returning(_INSTANCES.c.id), columns=_NEW_INSTANCE)
_DEFINITIONS = Definition.__table__
_TASK_LOCKED = Statement(  # the task row and, locked, its instance's row (one statement for both)
    select(_TASKS, _INSTANCES.c.status.label("instance_status"), _INSTANCES.c.etag.label("instance_etag"),
           _INSTANCES.c.started_by.label("instance_started_by"), _INSTANCES.c.definition_id, _DEFINITIONS.c.content_hash)
    .join(_INSTANCES, _INSTANCES.c.id == _TASKS.c.instance_id)
    .join(_DEFINITIONS, _DEFINITIONS.c.id == _INSTANCES.c.definition_id)
    .where(_TASKS.c.id == bindparam("tid")).with_for_update(of=_INSTANCES, key_share=True))
_COLUMNS = Statement(select(*[c for c in _INSTANCES.c if c.key != "state"]).where(_INSTANCES.c.id == bindparam("iid")))
_STATE = Statement(select(_INSTANCES.c.state).where(_INSTANCES.c.id == bindparam("iid")))


def lock_instance(session: Session, instance_id: int) -> tuple[Locked, definitions.Version]:
    """Lock the instance row for this transaction; return it with its (cached) version."""
    found = _LOCK.first(session, {"iid": instance_id})
    if found is None:
        raise NotFoundError(f"Instance {instance_id} does not exist.")
    locked = Locked(*found[:6])
    return locked, definitions.version_of(session, locked.definition_id, found.content_hash)


def _cache_key(session: Session, instance_id: int) -> tuple[str, int]:
    engine = session.get_bind().engine
    database = engine.__dict__.get("liucheng_cache_key")
    if database is None:
        database = engine.__dict__["liucheng_cache_key"] = str(engine.url)
    return (database, instance_id)


def load_workflow(session: Session, instance: Instance, version: definitions.Version):
    """The instance's workflow, from the cache when its etag still matches."""
    with _cache_lock:
        cached = _cache.pop(_cache_key(session, instance.id), None)
    if cached is not None and cached[0] == instance.etag:
        return cached[1]
    specs = workflow.load_spec(f"{version.content_hash}:{version.id}", version.spec_json)
    state = _STATE.scalar(session, {"iid": instance.id})
    return workflow.load_state(specs, state, SCRIPT_TIMEOUT)


def save_workflow(session: Session, instance: Instance, wf, status: str, data: dict) -> None:
    """Prune, serialize and write back the state; keep the workflow cached after commit."""
    workflow.prune(wf)
    state, contained = _dump_state(session, instance, wf)
    if contained is not None and status != "cancelled":
        status = contained
    new_etag = uuid.uuid4().hex
    saved = _SAVE.rowcount(session, {
        "iid": instance.id, "old_etag": instance.etag, "state": state, "data": data,
        "new_etag": new_etag, "status": status, "ended": clock.now() if status in ("completed", "cancelled") else None})
    if saved != 1:
        raise ConflictError(f"Instance {instance.id} was changed by someone else; reload and try again.")
    if status in ("running", "failed"):  # an ended instance takes no more steps: not kept in memory
        session.info.setdefault("pending_workflows", {})[_cache_key(session, instance.id)] = (new_etag, wf)


@event.listens_for(Session, "after_commit")
@database.on("after_commit")
def _keep_committed_workflows(session: Session) -> None:
    pending = session.info.pop("pending_workflows", None)
    if pending:
        with _cache_lock:
            _cache.update(pending)
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)


@event.listens_for(Session, "after_rollback")
@database.on("after_rollback")
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
                   version: Optional[int] = None) -> Row:
    """Start the latest (or given) version of ``process_id`` with start-form data; returns the
    instance's row (every column but its state) as the command committed it."""
    with command(session):
        version_ = definitions.current_version(session, process_id, version)
        check_may_start(version_, actor)
        instance_id = _start(session, version_, start_values(version_, data), actor)
        return _COLUMNS.first(session, {"iid": instance_id})  # every column but the state, as committed


def _start(session: Session, version_: definitions.Version, values: dict, actor: User, step=None,
           start_event: Optional[str] = None, started_by_message: Optional[dict] = None,
           failures: Optional[list] = None) -> int:
    specs = workflow.load_spec(f"{version_.content_hash}:{version_.id}", version_.spec_json)
    wf = workflow.new_workflow(specs, values, SCRIPT_TIMEOUT, start_event)
    instance_id = _CREATE_INSTANCE.scalar(session, {
        "definition_id": version_.id, "process_id": version_.process_id, "version": version_.version,
        "status": "running", "data": forms.to_json(values), "state": "", "etag": "", "revision": 0,
        "business_key": business_key(values), "started_at": clock.now(), "started_by": actor.username,
    })
    instance = Locked(instance_id, version_.process_id, "running", "", actor.username, version_.id)
    workflow.memo(wf).update(tasks={}, timers={}, due={}, subscriptions={})  # a new instance has no rows yet
    history.record(session, instance.id, "instance_started", actor.username, start_event,
                   data={"version": version_.version, "data": values,
                         **({"message": started_by_message} if started_by_message else {})})
    failure = advance(session, instance, version_, wf, step=step)
    if failure is not None and failures is not None:
        failures.append(failure)
    return instance.id


def complete_task(session: Session, task_id: int, data: Any, actor: User) -> Row:
    """Complete a human task with data checked by its form."""
    with command(session):
        row = _TASK_LOCKED.first(session, {"tid": task_id})
        if row is None:
            raise NotFoundError(f"Task {task_id} does not exist.")
        worklist.check_may_work(row, actor, "complete")
        instance = Locked(row.instance_id, row.process_id, row.instance_status, row.instance_etag,
                          row.instance_started_by, row.definition_id)
        version_ = definitions.version_of(session, row.definition_id, row.content_hash)
        values = forms.refuse_unstorable(forms.validate(version_.form(row.form_key), data if data is not None else {}))
        wf = load_workflow(session, instance, version_)
        engine_task = workflow.find_task(wf, row.engine_task_id)
        if engine_task is None:
            raise ConflictError(f"Task {task_id} is no longer waiting in its instance; reload the worklist.")
        values = {k: v for k, v in values.items() if v is not None or engine_task.data.get(k) is None}
        before = {k: engine_task.data.get(k) for k in values}
        now = clock.now()
        finished = _FINISH_TASK.rowcount(session, {"tid": row.id, "now": now, "user": actor.username})
        if finished != 1:
            raise ConflictError(f"Task {task_id} was completed or claimed by someone else just now; reload it.")
        history.record(session, instance.id, "task_completed", actor.username, row.element_id, row.id,
                       {"submitted": values, "before": before})
        try:
            workflow.complete(wf, row.engine_task_id, values)
        except Exception as exc:
            raise _as_engine_error(exc) from exc
        advance(session, instance, version_, wf, completed_task=row.engine_task_id)
    return row.replace(status="completed", completed_at=now, completed_by=actor.username,
                       assignee=row.assignee or actor.username)


def cancel_instance(session: Session, instance_id: int, reason: str, actor: User) -> Instance:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Give a reason for cancelling the instance.", {"reason": ["Required."]})
    with command(session):
        instance, version_ = lock_instance(session, instance_id)
        if not (actor.roles & {"admin", "supervisor"} or actor.username == instance.started_by):
            raise PermissionDeniedError("Only an admin, a supervisor or the user who started an instance may cancel it.")
        if instance.status not in ("running", "failed"):
            raise ConflictError(f"Instance {instance_id} is {instance.status}; only running instances can be cancelled.")
        wf = load_workflow(session, instance, version_)
        workflow.cancel(wf)
        worklist.close_open_tasks(session, instance.id, "cancelled", actor.username)
        timers.remove_all(session, instance.id, actor.username)
        messages.remove_all(session, instance.id)
        save_workflow(session, instance, wf, "cancelled", forms.to_json(workflow.process_data(wf)))
        session.execute(update(Instance).where(Instance.id == instance.id).values(cancel_reason=reason)
                        .execution_options(synchronize_session=False))
        history.record(session, instance.id, "instance_cancelled", actor.username, data={"reason": reason})
    return session.get(Instance, instance_id, populate_existing=True)


# -- running the engine -------------------------------------------------------------

@dataclass
class StepFailure:
    """A step that failed in ``advance`` (its incident is recorded): where, and the message."""

    element_id: Optional[str]
    message: str


def advance(session: Session, instance: Instance, version_: definitions.Version, wf,
            completed_task: Optional[str] = None, step=None) -> Optional[StepFailure]:
    """Run engine steps, then write state, human tasks, timers, subscriptions and history; returns
    the step that failed (recorded as an incident), if one did."""
    elements = version_.elements

    def on_step(step):
        history.record_engine_step(session, instance.id, version_.outgoing, step)

    status, failure = "running", None
    try:
        with connectors.running(connectors.Context(session, instance.id, instance.process_id)):
            (step or workflow.run)(wf, on_step)
            messages.deliver_kept_messages(session, instance.id, wf, on_step, elements)
    except Exception as exc:
        error = _as_engine_error(exc)
        failed = workflow.failed_step(exc)
        failure = StepFailure(failed.element_id if failed is not None else None, error.message)
        if failed is not None and failure.element_id not in failure.message:  # say which step failed
            failure.message = f"Step {failed.description}: {failure.message}"
        status = incidents.record_failure(session, instance.id, instance.process_id, failure.element_id,
                                          failed.engine_task_id if failed is not None else None, failure.message)
        session.execute(update(Instance).where(Instance.id == instance.id).values(error=failure.message)
                        .execution_options(synchronize_session=False))
    completed = workflow.is_completed(wf)
    if status == "running" and completed:
        status = "completed"
    data = workflow.process_data(wf, completed)
    if storable.find_problem(data) is not None:  # a value no check refused reached the data
        contained = _contain_unstorable(session, instance, wf)
        if contained is not None:
            status, failure = contained
        data = workflow.process_data(wf, completed)
    worklist.sync_tasks(session, instance, version_, wf, completed_task)
    if version_.has_timers:
        timers.sync(session, instance.id, instance.process_id, elements, wf)
    if version_.has_messages:
        messages.sync(session, instance.id, wf)
    thrown = waits.take_thrown_messages(wf)  # before saving: the outbox must not be stored
    save_workflow(session, instance, wf, status, forms.to_json(data))
    messages.send_thrown_messages(session, instance.id, thrown)
    if status == "completed":
        history.record(session, instance.id, "instance_completed", "system", data={"data": data})
    return failure


def _contain_unstorable(session: Session, instance: Instance, wf) -> Optional[tuple[str, StepFailure]]:
    """Clear data the engine cannot store from the workflow and open an incident on the element it
    appeared at, so the command still commits; returns the instance's new status and the failure
    (None: nothing found)."""
    found = data_guard.contain(wf)
    if found is None:
        return None
    message = (f"Variable '{found.problem.variable}' written at {found.where} cannot be stored: "
               f"{found.problem.describe()}. It was set to None so the instance could be saved. Correct the step "
               f"that wrote it (or the data sent to it), then retry the incident to run on with "
               f"'{found.problem.variable}' cleared, or resolve it.")
    status = incidents.record_failure(session, instance.id, instance.process_id, found.element_id,
                                      found.engine_task_id, message, retries=False)
    session.execute(update(Instance).where(Instance.id == instance.id).values(error=message)
                    .execution_options(synchronize_session=False))
    return status, StepFailure(found.element_id, message)


def _dump_state(session: Session, instance: Instance, wf) -> tuple[str, Optional[str]]:
    """The state's JSON, and the status to save when data that cannot be stored had to be cleared."""
    try:
        return workflow.dump_state(wf), None
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        contained = _contain_unstorable(session, instance, wf)
        if contained is None:
            raise EngineError(f"Instance {instance.id} could not be saved ({exc}); nothing was changed. "
                              "Report this with the process and the step.") from exc
        return workflow.dump_state(wf), contained[0]


def system_actor() -> User:
    """The actor of what the engine does by itself (timers, messages without a user)."""
    return User(username="system", password_hash="", display_name="system")


def start_for_timer(session: Session, version_: definitions.Version, actor: User, step, start_event: str,
                    failures: Optional[list] = None) -> int:
    """Start an instance for a timer start event; a step of it that failed is appended to ``failures``."""
    return _start(session, version_, {}, actor, step, start_event, failures=failures)


def _as_engine_error(exc: BaseException) -> EngineError:
    if isinstance(exc, EngineError):
        return exc
    script_error = find_script_error(exc)
    if script_error is not None:
        return script_error
    failed = workflow.failed_step(exc)
    where = f"step '{failed.element_id}'" if failed is not None else "a step"
    reason = (getattr(exc, "error_msg", None) or str(exc).split("\n")[0]).strip().rstrip(".")
    return EngineError(f"The process stopped at {where}: {reason}. Fix the cause (data, connector or model), "
                       "then retry the incident.")


def start_values(version_: definitions.Version, data: Any) -> dict:
    """Start data checked by the start form; without a form, any JSON object is taken as is."""
    if version_.start_form:
        return forms.refuse_unstorable(forms.validate(version_.form(version_.start_form), data if data is not None else {}))
    if data is not None and not isinstance(data, dict):
        raise ValidationError("The start data must be a JSON object.", {"data": ["Not an object."]})
    return forms.refuse_unstorable(dict(data or {}))


# -- permissions and helpers -----------------------------------------------------------

def check_may_start(definition: definitions.Version, actor: User) -> None:
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
            return str(values[key])[:256]  # the column's width; the data keeps the whole value
    return None


# -- commands kept in the row modules for now (being moved into this package) ------------

claim_task = worklist.claim
unclaim_task = worklist.unclaim
reassign_task = worklist.reassign
receive_message = messages.receive
retry_incident = incidents.retry
resolve_incident = incidents.resolve
retry_due_incidents = incidents.retry_due
fire_due_timers = timers.fire_due
deploy_definitions = definitions.deploy
deploy_paths = definitions.deploy_paths


def expire_kept_messages(session: Session) -> int:
    """Mark kept messages whose time ran out expired; returns how many."""
    with command(session):
        return messages.expire_old(session)


def get_instance(session: Session, instance_id: int) -> Instance:
    instance = session.get(Instance, instance_id)
    if instance is None:
        raise NotFoundError(f"Instance {instance_id} does not exist.")
    return instance
