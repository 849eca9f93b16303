"""The engine's own checks of a BPMN document before SpiffWorkflow parses it: lanes not named after
a role (a note: they do not route), names and assignments in JUEL, forms that exist, expressions and scripts the sandbox allows, timers, connectors and
their inputs, called processes, what message catch events declare, compensation (refused). Each
finding is a ``Problem`` (file, line, element, what to do); ``fail`` raises them together as one
``DefinitionError``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from lxml import etree

from engine import connectors, juel, message_rules, timer_cycles
from engine.bpmn import extensions, generated_forms
from engine.bpmn.elements import NS, assignment, call_of, split_list
from engine.errors import DefinitionError, ScriptError
from engine.script_policy import check_source

SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
HUMAN_TAGS = {"userTask", "manualTask"}
ISO_TIME = re.compile(r"^\s*(R\d*/)?(P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
                      r"|\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:?\d\d)?)(/.*)?\s*$")


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


class Note(Problem):
    """A finding that does not stop the deployment: something of the model is ignored or taken in a way
    the designer should know (a data store, a form that is not deployed…). The deploy reply lists them
    under ``notes``; a check returns notes among its problems and ``split_notes`` tells them apart."""


def split_notes(found: list[Problem]) -> tuple[list[Problem], list["Note"]]:
    """The problems that refuse the document, and the notes that only inform."""
    return [p for p in found if not isinstance(p, Note)], [p for p in found if isinstance(p, Note)]


def fail(problems: list[Problem]) -> None:
    problems = [p for p in problems if not isinstance(p, Note)]
    if problems:
        summary = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise DefinitionError(f"Cannot deploy: {summary}{more}",
                              {"problems": [p.as_dict() for p in problems]})


def check_elements(name, root, processes, forms, roles) -> list[Problem]:
    problems: list[Problem] = []
    for process in processes:
        for node in process.iter():
            if not isinstance(node.tag, str):
                continue
            tag = etree.QName(node).localname
            node_id = node.get("id")
            where = (name, node.sourceline, node_id)
            if tag in HUMAN_TAGS:
                problems += _check_human_task(where, node, forms)
            if tag == "lane" and (node.get("name") or "") not in roles:
                problems += _lane_note(where, node, process)
            if tag == "startEvent":
                problems += _check_form_key(where, node, forms)
            if tag == "conditionExpression" or (tag in ("timeDuration", "timeDate", "timeCycle")):
                problems += _check_expression(name, node, tag)
            if tag == "scriptTask":
                problems += _check_script(where, node)
            if tag == "compensateEventDefinition":
                problems.append(_compensation(name, node))
            if tag in message_rules.CATCHING_TAGS and message_rules.catches_messages(node, tag):
                problems += [Problem(*where, text) for text in message_rules.declaration_problems(node)]
            if tag == "serviceTask":
                problems += _check_service(where, node)
            if tag == "callActivity":
                problems += _check_call(where, node)
            if tag == "businessRuleTask":
                problems.append(_business_rule(where, node))
            if tag == "timerEventDefinition" and not any(isinstance(c.tag, str) for c in node):
                problems.append(Problem(name, node.sourceline, node.getparent().get("id"), "This timer says "
                                        "neither when nor how often (no timeDate, timeDuration or timeCycle), which "
                                        "Camunda 7 refuses too: add one, e.g. <timeDuration>PT1H</timeDuration>."))
    return problems


def duplicate_ids(name, root) -> list[Problem]:
    """Two BPMN elements with the same id (the BPMN schema and Camunda 7 refuse it): one problem per repeat
    (ids of extension elements, such as connector parameters, may repeat)."""
    first, problems = {}, []
    for node in root.iter():
        node_id = node.get("id") if isinstance(node.tag, str) and node.tag.startswith("{%s}" % NS["bpmn"]) else None
        if not node_id:
            continue
        if node_id in first:
            problems.append(Problem(name, node.sourceline, node_id, f"The id '{node_id}' is used twice (lines "
                                    f"{first[node_id]} and {node.sourceline}); ids must be unique, as in Camunda 7: "
                                    f"delete this {etree.QName(node).localname} if it repeats the first one, or "
                                    "give it another id."))
        else:
            first[node_id] = node.sourceline
    return problems


def _business_rule(where, node) -> Problem:
    """A business rule task evaluates a DMN decision, which Liucheng does not deploy: refused saying what
    to use instead."""
    decision = extensions.qualified(node, "decisionRef")
    called = node.find(f".//{SPIFF}calledDecisionId")
    ref = (called.text or "").strip() if called is not None else vendor_decision(node)
    what = f"evaluates the DMN decision '{ref}'" if ref else f"names no DMN decision ({decision} is missing)"
    return Problem(*where, f"Business rule task '{node.get('name') or where[2]}' {what}, but Liucheng does not "
                   "evaluate DMN decisions: replace it by a script task that computes the result in Python (one "
                   "if/elif per rule of the decision table), or by an external task (a service task with "
                   "camunda:type=\"external\" camunda:topic=\"<topic>\") whose worker evaluates the decision.")


def vendor_decision(node) -> str:
    return next((value.strip() for key, value in node.attrib.items() if etree.QName(key).localname == "decisionRef"),
                "")


def _check_call(where, node) -> list[Problem]:
    """A call activity names a process by id (in this file or deployed: ``engine.call_activities`` looks
    for those of other files at deployment), with a binding Liucheng knows and mappings it can evaluate."""
    call = call_of(node)
    written = node.get("calledElement") or ""
    if not call["process_id"]:
        return [Problem(*where, "This call activity names no process: set calledElement to the id of the "
                        "process to call (a process in this file or a deployed one).")]
    if juel.is_juel(written):
        return [Problem(*where, f"calledElement=\"{written}\" is an expression; Liucheng calls a process named "
                        "by its id: write the id, or choose among processes with a gateway and one call activity "
                        "per process.")]
    problems = []
    binding = extensions.qualified(node, "calledElementBinding")
    if call["binding"] not in ("latest", "deployment", "version"):
        problems.append(Problem(*where, f"{binding}=\"{call['binding']}\" is not supported: use latest (the "
                                "default), deployment or version."))
    elif call["binding"] == "version" and call["version"] is None:
        problems.append(Problem(*where, f"{binding}=\"version\" needs the version to call: add "
                                f"{extensions.qualified(node, 'calledElementVersion')}=\"<number>\"."))
    for mapping in node.iter(*("{%s}%s" % (uri, kind) for uri in extensions.NAMESPACES.values()
                               for kind in ("in", "out"))):
        expression = mapping.get("sourceExpression")
        if expression is not None:
            try:
                check_source(python_from_juel(expression) if juel.is_juel(expression) else expression, "eval")
            except (juel.JuelError, ScriptError) as exc:
                problems.append(Problem(*where, f"sourceExpression=\"{expression}\" cannot be evaluated: "
                                        f"{exc.message} Write a JUEL expression of the supported subset."))
        if mapping.get("target") is None and (mapping.get("variables") or "").strip() != "all" \
                and mapping.get("businessKey") is None:
            problems.append(Problem(*where, f"This {etree.QName(mapping).localname} mapping has no target: add "
                                    "target=\"<variable>\" (or variables=\"all\")."))
    return problems


def _check_human_task(where, node, forms) -> list[Problem]:
    """Who gets the task: a lane named after a role, an assignee or candidates of its own; with none of
    them it goes to the deployment's default role (a lane not named after a role counts as no lane:
    ``_lane_note``). Expressions in the assignee, the candidates and the name must translate."""
    problems = []
    who = assignment(node)
    written = extensions.attribute(node, "assignee") or ""
    if "{" not in written and len(split_list(written)) > 1:
        problems.append(Note(*where, f"The assignee '{written}' is a list; a task has one assignee, so these "
                             "users are its candidate users (any of them may claim it). Write them in "
                             "candidateUsers to say so."))
    for kind, texts in (("assignee", [who["assignee"] or ""]), ("candidateUsers", who["candidate_users"]),
                        ("candidateGroups", who["candidate_groups"])):
        for text in texts:
            if juel.is_juel(text):
                try:
                    juel.to_python(text)
                except juel.JuelError as error:
                    problems.append(Problem(*where, f"{kind} '{text}': {error} Write it as ${{variable}} or "
                                            "another JUEL expression of the supported subset."))
    name = node.get("name") or ""
    if juel.is_juel(name):
        try:
            juel.to_python(name)
        except juel.JuelError as error:
            problems.append(Problem(*where, f"Name '{name}': {error} Write the name as text with "
                                    "${variable} parts, or another JUEL expression of the supported subset."))
    problems += _check_form_key(where, node, forms)
    return problems


def _lane_note(where, lane, process) -> list[Problem]:
    """A lane not named after a role (or without a name) does not decide who gets its user tasks, as
    Camunda ignores lanes: a ``Note`` saying where they go instead (none when it holds no user task)."""
    human = {n.get("id"): n for n in process.iter()
             if isinstance(n.tag, str) and etree.QName(n).localname in HUMAN_TAGS}
    inner = {(r.text or "").strip() for child in lane.iterdescendants("{%s}lane" % NS["bpmn"])
             for r in child.findall("bpmn:flowNodeRef", NS)}  # a nested lane decides for these
    tasks = [human[ref] for ref in (r.text.strip() for r in lane.findall("bpmn:flowNodeRef", NS) if r.text)
             if ref in human and ref not in inner]
    if not tasks:
        return []
    where_to = "; ".join(f"{t.get('name') or t.get('id')} ({t.get('id')}) to "
                         + ("its assignee or candidates" if any(assignment(t).values())
                            else "the deployment's default role") for t in tasks)
    label = f"Lane '{lane.get('name')}' is not a role" if (lane.get("name") or "").strip() else \
        f"Lane {lane.get('id') or ''} has no name".replace("  ", " ")
    return [Note(*where, f"{label}, so it does not decide who gets its tasks (as in Camunda): {where_to}. "
                 "Name the lane after a role, or give the tasks candidateGroups or an assignee.")]


def _check_form_key(where, node, forms) -> list[Problem]:
    """The element's form (``generated_forms.link``): an ``embedded:`` HTML form is refused; a form key that
    names no deployed form (the generic form is shown) and what a form ignores are notes."""
    return [(Problem if found.refuses else Note)(found.file, found.line, found.element_id, found.message)
            for found in generated_forms.link(node, forms, where[0]).findings]


def _check_expression(name, node, tag) -> list[Problem]:
    text = (node.text or "").strip()
    owner = node.getparent()
    while owner is not None and owner.get("id") is None:
        owner = owner.getparent()
    where = (name, node.sourceline, owner.get("id") if owner is not None else None)
    if not text:
        return [Problem(*where, f"Empty {tag}: write a Python expression (e.g. `amount > 100`) or, for a "
                        "timer, an ISO-8601 duration such as PT24H.")]
    if juel.is_juel(text):
        if tag != "conditionExpression" and any(etree.QName(up).localname == "startEvent"
                                                for up in node.iterancestors()):
            return [Problem(*where, f"Timer '{text}' of a start event is JUEL, but a start event has no "
                            "variables yet: write it as ISO-8601 text (e.g. R/PT1H, PT24H, "
                            "2026-12-01T14:00:00).")]
        try:
            text = python_from_juel(text)
        except juel.JuelError as exc:
            return [Problem(*where, f"Expression '{text}' is outside the JUEL subset Liucheng translates: "
                            f"{exc.message}.")]
    if tag != "conditionExpression" and (ISO_TIME.match(text) or timer_cycles.is_cron(text)):
        return _check_timer(where, tag, text)
    try:
        check_source(text, "eval")
    except ScriptError as exc:
        if tag != "conditionExpression":
            return [Problem(*where, f"Timer '{text}' is neither ISO-8601 (PT24H, 2026-12-01T14:00:00, R/P1D), "
                            "a Quartz cron (0 0/5 * * * ?) nor a Python expression giving one; write it in one "
                            "of those forms.")]
        return [Problem(*where, not_executable(text) or f"Expression '{text}' is not allowed: {exc.message}")]
    return []


FEEL = re.compile(r"^\s*=|\b(some|every)\s+\w+\s+in\b.*\bsatisfies\b")
XPATH = re.compile(r"\b\w+:\w+\s*\(|\bbpmn:get")
PROSE = re.compile(r"^\s*[A-Za-z]\w*(\s+[A-Za-z]\w*)+\s*(==|=|!=|<|>)")


def not_executable(text: str) -> Optional[str]:
    """Why a condition written in FEEL, XPath or prose cannot run (in Camunda 7 either), and what to write
    instead; None when it looks like neither."""
    if FEEL.search(text):
        lang = "FEEL (Camunda 8 / Zeebe)"
    elif XPATH.search(text):
        lang = "XPath (the BPMN spec's default expression language)"
    elif PROSE.search(text):
        lang = "prose (a name with spaces is not a variable)"
    else:
        return None
    return (f"The condition '{text}' is written in {lang}, which is not executable in Camunda 7 either: write it "
            "as JUEL ${…} or as Python, naming process variables, e.g. ${serviceLevel == 'Premium'}, "
            "${approved}, ${not approved} or `all(risk == 'red' for risk in riskLevels)`.")


TIMER_FORMS = {
    "timeCycle": "a cycle: R/PT1H (every hour), R3/PT10H (three times), R/2026-12-01T00:00:00+08:00/P1D "
                 "(daily from then) or a Quartz cron such as 0 0/5 * * * ? (every five minutes)",
    "timeDuration": "a duration such as PT24H, P3D or PT0S",
    "timeDate": "a date and time such as 2026-12-01T14:00:00+08:00",
}


def _timer_form(text: str) -> str:
    """Which of the three timer kinds ``text`` is written as."""
    if timer_cycles.is_cron(text) or text.upper().startswith("R"):
        return "timeCycle"
    return "timeDuration" if text.upper().startswith("P") else "timeDate"


def _check_timer(where, tag: str, text: str) -> list[Problem]:
    """An ISO-8601 or cron timer text fits its element (a cycle in timeCycle, a duration in timeDuration,
    a date in timeDate, as Camunda reads them) and can be read."""
    form = _timer_form(text)
    if form != tag:
        what = {"timeCycle": "a cycle", "timeDuration": "a duration", "timeDate": "a date"}[form]
        return [Problem(*where, f"Timer {tag} '{text}' is {what}, but {tag} expects {TIMER_FORMS[tag]}; "
                        f"write that, or put '{text}' in {form}.")]
    if timer_cycles.is_cron(text):
        try:
            timer_cycles.parse(text)
        except timer_cycles.CronError as exc:
            return [Problem(*where, f"Timer cycle: {exc}.")]
    return []


def python_from_juel(text: str) -> str:
    """The Python expression the sandbox evaluates for a JUEL text (``${…}``/``#{…}``, composite text
    allowed); raises ``juel.JuelError`` (with the column) for what is outside the subset."""
    return juel.to_python(text.strip())


def _compensation(name, node) -> Problem:
    event = node.getparent()
    kind = {"boundaryEvent": "compensation boundary event", "startEvent": "compensation event subprocess"}.get(
        etree.QName(event).localname, "compensation throw event")
    return Problem(name, event.sourceline, event.get("id"), f"This {kind} cannot run: the engine (SpiffWorkflow "
                   "3.2) does not support compensation. Remove it and model the undo work as an explicit path "
                   "(e.g. an error boundary event or a gateway leading to the undo task).")


def _check_script(where, node) -> list[Problem]:
    fmt = (node.get("scriptFormat") or "python").lower()
    label = f"Script task '{node.get('name') or where[2]}'"
    if fmt not in ("python", "py", "python3"):
        return [Problem(*where, f"Script format '{fmt}' is not supported: {label} is written in {fmt}; "
                        "Liucheng runs Python scripts only. Rewrite the script in Python and "
                        "set scriptFormat=\"python\".")]
    script = node.find("bpmn:script", NS)
    source = (script.text or "") if script is not None else ""
    resource = extensions.script_task(node)["resource"]
    if resource and not source.strip():
        return [Problem(*where, f"{label} loads its script from {extensions.qualified(node, 'resource')}="
                        f"\"{resource}\", which Liucheng does not read: put the Python script inline, in "
                        "<bpmn:script>.")]
    try:
        check_source(source, "exec")
    except ScriptError as exc:
        return [Problem(*where, f"Script is not allowed: {exc.message}")]
    return []


def _check_service(where, node) -> list[Problem]:
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


EXTERNAL_TYPES = ("external", "external-worker")


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
        return _check_service_expression(where, node, found["expression"])
    delegate = found["class"] or found["delegate_expression"]
    if delegate is not None:
        name = delegate.strip()
        if name[:2] in ("${", "#{") and name.endswith("}"):
            name = name[2:-1].strip()
        if connectors.find_connector(name) is None:
            written = extensions.qualified(node, "class" if found["class"] else "delegateExpression")
            return [Problem(*where, f"{written}=\"{delegate}\" names Java code, which Liucheng cannot run: make "
                            "it an external task (camunda:type=\"external\" camunda:topic=\"<topic>\", done by "
                            f"a worker through the external task API) or register a connector named '{name}' in "
                            f"engine/connectors (registered: {registered}).")]
        return []
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


def _check_service_expression(where, node, text: str) -> list[Problem]:
    written = extensions.qualified(node, "expression")
    try:
        action = juel.to_script(text) if juel.is_juel(text) else None
        check_source(action, "exec") if action else check_source(python_from_juel(text), "eval")
    except juel.JuelError as exc:
        return [Problem(*where, f"{written}=\"{text}\" is outside the JUEL subset Liucheng translates: "
                        f"{exc.message}.")]
    except ScriptError as exc:
        return [Problem(*where, f"{written}=\"{text}\" is not allowed: {exc.message}")]
    return []
