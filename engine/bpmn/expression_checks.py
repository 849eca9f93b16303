"""The checks of what a BPMN document writes as expressions: conditions of sequence flows, timers
(timeDuration, timeDate, timeCycle: ISO-8601, a Quartz cron or an expression giving one) and any JUEL
or Python text the sandbox will run (``expression_problem``, used by the element, multi-instance and
service task checks). JUEL is translated to Python first (``python_of``); a condition written in FEEL,
XPath or prose is refused saying what to write instead (``not_executable``).
"""
from __future__ import annotations

import re
from typing import Optional

from lxml import etree

from engine import juel, timer_cycles
from engine.bpmn.problems import Problem
from engine.errors import ScriptError
from engine.script_policy import check_source

ISO_TIME = re.compile(r"^\s*(R\d*/)?(P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
                      r"|\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:?\d\d)?)(/.*)?\s*$")
SUBSET = "Write a JUEL expression of the supported subset."


def python_from_juel(text: str) -> str:
    """The Python expression the sandbox evaluates for a JUEL text (``${…}``/``#{…}``, composite text
    allowed); raises ``juel.JuelError`` (with the column) for what is outside the subset."""
    return juel.to_python(text.strip())


def python_of(text: str) -> str:
    """The Python the sandbox evaluates for ``text``: JUEL translated, a name or Python as written."""
    text = (text or "").strip()
    return python_from_juel(text) if juel.is_juel(text) else text


def expression_problem(where, what: str, text: str, mode: str = "eval", advice: str = SUBSET) -> list[Problem]:
    """Why the sandbox cannot run ``text`` (one located ``Problem`` naming ``what``, then ``advice``), or
    nothing. ``mode="exec"`` takes it as a service task's action: ``${execution.setVariable('x', v)}``
    runs as the statement ``x = v``."""
    try:
        action = juel.to_script(text) if mode == "exec" and juel.is_juel(text) else None
        check_source(action, "exec") if action else check_source(python_of(text), "eval")
    except juel.JuelError as exc:
        return [Problem(*where, f"{what} is outside the JUEL subset Liucheng translates: {exc.message} {advice}")]
    except ScriptError as exc:
        return [Problem(*where, f"{what} is not allowed: {exc.message} {advice}")]
    return []


def check_expression(name, node, tag) -> list[Problem]:
    """A ``conditionExpression`` or a timer's text: JUEL of the subset, then Python the sandbox allows or,
    for a timer, a time text that fits its element (``_check_timer``)."""
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


def empty_timer(name, node) -> list[Problem]:
    """A ``timerEventDefinition`` with neither timeDate, timeDuration nor timeCycle (Camunda 7 refuses it)."""
    if any(isinstance(child.tag, str) for child in node):
        return []
    return [Problem(name, node.sourceline, node.getparent().get("id"), "This timer says neither when nor how "
                    "often (no timeDate, timeDuration or timeCycle), which Camunda 7 refuses too: add one, e.g. "
                    "<timeDuration>PT1H</timeDuration>.")]


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
