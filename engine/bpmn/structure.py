"""Structure Camunda 7 accepts and SpiffWorkflow does not, rewritten in the lxml tree before
SpiffWorkflow parses it (the stored XML stays as the designer wrote it):

- an ``errorRef`` to an error not declared in the file means the error whose code is that text
  (a ``bpmn:error`` is declared for it);
- data stores (not executable) are dropped with the data associations to and from them (a deploy note
  says so);
- a sequence flow without an id gets a stable one (``Flow_<source>_<target>``, numbered if repeated);
- an element whose id is one SpiffWorkflow keeps for itself (``Start``, ``End``, ``Root``) is renamed
  ``<id>_`` with every reference to it;
- an exclusive gateway's non-default outgoing flow without a condition counts as true (Camunda takes
  the first flow, in document order, whose condition is true or absent);
- a task with several unconditioned outgoing flows splits in parallel (Camunda semantics): a parallel
  gateway ``<task>_split`` is put between the task and those flows;
- a process or subprocess without a start event starts at each activity without an incoming flow
  (an implicit start event ``<container>_implicit_start`` is added), as the BPMN spec and Camunda do;
  an empty subprocess (a collapsed one drawn without content) ends as soon as it starts;
- an activity without an outgoing flow ends its path: an implicit end event ``<id>_implicit_end`` is
  added after it (without it SpiffWorkflow would finish the path but drop the data it wrote, where
  Camunda keeps process variables); a subprocess without an end event thus ends with its last path.

Before the checks, ``silence_prints`` makes a Python script's one-line ``print(...)`` statement do nothing
(``None``), with a note: scripts have no console, and the sandbox itself keeps refusing ``print``.

``normalize`` returns the deploy notes of the rewrites a designer should know about (data stores ignored,
splits, undeclared errors, receive tasks that wait for the API's signal) and the renamed ids.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from lxml import etree

from engine.bpmn.checks import Note
from engine.bpmn.elements import NS

BPMN = "{%s}" % NS["bpmn"]
RESERVED_IDS = ("Start", "End", "Root")
REFERENCE_ATTRIBUTES = ("sourceRef", "targetRef", "attachedToRef", "default", "bpmnElement", "activityRef")
ACTIVITY_TAGS = {"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
                 "businessRuleTask", "callActivity", "subProcess", "transaction"}
STARTABLE_TAGS = ACTIVITY_TAGS | {"exclusiveGateway", "parallelGateway", "inclusiveGateway",
                                  "eventBasedGateway", "intermediateCatchEvent", "intermediateThrowEvent",
                                  "endEvent"}


@dataclass
class Rewritten:
    """What ``normalize`` tells the deployment: notes for the designer, and the ids it renamed
    ({id SpiffWorkflow reads: id the designer wrote})."""

    notes: list[Note] = field(default_factory=list)
    designer_ids: dict[str, str] = field(default_factory=dict)


def normalize(root, name: str = "") -> Rewritten:
    """Rewrite ``root`` (a ``bpmn:definitions`` tree of document ``name``) so SpiffWorkflow reads what
    Camunda accepts."""
    done = Rewritten()
    note_receive_tasks(root, name, done)
    name_flows(root)
    done.designer_ids = rename_reserved(root)
    declare_errors(root, name, done)
    drop_data_stores(root, name, done)
    for container in _containers(root):
        unconditioned_exclusive_flows(container, name, done)
        split_outgoing(container, name, done)
        add_implicit_start(container)
        add_implicit_ends(container)
    return done


def silence_prints(root, name: str = "") -> list[Note]:
    """A Python script's ``print(...)`` statement (one line) does nothing: scripts have no console, and the
    sandbox refuses ``print`` itself; it becomes ``None`` (its arguments are not evaluated). A note per script
    says so. Run before the checks, so the rest of the script is checked as usual."""
    notes = []
    for task in root.iter(BPMN + "scriptTask"):
        script = task.find(BPMN + "script")
        if script is None or not script.text or (task.get("scriptFormat") or "python").lower() not in (
                "python", "py", "python3"):
            continue
        lines = script.text.split("\n")
        try:
            tree = ast.parse(script.text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # the checks report it
        calls = [node.value for node in ast.walk(tree) if isinstance(node, ast.Expr)
                 and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
                 and node.value.func.id == "print" and node.value.lineno == node.value.end_lineno]
        for call in sorted(calls, key=lambda c: (c.lineno, -c.col_offset)):
            line = lines[call.lineno - 1].encode("utf-8")
            lines[call.lineno - 1] = (line[:call.col_offset] + b"None" + line[call.end_col_offset:]).decode("utf-8")
        if calls:
            script.text = "\n".join(lines)
            notes.append(Note(name, task.sourceline, task.get("id"), "print(...) on line(s) "
                              + ", ".join(str(c.lineno) for c in calls) + " of this script does nothing: a script "
                              "has no console in Liucheng. Assign the value to a variable to see it in the "
                              "instance's data."))
    return notes


def _note(done: Rewritten, name: str, node, message: str, element_id=None) -> None:
    done.notes.append(Note(name, node.sourceline, element_id or node.get("id"), message))


def _containers(root) -> list:
    return [node for node in root.iter(BPMN + "process", BPMN + "subProcess", BPMN + "transaction")
            if node.get("triggeredByEvent", "false").lower() != "true"]


def note_receive_tasks(root, name: str, done: Rewritten) -> None:
    """A receive task without a message waits until it is signalled through the API (as Camunda's
    ``runtimeService.signal``); SpiffWorkflow is told so when it reads the model (``engine.spiff``)."""
    for node in root.iter(BPMN + "receiveTask"):
        if not node.get("messageRef") and node.find(BPMN + "messageEventDefinition") is None:
            _note(done, name, node, "This receive task has no message: it waits until it is signalled through the "
                  f"API (POST /api/v1/instances/<id>/signal with {{\"element_id\": \"{node.get('id')}\"}}).")


def declare_errors(root, name: str, done: Rewritten) -> None:
    """An ``errorRef`` naming no declared error means the error with that code (as Camunda reads it)."""
    declared = {node.get("id") for node in root.iter(BPMN + "error")}
    first_process = root.find(BPMN + "process")
    for definition in list(root.iter(BPMN + "errorEventDefinition")):
        ref = definition.get("errorRef")
        if ref and ref not in declared:
            first_process.addprevious(etree.Element(BPMN + "error", id=ref, name=ref, errorCode=ref))
            declared.add(ref)
            _note(done, name, definition, f"errorRef '{ref}' names no declared error: it is taken as the error "
                  f"code '{ref}' (declare a bpmn:error with that id to say so explicitly).",
                  definition.getparent().get("id"))


def drop_data_stores(root, name: str, done: Rewritten) -> None:
    """Data stores are documentation for the engine (as in Camunda): their references and the data
    associations to or from them are removed; data objects stay (SpiffWorkflow runs them)."""
    stores = {node.get("id") for node in root.iter(BPMN + "dataStoreReference", BPMN + "dataStore")}
    if not stores:
        return
    for association in list(root.iter(BPMN + "dataInputAssociation", BPMN + "dataOutputAssociation")):
        refs = {(ref.text or "").strip() for ref in association
                if isinstance(ref.tag, str) and etree.QName(ref).localname in ("sourceRef", "targetRef")}
        if refs & stores:
            _note(done, name, association, "This data association to a data store is ignored: Liucheng does not "
                  "run data stores; read or write the data in a script or service task.",
                  association.get("id") or association.getparent().get("id"))
            association.getparent().remove(association)
    for node in list(root.iter(BPMN + "dataStoreReference", BPMN + "dataStore")):
        _note(done, name, node, "This data store is ignored: Liucheng does not run data stores (they document "
              "where data lives); read or write the data in a script or service task.")
        node.getparent().remove(node)


def name_flows(root) -> None:
    taken = {node.get("id") for node in root.iter() if isinstance(node.tag, str) and node.get("id")}
    for flow in root.iter(BPMN + "sequenceFlow"):
        if flow.get("id"):
            continue
        base = f"Flow_{flow.get('sourceRef', '')}_{flow.get('targetRef', '')}"
        flow_id, number = base, 1
        while flow_id in taken:
            number += 1
            flow_id = f"{base}_{number}"
        flow.set("id", flow_id)
        taken.add(flow_id)


def rename_reserved(root) -> dict[str, str]:
    """Rename ids SpiffWorkflow keeps for itself; returns {new id: the designer's id}."""
    taken = {node.get("id") for node in root.iter() if isinstance(node.tag, str) and node.get("id")}
    renamed = {}
    for node in root.iter():
        if isinstance(node.tag, str) and node.get("id") in RESERVED_IDS:
            new_id = node.get("id") + "_"
            while new_id in taken:
                new_id += "_"
            renamed[node.get("id")] = new_id
            taken.add(new_id)
            node.set("id", new_id)
    if not renamed:
        return {}
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        for attribute in REFERENCE_ATTRIBUTES:
            if node.get(attribute) in renamed:
                node.set(attribute, renamed[node.get(attribute)])
        if etree.QName(node).localname in ("incoming", "outgoing", "flowNodeRef") and \
                (node.text or "").strip() in renamed:
            node.text = renamed[node.text.strip()]
    return {new: old for old, new in renamed.items()}


def designer_elements(elements: dict, designer_ids: dict[str, str]) -> dict:
    """The definition's ``elements`` with the designer's ids instead of the renamed ones."""
    if not designer_ids:
        return elements
    back = lambda value: designer_ids.get(value, value)  # noqa: E731
    nodes = {back(node_id): {**node, **{key: back(node[key]) for key in ("attached_to", "parent")
                                       if isinstance(node.get(key), str)}}
             for node_id, node in elements["nodes"].items()}
    flows = {back(flow_id): {**flow, "source": back(flow["source"]), "target": back(flow["target"])}
             for flow_id, flow in elements["flows"].items()}
    return {**elements, "nodes": nodes, "flows": flows}


def _flows(container) -> list:
    return container.findall(BPMN + "sequenceFlow")


def split_outgoing(container, name: str, done: Rewritten) -> None:
    """A task's several outgoing flows: all of them in parallel when none has a condition, else those whose
    condition is true, the unconditioned ones and the default when none is true (an inclusive split)."""
    for node in [child for child in container if isinstance(child.tag, str)]:
        node_id = node.get("id")
        if etree.QName(node).localname not in ACTIVITY_TAGS:
            continue
        outgoing = [f for f in _flows(container) if f.get("sourceRef") == node_id]
        conditioned = [f for f in outgoing if f.find(BPMN + "conditionExpression") is not None]
        if conditioned:
            _split(container, node, outgoing, "inclusiveGateway")
            _note(done, name, node, "This task's outgoing flows have conditions: it takes every flow whose condition "
                  "is true, those without a condition always, its default flow when none is true (an inclusive "
                  f"gateway '{node_id}_split' is added; no flow to take stops the instance with an incident).")
        elif len(outgoing) >= 2:
            _split(container, node, outgoing, "parallelGateway")
            _note(done, name, node, "This task has several outgoing flows without conditions: all of them are taken "
                  f"in parallel, as in Camunda (a parallel gateway '{node_id}_split' is added). Draw an exclusive "
                  "gateway if only one path is meant.")


def unconditioned_exclusive_flows(container, name: str, done: Rewritten) -> None:
    """An exclusive gateway's outgoing flow without a condition (and not the default) is taken as true, as
    Camunda 7 does: the gateway takes the first flow, in the order the flows are written, whose condition is
    true or absent (SpiffWorkflow refuses such a flow: it gets the condition ``True``)."""
    for gateway in container.findall(BPMN + "exclusiveGateway"):
        outgoing = [f for f in _flows(container) if f.get("sourceRef") == gateway.get("id")]
        bare = [f for f in outgoing if f.get("id") != gateway.get("default")
                and f.find(BPMN + "conditionExpression") is None]
        if len(outgoing) < 2 or not bare:
            continue
        for flow in bare:
            always = etree.SubElement(flow, BPMN + "conditionExpression")
            always.text = "True"
        flows = ", ".join(f.get("name") or f.get("id") for f in bare)
        _note(done, name, gateway, f"This exclusive gateway's flow(s) {flows} have no condition, so they count as "
              "true, as in Camunda: the gateway takes the first flow, in the order they are written in the file, "
              "whose condition is true or absent. Give each flow a condition, or make one the default flow.")


def _split(container, node, outgoing: list, kind: str) -> None:
    gateway_id = f"{node.get('id')}_split"
    gateway = etree.Element(BPMN + kind, id=gateway_id)
    if node.get("default"):
        gateway.set("default", node.attrib.pop("default"))
    _place(container, gateway)
    _place(container, etree.Element(BPMN + "sequenceFlow", id=f"{gateway_id}_in", sourceRef=node.get("id"),
                                    targetRef=gateway_id))
    for flow in outgoing:
        flow.set("sourceRef", gateway_id)
        if kind == "inclusiveGateway" and flow.get("id") != gateway.get("default") and \
                flow.find(BPMN + "conditionExpression") is None:
            always = etree.SubElement(flow, BPMN + "conditionExpression")
            always.text = "True"  # Camunda takes an unconditioned flow always


def add_implicit_start(container) -> None:
    children = [node for node in container if isinstance(node.tag, str)]
    if any(etree.QName(node).localname == "startEvent" for node in children):
        return
    targets = {flow.get("targetRef") for flow in _flows(container)}
    first = [node for node in children if etree.QName(node).localname in STARTABLE_TAGS
             and node.get("id") not in targets and node.get("isForCompensation", "false").lower() != "true"
             and node.get("triggeredByEvent", "false").lower() != "true"]
    start_id = f"{container.get('id')}_implicit_start"
    if not first and any(etree.QName(node).localname in STARTABLE_TAGS for node in children):
        return
    _place(container, etree.Element(BPMN + "startEvent", id=start_id))
    if not first:  # an empty (sub)process: it ends as soon as it starts
        first = [etree.Element(BPMN + "endEvent", id=f"{container.get('id')}_implicit_end")]
        _place(container, first[0])
    for node in first:
        _place(container, etree.Element(BPMN + "sequenceFlow", id=f"{start_id}_{node.get('id')}",
                                        sourceRef=start_id, targetRef=node.get("id")))


def add_implicit_ends(container) -> None:
    sources = {flow.get("sourceRef") for flow in _flows(container)}
    last = [node for node in container if isinstance(node.tag, str)
            and etree.QName(node).localname in STARTABLE_TAGS - {"endEvent"} and node.get("id") not in sources
            and node.get("isForCompensation", "false").lower() != "true"
            and node.get("triggeredByEvent", "false").lower() != "true"]
    for node in last:
        end_id = f"{node.get('id')}_implicit_end"
        _place(container, etree.Element(BPMN + "endEvent", id=end_id))
        _place(container, etree.Element(BPMN + "sequenceFlow", id=f"{end_id}_in", sourceRef=node.get("id"),
                                        targetRef=end_id))


def _place(container, element) -> None:
    """Put ``element`` after the container's last flow element, where the BPMN schema allows it
    (SpiffWorkflow reads sequenceFlow sourceRef/targetRef, not incoming/outgoing)."""
    flow_elements = [i for i, node in enumerate(container) if isinstance(node.tag, str)
                     and etree.QName(node).localname in STARTABLE_TAGS | {"sequenceFlow", "startEvent",
                                                                          "boundaryEvent"}]
    container.insert(flow_elements[-1] + 1 if flow_elements else len(container), element)
