"""Reading one BPMN document: parse it safely, check it (``engine.bpmn.checks``), have SpiffWorkflow
turn each executable process into a spec (``spiff.parse_specs``) and describe its elements
(``engine.bpmn.elements``), giving one ``ProcessModel`` per executable process. Nothing here
touches the database. JUEL conditions and timers are translated to Python in the tree before
SpiffWorkflow reads it (``translate_juel``), and structure Camunda accepts is rewritten for it
(``engine.bpmn.structure``), multi-instance loops to the one form the engine runs
(``engine.bpmn.multi_instance``); the stored XML stays as the designer wrote it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Optional

from lxml import etree

from engine import juel, spiff, xml_encoding
from engine import config, timer_cycles
from engine.bpmn.checks import (ISO_TIME, Note, Problem, check_elements, duplicate_ids, fail, python_from_juel,
                                split_notes)
from engine.bpmn import extensions, multi_instance, structure
from engine.bpmn import generated_forms
from engine.bpmn.elements import NS, called_processes, describe_elements
from engine.errors import DefinitionError

EXPRESSION_TAGS = ("conditionExpression", "timeDuration", "timeDate", "timeCycle")


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
    notes: list[Note] = field(default_factory=list)  # what the deploy reply tells the designer
    own_forms: dict[str, dict] = field(default_factory=dict)  # forms made from the model ("generated:" keys)
    history_ttl_days: Optional[int] = None  # historyTimeToLive (engine.retention); None: the default

    def forms_used(self, forms: dict[str, dict]) -> dict[str, dict]:
        """The forms its elements show: the deployed forms they name and the forms made from the model."""
        return {**{key: forms[key] for key in sorted(self.form_keys) if key in forms}, **self.own_forms}

    def content_hash(self, forms: dict[str, dict]) -> str:
        digest = hashlib.sha256(self.xml.encode("utf-8"))
        used = self.forms_used(forms)
        digest.update(json.dumps(used, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        return digest.hexdigest()


def read_document(name: str, content: bytes, forms: dict[str, dict], roles: set[str]) -> list[ProcessModel]:
    """Parse and check one BPMN document; raise ``DefinitionError`` listing every problem."""
    try:
        content = xml_encoding.utf8_document(content)
    except xml_encoding.EncodingError as exc:
        fail([Problem(name, exc.line, None, exc.message)])
    root = _parse_xml(name, content)
    executable = _executable_processes(name, root)
    fail(duplicate_ids(name, root))
    printing = structure.silence_prints(root, name)
    problems, notes = split_notes(check_elements(name, root, executable + called_processes(root, executable),
                                                 forms, roles))
    notes += printing
    problems += multi_instance.problems(name, executable + called_processes(root, executable))
    fail(problems)
    multi_instance.normalize(root)
    rewritten = structure.normalize(root, name)
    notes += rewritten.notes
    translate_juel(root)
    quote_timer_expressions(root)
    try:
        specs = spiff.parse_specs(name, root, [process.get("id") for process in executable], rewritten.designer_ids)
        models = [_model(name, content, specs[process.get("id")], process, forms) for process in executable]
        for model in models:
            model.elements = structure.designer_elements(model.elements, rewritten.designer_ids)
            model.notes = [n for n in notes if _in_process(root, n, model.process_id)]
    except spiff.ModelRefused as exc:
        fail([_from_refusal(name, exc, root)])
    except DefinitionError:
        raise
    except Exception as exc:  # SpiffWorkflow raises raw KeyError/TypeError on some models
        fail([Problem(name, None, None, f"SpiffWorkflow cannot read this model ({type(exc).__name__}: {exc}). "
                      "Simplify the construct it names or remove it, then deploy again.")])
    return models


def _in_process(root, note: Note, process_id: str) -> bool:
    """Whether a note is about an element of the process (or about the document as a whole)."""
    if not note.element_id:
        return True
    found = root.xpath("//*[@id=$id]", id=note.element_id)
    owners = [a.get("id") for a in found[0].iterancestors("{%s}process" % NS["bpmn"])] if found else []
    return not owners or process_id in owners


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


def translate_juel(root) -> None:
    """Replace each JUEL (``${…}``/``#{…}``) condition and timer by the Python the sandbox evaluates;
    ``check_elements`` has already refused what is outside the subset."""
    for tag in EXPRESSION_TAGS:
        for node in root.iter("{%s}%s" % (NS["bpmn"], tag)):
            written = node.text or ""
            try:
                if juel.is_juel(written):  # the comment shows the designer's JUEL in run-time errors
                    node.text = f"{python_from_juel(written)}  # JUEL: {' '.join(written.split())}"
            except juel.JuelError:
                pass  # in a process that is never run (not executable, not called): left as written


def quote_timer_expressions(root) -> None:
    """Camunda writes timers as plain ISO text or a Quartz cron; SpiffWorkflow wants a Python string literal."""
    for tag in ("timeDuration", "timeDate", "timeCycle"):
        for node in root.iter("{%s}%s" % (NS["bpmn"], tag)):
            text = (node.text or "").strip()
            if ISO_TIME.match(text) or timer_cycles.is_cron(text):
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


def _link_forms(process, elements: dict, forms: dict[str, dict], name: str) -> dict[str, dict]:
    """Set each user task's and start event's ``form_key`` to the form deploy chose for it
    (``generated_forms.link``; None: the generic form); the forms made from the model, by key."""
    by_id = {e.get("id"): e for e in process.getroottree().getroot().iter() if isinstance(e.tag, str) and e.get("id")}
    own = {}
    for node_id, node in elements["nodes"].items():
        if node["type"] in ("userTask", "manualTask", "startEvent") and node_id in by_id:
            linked = generated_forms.link(by_id[node_id], forms, name)
            node["form_key"] = linked.key
            if linked.form is not None:
                own[linked.key] = linked.form
    return own


def _model(name: str, content: bytes, spec_json: str, process, forms: dict[str, dict]) -> ProcessModel:
    process_id = process.get("id")
    elements = describe_elements(process)
    for called in called_processes(process.getroottree().getroot(), [process]):
        more = describe_elements(called)
        for node in more["nodes"].values():
            node["in_subprocess"] = True
        elements["nodes"] = {**more["nodes"], **elements["nodes"]}
        elements["flows"] = {**more["flows"], **elements["flows"]}
    own_forms = _link_forms(process, elements, forms, name)
    start_form = next((e["form_key"] for e in elements["nodes"].values()
                       if e["type"] == "startEvent" and e.get("form_key") and not e.get("in_subprocess")), None)
    form_keys = {e["form_key"] for e in elements["nodes"].values() if e.get("form_key")}
    return ProcessModel(process_id=process_id, name=process.get("name") or process_id, source_name=name,
                        xml=content.decode("utf-8"), spec_json=spec_json,
                        elements=elements, start_form=start_form, form_keys=form_keys, own_forms=own_forms,
                        history_ttl_days=_history_ttl_days(process))


def _history_ttl_days(process) -> Optional[int]:
    written = extensions.history_time_to_live(process)  # checked by check_elements
    return None if written is None else config.days(written)
