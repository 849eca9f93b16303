"""What a message may do: who may send one, the variables a catching element declares its message
may set, and the checks that refuse a message before it changes anything.

Senders: ``integrator`` and ``admin`` users, and the engine itself (actor ``system``: send tasks and
throw events of other instances, trusted and not checked here). A user account named ``system`` may
not send: a kept message's sender is known by name only, and ``system``'s are trusted.

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

from engine import spiff
from engine.errors import ConflictError, MessageRefusedError, PermissionDeniedError
from engine.models import INTEGRATION_ROLES, Message, User

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


# -- checks before a message changes anything ------------------------------------------------------

def is_engine(sender: User) -> bool:
    """The engine's own actor (send tasks, throw events): trusted; not a stored user."""
    return sender.username == "system" and sender.id is None


def check_may_send(sender: User) -> None:
    if is_engine(sender):
        return
    if sender.username == "system":  # kept messages are told apart by the sender's name: the engine's is trusted
        raise PermissionDeniedError("The account name 'system' is the engine's own: messages cannot be sent with "
                                    "an account of that name. Send it with an integrator account of another name.")
    if sender.roles & INTEGRATION_ROLES:
        return
    raise PermissionDeniedError("Only integrators and admins may send messages: send it with an integrator's "
                                "account or token (an admin can give your account the integrator role).")


def check_catchable(wf, version_, instance_id: int, name: str, data: dict, catching: list[str],
                    correlation: Optional[dict] = None) -> None:
    """Raise ``MessageRefusedError`` if an element of the instance catching ``name`` does not declare
    every name of ``data``, or if the instance cannot catch it (its correlation fails)."""
    nodes = version_.elements.get("nodes", {})
    declarations = [nodes.get(element_id, {}).get("message_variables") for element_id in catching]
    names = refused(data, declarations)
    if names:
        raise refusal(name, names, declarations, [f"{version_.process_id}:{e}" for e in catching], instance_id)
    problem = spiff.catch_problem(wf, name, data, correlation)
    if problem:
        raise not_caught(name, instance_id, problem)


def accepts_kept(wf, message: Message, elements: dict, element_id: str) -> bool:
    """Whether the waiting ``element_id`` may take a kept message (a refused one stays kept)."""
    if message.sender == "system":  # thrown by another instance: trusted, as when delivered at once
        return True
    declared_here = elements.get("nodes", {}).get(element_id, {}).get("message_variables")
    return not refused(message.data or {}, [declared_here]) and \
        spiff.catch_problem(wf, message.name, dict(message.data or {}), dict(message.correlation or {})) is None


def refusal(name: str, names: list[str], declarations: list, where: list[str],
            instance_id: Optional[int]) -> MessageRefusedError:
    return MessageRefusedError(
        f"Message '{name}' may not set {', '.join(names)}: its catching event ({', '.join(where)}) takes only "
        f"{allowed_text(declarations)}. Send only those names in 'data' (correlation keys go in 'correlation'); "
        "nothing was delivered, started or kept.",
        {"refused": names, "allowed": sorted({n for d in declarations if d for n in d}),
         "elements": where, **({"instance_id": instance_id} if instance_id is not None else {})})


def ambiguous(name: str, instance_id: int, elements: list[str]) -> ConflictError:
    """Several catch events of one instance wait for the message (Camunda 7:
    MismatchingMessageCorrelationException)."""
    return ConflictError(
        f"Message '{name}' correlates with {len(elements)} catch events of instance {instance_id} "
        f"({', '.join(elements)}); a message reaches one. Narrow 'correlation' so it matches one, or send it "
        "with \"all\": true to deliver it to each of them; nothing was delivered.",
        {"instance_id": instance_id, "elements": elements})


def not_caught(name: str, instance_id: int, reason: str) -> MessageRefusedError:
    return MessageRefusedError(
        f"Instance {instance_id} cannot catch message '{name}': {reason}. Nothing was delivered, started or kept; "
        "correct the message (or the model's correlation) and send it again.",
        {"instance_id": instance_id, "reason": reason})
