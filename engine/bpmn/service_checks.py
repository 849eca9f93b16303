"""The checks of a service task before deployment, whichever way it is written: SpiffWorkflow's
``serviceTaskOperator`` must name a registered connector with exactly its inputs, each a valid
expression; a Camunda/Flowable external task needs a topic; ``camunda:expression`` must translate (an
``execution.setVariable`` action included); a Java class or delegate expression must name a registered
connector; Camunda Connect and other engines' service types (``camunda:type``/``flowable:type`` other than
external) are refused saying what to write instead; a service task naming no implementation is a
``Note``: it waits as an external task of its own id.
"""
from __future__ import annotations

from lxml import etree

from engine import connectors, juel
from engine.spiff import EXTERNAL_TYPES  # the vendor types the adapter runs as external tasks
from engine.bpmn import extensions
from engine.bpmn.expression_checks import expression_problem
from engine.bpmn.problems import Note, Problem
from engine.errors import ScriptError
from engine.script_policy import check_source

SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"


def check_service(where, node) -> list[Problem]:
    """What keeps a service task from running, each located at the task."""
    operator = node.find(f".//{SPIFF}serviceTaskOperator")
    registered = ", ".join(sorted(connectors.REGISTRY))
    if operator is None:
        return _check_vendor_service(where, node, registered)
    found = connectors.find_connector(operator.get("id") or "")
    if found is None:
        return [Problem(*where, f"Unknown connector '{operator.get('id')}': use one of {registered} "
                        "or register it in engine/connectors.")]
    problems = []
    given = {}
    for parameter in operator.iter(f"{SPIFF}parameter"):
        given[parameter.get("id")] = parameter.get("value") or ""
    for missing in sorted(set(found.inputs) - set(given)):
        problems.append(Problem(*where, f"Connector '{found.name}' needs input '{missing}': add "
                                f"<spiffworkflow:parameter id=\"{missing}\" type=\"any\" value=\"<expression>\"/>."))
    for unknown in sorted(set(given) - set(found.inputs)):
        problems.append(Problem(*where, f"Connector '{found.name}' has no input '{unknown}'; its inputs are "
                                f"{', '.join(found.inputs) or 'none'}."))
    for name, value in given.items():
        try:
            check_source(value, "eval")
        except ScriptError as exc:
            problems.append(Problem(*where, f"Input '{name}' = '{value}' is not a valid expression: {exc.message}"))
    return problems


def _check_vendor_service(where, node, registered: str) -> list[Problem]:
    """A Camunda/Flowable service task: an external task needs a topic, an expression must translate, a
    class or delegate expression must name a registered connector."""
    found = extensions.service_task(node)
    if (found["type"] or "").strip() in EXTERNAL_TYPES:
        if not (found["topic"] or "").strip():
            return [Problem(*where, f"This external task has no topic: add {extensions.qualified(node, 'topic')}"
                            "=\"<topic>\" naming what its workers fetch.")]
        return []
    if found["expression"] is not None:
        text = found["expression"]
        if not juel.is_juel(text):
            return []  # plain text: a constant
        return expression_problem(where, f"{extensions.qualified(node, 'expression')}=\"{text}\"", text, "exec")
    delegate = found["class"] or found["delegate_expression"]
    if delegate is not None:
        return _check_delegate(where, node, delegate, registered)
    connect = [c for c in node.iter() if isinstance(c.tag, str) and etree.QName(c).localname == "connectorId"]
    if connect:
        name = (connect[0].text or "").strip()
        return [Problem(*where, f"camunda:connector '{name}' is Camunda Connect, which Liucheng does not have: "
                        f"register a connector named '{name}' in engine/connectors and name it with "
                        "<spiffworkflow:serviceTaskOperator>, or make this an external task "
                        "(camunda:type=\"external\" camunda:topic=\"<topic>\") done by a worker.")]
    if found["type"]:
        written = extensions.qualified(node, "type")
        return [Problem(*where, f"{written}=\"{found['type']}\" is a service of another engine that Liucheng does "
                        "not have: make this an external task (camunda:type=\"external\" camunda:topic=\"<topic>\") "
                        f"or name a connector with <spiffworkflow:serviceTaskOperator> (registered: {registered}).")]
    return [Note(*where, f"This service task names no implementation, so it is an external task of topic "
                 f"'{where[2]}': the instance waits there until a worker completes it through the external task "
                 "API. Set camunda:type=\"external\" camunda:topic=\"<topic>\" to choose the topic, or name a "
                 f"connector with <spiffworkflow:serviceTaskOperator> (registered: {registered}).")]


def _check_delegate(where, node, delegate: str, registered: str) -> list[Problem]:
    """A Java class or delegate expression runs only when it names a registered connector."""
    name = delegate.strip()
    if name[:2] in ("${", "#{") and name.endswith("}"):
        name = name[2:-1].strip()
    if connectors.find_connector(name) is not None:
        return []
    written = extensions.qualified(node, "class" if extensions.service_task(node)["class"] else "delegateExpression")
    return [Problem(*where, f"{written}=\"{delegate}\" names Java code, which Liucheng cannot run: make "
                    "it an external task (camunda:type=\"external\" camunda:topic=\"<topic>\", done by "
                    f"a worker through the external task API) or register a connector named '{name}' in "
                    f"engine/connectors (registered: {registered}).")]
