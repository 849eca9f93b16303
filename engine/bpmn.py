"""Reading BPMN documents: parse, validate, and describe them for the engine.

``read_document`` turns one BPMN file into ``ProcessModel``s (one per executable
process) or raises ``DefinitionError`` whose ``details["problems"]`` each name
the file, line, element and what to do. Nothing here touches the database.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from lxml import etree

from engine import connectors, message_rules, spiff, xml_encoding
from engine.errors import DefinitionError, ScriptError
from engine.script_policy import check_source

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
CAMUNDA = "{%s}" % NS["camunda"]
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
RESERVED_IDS = {"Start", "End", "Root"}
HUMAN_TAGS = {"userTask", "manualTask"}
ISO_TIME = re.compile(r"^\s*(R\d*/)?(P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
                      r"|\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:?\d\d)?)(/.*)?\s*$")
JUEL = re.compile(r"^\s*[$#]\{")
FLOW_NODE_TAGS = {
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "transaction", "exclusiveGateway",
    "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway",
}


@dataclass
class Problem:
    file: str
    line: Optional[int]
    element_id: Optional[str]
    message: str

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "element_id": self.element_id, "message": self.message}

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        what = f" [{self.element_id}]" if self.element_id else ""
        return f"{where}{what}: {self.message}"


@dataclass
class ProcessModel:
    """One executable process of a document, ready to store as a definition version."""

    process_id: str
    name: str
    source_name: str
    xml: str
    spec_json: str
    elements: dict[str, Any]
    start_form: Optional[str]
    form_keys: set[str] = field(default_factory=set)

    def content_hash(self, forms: dict[str, dict]) -> str:
        digest = hashlib.sha256(self.xml.encode("utf-8"))
        used = {key: forms[key] for key in sorted(self.form_keys) if key in forms}
        digest.update(json.dumps(used, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        return digest.hexdigest()


def fail(problems: list[Problem]) -> None:
    if problems:
        summary = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise DefinitionError(f"Cannot deploy: {summary}{more}",
                              {"problems": [p.as_dict() for p in problems]})


def read_document(name: str, content: bytes, forms: dict[str, dict], roles: set[str]) -> list[ProcessModel]:
    """Parse and check one BPMN document; raise ``DefinitionError`` listing every problem."""
    try:
        content = xml_encoding.utf8_document(content)
    except xml_encoding.EncodingError as exc:
        fail([Problem(name, exc.line, None, exc.message)])
    root = _parse_xml(name, content)
    executable = _executable_processes(name, root)
    problems = _check_elements(name, root, executable + _called_processes(root, executable), forms, roles)
    fail(problems)
    _quote_timer_expressions(root)
    try:
        specs = spiff.parse_specs(name, root, [process.get("id") for process in executable])
        models = [_model(name, content, specs[process.get("id")], process) for process in executable]
    except spiff.ModelRefused as exc:
        fail([_from_refusal(name, exc, root)])
    except DefinitionError:
        raise
    except Exception as exc:  # SpiffWorkflow raises raw KeyError/TypeError on some models
        fail([Problem(name, None, None, f"SpiffWorkflow cannot read this model ({type(exc).__name__}: {exc}). "
                      "Simplify the construct it names or remove it, then deploy again.")])
    return models


def _parse_xml(name: str, content: bytes):
    try:
        return etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True,
                                                        remove_comments=True, huge_tree=False))
    except etree.XMLSyntaxError as exc:
        fail([Problem(name, exc.lineno, None, f"Not well-formed XML: {exc.msg}. Fix the XML syntax "
                      "(export the diagram again from the modeler).")])
    raise AssertionError  # pragma: no cover


def _executable_processes(name: str, root) -> list:
    if etree.QName(root).localname != "definitions" or etree.QName(root).namespace != NS["bpmn"]:
        fail([Problem(name, root.sourceline, None, "Not a BPMN 2.0 document: the root element must be "
                      "bpmn:definitions in the namespace http://www.omg.org/spec/BPMN/20100524/MODEL.")])
    processes = root.findall("bpmn:process", NS)
    executable = [p for p in processes if p.get("isExecutable", "false").lower() == "true"]
    if not executable:
        fail([Problem(name, (processes[0].sourceline if processes else root.sourceline),
                      processes[0].get("id") if processes else None,
                      "No executable process: set isExecutable=\"true\" on the process to run "
                      "(Camunda Modeler: the 'Executable' checkbox of the process).")])
    return executable


def _check_elements(name, root, processes, forms, roles) -> list[Problem]:
    problems: list[Problem] = []
    process_ids = {p.get("id") for p in root.findall("bpmn:process", NS)}
    for process in processes:
        lanes = _lane_of_nodes(process)
        for node in process.iter():
            if not isinstance(node.tag, str):
                continue
            tag = etree.QName(node).localname
            node_id = node.get("id")
            where = (name, node.sourceline, node_id)
            if tag in FLOW_NODE_TAGS and node_id in RESERVED_IDS:
                problems.append(Problem(*where, f"The id '{node_id}' is reserved by the engine; rename the "
                                        f"element (e.g. '{tag}_{node_id.lower()}')."))
            if tag in HUMAN_TAGS:
                problems += _check_human_task(where, node, lanes, forms, roles)
            if tag == "startEvent" and node.get(CAMUNDA + "formKey"):
                problems += _check_form_key(where, node.get(CAMUNDA + "formKey"), forms)
            if tag == "conditionExpression" or (tag in ("timeDuration", "timeDate", "timeCycle")):
                problems += _check_expression(name, node, tag)
            if tag == "scriptTask":
                problems += _check_script(where, node)
            if tag in message_rules.CATCHING_TAGS and message_rules.catches_messages(node, tag):
                problems += [Problem(*where, text) for text in message_rules.declaration_problems(node)]
            if tag == "serviceTask":
                problems += _check_service(where, node)
            if tag == "callActivity" and node.get("calledElement") not in process_ids:
                problems.append(Problem(*where, f"This call activity calls process "
                                        f"'{node.get('calledElement') or ''}', which is not in this file: put the "
                                        "called process in the same BPMN file or correct calledElement."))
    return problems


def _lane_of_nodes(process) -> dict[str, str]:
    """Lane name of every flow node; nodes inside a subprocess take the subprocess's lane."""
    lanes = {}
    for lane in process.iter("{%s}lane" % NS["bpmn"]):
        for ref in lane.findall("bpmn:flowNodeRef", NS):
            lanes[(ref.text or "").strip()] = lane.get("name") or ""
    for node in process.iter():
        if isinstance(node.tag, str) and node.get("id") not in lanes:
            parent = node.getparent()
            while parent is not None and parent is not process:
                if parent.get("id") in lanes and etree.QName(parent).localname in ("subProcess", "transaction"):
                    lanes[node.get("id")] = lanes[parent.get("id")]
                    break
                parent = parent.getparent()
    return lanes


def _check_human_task(where, node, lanes, forms, roles) -> list[Problem]:
    problems = []
    lane = lanes.get(where[2])
    if lane is None:
        problems.append(Problem(*where, "This user task is in no lane: put it in a lane whose name is the "
                                "role that does the work (one of: " + ", ".join(sorted(roles)) + ")."))
    elif lane not in roles:
        problems.append(Problem(*where, f"Lane '{lane}' is not a known role: rename the lane to one of "
                                + ", ".join(sorted(roles)) + " (or add the role first)."))
    form_key = node.get(CAMUNDA + "formKey")
    if form_key:
        problems += _check_form_key(where, form_key, forms)
    return problems


def _check_form_key(where, form_key: str, forms) -> list[Problem]:
    if form_key in forms:
        return []
    return [Problem(*where, f"Form '{form_key}' does not exist: add forms/{form_key}.json or correct "
                    "camunda:formKey.")]


def _check_expression(name, node, tag) -> list[Problem]:
    text = (node.text or "").strip()
    owner = node.getparent()
    while owner is not None and owner.get("id") is None:
        owner = owner.getparent()
    where = (name, node.sourceline, owner.get("id") if owner is not None else None)
    if not text:
        return [Problem(*where, f"Empty {tag}: write a Python expression (e.g. `amount > 100`) or, for a "
                        "timer, an ISO-8601 duration such as PT24H.")]
    if JUEL.match(text):
        return [Problem(*where, f"'{text}' is JUEL/EL; Liucheng evaluates Python expressions: write it as "
                        f"`{python_from_juel(text)}`.")]
    if tag != "conditionExpression" and ISO_TIME.match(text):
        return []
    try:
        check_source(text, "eval")
    except ScriptError as exc:
        if tag != "conditionExpression":
            return [Problem(*where, f"Timer '{text}' is neither ISO-8601 (PT24H, 2026-12-01T14:00:00, R/P1D) "
                            "nor a Python expression giving one; write it in one of those forms.")]
        return [Problem(*where, f"Expression '{text}' is not allowed: {exc.message}")]
    return []


def python_from_juel(text: str) -> str:
    """A best-effort Python spelling of a JUEL expression, for the error message."""
    body = re.sub(r"^\s*[$#]\{(.*)\}\s*$", r"\1", text, flags=re.S).strip()
    body = body.replace("&&", " and ").replace("||", " or ").replace("!=", "\0")
    body = re.sub(r"!\s*", "not ", body).replace("\0", "!=")
    return re.sub(r"\s+", " ", body.replace("'", '"')).strip()


def _check_script(where, node) -> list[Problem]:
    fmt = (node.get("scriptFormat") or "python").lower()
    if fmt not in ("python", "py", "python3"):
        return [Problem(*where, f"Script format '{fmt}' is not supported: rewrite the script in Python and "
                        "set scriptFormat=\"python\".")]
    script = node.find("bpmn:script", NS)
    source = (script.text or "") if script is not None else ""
    try:
        check_source(source, "exec")
    except ScriptError as exc:
        return [Problem(*where, f"Script is not allowed: {exc.message}")]
    return []


def _check_service(where, node) -> list[Problem]:
    operator = node.find(f".//{SPIFF}serviceTaskOperator")
    registered = ", ".join(sorted(connectors.REGISTRY))
    if operator is None:
        return [Problem(*where, "A service task must name a connector: add <spiffworkflow:serviceTaskOperator "
                        f"id=\"<connector>\"> in its extensionElements (registered: {registered}).")]
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


def _quote_timer_expressions(root) -> None:
    """Camunda writes timers as plain ISO text; SpiffWorkflow wants a Python string literal."""
    for tag in ("timeDuration", "timeDate", "timeCycle"):
        for node in root.iter("{%s}%s" % (NS["bpmn"], tag)):
            text = (node.text or "").strip()
            if ISO_TIME.match(text):
                node.text = json.dumps(text)


def _from_refusal(name: str, exc, root) -> Problem:
    line = exc.line
    if line is None and exc.element_id:
        found = root.xpath("//*[@id=$id]", id=exc.element_id)
        line = found[0].sourceline if found else None
    message = exc.message
    hint = ""
    if "serviceTaskOperator" in message or "Service Task" in message:
        hint = " Service tasks must name a registered connector."
    elif "XSD" in message or "Element" in message or "attribute" in message:
        hint = " Fix the element so the file validates against the BPMN 2.0 schema."
    else:
        hint = " Correct the element and deploy again."
    return Problem(exc.file_name or name, line, exc.element_id or None, message.rstrip(".") + "." + hint)


def _called_processes(root, processes: list) -> list:
    """The (possibly non-executable) processes that call activities of ``processes`` call, transitively."""
    by_id = {p.get("id"): p for p in root.findall("bpmn:process", NS)}
    seen = {p.get("id") for p in processes}
    found, stack = [], list(processes)
    while stack:
        for call in stack.pop().iter("{%s}callActivity" % NS["bpmn"]):
            target = by_id.get(call.get("calledElement"))
            if target is not None and target.get("id") not in seen:
                seen.add(target.get("id"))
                found.append(target)
                stack.append(target)
    return found


def _model(name: str, content: bytes, spec_json: str, process) -> ProcessModel:
    process_id = process.get("id")
    elements = describe_elements(process)
    for called in _called_processes(process.getroottree().getroot(), [process]):
        more = describe_elements(called)
        for node in more["nodes"].values():
            node["in_subprocess"] = True
        elements["nodes"] = {**more["nodes"], **elements["nodes"]}
        elements["flows"] = {**more["flows"], **elements["flows"]}
    start_form = next((e["form_key"] for e in elements["nodes"].values()
                       if e["type"] == "startEvent" and e.get("form_key") and not e.get("in_subprocess")), None)
    form_keys = {e["form_key"] for e in elements["nodes"].values() if e.get("form_key")}
    return ProcessModel(process_id=process_id, name=process.get("name") or process_id, source_name=name,
                        xml=content.decode("utf-8"), spec_json=spec_json,
                        elements=elements, start_form=start_form, form_keys=form_keys)


def _enclosing_subprocess(node, process) -> Optional[str]:
    parent = node.getparent()
    while parent is not None and parent is not process:
        if etree.QName(parent).localname in ("subProcess", "transaction"):
            return parent.get("id")
        parent = parent.getparent()
    return None


def _message_names(node, tag: str, message_names: dict) -> list[str]:
    refs = [d.get("messageRef") for d in node.findall("bpmn:messageEventDefinition", NS)]
    if tag == "receiveTask" and node.get("messageRef"):
        refs.append(node.get("messageRef"))
    return [message_names.get(ref, ref) for ref in refs]


def describe_elements(process) -> dict[str, Any]:
    """What the engine needs to know of each element without asking SpiffWorkflow."""
    lanes = _lane_of_nodes(process)
    root = process.getroottree().getroot()
    message_names = {m.get("id"): m.get("name") or m.get("id") for m in root.findall("bpmn:message", NS)}
    nodes, flows = {}, {}
    for node in process.iter():
        if not isinstance(node.tag, str):
            continue
        tag = etree.QName(node).localname
        node_id = node.get("id")
        if tag in FLOW_NODE_TAGS:
            nodes[node_id] = {
                "type": tag, "name": node.get("name") or "", "lane": lanes.get(node_id),
                "form_key": node.get(CAMUNDA + "formKey"), "assignee": node.get(CAMUNDA + "assignee"),
                "line": node.sourceline, "attached_to": node.get("attachedToRef"),
                "in_subprocess": etree.QName(node.getparent()).localname in ("subProcess", "transaction"),
                "parent": _enclosing_subprocess(node, process),
                "messages": _message_names(node, tag, message_names),
                "timers": [{"kind": etree.QName(t).localname, "text": (t.text or "").strip()}
                           for d in node.findall("bpmn:timerEventDefinition", NS) for t in d
                           if isinstance(t.tag, str)],
                "interrupting": node.get("cancelActivity", "true") == "true",
            }
            if message_rules.catches_messages(node, tag):
                nodes[node_id]["message_variables"] = message_rules.declared(node)
        elif tag == "sequenceFlow":
            flows[node_id] = {"source": node.get("sourceRef"), "target": node.get("targetRef"),
                              "name": node.get("name") or ""}
    return {"nodes": nodes, "flows": flows}
