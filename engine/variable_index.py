"""The index of instances' variables, and searching instances and tasks by their data (Camunda 7's
``variables=name_op_value,...``).

* ``entry`` / ``entries`` / ``write_changes`` / ``stored``: each instance's top-level scalar variables as rows of
  ``instance_variables`` (``InstanceVariable``): text cut to 256 characters (compared on those), numbers
  (and text holding a plain number, such as ``"100.00"``) in ``num_value``, booleans as ``true``/``false``.
  Lists, objects and None are not indexed. A step writes only the variables it changed.
* ``parse``: a filter expression as ``Condition``s (``ValidationError`` naming the part and the fix);
  ``matching``: the SQL condition "the instance's variables satisfy every condition" on an instance id
  column (``Instance.id`` for the instance list, ``HumanTask.instance_id`` for the worklist).

The expression: conditions ``name_op_value`` joined by commas, ALL must hold; ``op`` is one of
``OPERATORS``; the first ``_op_`` from the left separates the name from the value (so names may hold
``_``, values ``_`` and ``%``). A backslash takes the next character literally: ``\\,`` a comma in a value,
``\\_`` an underscore that does not separate (a name holding ``_eq_``), ``\\\\`` a backslash. A value
``true``/``false`` is a boolean (``eq``/``neq`` only), one that reads as a number compares numerically,
anything else as text; ``like`` matches text with ``%`` as the wildcard, ignoring case.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Optional, Union

from sqlalchemy import ColumnElement, and_, bindparam, delete, func, not_, or_, select, type_coerce, update
from sqlalchemy.types import NullType
from sqlalchemy.orm import Session

from engine.errors import ValidationError
from engine.models import InstanceVariable
from engine.statements import Statement

OPERATORS = ("eq", "neq", "gt", "gteq", "lt", "lteq", "like")
MAX_CONDITIONS = 20
FEW = 1000  # a condition fewer instances satisfy is searched by the list of their ids
TEXT_LENGTH = 256
NAME_LENGTH = 128
EXAMPLE = "order_no_eq_A1001,amount_gt_100"
ESCAPES = "in a name or value write \\, for a comma, \\_ for an underscore and \\\\ for a backslash"

Entry = tuple[str, Optional[str], Optional[float]]  # kind, text_value, num_value
Value = Union[str, float, bool]

_PLAIN_NUMBER = re.compile(r"-?\d{1,15}(\.\d{1,15})?")
_QUERY_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_OPERATOR = re.compile(r"_(" + "|".join(OPERATORS) + r")_")
_MISSING = object()
_ESCAPED = "\x00"  # stands for an escaped character while looking for separators

_TABLE = InstanceVariable.__table__
_INSERT = Statement(_TABLE.insert(), columns=("instance_id", "name", "kind", "text_value", "num_value"))
_UPDATE = Statement(update(_TABLE)
                    .where(_TABLE.c.instance_id == bindparam("iid"), _TABLE.c.name == bindparam("var"))
                    .values(kind=bindparam("k"), text_value=bindparam("text"), num_value=bindparam("num")))
_DELETE = Statement(delete(_TABLE).where(_TABLE.c.instance_id == bindparam("iid"),
                                         _TABLE.c.name == bindparam("var")))
_STORED = Statement(select(_TABLE.c.name, _TABLE.c.kind, _TABLE.c.text_value,
                           type_coerce(_TABLE.c.num_value, NullType()).label("num_value"))  # the driver's float
                    .where(_TABLE.c.instance_id == bindparam("iid")))


# -- the index ------------------------------------------------------------------------------------

def entry(value: Any) -> Optional[Entry]:
    """How one variable's value is indexed (None: not indexed)."""
    if isinstance(value, bool):
        return ("boolean", "true" if value else "false", None)
    if isinstance(value, (int, float)):
        number = float(value)
        return ("number", None, number) if math.isfinite(number) else None
    if isinstance(value, str):
        return ("text", value[:TEXT_LENGTH], float(value) if _PLAIN_NUMBER.fullmatch(value) else None)
    return None


def entries(data: dict) -> dict[str, Entry]:
    """The indexed variables of an instance's (JSON) data."""
    found = {}
    for name, value in data.items():
        if isinstance(name, str) and len(name) <= NAME_LENGTH:
            indexed = entry(value)
            if indexed is not None:
                found[name] = indexed
    return found


def stored(session: Session, instance_id: int) -> dict[str, Any]:
    """The instance's indexed variables as data (``write_changes``'s ``before`` when the data last saved is
    not at hand): text as stored (cut), numbers as floats, booleans."""
    return {row.name: (row.text_value == "true" if row.kind == "boolean" else
                       row.num_value if row.kind == "number" else row.text_value)
            for row in _STORED.all(session, {"iid": instance_id})}


def write_changes(session: Session, instance_id: int, before: dict, after: dict) -> None:
    """Write the index rows of the variables of ``after`` (the instance's data now) that differ from
    ``before`` (its data as last saved, or ``stored``): unchanged values cost one comparison each."""
    inserts, updates, deletes = [], [], []
    for name, value in after.items():
        old = before.get(name, _MISSING)
        if old is value or (type(old) is type(value) and old == value):
            continue
        now = entry(value) if isinstance(name, str) and len(name) <= NAME_LENGTH else None
        had = old is not _MISSING and _indexed(name, old)
        if now is not None:
            (updates if had else inserts).append(
                {"iid": instance_id, "instance_id": instance_id, "var": name, "name": name, "k": now[0],
                 "kind": now[0], "text": now[1], "text_value": now[1], "num": now[2], "num_value": now[2]})
        elif had:
            deletes.append({"iid": instance_id, "var": name})
    deletes += [{"iid": instance_id, "var": name} for name, old in before.items()
                if name not in after and _indexed(name, old)]
    _INSERT.execute_many(session, inserts)
    _UPDATE.execute_many(session, updates)
    _DELETE.execute_many(session, deletes)


def _indexed(name: Any, value: Any) -> bool:
    return isinstance(name, str) and len(name) <= NAME_LENGTH and entry(value) is not None


# -- the filter ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Condition:
    """``name op value``: the value typed (bool, float or str) as the expression wrote it."""

    name: str
    operator: str
    value: Value
    text: str  # the part of the expression, to name it in messages
    raw: str = ""  # the value as written


def parse(expression: str) -> list[Condition]:
    """The conditions of ``name_op_value,...`` (see the module's docstring); ValidationError if malformed."""
    parts = _split(expression)
    if not parts:
        _refuse("The variables filter is empty", f"write name_op_value, for example {EXAMPLE}")
    if len(parts) > MAX_CONDITIONS:
        _refuse(f"The variables filter has {len(parts)} conditions", f"use at most {MAX_CONDITIONS}")
    return [_condition(number, real, masked) for number, (real, masked) in enumerate(parts, start=1)]


def _split(expression: str) -> list[tuple[str, str]]:
    """The comma-separated parts, each as (its text unescaped, the same with escaped characters masked)."""
    parts, real, masked = [], [], []
    characters = iter(expression.strip())
    for character in characters:
        if character == "\\":
            escaped = next(characters, None)
            if escaped is None:
                _refuse("The variables filter ends with a lone backslash", ESCAPES)
            real.append(escaped)
            masked.append(_ESCAPED)
        elif character == ",":
            parts.append(("".join(real), "".join(masked)))
            real, masked = [], []
        else:
            real.append(character)
            masked.append(character)
    if real or parts:
        parts.append(("".join(real), "".join(masked)))
    return parts


def _condition(number: int, real: str, masked: str) -> Condition:
    where = f"Condition {number} ('{real}') of the variables filter"
    if not real.strip():
        _refuse(f"Condition {number} of the variables filter is empty", "remove the extra comma")
    found = _OPERATOR.search(masked)
    if found is None or found.start() == 0:
        problem = "has no variable name" if found is not None else "has no operator"
        _refuse(f"{where} {problem}", f"write name_op_value with op one of {', '.join(OPERATORS)}, for example "
                                      f"{EXAMPLE}; {ESCAPES}")
    name, operator, raw = real[:found.start()], found.group(1), real[found.end():]
    value = _typed(raw) if operator != "like" else raw
    if isinstance(value, bool) and operator not in ("eq", "neq"):
        _refuse(f"{where} compares a boolean with '{operator}'", "use eq or neq with true or false")
    return Condition(name, operator, value, real, raw)


def _typed(raw: str) -> Value:
    if raw in ("true", "false"):
        return raw == "true"
    if _QUERY_NUMBER.fullmatch(raw.strip()) and math.isfinite(float(raw)):
        return float(raw)
    return raw[:TEXT_LENGTH]


def _refuse(problem: str, fix: str) -> None:
    raise ValidationError(f"{problem}; {fix}.", {"variables": [f"{problem}; {fix}."]})


def matching(conditions: list[Condition], instance_id: ColumnElement,
             session: Optional[Session] = None) -> ColumnElement[bool]:
    """SQL: the instance ``instance_id`` names has variables satisfying every condition. A condition few
    instances satisfy is a list of their ids (found through the index); with ``session``, one that many
    satisfy (probed: ``FEW`` rows or more) is checked row by row instead, so a list ordered and cut to a
    page stops at the page's end rather than gathering every match first."""
    clauses = []
    for condition in conditions:
        holding = select(_TABLE.c.instance_id).where(_TABLE.c.name == condition.name, _holds(condition))
        if session is not None and not _few(session, condition, holding):
            clauses.append(holding.where(_TABLE.c.instance_id == instance_id).exists())
        else:
            clauses.append(instance_id.in_(holding))
    return and_(*clauses)


def _few(session: Session, condition: Condition, holding) -> bool:
    """Whether fewer than ``FEW`` instances satisfy the condition (a text or number equality is assumed to)."""
    if condition.operator == "eq" and not isinstance(condition.value, bool):
        return True
    return session.scalar(select(func.count()).select_from(holding.limit(FEW).subquery())) < FEW


def _holds(condition: Condition) -> ColumnElement[bool]:
    """SQL on one ``instance_variables`` row: its value satisfies the condition."""
    operator, value = condition.operator, condition.value
    if operator == "like":
        pattern = str(value).replace("\\", "\\\\").replace("_", "\\_").lower()
        return and_(_TABLE.c.kind == "text", func.lower(_TABLE.c.text_value).like(pattern, escape="\\"))
    if operator in ("eq", "neq"):
        equal = _equal(value, condition.raw)
        return equal if operator == "eq" else not_(equal)
    column = _TABLE.c.num_value if isinstance(value, float) else _TABLE.c.text_value
    kind = _TABLE.c.num_value.is_not(None) if isinstance(value, float) else _TABLE.c.kind == "text"
    compare = {"gt": column > value, "gteq": column >= value, "lt": column < value, "lteq": column <= value}
    return and_(kind, compare[operator])


def _equal(value: Value, raw: str) -> ColumnElement[bool]:
    if isinstance(value, bool):
        return and_(_TABLE.c.num_value.is_(None), _TABLE.c.text_value == ("true" if value else "false"),
                    _TABLE.c.kind == "boolean")
    if isinstance(value, float):
        return or_(and_(_TABLE.c.num_value.is_not(None), _TABLE.c.num_value == value),  # or the same text: a long number kept as text (a 19-digit order no)
                   and_(_TABLE.c.num_value.is_(None), _TABLE.c.text_value == raw[:TEXT_LENGTH]))
    return and_(_TABLE.c.num_value.is_(None), _TABLE.c.text_value == value, _TABLE.c.kind == "text")
