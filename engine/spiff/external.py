"""Service tasks the engine does not run itself, in the SpiffWorkflow adapter: external tasks, expressions
and Camunda/Flowable delegates named like a connector.

* ``camunda:type="external"`` + ``camunda:topic`` (Flowable: ``flowable:type="external-worker"`` +
  ``flowable:topic``) parses as an ``ExternalServiceTask``: when reached it stays STARTED, so the instance
  waits there (its boundary events stay armed) until a worker completes it (``complete_external``),
  reports a BPMN error (``throw_external_error``) or its failures use up its retries (``fail_external``:
  the task goes to ERROR, so retrying the incident runs it again, and it waits again).
* ``camunda:expression`` parses as an ``ExpressionServiceTask``: the JUEL is translated to Python at deploy
  (``engine.juel``) and evaluated in the sandbox when reached; the value goes to ``camunda:resultVariable``.
* ``camunda:class`` / ``camunda:delegateExpression`` parse as SpiffWorkflow's own service task calling the
  connector of that name (``engine.bpmn.checks`` refused the model when there is none).
* A service task naming no implementation at all (interchange models) is an external task whose topic is its
  element id (the deploy reply has a note saying so).

Each takes the pre- and post-scripts ``engine.spiff.io_parameters`` wrote for its ``camunda:inputOutput``: the
input parameters are set when the task is reached (a worker fetching an external task sees them), the output
parameters after it completes.

``ServiceParser`` is the parser class ``engine.spiff.parser`` gives SpiffWorkflow for service tasks;
``CONVERTERS`` tell the serializer (``engine.spiff.state``) the two new spec classes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser
from SpiffWorkflow.spiff.serializer.task_spec import ServiceTaskConverter
from SpiffWorkflow.spiff.specs.defaults import ServiceTask
from SpiffWorkflow.util.task import TaskState

from engine import juel
from engine.spiff.steps import Listener, run
from engine.spiff.tasks import element_of, find_task

VENDORS = ("http://camunda.org/schema/1.0/bpmn", "http://flowable.org/bpmn", "http://activiti.org/bpmn")
EXTERNAL_TYPES = ("external", "external-worker")
SPIFF_OPERATOR = "{http://spiffworkflow.org/bpmn/schema/1.0/core}serviceTaskOperator"


def vendor_attribute(node, name: str) -> Optional[str]:
    """``name`` in the first of camunda:, flowable:, activiti: that the element carries."""
    for uri in VENDORS:
        value = node.get("{%s}%s" % (uri, name))
        if value is not None:
            return value
    return None


def delegate_name(node) -> Optional[str]:
    """The connector a ``class``/``delegateExpression`` service task names (``${name}`` → ``name``)."""
    name = vendor_attribute(node, "class") or vendor_attribute(node, "delegateExpression")
    if name is None:
        return None
    name = name.strip()
    if name[:2] in ("${", "#{") and name.endswith("}"):
        name = name[2:-1].strip()
    return name


class ExternalServiceTask(ServiceTask):
    """Waits (STARTED) for a worker; ``operation_name`` is the topic, ``operation_params`` holds the priority."""

    def _run_hook(self, my_task):
        return None  # STARTED: the instance waits here until complete_external


class ExpressionServiceTask(ServiceTask):
    """Evaluates ``operation_name`` (Python, translated from JUEL) in the sandbox; stores it when the model
    names a result variable (``operation_params['store']``)."""

    def _run_hook(self, my_task):
        if self.operation_params.get("action"):  # execution.setVariable('x', v): the script x = v writes the data
            my_task.workflow.script_engine.execute(my_task, self.operation_name)
            return True
        value = my_task.workflow.script_engine.evaluate(my_task, self.operation_name)
        if self.operation_params.get("store"):
            my_task.data[self.result_variable] = value
        return True


CONVERTERS = {ExternalServiceTask: ServiceTaskConverter, ExpressionServiceTask: ServiceTaskConverter}


class ServiceParser(ServiceTaskParser):
    """SpiffWorkflow's service task parser, also reading the Camunda/Flowable ways of naming the work."""

    def create_task(self):
        if self.node.find(f".//{SPIFF_OPERATOR}") is not None:
            return super().create_task()
        node, result = self.node, vendor_attribute(self.node, "resultVariable")
        scripts = self._scripts()
        if (vendor_attribute(node, "type") or "").strip() in EXTERNAL_TYPES:
            priority = (vendor_attribute(node, "taskPriority") or "0").strip()
            return ExternalServiceTask(self.spec, self.bpmn_id, operation_name=vendor_attribute(node, "topic") or "",
                                       operation_params={"priority": int(priority) if priority.lstrip("-").isdigit()
                                                         else 0},
                                       result_variable=None, **scripts, **self.bpmn_attributes)
        expression = vendor_attribute(node, "expression")
        if expression is not None:
            action = juel.to_script(expression) if juel.is_juel(expression) else None
            return ExpressionServiceTask(self.spec, self.bpmn_id,
                                         operation_name=action or juel.to_python(expression.strip()),
                                         operation_params={"store": bool(result), "action": bool(action)},
                                         result_variable=result, **scripts, **self.bpmn_attributes)
        name = delegate_name(node)
        if name is not None:
            return ServiceTask(self.spec, self.bpmn_id, operation_name=name, operation_params={},
                               result_variable=result, **scripts, **self.bpmn_attributes)
        if vendor_attribute(node, "type") is None:  # no implementation named: an external task of its own id
            return ExternalServiceTask(self.spec, self.bpmn_id, operation_name=self.bpmn_id,
                                       operation_params={"priority": 0}, result_variable=None, **scripts,
                                       **self.bpmn_attributes)
        return super().create_task()

    def _scripts(self) -> dict:
        """The pre- and post-scripts ``engine.spiff.io_parameters`` wrote for the task's ``camunda:inputOutput``
        (inputs before the task runs: a worker fetching it sees them; outputs after it completes)."""
        extensions = self.parse_extensions()
        return {"prescript": extensions.get("preScript"), "postscript": extensions.get("postScript")}


@dataclass
class WaitingExternal:
    engine_task_id: str
    element_id: str
    topic: str
    priority: int


def waiting_external(wf: BpmnWorkflow) -> list[WaitingExternal]:
    """The external tasks the workflow waits on now (its subprocesses' too)."""
    return [WaitingExternal(str(t.id), element_of(t), t.task_spec.operation_name,
                            int(t.task_spec.operation_params.get("priority", 0)))
            for t in wf.get_tasks(state=TaskState.STARTED) if isinstance(t.task_spec, ExternalServiceTask)]


def _external(wf: BpmnWorkflow, engine_task_id: str, *states):
    task = find_task(wf, engine_task_id)
    if task is None or not isinstance(task.task_spec, ExternalServiceTask) or not task.has_state(*states):
        return None
    return task


def complete_external(wf: BpmnWorkflow, engine_task_id: str, variables: dict,
                      on_step: Optional[Listener] = None) -> bool:
    """The worker's variables join the task's data, the task completes, the workflow runs on. False when the
    task no longer waits."""
    task = _external(wf, engine_task_id, TaskState.STARTED)
    if task is None:
        return False
    task.data.update(variables)
    task.complete()
    run(wf, on_step)
    return True


def fail_external(wf: BpmnWorkflow, engine_task_id: str) -> bool:
    """The task's retries are used up: it goes to ERROR (retrying its incident runs it, and it waits again)."""
    task = _external(wf, engine_task_id, TaskState.STARTED)
    if task is None:
        return False
    task._set_state(TaskState.ERROR)
    return True


def throw_external_error(wf: BpmnWorkflow, engine_task_id: str, code: str, variables: dict,
                         on_step: Optional[Listener] = None) -> bool:
    """A BPMN error ``code`` from the task: caught by an error boundary event of the task (first) or of an
    enclosing subprocess, or an error event subprocess; the variables join the data. False (nothing changed)
    when nothing catches it."""
    task = _external(wf, engine_task_id, TaskState.STARTED)
    if task is None:
        return False
    catcher = _catcher(wf, task, code)
    if catcher is None:
        return False
    event = BpmnEvent(type(catcher.task_spec.event_definition)(code, code=code), dict(variables))
    task.data.update(variables)
    catcher.data.update(variables)
    catcher.task_spec.catch(catcher, event)
    catcher.task_spec._update(catcher)
    run(wf, on_step)
    return True


def catches_external_error(wf: BpmnWorkflow, engine_task_id: str, code: str) -> bool:
    """Whether a BPMN error ``code`` from the waiting external task would be caught. Changes nothing."""
    task = _external(wf, engine_task_id, TaskState.STARTED)
    return task is not None and _catcher(wf, task, code) is not None


def _catcher(wf: BpmnWorkflow, task, code: str):
    """The waiting task that catches error ``code`` thrown at ``task``: a boundary event beside it, else
    the nearest enclosing workflow's."""
    waiting = [t for t in wf.event_manager.tasks.values() if t.has_state(TaskState.WAITING)]
    siblings = [t for t in waiting if t.parent is task.parent and _catches(t, code)]
    if siblings:
        return siblings[0]
    workflow = task.workflow
    while workflow is not None:
        found = [t for t in waiting if t.workflow is workflow and _catches(t, code)]
        if found:
            return found[0]
        workflow = workflow.parent_workflow
    return None


def _catches(task, code: str) -> bool:
    """An error event definition of the same code, or one without a code (it catches every error)."""
    definition = getattr(task.task_spec, "event_definition", None)
    return type(definition).__name__ == "ErrorEventDefinition" and getattr(definition, "code", None) in (None, code)
