"""Advancing a workflow: the one place the engine runs steps and writes what they changed.

``advance`` runs a step (or the engine until every path waits), delivers messages kept for what
the workflow now waits on, records a failing step as an incident, and writes the state, the
human tasks, timers, message subscriptions and history in the caller's command. It returns
what happened as ``Advanced``: the failure, if one, and the messages the workflow threw (send
tasks, throw events) and, when it completed, its data; the command then settles both
(``deliveries.settle``: thrown messages are delivered first, then the completion is recorded).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

from sqlalchemy.orm import Session

from engine import connectors, definitions, external_tasks, forms, history, incidents, message_rules, messages, spiff
from engine import timers
from engine import values as storable
from engine import worklist
from engine.errors import EngineError
from engine.models import InstanceStatus
from engine.runtime import workflows
from engine.runtime.workflows import Locked, StepFailure

KEPT_PER_STEP = 20  # kept messages delivered to one instance after one step, at most

Step = Callable  # (workflow, on_step) -> None: what to run; spiff.run runs until every path waits


@dataclass
class Advanced:
    """What advancing did: the failing step (recorded as an incident), the messages thrown, and the
    process data when the instance completed (its ``instance_completed`` event is still to record)."""

    failure: Optional[StepFailure] = None
    thrown: list[tuple[str, dict]] = field(default_factory=list)
    completed: Optional[dict] = None


def advance(session: Session, instance: Locked, version: definitions.Version, wf,
            completed_task: Optional[str] = None, step: Optional[Step] = None) -> Advanced:
    """Run engine steps, then write state, human tasks, timers, subscriptions and history."""
    status, failure = _run(session, instance, version, wf, step)
    version = workflows.with_bound(session, version, wf)  # with the processes of other files it called
    completed = spiff.is_completed(wf)
    if status == InstanceStatus.RUNNING and completed:
        status = InstanceStatus.COMPLETED
    data = spiff.process_data(wf, completed)
    if storable.find_problem(data) is not None:  # a value no check refused reached the data
        contained = workflows.contain_unstorable(session, instance, wf)
        if contained is not None:
            status, failure = contained
        data = spiff.process_data(wf, completed)
    _sync_rows(session, instance, version, wf, completed_task)
    thrown = spiff.take_thrown_messages(wf)  # before saving: the outbox must not be stored
    workflows.save_workflow(session, instance, wf, status, forms.to_json(data))
    return Advanced(failure, thrown, data if status == InstanceStatus.COMPLETED else None)


def _run(session: Session, instance: Locked, version: definitions.Version, wf,
         step: Optional[Step]) -> tuple[str, Optional[StepFailure]]:
    """Run the step and deliver kept messages; a failure becomes an incident (status from it)."""

    def on_step(done):
        history.record_engine_step(session, instance.id, version.outgoing, done)

    try:
        with connectors.running(connectors.Context(session, instance.id, instance.process_id)):
            (step or spiff.run)(wf, on_step)
            deliver_kept_messages(session, instance.id, wf, on_step, version.elements)
    except Exception as exc:
        return _record_failure(session, instance, exc)
    return InstanceStatus.RUNNING, None


def _record_failure(session: Session, instance: Locked, exc: Exception) -> tuple[str, StepFailure]:
    error = as_engine_error(exc)
    failed = spiff.failed_step(exc)
    failure = StepFailure(failed.element_id if failed is not None else None, error.message)
    if failed is not None and failure.element_id not in failure.message:  # say which step failed
        failure.message = f"Step {failed.description}: {failure.message}"
    status = incidents.record_failure(session, instance.id, instance.process_id, failure.element_id,
                                      failed.engine_task_id if failed is not None else None, failure.message)
    workflows.set_error(session, instance.id, failure.message)
    return status, failure


def _sync_rows(session: Session, instance: Locked, version: definitions.Version, wf,
               completed_task: Optional[str]) -> None:
    """Human tasks, timers, message subscriptions and external tasks as the workflow now waits."""
    worklist.sync_tasks(session, instance, version, wf, completed_task)
    if version.has_timers:
        timers.sync(session, instance.id, instance.process_id, version.elements, wf)
    if version.has_messages:
        messages.sync(session, instance.id, wf)
    if external_tasks.may_wait(version):
        external_tasks.sync(session, instance.id, instance.process_id, wf)


def deliver_kept_messages(session: Session, instance_id: int, wf, on_step, elements: dict) -> None:
    """Messages that arrived before the instance waited for them are delivered now (bounded); a kept
    message the waiting element would refuse (declared variables, failing correlation) stays kept."""
    for _ in range(KEPT_PER_STEP):
        data = None
        for waiting in spiff.waiting_messages(wf):
            data = data if data is not None else spiff.process_data(wf)
            element_id = messages.message_element(waiting.element_id, waiting.name, elements)
            kept = messages.kept_for(session, waiting.name, data,
                                     accepts=lambda m, e=element_id: message_rules.accepts_kept(wf, m, elements, e))
            if kept is not None and messages.take_kept(session, kept, instance_id):
                spiff.deliver_message(wf, waiting.name, dict(kept.data), on_step)
                messages.history_of_delivery(session, instance_id, kept.name, kept.message_id, kept.data,
                                             kept.sender, kept_since=kept.received_at, element_id=element_id)
                break
        else:
            return


def as_engine_error(exc: BaseException) -> EngineError:
    """What a failing step raised, as the error a user sees."""
    if isinstance(exc, EngineError):
        return exc
    script_error = spiff.find_script_error(exc)
    if script_error is not None:
        return script_error
    failed = spiff.failed_step(exc)
    where = f"step '{failed.element_id}'" if failed is not None else "a step"
    reason = (getattr(exc, "error_msg", None) or str(exc).split("\n")[0]).strip().rstrip(".")
    return EngineError(f"The process stopped at {where}: {reason}. Fix the cause (data, connector or model), "
                       "then retry the incident.")
