"""Message correlation in the SpiffWorkflow adapter: which waiting catch event of an instance a
message reaches, and catching it there, as Camunda 7 correlates (one execution per message).

A message is ``(name, correlation, payload)``. ``correlation`` holds Camunda-style keys (process
variables, matched by the caller against the instance's data) and, for a model with standard BPMN
correlation (``bpmn:correlationKey`` / ``bpmn:correlationProperty`` /
``bpmn:correlationPropertyRetrievalExpression``), correlation property values keyed by the
property's id. A property's value on the message side is the value given for its id, else its
retrieval expression (``messagePath``) evaluated on the message (correlation and payload
together); on the instance side it is the value the conversation was initialised with (an earlier
message), else the retrieval expression evaluated on the catching task's data. A catch event
matches when every property known on both sides agrees (a property unknown on one side does not
refuse: the first message of a conversation initialises it, as BPMN defines).

SpiffWorkflow's own catch evaluates the retrieval expressions on the payload alone and fails with
a NameError when the message carries the value as its correlation; ``catch_on`` records the
computed values instead.
"""
from __future__ import annotations

from copy import deepcopy
from functools import lru_cache
from typing import Any, Optional

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition as _BaseMessage
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.spiff.event_subprocesses import scope_interrupted
from engine.spiff.spec_json import spec_dicts
from engine.spiff import waits as _waits
from engine.spiff.steps import Listener, run
from engine.spiff.tasks import element_of

_UNKNOWN = object()


@lru_cache(maxsize=256)
def property_ids(spec_json: str, name: str) -> frozenset[str]:
    """The ids of the correlation properties message ``name`` has in a serialized spec."""
    return frozenset(p["name"] for node in spec_dicts(spec_json)
                     if node.get("name") == name and node.get("correlation_properties")
                     for p in node["correlation_properties"])


def message_definition(task, name: str) -> Optional[_BaseMessage]:
    """The message definition of ``name`` a waiting task catches with, if any."""
    definition = getattr(task.task_spec, "event_definition", None)
    for candidate in list(getattr(definition, "event_definitions", None) or [definition]):
        if isinstance(candidate, _BaseMessage) and candidate.name == name:
            return candidate
    return None


def _evaluate(task, expression: str, context: dict) -> Any:
    try:
        return task.workflow.script_engine.environment.evaluate(expression, dict(context))
    except Exception:  # noqa: BLE001 - a value the message or instance does not have is unknown
        return _UNKNOWN


def message_values(task, definition: _BaseMessage, correlation: dict, payload: dict) -> dict[str, Any]:
    """Property id → the message's value (given by id, else retrieved from the message)."""
    values = {}
    for prop in definition.correlation_properties:
        if prop.name in correlation:
            values[prop.name] = correlation[prop.name]
        else:
            values[prop.name] = _evaluate(task, prop.retrieval_expression, {**correlation, **payload})
    return values


def instance_value(task, prop) -> Any:
    """The instance's value of one property: the conversation's, else retrieved from the task's data."""
    for key in prop.correlation_keys:
        known = task.workflow.correlations.get(key, {})
        if prop.name in known:
            return known[prop.name]
    return _evaluate(task, prop.retrieval_expression, task.data)


def correlates(task, definition: _BaseMessage, correlation: dict, payload: dict) -> bool:
    """Whether the message's correlation property values agree with the instance's."""
    for prop_id, value in message_values(task, definition, correlation, payload).items():
        if value is _UNKNOWN:
            continue
        prop = next(p for p in definition.correlation_properties if p.name == prop_id)
        mine = instance_value(task, prop)
        if mine is not _UNKNOWN and str(mine) != str(value):
            return False
    return True


def catch_on(task, definition: _BaseMessage, correlation: dict, payload: dict) -> None:
    """``task`` catches the message: the payload is kept for the task (joins its data when it
    completes) and the conversation keeps the property values; nothing runs on yet."""
    event = BpmnEvent(definition, dict(payload), {})
    if task.task_spec.event_definition is definition and getattr(task.task_spec, "cancel_activity", True) is False \
            and type(task.task_spec).__name__ == "BoundaryEvent":
        _spawn(task, payload)
    elif task.task_spec.event_definition is definition:
        definition.update_internal_data(task, event)
        if task.task_spec.__class__.__name__ == "StartEvent" and task.state in (TaskState.COMPLETED,
                                                                                  TaskState.CANCELLED):
            task.workflow.reset_from_task_id(task.id)
        task._set_internal_data(event_fired=True)
        task._set_state(TaskState.WAITING)
    else:  # an event-based gateway (several definitions): SpiffWorkflow keeps what it has seen
        task.task_spec.catch(task, BpmnEvent(definition, {**correlation, **payload}, {}))
    for prop_id, value in message_values(task, definition, correlation, payload).items():
        if value is not _UNKNOWN:
            prop = next(p for p in definition.correlation_properties if p.name == prop_id)
            for key in prop.correlation_keys:
                task.workflow.correlations.setdefault(key, {})[prop_id] = value
    task.task_spec._update(task)


def _spawn(task, payload: dict) -> None:
    """A non-interrupting boundary event that caught a message starts its path once more and goes on
    waiting (Camunda: the subscription stays while the activity runs), as SpiffWorkflow's cycle
    timers do: a new child path, the boundary task left WAITING."""
    for output in task.task_spec.outputs:
        child = task._add_child(output, TaskState.FUTURE)
        child.data = {**deepcopy(task.data), **payload}
        child.task_spec._predict(child, mask=TaskState.NOT_FINISHED_MASK)
        child.task_spec._update(child)


def open_triggers(wf: BpmnWorkflow, name: str, payload: dict) -> None:
    """The process's event subprocesses with a message start event of ``name`` (SpiffWorkflow
    creates them only when such a message is caught) get an instance waiting at that start event,
    unless one waits already, so that they correlate like any catch event (none once an interrupting
    event subprocess has started: its scope has no subscription left)."""
    if wf.is_completed() or scope_interrupted(wf):
        return
    for sp_name in wf.spec.start.trigger_specs:
        sp_spec = wf.subprocess_specs.get(sp_name)
        for ts in sp_spec.bpmn_start_events if sp_spec is not None else []:
            if isinstance(ts.event_definition, _BaseMessage) and ts.event_definition.name == name:
                wf.event_manager.update_collaboration(BpmnEvent(ts.event_definition, dict(payload), {}))
                return


def trigger_waits(wf: BpmnWorkflow) -> list[tuple[str, str, str]]:
    """(engine task id, element id, message name) of the message start events of the process's event
    subprocesses not waiting yet: the instance is subscribed to them while it runs (and no interrupting
    event subprocess has started)."""
    if wf.is_completed() or scope_interrupted(wf):
        return []
    waiting = {t.task_spec.name for t in _waiting_tasks(wf)}
    found = []
    for sp_name in wf.spec.start.trigger_specs:
        sp_spec = wf.subprocess_specs.get(sp_name)
        for ts in (sp_spec.bpmn_start_events if sp_spec is not None else []):
            if isinstance(ts.event_definition, _BaseMessage) and ts.name not in waiting:
                found.append((f"trigger:{sp_name}:{ts.name}", getattr(ts, "bpmn_id", None) or ts.name,
                              ts.event_definition.name))
    return found


def _waiting_tasks(wf: BpmnWorkflow) -> list:
    return [t for t in wf.event_manager.tasks.values() if t.has_state(TaskState.WAITING)]


def deliver_message(wf: BpmnWorkflow, name: str, payload: dict, on_step: Optional[Listener] = None,
                    correlation: Optional[dict] = None) -> bool:
    """Deliver a message to one waiting catch event of the instance (``catch_message``); then run on."""
    if not catch_message(wf, name, payload, correlation):
        return False
    run(wf, on_step)
    return True


def catching_elements(wf: BpmnWorkflow, name: str, payload: dict, correlation: Optional[dict] = None) -> list[str]:
    """The waiting catch events of ``name`` whose correlation properties agree with the message,
    the one waiting longest first (``engine.spiff.correlation``). Changes nothing."""
    return [element_of(task) for task, _ in _correlated(wf, name, payload, correlation or {})]


def _correlated(wf: BpmnWorkflow, name: str, payload: dict, correlation: dict) -> list:
    open_triggers(wf, name, payload)
    found = []
    for task in _waiting_tasks(wf):
        definition = message_definition(task, name)
        if definition is not None and correlates(task, definition, correlation, payload):
            found.append((task, definition))
    return found


def catch_message(wf: BpmnWorkflow, name: str, payload: dict, correlation: Optional[dict] = None,
                  every: bool = False) -> bool:
    """The catch alone: ONE waiting catch event of ``name`` that correlates (the one waiting longest;
    every one with ``every``) takes the message, its payload joins that event's data; nothing runs
    on yet (``run`` does). False if nothing waiting correlates."""
    correlated = _correlated(wf, name, payload, correlation or {})
    for task, definition in correlated if every else correlated[:1]:
        catch_on(task, definition, correlation or {}, payload)
        if not task.has_state(TaskState.WAITING):
            task.data.update(payload)
    return bool(correlated)


def catch_problem(wf: BpmnWorkflow, name: str, payload: dict, correlation: Optional[dict] = None) -> Optional[str]:
    """Why the instance cannot catch message ``name`` from outside (its correlation property values
    differ from the instance's, or a property's value is neither given nor retrievable from the
    message), or None."""
    if not any(message_definition(t, name) for t in _waiting_tasks(wf)):
        return None
    correlated = _correlated(wf, name, payload, correlation or {})
    if not correlated:
        return "its correlation property values differ from the instance's"
    for task, definition in correlated:
        for prop in definition.correlation_properties:
            if prop.name in (correlation or {}):
                continue
            try:
                task.workflow.script_engine.environment.evaluate(prop.retrieval_expression,
                                                                 {**(correlation or {}), **payload})
            except Exception as exc:  # noqa: BLE001 - the model's expression fails on this message
                reason = (getattr(exc, "error_msg", None) or str(exc)).split("\n")[0]
                return (f"its correlation cannot be computed: property '{prop.name}' ({prop.retrieval_expression}) "
                        f"fails on the message ({type(exc).__name__}: {reason}); give its value in 'correlation' "
                        f"as {{\"{prop.name}\": …}} or send the variables it reads")
    return None


_REFS = ("messageRef", "signalRef", "errorRef", "escalationRef")
_BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def unprefixed_refs(root) -> None:
    """``messageRef="tns:order"`` (a QName, as the schema types it) names the element of id ``order``
    of this document; SpiffWorkflow looks the whole text up. Prefixed references to an element of
    the document are written without their prefix before parsing (signal, error, escalation alike)."""
    ids = {node.get("id") for tag in ("message", "signal", "error", "escalation")
           for node in root.iter(_BPMN + tag)}
    for node in root.iter():
        for attribute in _REFS:
            value = node.get(attribute) if isinstance(node.tag, str) else None
            if value and ":" in value and value not in ids and value.split(":", 1)[1] in ids:
                node.set(attribute, value.split(":", 1)[1])


def started_by_key(workflow: BpmnWorkflow, start) -> None:
    """A process whose only start event is a message start event, started by its key without a
    message (Camunda 7: ``startProcessInstanceByKey`` takes the single start event as the initial
    one): that start event is taken as if its message had come, with the start data."""
    if isinstance(getattr(start.task_spec, "event_definition", None), _BaseMessage) and \
            len(workflow.spec.start.outputs) == 1:
        start._set_internal_data(event_fired=True)


def waiting_messages(wf: BpmnWorkflow) -> list[_waits.WaitingMessage]:
    """What the instance waits for: its waiting message catch events, and the message start events of
    its event subprocesses while it runs (an event subprocess subscribes when its scope starts)."""
    return _waits.waiting_messages(wf) + [_waits.WaitingMessage(*wait) for wait in trigger_waits(wf)]
