"""Commands of external task workers (Camunda 7's external task service): fetch and lock, complete, report
a failure or a BPMN error, extend a lock. Only integrators and admins call them; each is one transaction.

* ``complete``: the worker's variables (held to the engine's storable-data rule) join the data at the task,
  and the instance runs on.
* ``report_failure``: with retries left the task is fetchable again after ``retry_timeout_ms``; with none
  an incident opens on its element (the instance is ``failed``); retrying the incident makes the task
  fetchable again with one retry.
* ``report_bpmn_error``: caught by an error boundary event of that code on the task (or of an enclosing
  subprocess); when nothing catches it, an incident opens on the task's element, as a failure with no
  retries does (Camunda leaves an uncaught error to end the path silently; a lost order is worse here),
  so a person can fix the model or the data and retry it.

Instance history records what a worker reported (``external_task_completed`` with its variables,
``external_task_failed``, ``external_task_bpmn_error``; each with the worker's id and topic) and the runs these
commands cause (gateways, scripts, incidents) as any step does; fetching is not recorded (workers poll).

A report locks the task's instance first, then the task's row, in the order of every step (which syncs the
rows while holding the instance), so a report and a step never wait for each other crosswise; a task that no
longer waits in the workflow is refused (409) before anything is recorded. Fetching locks rows only and reads
the workflows without their lock (``workflows.peek_workflow``).
"""
from __future__ import annotations

from typing import Any, Optional

from sqlalchemy.orm import Session

from engine import definitions, external_tasks, forms, history, incidents, spiff
from engine.database import command
from engine.errors import ConflictError, PermissionDeniedError, ValidationError
from engine.external_tasks import TopicRequest
from engine.models import ADMIN, INTEGRATOR, ExternalTask, Instance, InstanceStatus, User
from engine.runtime import deliveries, steps, workflows

WORKER_ROLES = {ADMIN, INTEGRATOR}


def check_may_work(actor: User) -> None:
    if not actor.roles & WORKER_ROLES:
        raise PermissionDeniedError("Only integrators and admins may work on external tasks: run the worker with "
                                    "an integrator's account or token.")


def fetch_and_lock(session: Session, worker_id: str, max_tasks: int, topics: list[TopicRequest],
                   actor: User) -> list[dict[str, Any]]:
    """Lock up to ``max_tasks`` tasks of ``topics`` for ``worker_id``; each with the variables visible from
    the task (only those its topic asks for, when it names them)."""
    check_may_work(actor)
    wanted = {t.name: t.variables for t in topics}
    with command(session):
        locked = external_tasks.lock_fetchable(session, worker_id, max_tasks, topics)
        found = []
        for row in locked:
            instance = session.get(Instance, row.instance_id)
            data = _visible_variables(session, instance, row.engine_task_id)
            names = wanted.get(row.topic)
            found.append(external_tasks.as_dict(row, instance, data if names is None else
                                                {k: v for k, v in data.items() if k in names}))
    return found


def complete(session: Session, task_id: int, worker_id: str, variables: dict, actor: User) -> dict:
    check_may_work(actor)
    variables = _checked(variables)
    with command(session):
        row, instance, version = _held(session, task_id, worker_id)
        engine_task_id = row.engine_task_id
        wf = _waiting_workflow(session, row, instance, version)
        _record(session, row, "external_task_completed", actor, {"variables": variables})
        advanced = steps.advance(session, instance, version, wf, step=lambda wf_, on_step: (
            spiff.complete_external(wf_, engine_task_id, variables, on_step)))
        deliveries.settle(session, instance.id, advanced)
        return {"id": task_id, "instance_id": instance.id, "status": "completed"}


def report_failure(session: Session, task_id: int, worker_id: str, error_message: str,
                   error_details: Optional[str], retries: int, retry_timeout_ms: int, actor: User) -> dict:
    check_may_work(actor)
    with command(session):
        row, instance, version = _held(session, task_id, worker_id)
        wf = _waiting_workflow(session, row, instance, version) if retries <= 0 else None
        _record(session, row, "external_task_failed", actor, {"error_message": error_message,
                                                              "retries": max(retries, 0)})
        external_tasks.note_failure(row, error_message, error_details, retries, retry_timeout_ms)
        if wf is not None:
            _open_incident(session, row, instance, wf,
                           f"External task '{row.element_id}' (topic '{row.topic}') failed and has no retries "
                           f"left: {error_message}. Fix the cause, then retry the incident: the task is fetched "
                           "again with one retry.")
        return external_tasks.as_dict(row)


def report_bpmn_error(session: Session, task_id: int, worker_id: str, error_code: str,
                      error_message: Optional[str], variables: dict, actor: User) -> dict:
    check_may_work(actor)
    variables = _checked(variables)
    with command(session):
        row, instance, version = _held(session, task_id, worker_id)
        engine_task_id = row.engine_task_id
        wf = _waiting_workflow(session, row, instance, version)
        _record(session, row, "external_task_bpmn_error", actor, {"error_code": error_code,
                                                                  "error_message": error_message,
                                                                  "variables": variables})
        if not spiff.catches_external_error(wf, engine_task_id, error_code):
            external_tasks.note_failure(row, error_message or error_code, None, 0, 0)
            _open_incident(session, row, instance, wf,
                           f"BPMN error '{error_code}'{': ' + error_message if error_message else ''} from external "
                           f"task '{row.element_id}' is not caught: add an error boundary event with errorCode "
                           f"'{error_code}' to the task (or its subprocess), or retry the incident to let a worker "
                           "try again.")
            return {"id": task_id, "instance_id": instance.id, "status": "incident"}
        advanced = steps.advance(session, instance, version, wf, step=lambda wf_, on_step: (
            spiff.throw_external_error(wf_, engine_task_id, error_code, variables, on_step)))
        deliveries.settle(session, instance.id, advanced)
        return {"id": task_id, "instance_id": instance.id, "status": "error_caught"}


def extend_lock(session: Session, task_id: int, worker_id: str, new_duration_ms: int, actor: User) -> dict:
    check_may_work(actor)
    with command(session):
        row = external_tasks.locked_by(session, task_id, worker_id, live=True)
        external_tasks.extend(row, new_duration_ms)
        return external_tasks.as_dict(row)


def _visible_variables(session: Session, instance: Instance, engine_task_id: str) -> dict:
    """The variables visible from the task's own execution, as Camunda gives a worker: the instance's and
    the task's local ones (its input parameters, a multi-instance element variable such as ``score``).
    Read from the (cached) workflow without locking the instance: a step holding the instance may be
    waiting for the row this fetch just locked."""
    data = spiff.task_data(workflows.peek_workflow(session, instance.id), engine_task_id)
    return forms.to_json(dict(data if data is not None else instance.data or {}))


def _held(session: Session, task_id: int, worker_id: str) -> tuple[ExternalTask, workflows.Locked,
                                                                       definitions.Version]:
    """The task's instance, locked first (as a step locks it before it syncs the rows), then the row
    ``worker_id`` holds, locked and checked after the instance's lock."""
    instance, version = workflows.lock_instance(session, external_tasks.instance_of(session, task_id))
    return external_tasks.locked_by(session, task_id, worker_id), instance, version


def _waiting_workflow(session: Session, row: ExternalTask, instance: workflows.Locked, version: definitions.Version):
    """The instance's workflow, which must still wait at the task (409 before anything is recorded)."""
    wf = workflows.load_workflow(session, instance, version)
    if row.engine_task_id not in {w.engine_task_id for w in spiff.waiting_external(wf)}:
        raise ConflictError(f"External task {row.id} ('{row.element_id}') no longer waits (its instance moved on "
                            "or was changed); nothing was recorded. Fetch and lock again.")
    return wf


def _record(session: Session, row, type_: str, actor: User, data: dict) -> None:
    """What the worker holding ``row`` reported, in the instance's history (the worker and the topic first)."""
    history.record(session, row.instance_id, type_, actor.username, row.element_id,
                   data={"worker_id": row.worker_id, "topic": row.topic, "external_task_id": row.id, **data})


def _checked(variables: Any) -> dict:
    if variables is None:
        return {}
    if not isinstance(variables, dict):
        raise ValidationError("'variables' must be an object such as {\"paid\": true}.",
                              {"variables": ["Not an object."]})
    forms.refuse_unstorable(variables, "variables")
    return dict(variables)


def _open_incident(session: Session, row: ExternalTask, instance: workflows.Locked, wf, message: str) -> None:
    """The task's retries are used up: it goes to error in the workflow, an incident opens on its element."""
    spiff.fail_external(wf, row.engine_task_id)
    status = incidents.record_failure(session, instance.id, instance.process_id, row.element_id,
                                      row.engine_task_id, message, retries=False)
    workflows.set_error(session, instance.id, message)
    workflows.save_workflow(session, instance, wf, status if status == InstanceStatus.FAILED else instance.status,
                            forms.to_json(spiff.process_data(wf)))
