"""Call activities in the SpiffWorkflow adapter: which spec a called process runs, and what data goes in
and out.

* **Called specs, bound on first use.** SpiffWorkflow looks a called process up by id in the workflow's
  ``subprocess_specs`` when the call activity starts, and again when a stored state is restored. A
  workflow's ``subprocess_specs`` is a ``CalledSpecs``: the specs of its own version's file, and a
  called process from another file bound when first asked for through the ``Resolver`` the runtime gives
  (the engine's deployed versions). The binding (process id → definition id) is kept in the root task's
  ``internal_data`` under ``CALLED``, so the serialized state is still SpiffWorkflow's own and a restored
  instance runs the version it started with.
* **Data mapping** (``camunda:in``/``out``, ``flowable:``/``activiti:`` alike): ``MappedCallActivity`` passes
  only what ``in`` maps (``source``/``sourceExpression`` → ``target``, ``variables="all"``) into the called
  process and sets only what ``out`` maps back. A call activity with no mapping at all keeps SpiffWorkflow's
  behaviour (all data in, all data out). ``CallParser`` reads the mappings; ``CONVERTERS`` serialize them.
"""
from __future__ import annotations

from copy import deepcopy
from typing import Callable, Optional

from SpiffWorkflow.bpmn.parser.task_parsers import SubprocessParser
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask as SubWorkflowTaskMixin
from SpiffWorkflow.spiff.parser.task_spec import CallActivityParser
from SpiffWorkflow.spiff.serializer.task_spec import SubWorkflowTaskConverter
from SpiffWorkflow.spiff.specs.defaults import CallActivity

from engine import juel

CALLED = "liucheng_called"  # root task internal_data: {called process id: definition id}
VENDORS = ("http://camunda.org/schema/1.0/bpmn", "http://flowable.org/bpmn", "http://activiti.org/bpmn")
VENDOR_TAGS = tuple("{%s}" % uri for uri in VENDORS)
Resolver = Callable[[str, Optional[int]], Optional[tuple[int, tuple]]]
"""(process id, definition id it is bound to or None) → (definition id, (spec, subprocess specs)), or None
when no such process is deployed."""


class CalledSpecs(dict):
    """A workflow's ``subprocess_specs``: its own file's, then called processes bound on first use."""

    def __init__(self, own: dict, workflow=None, resolve: Optional[Resolver] = None):
        super().__init__(own)
        self.workflow, self.resolve = workflow, resolve

    def __contains__(self, name) -> bool:
        return dict.__contains__(self, name) or self._bind(name)

    def __missing__(self, name):
        if self._bind(name):
            return dict.__getitem__(self, name)
        raise KeyError(name)

    def get(self, name, default=None):
        return self[name] if name in self else default

    def _bind(self, name) -> bool:
        if self.resolve is None or self.workflow is None or self.workflow.task_tree is None:
            return False
        bindings = self.workflow.task_tree.internal_data.setdefault(CALLED, {})
        found = self.resolve(name, bindings.get(name))
        if found is None:
            return False
        definition_id, (spec, subprocess_specs) = found
        bindings[name] = definition_id
        dict.__setitem__(self, name, spec)
        for other, other_spec in subprocess_specs.items():  # the called file's own processes
            if not dict.__contains__(self, other):
                dict.__setitem__(self, other, other_spec)
        return True


def use_called(workflow, own: dict, resolve: Optional[Resolver]) -> None:
    """Give ``workflow`` its ``CalledSpecs`` (before a stored state's subprocesses are restored)."""
    workflow.subprocess_specs = CalledSpecs(own, workflow, resolve)


def set_resolver(workflow, resolve: Optional[Resolver]) -> None:
    """Bind later calls of a (cached) workflow through ``resolve`` (the current command's)."""
    if isinstance(workflow.subprocess_specs, CalledSpecs):
        workflow.subprocess_specs.resolve = resolve
    else:
        use_called(workflow, workflow.subprocess_specs, resolve)


def called_bindings(workflow) -> dict[str, int]:
    """The called processes of other files this workflow bound so far: {process id: definition id}."""
    root = workflow.task_tree
    return dict(root.internal_data.get(CALLED) or {}) if root is not None else {}


def local_specs(parser, process_id: str) -> dict:
    """The specs of the subprocesses and called processes of ``process_id`` found in the parsed file
    (transitively); a called process of another file is left out, bound at run time."""
    found: dict = {}
    stack = [parser.get_spec(process_id)]
    while stack:
        for task_spec in stack.pop().task_specs.values():
            if isinstance(task_spec, SubWorkflowTaskMixin) and task_spec.spec not in found:
                found[task_spec.spec] = parser.get_spec(task_spec.spec, required=False)
                if found[task_spec.spec] is not None:
                    stack.append(found[task_spec.spec])
    return {name: spec for name, spec in found.items() if spec is not None}


# -- data in and out ----------------------------------------------------------------

class MappedCallActivity(CallActivity):
    """A call activity with ``camunda:in``/``out`` mappings (``mapping``: {"in": [...], "out": [...]},
    each item {"source", "expression" (Python), "target", "all"}); without a mapping it behaves as
    SpiffWorkflow's."""

    def __init__(self, wf_spec, bpmn_id, subworkflow_spec, mapping=None, **kwargs):
        super().__init__(wf_spec, bpmn_id, subworkflow_spec, **kwargs)
        self.mapping = mapping

    def get_missing_subworkflow_error(self, my_task):
        return (f"The called process '{self.spec}' is not deployed: deploy it (or correct calledElement and "
                "deploy the caller again)")

    def _run_hook(self, my_task):
        if my_task.workflow.top_workflow.get_subprocess(my_task) is None:  # retried after it was missing
            self.start_workflow(my_task)
            return None  # STARTED: it completes when the called process does
        return super()._run_hook(my_task)

    def copy_data(self, my_task, subworkflow):
        if self.mapping is None:
            return super().copy_data(my_task, subworkflow)
        start = subworkflow.get_next_task(subworkflow.task_tree, skip_subprocesses=True, spec_name="Start")
        start.set_data(**_mapped(self.mapping["in"], my_task, my_task.data))

    def update_data(self, my_task, subworkflow):
        if self.mapping is None:
            return super().update_data(my_task, subworkflow)
        last = subworkflow.last_task
        my_task.data.update(_mapped(self.mapping["out"], last, last.data if last is not None else {}))


def _mapped(items: list[dict], task, data: dict) -> dict:
    """The variables ``items`` give, read from ``task`` (its ``data``), in the order written."""
    result = {}
    for item in items:
        if item.get("all"):
            result.update(deepcopy(data))
        elif item.get("target") is None:
            continue
        elif item.get("expression") is not None:
            result[item["target"]] = task.workflow.script_engine.evaluate(task, item["expression"])
        else:
            result[item["target"]] = deepcopy(data.get(item.get("source")))
    return result


def read_mapping(node) -> Optional[dict]:
    """The ``in``/``out`` mappings of a call activity element (None: it has none). ``businessKey`` needs
    no mapping: the called process runs in the caller's instance, under the caller's business key."""
    found: dict[str, list] = {"in": [], "out": []}
    mapped = False
    extensions = node.find("{http://www.omg.org/spec/BPMN/20100524/MODEL}extensionElements")
    for child in (extensions if extensions is not None else []):
        if not isinstance(child.tag, str) or not child.tag.startswith(VENDOR_TAGS):
            continue
        kind = child.tag.rsplit("}", 1)[1]
        if kind not in found:
            continue
        mapped = True
        expression = child.get("sourceExpression")
        everything = (child.get("variables") or "").strip() == "all"
        if everything or child.get("target") is not None:
            found[kind].append({"source": child.get("source"), "target": child.get("target"), "all": everything,
                                "expression": _python(expression)})
    return found if mapped else None


def _python(expression: Optional[str]) -> Optional[str]:
    if expression is None:
        return None
    return juel.to_python(expression) if juel.is_juel(expression) else expression


class CallParser(CallActivityParser):
    """SpiffWorkflow's call activity parser, also reading the vendor ``in``/``out`` mappings (every call
    activity is a ``MappedCallActivity``: its missing-process error says to deploy the process)."""

    def create_task(self):
        mapping = read_mapping(self.node)
        extensions = self.parse_extensions()
        return MappedCallActivity(self.spec, self.bpmn_id, SubprocessParser.get_call_activity_spec(self),
                                  mapping=mapping, prescript=extensions.get("preScript"),
                                  postscript=extensions.get("postScript"), **self.bpmn_attributes)


class MappedCallConverter(SubWorkflowTaskConverter):
    def to_dict(self, spec):
        return {**super().to_dict(spec), "mapping": spec.mapping}


CONVERTERS = {MappedCallActivity: MappedCallConverter}
