"""SpiffWorkflow's timers made to behave as Camunda 7's: wrappers ``engine.spiff.patches`` installs.

* ``cron_cycles``: a ``timeCycle`` may be a Quartz cron (``engine.timer_cycles``), not only ISO-8601;
* ``by_the_worker``, ``cycle_by_the_worker``: a timer fires only inside ``may_fire`` (the worker's
  ``waits.fire_timers``); one already due when an instance reaches it (``PT0S``, a past date) waits,
  due, for the worker instead of firing inside the command that reached it, as Camunda makes it a job;
* ``keeping_spawned_paths``: when an activity ends, a non-interrupting cycle timer on it stops, and the
  paths it already started go on (SpiffWorkflow cancelled them with it).
"""
from __future__ import annotations

import ast
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta, timezone
from typing import Iterator, Optional

from SpiffWorkflow.util.task import TaskState

from engine import clock, timer_cycles

_may_fire: ContextVar[bool] = ContextVar("liucheng_timers_may_fire", default=False)


@contextmanager
def may_fire() -> Iterator[None]:
    """Timers that are due fire while this lasts (the worker firing them), and only then."""
    token = _may_fire.set(True)
    try:
        yield
    finally:
        _may_fire.reset(token)


def cron_cycles(cycle_complete):
    """A ``timeCycle`` written as a Quartz cron (``0 0/5 * * * ?``, ``engine.timer_cycles``) repeats at the
    cron's times; SpiffWorkflow reads only ISO-8601 cycles (a fixed interval). The cycle's state keeps
    SpiffWorkflow's shape (``cycles``, ``next``, ``duration``) plus the cron, and ``next`` is moved on
    by the cron after each firing."""
    def complete(self, my_task, *args, **kwargs):
        if my_task._get_internal_data("event_value") is None:
            text = _literal(self.expression)
            if text is None:  # an expression: a cron only if it gives one (else SpiffWorkflow evaluates it again)
                text = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            if isinstance(text, str) and timer_cycles.is_cron(text):
                first = timer_cycles.next_after(text, _datetime_now())
                my_task._set_internal_data(event_value={
                    "cycles": -1 if first is not None else 0, "duration": 0, "cron": text,
                    "next": (first or _datetime_now()).isoformat()})
        ready = cycle_complete(self, my_task, *args, **kwargs)
        value = my_task._get_internal_data("event_value")
        if ready and isinstance(value, dict) and value.get("cron"):
            following = timer_cycles.next_after(value["cron"], datetime.fromisoformat(value["next"]))
            if following is None:
                value["cycles"] = 0
            else:
                value["next"] = following.isoformat()
        return ready
    return complete


def _literal(expression: str) -> Optional[str]:
    """The text of a timer expression that is a plain string literal (as deploy quotes them), else None."""
    try:
        value = ast.literal_eval(expression.split("  #", 1)[0].strip())
    except (ValueError, SyntaxError, TypeError):
        return None
    return value if isinstance(value, str) else None


def _datetime_now() -> datetime:
    """The engine's time as SpiffWorkflow's timers see it (aware UTC)."""
    return clock.EngineDatetime.now(timezone.utc)


def by_the_worker(has_fired):
    """A date or duration timer already due when it is reached (``PT0S``, a past ``timeDate``) does not
    fire inside the command that reached it: it waits, due, and the worker fires it like any other
    timer (Camunda creates a due job the job executor runs). Timers fire only inside ``fire_timers``."""
    def checked(self, my_task, *args, **kwargs):
        was = my_task._get_internal_data("event_fired", False)
        fired = has_fired(self, my_task, *args, **kwargs)
        if fired and not was and not _may_fire.get():
            my_task.internal_data.pop("event_fired", None)
            return False
        return fired
    return checked


def cycle_by_the_worker(cycle_complete):
    """``by_the_worker`` for cycles: outside ``fire_timers`` a cycle is armed (due when its first time
    comes, already due or not) but never fires; a spent cycle still ends."""
    def complete(self, my_task, *args, **kwargs):
        value = my_task._get_internal_data("event_value")
        if _may_fire.get() or (isinstance(value, dict) and value.get("cycles") == 0):
            return cycle_complete(self, my_task, *args, **kwargs)
        if value is not None:
            return False
        if cycle_complete(self, my_task, *args, **kwargs):  # armed already due: back to due, for the worker
            value = my_task._get_internal_data("event_value")
            value["next"] = (datetime.fromisoformat(value["next"])
                             - timedelta(seconds=value["duration"])).isoformat()
            value["cycles"] += 1
        return False
    return complete


def keeping_spawned_paths(check):
    """When the activity a non-interrupting cycle timer is attached to ends, the timer stops (Camunda
    deletes its job) but the paths it already started go on: SpiffWorkflow cancelled the waiting timer
    with everything below it, the spawned tasks included (work lost). Such a timer is taken out of the
    list the join cancels and stopped alone, its children left as they are."""
    def checked(self, my_task):
        finished, cancel = check(self, my_task)
        kept = []
        for task in cancel:
            if getattr(task.task_spec, "cancel_activity", True) is False and any(
                    c.has_state(TaskState.DEFINITE_MASK) for c in task.children):
                task.workflow.top_workflow.event_manager.remove_task(task)
                for child in [c for c in task.children if c.has_state(TaskState.PREDICTED_MASK)]:
                    task.workflow._remove_task(child.id)  # what it might still have started
                task._set_state(TaskState.CANCELLED)
            else:
                kept.append(task)
        return finished, kept
    return checked
