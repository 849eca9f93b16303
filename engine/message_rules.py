"""What a message may set: the variables a catching element declares, and the check of a message's
data against them.

A message catch event, a boundary message event, an event-based gateway's message branch, a receive
task or a message start event declares the process variables its message may set with Camunda's
output mapping (Camunda Modeler shows it as "Outputs"; bpmn.io and the Modeler keep it as written;
camunda-bpmn-moddle allows ``camunda:inputOutput`` on every flow node)::

    <bpmn:extensionElements>
      <camunda:inputOutput>
        <camunda:outputParameter name="tracking_no">${tracking_no}</camunda:outputParameter>
      </camunda:inputOutput>
    </bpmn:extensionElements>

Each output parameter names one variable; its value must be the message's variable of the same name
(``${tracking_no}``, or empty): Liucheng does not rename. An empty ``<camunda:inputOutput/>`` declares
that the message sets nothing. An element without ``camunda:inputOutput`` declares nothing and takes
every variable of the message's data, as Camunda 7 does with ``correlate().setVariables(...)``.

Correlation values (``correlation``) are matched, not set; for a message start event they become
start data too, so they count as data there.
"""
from __future__ import annotations

import re
from typing import Iterable, Optional

CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
CATCHING_TAGS = {"startEvent", "intermediateCatchEvent", "boundaryEvent", "receiveTask"}
_SAME_NAME = re.compile(r"^\s*(\$\{\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*\})?\s*$")


def catches_messages(node, tag: str) -> bool:
    """True for an element that catches a message (and may so declare what it sets)."""
    if tag == "receiveTask":
        return True
    return tag in CATCHING_TAGS and node.find(BPMN + "messageEventDefinition") is not None


def _output_parameters(node) -> Optional[list]:
    extensions = node.find(BPMN + "extensionElements")
    mapping = extensions.find(CAMUNDA + "inputOutput") if extensions is not None else None
    if mapping is None:
        return None
    return mapping.findall(CAMUNDA + "outputParameter")


def declared(node) -> Optional[list[str]]:
    """The variables the element's message may set, in declaration order; None: it declares nothing."""
    parameters = _output_parameters(node)
    if parameters is None:
        return None
    return list(dict.fromkeys(p.get("name") or "" for p in parameters))


def declaration_problems(node) -> list[str]:
    """What is wrong with the element's declaration (each message says how to fix it)."""
    problems = []
    for parameter in _output_parameters(node) or []:
        name = parameter.get("name") or ""
        value = "".join(parameter.itertext())
        if not name.isidentifier():
            problems.append(f"Output parameter '{name}' is not a variable name: name it like a process "
                            "variable (letters, digits and _), e.g. tracking_no.")
            continue
        match = _SAME_NAME.match(value)
        if len(parameter) or match is None or match.group("name") not in (None, name):
            problems.append(f"Output parameter '{name}' maps '{value.strip()}': a message's output parameter "
                            f"takes the message's variable of the same name; write ${{{name}}} or leave it empty.")
    return problems


def refused(data: dict, declarations: Iterable[Optional[list[str]]]) -> list[str]:
    """The names of ``data`` that some catching element does not declare (sorted)."""
    names = set(data)
    refusing = set()
    for allowed in declarations:
        if allowed is not None:
            refusing |= names - set(allowed)
    return sorted(refusing)


def refused_by_all(data: dict, declarations: list[Optional[list[str]]]) -> list[str]:
    """The names of ``data`` that no catching element accepts (none when there is no catcher)."""
    if not declarations or any(allowed is None for allowed in declarations):
        return []
    accepted = set().union(*(set(allowed) for allowed in declarations))
    return sorted(set(data) - accepted)


def allowed_text(declarations: Iterable[Optional[list[str]]]) -> str:
    names = sorted({n for allowed in declarations if allowed is not None for n in allowed})
    return ", ".join(names) if names else "no data"
