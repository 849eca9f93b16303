"""The engine's own checks of the elements of a BPMN document before SpiffWorkflow parses it
(``check_elements``): who gets a user task (a lane not named after a role is a note: it does not route;
an assignee, candidates and a name in JUEL must translate), the forms an element names, conditions and
timers (``expression_checks``: JUEL of the subset, Python the sandbox allows, FEEL/XPath/prose conditions
refused), script tasks (Python only, inline, allowed by the sandbox), service tasks (``service_checks``:
connectors and their inputs, external tasks, expressions, other engines' service types), call activities
(binding and mappings), the process's ``historyTimeToLive``, what message catch events declare, business
rule tasks (DMN is not evaluated: refused) and compensation (refused). ``duplicate_ids`` finds repeated BPMN
ids. Each finding is a ``Problem`` or a ``Note`` (``engine.bpmn.problems``, re-exported here with ``fail``
and ``split_notes``).
"""
from __future__ import annotations

from lxml import etree

from engine import config, juel, message_rules
from engine.bpmn import extensions, generated_forms
from engine.bpmn.elements import NS, assignment, call_of, split_list
from engine.bpmn.expression_checks import (ISO_TIME, check_expression, empty_timer, expression_problem,
                                           python_from_juel)
from engine.bpmn.problems import Note, Problem, fail, split_notes
from engine.bpmn.service_checks import SPIFF, check_service
from engine.errors import ScriptError
from engine.script_policy import check_source

__all__ = ["ISO_TIME", "Note", "Problem", "check_elements", "duplicate_ids", "fail", "python_from_juel",
           "split_notes"]

HUMAN_TAGS = {"userTask", "manualTask"}


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
                problems += check_expression(name, node, tag)
            if tag == "scriptTask":
                problems += _check_script(where, node)
            if tag == "compensateEventDefinition":
                problems.append(_compensation(name, node))
            if tag in message_rules.CATCHING_TAGS and message_rules.catches_messages(node, tag):
                problems += [Problem(*where, text) for text in message_rules.declaration_problems(node)]
            if tag == "serviceTask":
                problems += check_service(where, node)
            if tag == "callActivity":
                problems += _check_call(where, node)
            if tag == "businessRuleTask":
                problems.append(_business_rule(where, node))
            if tag == "timerEventDefinition":
                problems += empty_timer(name, node)
            if tag == "process":
                problems += _check_history_ttl(where, node)
    return problems


def _check_history_ttl(where, node) -> list[Problem]:
    written = extensions.history_time_to_live(node)
    attribute = extensions.qualified(node, 'historyTimeToLive')
    try:
        days = config.days(written or "0")
    except ValueError:
        return [Problem(*where, f"{attribute}=\"{written}\" is not a number "
                        "of days: write whole days such as 180, or P180D as Camunda 7 reads it, or remove it to keep "
                        "the history as LIUCHENG_HISTORY_TTL_DAYS says.")]
    if days > config.MAX_HISTORY_TTL_DAYS:
        return [Problem(*where, f"{attribute}=\"{written}\" is more than {config.MAX_HISTORY_TTL_DAYS} days (100 "
                        f"years): write at most {config.MAX_HISTORY_TTL_DAYS}, or remove it to keep the history as "
                        "LIUCHENG_HISTORY_TTL_DAYS says (unset: forever).")]
    return []


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
            problems += expression_problem(where, f"sourceExpression=\"{expression}\"", expression)
        if mapping.get("target") is None and (mapping.get("variables") or "").strip() != "all" \
                and mapping.get("businessKey") is None:
            problems.append(Problem(*where, f"This {etree.QName(mapping).localname} mapping has no target: add "
                                    "target=\"<variable>\" (or variables=\"all\")."))
    return problems


VARIABLE_ADVICE = "Write it as ${variable} or another JUEL expression of the supported subset."
NAME_ADVICE = "Write the name as text with ${variable} parts, or another JUEL expression of the supported subset."


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
    written_as = [("assignee", who["assignee"] or "", VARIABLE_ADVICE)]
    written_as += [("candidateUsers", text, VARIABLE_ADVICE) for text in who["candidate_users"]]
    written_as += [("candidateGroups", text, VARIABLE_ADVICE) for text in who["candidate_groups"]]
    written_as += [("Name", node.get("name") or "", NAME_ADVICE)]
    for kind, text, advice in written_as:
        if juel.is_juel(text):
            problems += expression_problem(where, f"{kind} '{text}'", text, "eval", advice)
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
