"""Interrupting event subprocesses in the SpiffWorkflow adapter, as Camunda 7 runs them.

An event subprocess whose start event is interrupting (``isInterrupting="true"``, BPMN's default)
cancels every other activity of its scope when its start event fires (user tasks, timers, message
and signal waits, external tasks, running subprocesses, the scope's other event subprocesses), and
the scope ends when the event subprocess ends. SpiffWorkflow reads no ``isInterrupting`` and runs
every event subprocess beside the main path, so:

* ``StartEventParser`` records the flag in the start event spec's ``extensions``
  (``INTERRUPTING``), which SpiffWorkflow's serializer keeps with the spec. A spec parsed before
  the flag existed has none: its event subprocesses keep running beside the main path, as they did.
* ``interrupt_scope`` is called by ``steps.run`` for every task the engine completes; when the task
  is such a start event, the rest of its scope is cancelled there and then, before anything else
  of the scope runs on.
* ``scope_interrupted`` tells whether an interrupting event subprocess runs (or ran) in the
  workflow: its scope has no event subprocess subscription left (Camunda removes them with the
  scope's other activities).

The rows above (open tasks, timers, message waits, external tasks) follow the workflow's waiting
tasks in the same command, as for an interrupting boundary event.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.parser.event_parsers import (CONDITIONAL_EVENT_XPATH, ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH,
                                                     MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, TIMER_EVENT_XPATH)
from SpiffWorkflow.spiff.parser.event_parsers import SpiffStartEventParser
from SpiffWorkflow.util.task import TaskState

INTERRUPTING = "liucheng:isInterrupting"  # the key in a start event spec's extensions


class StartEventParser(SpiffStartEventParser):
    """SpiffWorkflow's start event parser, keeping an event subprocess start event's
    ``isInterrupting`` (default true, as BPMN defines) in the spec's extensions."""

    def create_task(self):
        if not self._in_event_subprocess():
            return super().create_task()
        # SpiffWorkflow's start event parser reads no error or escalation: such an event subprocess started
        # with its process, as if its start event were a none start event
        event_definition = self.get_event_definition([MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, TIMER_EVENT_XPATH,
                                                      CONDITIONAL_EVENT_XPATH, ERROR_EVENT_XPATH,
                                                      ESCALATION_EVENT_XPATH])
        task = self._create_task(event_definition)
        self.spec.start.connect(task)
        return task

    def _in_event_subprocess(self) -> bool:
        parent = self.node.getparent()
        return parent is not None and parent.get("triggeredByEvent") == "true"

    def parse_extensions(self, node=None):
        extensions = super().parse_extensions(node)
        if node is None and self._in_event_subprocess():
            extensions[INTERRUPTING] = self.node.get("isInterrupting", "true").strip().lower() != "false"
        return extensions


def _is_interrupting_start(task) -> bool:
    return isinstance(task.task_spec, StartEvent) and \
        (getattr(task.task_spec, "extensions", None) or {}).get(INTERRUPTING) is True


def _event_subprocess_task(task):
    """The task of the subprocess ``task``'s workflow runs in (for an interrupting start event: the
    event subprocess's; SpiffWorkflow's serializer restores it as a plain ``SubWorkflowTask``)."""
    workflow = task.workflow
    if workflow is workflow.top_workflow:
        return None
    return workflow.top_workflow.get_task_from_id(workflow.parent_task_id)


def interrupt_scope(task) -> list:
    """If ``task`` (just completed) is an interrupting event subprocess's start event, cancel every
    other unfinished task of the event subprocess's scope; the cancelled tasks (empty otherwise)."""
    if not _is_interrupting_start(task):
        return []
    holder = _event_subprocess_task(task)
    if holder is None:
        return []
    kept = {id(t) for t in _lineage(holder)}
    scope = holder.workflow
    doomed = [t for t in scope.tasks.values()
              if id(t) not in kept and not t.has_state(TaskState.FINISHED_MASK)
              and not _below(t, holder)]
    for each in doomed:
        each.cancel()
    return doomed


def _lineage(task) -> list:
    found = []
    while task is not None:
        found.append(task)
        task = task.parent
    return found


def _below(task, ancestor) -> bool:
    node = task.parent
    while node is not None:
        if node is ancestor:
            return True
        node = node.parent
    return False


def scope_interrupted(workflow) -> bool:
    """Whether an interrupting event subprocess of the top-level process has started (its scope has
    no event subprocess subscription left)."""
    top = workflow.top_workflow
    for sub in top.subprocesses.values():
        if top.get_task_from_id(sub.parent_task_id).workflow is not top:
            continue
        if any(_is_interrupting_start(t) and t.has_state(TaskState.COMPLETED) for t in sub.tasks.values()):
            return True
    return False
