"""Who a user task goes to when it is created, and the name it is shown under.

At deploy ``engine.definitions.assign_roles`` stores each user task's groups as ``roles``: its lane when
the lane is named after a role, then its candidate groups, else (no assignee, no candidate users either)
the deployment's default role(s). A lane not named after a role (or without a name) counts as no lane, as
Camunda ignores lanes. When the task becomes ready, ``route`` turns what the model wrote into a
``Routing``:

* the **assignee** (``camunda:``/``flowable:``/``activiti:assignee`` or ``humanPerformer``): a user
  name, ``${var}``/``#{var}`` (a process variable), another JUEL expression evaluated on the task's data
  in the sandbox, or Flowable's ``$INITIATOR``: the user who started the instance; a list of users
  (written ``a, b`` or given by the expression) makes them candidate users instead, none assigned;
* the **candidate groups** (roles; the first is the row's ``role``) and **candidate users**: literals as
  written, expressions evaluated (a list, or a comma string).

An expression that fails or gives nothing routes to no one: the task stays with its groups and candidate
users; never an incident. ``task_name`` evaluates a name holding ``${…}``/``#{…}`` the same way
(Camunda and Flowable evaluate task name expressions when the task is created); if that fails the task
keeps its name as written. ``priority_of`` and ``follow_up_of`` evaluate ``camunda:priority`` (an integer
0-100, default ``DEFAULT_PRIORITY`` 50 as in Camunda) and ``camunda:followUpDate`` (an ISO date or date-time)
the same way when the task is created; what cannot be evaluated gives the default (50, no follow-up date).
``calendar_date`` is the stricter reading of a follow-up date a person sets later: ``YYYY-MM-DD`` only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Optional

from engine import juel, script_policy
from engine.errors import EngineError

EXPRESSION = re.compile(r"^\s*[$#]\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\s*$")
INITIATOR = "$INITIATOR"  # Flowable's assignee for "the user who started the process"
EVALUATION_SECONDS = 1.0
NAME_LENGTH = 256  # the task row's name column
DEFAULT_PRIORITY = 50  # Camunda's default task priority
PRIORITY_RANGE = (0, 100)
_CALENDAR_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # YYYY-MM-DD only (fromisoformat also takes 20261201)


@dataclass
class Routing:
    """Who a new task row goes to: ``role`` (the first group), ``assignee`` (the user it is routed to, or
    None), all candidate ``groups`` and candidate ``users``."""

    role: str
    assignee: Optional[str]
    groups: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)

    @property
    def extra_candidates(self) -> list[tuple[str, str]]:
        """The ``task_candidates`` rows beyond ``role``: (kind, name)."""
        return [("group", g) for g in self.groups[1:]] + [("user", u) for u in self.users]


def route(node: dict, lane: Optional[str], data: dict, initiator: Optional[str]) -> Routing:
    """The routing of a task of element ``node`` (its ``describe_elements`` entry with ``roles``) on
    the task's ``data``; ``initiator`` is the user who started the instance."""
    assignee = assignee_of(node.get("assignee"), data, initiator)
    groups = candidate_names(node.get("roles", [lane or node.get("lane") or ""]), data)
    users = candidate_names(node.get("candidate_users", []), data)
    several = [name.strip() for name in (assignee or "").split(",") if name.strip()]
    if len(several) > 1:  # an expression gave several users: each may claim, none is the assignee
        users, assignee = list(dict.fromkeys(users + several)), None
    return Routing(groups[0] if groups else "", assignee, groups, users)


def assignee_of(expression: Optional[str], data: dict, initiator: Optional[str] = None) -> Optional[str]:
    """The user a task is routed to: ``${var}`` names a process variable, another JUEL expression is
    evaluated on the task data in the sandbox, ``$INITIATOR`` is ``initiator``, else a literal user name."""
    if not expression:
        return None
    match = EXPRESSION.match(expression)
    if expression.strip() == INITIATOR:
        value = initiator
    elif match:
        value = data.get(match.group(1))
    elif juel.is_juel(expression):
        value = _evaluate(expression, data)
    else:
        value = expression.strip()
    if isinstance(value, (list, tuple, set)):
        value = ",".join(str(v) for v in value)
    return str(value) if value else None


def candidate_names(items: list[str], data: dict) -> list[str]:
    """Candidate names: literals as written, expressions evaluated (a list, or a comma string)."""
    names: list[str] = []
    for item in items:
        value = _evaluate(item, data) if juel.is_juel(item) else item
        values = value if isinstance(value, (list, tuple, set)) else str(value or "").split(",")
        names += [str(v).strip() for v in values if str(v).strip()]
    return list(dict.fromkeys(names))


def task_name(name: str, data: dict) -> str:
    """The name a task is shown under: ``name`` with its ``${…}``/``#{…}`` evaluated on the task's data,
    or ``name`` as written when it holds none or the evaluation fails (or gives nothing)."""
    if not name or not juel.is_juel(name):
        return name
    value = _evaluate(name, data)
    text = "" if value is None else str(value).strip()
    return text[:NAME_LENGTH] if text else name


def priority_of(expression: Optional[str], data: dict) -> int:
    """The priority a new task gets: ``expression`` (a number or a JUEL expression on the task's data)
    when it gives an integer within ``PRIORITY_RANGE``, else ``DEFAULT_PRIORITY``."""
    if expression is None or not str(expression).strip():
        return DEFAULT_PRIORITY
    value = _evaluate(expression, data) if juel.is_juel(expression) else expression
    priority = as_priority(value)
    return DEFAULT_PRIORITY if priority is None else priority


def follow_up_of(expression: Optional[str], data: dict) -> Optional[date]:
    """The follow-up date a new task gets from ``expression`` (an ISO date or date-time, or a JUEL
    expression giving one), or None."""
    if expression is None or not str(expression).strip():
        return None
    value = _evaluate(expression, data) if juel.is_juel(expression) else expression
    return as_date(value)


def as_priority(value: Any) -> Optional[int]:
    """``value`` as a task priority (an integer 0-100, also written as a string), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and PRIORITY_RANGE[0] <= value <= PRIORITY_RANGE[1]:
        return value
    return None


def as_date(value: Any) -> Optional[date]:
    """``value`` as a date: a date, a date-time (its date) or an ISO string of either; else None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        for parse in (date.fromisoformat, lambda t: datetime.fromisoformat(t).date()):
            try:
                return parse(text)
            except ValueError:
                continue
    return None


def calendar_date(value: Any) -> Optional[date]:
    """``value`` as a date when it is exactly a calendar date written ``YYYY-MM-DD`` (what a person or a
    script sets as a follow-up date); a date-time, another ISO form or anything else is None."""
    if not isinstance(value, str) or not _CALENDAR_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _evaluate(expression: str, data: dict):
    """The value of a JUEL expression on ``data`` in the sandbox; None if it cannot be evaluated."""
    try:
        source = juel.to_python(expression)
        code, errors = script_policy.compile_source(source, "eval")
        if errors or code is None:
            return None
        namespace = {"__builtins__": script_policy.SANDBOX_BUILTINS, **data}
        return script_policy.run_code(code, namespace, source, "Assignment expression", EVALUATION_SECONDS)
    except EngineError:
        return None
