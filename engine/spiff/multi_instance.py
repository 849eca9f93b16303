"""Multi-instance activities as Camunda 7 runs them, in the SpiffWorkflow adapter.

SpiffWorkflow runs ``multiInstanceLoopCharacteristics`` with its own conventions (``loopDataInputRef``/
``inputDataItem``, ``loopCardinality``, ``completionCondition``, results collected through
``loopDataOutputRef``/``outputDataItem``). The two spec classes here add what Camunda models count on:

* ``camunda:collection`` (a Python expression after deploy: ``engine.bpmn.multi_instance`` translated
  the JUEL and gave the loop a ``loopCardinality`` of ``len(collection)`` when it had none) and
  ``camunda:elementVariable``: instance *i* gets element *i* of the collection in the element variable
  (with a ``loopCardinality`` too, the first *n* elements, as Camunda);
* in every instance's data: ``loopCounter`` (0-based; Flowable's ``elementIndexVariable`` renames it),
  ``nrOfInstances``, ``nrOfActiveInstances`` (always 1 when sequential), ``nrOfCompletedInstances``; the
  running instances' counters move as others complete, and the ``completionCondition`` sees them (true: the
  instances still running are cancelled);
* these variables and the element variable (or ``inputDataItem``) are **local** to the instance: an
  existing process variable of the same name is shadowed, not refused, and keeps its value; what else
  an instance writes goes to the process when it completes (the last to complete wins), as Camunda's
  ``setVariable``. A model with ``outputDataItem`` keeps SpiffWorkflow's collection of results.

``parser_classes`` gives the parser classes of every activity these spec classes; ``CONVERTERS`` tell the
serializer (``engine.spiff.state``) about them.
"""
from __future__ import annotations

from copy import deepcopy

from SpiffWorkflow.bpmn.exceptions import WorkflowDataException
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.spiff.serializer.task_spec import SpiffMultiInstanceConverter
from SpiffWorkflow.spiff.specs.defaults import ParallelMultiInstanceTask, SequentialMultiInstanceTask
from SpiffWorkflow.util.task import TaskState

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
LOOP_COUNTER = "loopCounter"
COUNTERS = ("nrOfInstances", "nrOfActiveInstances", "nrOfCompletedInstances")
ACTIVITIES = ("task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
              "businessRuleTask", "subProcess", "transaction", "callActivity")


class InstanceVariables:
    """What both spec classes add to SpiffWorkflow's: the collection's elements, the counters, locality."""

    def __init__(self, wf_spec, bpmn_id, task_spec, collection=None, element_variable=None, index_variable=None,
                 **kwargs):
        super().__init__(wf_spec, bpmn_id, task_spec, **kwargs)
        self.collection = collection
        self.element_variable = element_variable
        self.index_variable = index_variable  # Flowable's elementIndexVariable: loopCounter under another name

    def create_child(self, my_task, item, key_or_index=None):
        task_spec = my_task.workflow.spec.task_specs[self.task_spec]
        if not task_spec.completed_event.is_connected(self.merge_child):
            task_spec.completed_event.connect(self.merge_child)
        if not task_spec.update_event.is_connected(_set_locals):
            task_spec.update_event.connect(_set_locals)
        if self.output_item is not None and self.output_item.exists(my_task):
            raise WorkflowDataException(f"Multiinstance output item {self.output_item.bpmn_id} already exists.",
                                        my_task)
        index = len(list(self._instances(my_task)))
        child = my_task._add_child(task_spec, TaskState.WAITING)
        child.triggered = True
        running = self._total(my_task) - self._completed(my_task)
        local = {self.index_variable or LOOP_COUNTER: index, **self._counters(my_task, running=running)}
        if self.element_variable:
            local[self.element_variable] = self._element(my_task, index)
        elif self.input_item is not None:
            local[self.input_item.bpmn_id] = item
        child.internal_data["local"] = list(local)
        child.internal_data["local_values"] = local  # set once the child has inherited its parent's data
        child.internal_data["key_or_index" if key_or_index is not None else "item"] = \
            key_or_index if key_or_index is not None else item
        child.task_spec._update(child)

    def merge_child(self, workflow, child):
        """Keep the instance's local variables out of the process, then merge as SpiffWorkflow does."""
        kept = self.output_item.bpmn_id if self.output_item is not None else None
        child.internal_data["locals"] = {name: child.data.pop(name) for name in child.internal_data.get("local", ())
                                         if name in child.data and name != kept}
        super().merge_child(workflow, child)
        self._update_running(child.parent)

    def check_completion_condition(self, my_task):
        merged = my_task.internal_data.get("merged", [])
        if not merged or self.condition is None:
            return False
        last = next(c for c in my_task.children if str(c.id) == merged[-1])
        context = {**last.internal_data.get("locals", {}), **self._counters(my_task)}
        return my_task.workflow.script_engine.evaluate(last, self.condition, external_context=context)

    # -- the counters ---------------------------------------------------------------------------

    def _counters(self, my_task, running=None) -> dict:
        completed = self._completed(my_task)
        total = self._total(my_task)
        active = running if running is not None else len(self._running(my_task))
        return {"nrOfInstances": total, "nrOfActiveInstances": 1 if self.sequential else active,
                "nrOfCompletedInstances": completed}

    def _completed(self, my_task) -> int:
        return len(my_task.internal_data.get("merged", []))

    def _running(self, my_task) -> list:
        return [c for c in self._instances(my_task) if not c.has_state(TaskState.FINISHED_MASK)]

    def _total(self, my_task) -> int:
        """The number of instances, counted once when the first is created."""
        if "instances" not in my_task.internal_data:
            if self.data_input is not None:
                total = len(self.data_input.get(my_task))
            else:
                total = my_task.workflow.script_engine.evaluate(my_task, self.cardinality)
            my_task.internal_data["instances"] = int(total)
        return my_task.internal_data["instances"]

    def _element(self, my_task, index: int):
        if not self.collection:
            return index  # a cardinality alone: the element is the index, as SpiffWorkflow gives it
        items = list(my_task.workflow.script_engine.evaluate(my_task, self.collection) or [])
        if index >= len(items):
            raise WorkflowDataException(f"The collection '{self.collection}' has {len(items)} elements, fewer "
                                        f"than the instances the loopCardinality asks for.", my_task)
        return items[index]

    def _update_running(self, my_task) -> None:
        """Camunda keeps the counters on the multi-instance body, so running instances see them change."""
        counters = self._counters(my_task)
        for running in self._running(my_task):
            running.data.update({name: counters[name] for name in COUNTERS})


def _set_locals(workflow, child) -> None:
    """The instance's own variables, over what it inherited (shadowing a process variable of the same name)."""
    local = child.internal_data.pop("local_values", None)
    if local is not None:
        child.data.update(deepcopy(local))


class ParallelMultiInstance(InstanceVariables, ParallelMultiInstanceTask):
    sequential = False


class SequentialMultiInstance(InstanceVariables, SequentialMultiInstanceTask):
    sequential = True


class MultiInstanceParsing:
    """Mixed into each activity's parser: the spec classes above, with the Camunda attributes read."""

    PARALLEL_MI_CLASS = ParallelMultiInstance
    SEQUENTIAL_MI_CLASS = SequentialMultiInstance

    def _add_multiinstance_task(self, loop_characteristics):
        super()._add_multiinstance_task(loop_characteristics)
        self.task.collection = loop_characteristics.get("{%s}collection" % CAMUNDA)
        self.task.element_variable = loop_characteristics.get("{%s}elementVariable" % CAMUNDA)
        self.task.index_variable = loop_characteristics.get("{%s}elementIndexVariable" % CAMUNDA)


def parser_classes(classes: dict) -> dict:
    """``classes`` (SpiffWorkflow's OVERRIDE_PARSER_CLASSES: tag → (parser, spec)) with every activity's
    parser running multi-instance the Camunda way."""
    activities = {"{http://www.omg.org/spec/BPMN/20100524/MODEL}" + tag for tag in ACTIVITIES}
    return {tag: ((type(parser.__name__, (MultiInstanceParsing, parser), {}), spec)
                  if tag in activities and issubclass(parser, TaskParser) else (parser, spec))
            for tag, (parser, spec) in classes.items()}


class MultiInstanceConverter(SpiffMultiInstanceConverter):
    def to_dict(self, spec):
        dct = super().to_dict(spec)
        dct.update(collection=spec.collection, element_variable=spec.element_variable,
                   index_variable=spec.index_variable)
        return dct


CONVERTERS = {ParallelMultiInstance: MultiInstanceConverter, SequentialMultiInstance: MultiInstanceConverter}
