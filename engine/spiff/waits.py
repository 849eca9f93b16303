"""Timers, messages and receive tasks without a message in the SpiffWorkflow adapter: what an instance
waits for, and firing or triggering it (catching messages is ``engine.spiff.correlation``'s, signals
and what a step threw ``engine.spiff.signals``').

SpiffWorkflow's timers read ``datetime.now``; the engine answers with its own
clock (``engine.clock``), so a frozen test clock or a worker firing an overdue
timer sees the time it means. That, the bound on timer durations
(``bounded_months``) and timers that fail naming their task (``naming_the_task``)
are installed on SpiffWorkflow's timer module by ``engine.spiff.patches`` at
engine start-up, not here; so are the Camunda rules of ``engine.spiff.camunda_timers``
(timers fire only inside ``fire_timers``, ``may_fire``).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime as _datetime, timedelta as _timedelta, timezone as _timezone
from typing import Optional

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition as _BaseMessage
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import ReceiveTask as _ReceiveTask
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.specs.event_definitions import SignalEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine import clock as _clock
from engine.spiff.camunda_timers import may_fire
from engine.spiff.steps import Listener, run
from engine.spiff.tasks import element_of, find_task

_firing_at = _clock.FIRING_AT


@contextmanager
def timers_held():
    """While this lasts SpiffWorkflow's timers see a time long past: they are armed, none fires."""
    token = _firing_at.set(_datetime(1970, 1, 2))
    try:
        yield
    finally:
        _firing_at.reset(token)


def firing_at() -> Optional[_datetime]:
    """The time a timer is being fired at (may be later than it was due), if any."""
    return _firing_at.get()


MAX_TIMER_MONTHS = 12 * 10_000  # datetimes end in the year 9999: a longer duration cannot be scheduled


def bounded_months(add_months):
    """SpiffWorkflow adds up a duration's months one at a time (``P99999999999Y``: hours of work for
    the web process or the worker); a duration beyond the calendar fails at once instead."""
    def bounded(parsed_duration, *args, **kwargs):
        months = parsed_duration.get("months", 0) + parsed_duration.get("years", 0) * 12
        if months > MAX_TIMER_MONTHS:
            raise ValueError(f"a timer duration of {months} months reaches beyond the calendar (the year 9999); "
                             "use a shorter duration")
        return add_months(parsed_duration, *args, **kwargs)
    return staticmethod(bounded)


def naming_the_task(check):
    """A timer whose text cannot be scheduled fails with the task it belongs to (its incident names the
    element) instead of a bare ValueError."""
    def checked(self, my_task, *args, **kwargs):
        try:
            return check(self, my_task, *args, **kwargs)
        except SpiffWorkflowException:
            raise  # the expression's own failure (ScriptError inside), already naming the task
        except Exception as exc:  # noqa: BLE001 - SpiffWorkflow's parsers raise bare Exception too
            raise WorkflowTaskException(
                f"Timer '{self.expression}' cannot be scheduled ({type(exc).__name__}: {exc}); write an ISO-8601 "
                "date, duration or cycle within the calendar (e.g. PT24H, P7D), then retry the incident",
                task=my_task, exception=exc) from exc
    return checked


def iso_datetime(text: str) -> _datetime:
    """An ISO-8601 date-time as SpiffWorkflow's timers read it (aware)."""
    return TimerEventDefinition.get_datetime(text)


def iso_duration_from(text: str, start: _datetime) -> _timedelta:
    """The length of ISO-8601 duration ``text`` counted from ``start`` (months are calendar months)."""
    return TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration(text), start)


def iso_recurring_interval(text: str) -> tuple[int, _datetime, _timedelta]:
    """(repetitions or -1, start, interval) of an ISO-8601 cycle ``R[n]/start/duration``."""
    return TimerEventDefinition.parse_iso_recurring_interval(text)


@dataclass
class WaitingTimer:
    engine_task_id: str
    element_id: str
    due_at: _datetime  # naive UTC


@dataclass
class WaitingMessage:
    engine_task_id: str
    element_id: str
    name: str


def _definitions_of(task) -> list:
    definition = getattr(task.task_spec, "event_definition", None)
    if definition is None:
        return []
    return list(getattr(definition, "event_definitions", None) or [definition])


def _waiting_tasks(wf: BpmnWorkflow) -> list:
    return [t for t in wf.event_manager.tasks.values() if t.has_state(TaskState.WAITING)]


def waiting_timers(wf: BpmnWorkflow) -> list[WaitingTimer]:
    timers = []
    for task in _waiting_tasks(wf):
        if not any(isinstance(d, TimerEventDefinition) for d in _definitions_of(task)):
            continue
        value = task.internal_data.get("event_value")
        if isinstance(value, dict):
            value = value.get("next")
        due = _parse_due(value)
        if due is not None:
            timers.append(WaitingTimer(str(task.id), element_of(task), due))
    return timers


def _parse_due(value) -> Optional[_datetime]:
    if not isinstance(value, str):
        return None
    try:
        parsed = _datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(_timezone.utc).replace(tzinfo=None)
    return parsed


def waiting_messages(wf: BpmnWorkflow) -> list[WaitingMessage]:
    return [WaitingMessage(str(task.id), element_of(task), definition.name)
            for task in _waiting_tasks(wf) for definition in _definitions_of(task)
            if isinstance(definition, _BaseMessage)]


def fire_timers(wf: BpmnWorkflow, at: _datetime, on_step: Optional[Listener] = None) -> None:
    """Fire every timer due by ``at`` (naive UTC) and run on; new timers count from ``at``."""
    token = _firing_at.set(at + _timedelta(microseconds=1))  # SpiffWorkflow fires what is due *before* now
    try:
        with may_fire():
            wf.refresh_timers()
    finally:
        _firing_at.reset(token)
    token = _firing_at.set(at)
    try:
        run(wf, on_step)
    finally:
        _firing_at.reset(token)


def fire_start_timer(wf: BpmnWorkflow, at: _datetime, on_step: Optional[Listener] = None) -> None:
    """Fire a timer start event exactly once. The host starts one instance per tick, so the start
    event is told its timer has fired (a cycle as spent) instead of letting SpiffWorkflow loop."""
    with timers_held():  # arm the start event without firing it
        run(wf, on_step)
    just_before = (at - _timedelta(microseconds=1)).replace(tzinfo=_timezone.utc).isoformat()
    starts = _waiting_tasks(wf)
    for task in starts:
        value = task.internal_data.get("event_value")
        if isinstance(value, dict) and "cycles" in value:  # one cycle left, due now: fires once
            task.internal_data["event_value"] = {**value, "cycles": 1, "next": just_before}
        elif any(isinstance(d, TimerEventDefinition) for d in _definitions_of(task)):
            task.internal_data["event_value"] = just_before
    token = _firing_at.set(at)
    try:
        with may_fire():
            for _ in range(3):  # a spent cycle needs one more refresh to complete its start event
                wf.refresh_timers()
                run(wf, on_step)
                if not any(t.has_state(TaskState.WAITING) for t in starts):
                    break
    finally:
        _firing_at.reset(token)



TRIGGER = "liucheng.trigger:"  # the signal a receive task without a message waits for (never thrown by a model)


@dataclass
class WaitingTrigger:
    engine_task_id: str
    element_id: str


def wait_for_trigger(task_spec) -> None:
    """A receive task without a message waits until it is triggered from outside (Camunda's
    ``runtimeService.signal``), where SpiffWorkflow would pass it by: it is given a signal of its own."""
    if isinstance(task_spec, _ReceiveTask) and isinstance(task_spec.event_definition, NoneEventDefinition):
        task_spec.event_definition = SignalEventDefinition(TRIGGER + task_spec.bpmn_id)


def waiting_triggers(wf: BpmnWorkflow) -> list[WaitingTrigger]:
    """The receive tasks without a message that wait now, to be triggered."""
    return [WaitingTrigger(str(task.id), element_of(task)) for task in _waiting_tasks(wf)
            if any(isinstance(d, SignalEventDefinition) and d.name.startswith(TRIGGER) for d in _definitions_of(task))]


def trigger(wf: BpmnWorkflow, engine_task_id: str, data: dict, on_step: Optional[Listener] = None) -> None:
    """Move one waiting receive task on; ``data`` joins its data. Then run on."""
    task = find_task(wf, engine_task_id)
    task.task_spec.catch(task, BpmnEvent(task.task_spec.event_definition, dict(data)))
    task.data.update(data)
    task.task_spec._update(task)  # as SpiffWorkflow's event manager does after a catch
    run(wf, on_step)
