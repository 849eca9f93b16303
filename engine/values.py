"""What task and process data can hold, and where a value breaks the rule.

Every value a script, connector, form or message leaves in an instance's data is
stored as JSON (the instance row, its state and its history) and read back later.
A value is storable when it is, recursively:

* ``None``, ``bool``;
* an ``int`` within 64 bits (``-2**63 <= n < 2**63``, Camunda's ``Long``): bigger
  integers are not numbers other systems (or PostgreSQL ``bigint``) can read;
* a finite ``float`` (no NaN or infinity: JSON has no such numbers);
* a ``str`` of at most ``MAX_STRING`` characters;
* a finite ``Decimal`` of at most ``MAX_STRING`` digits, a ``date`` or ``datetime``
  (including ``engine.clock``'s types);
* a ``list`` (a ``tuple`` is stored as a list) or a ``dict`` with ``str`` keys,
  nested at most ``MAX_DEPTH`` containers deep and not containing itself;
* and all of one data dict (every variable, as written out: a value a list holds
  many times counts each time) holds at most ``MAX_VALUES`` values and
  ``MAX_TEXT`` characters of text, keys and Decimal digits. Without this, a list
  of a million references to one long text (a few bytes for the script that made
  it) would be written out as terabytes of JSON.

Anything else (bytes, generators, ranges, sets, timedeltas, objects) is refused.
``find_problem(data)`` returns the first offending place (``items[3].sku``) with
what is wrong and what to change; ``scrub(data)`` replaces offending values with
``None`` in place, for the rare case where a value that cannot be stored already
reached the data by a path nothing checked.

Where the rule is applied: start and task data (``forms.refuse_unstorable``: 422, messages too),
scripts (``data_guard.checked_script_engine``: the script task fails), connector
results (``connectors.call``: the service task fails), and before every
save (``runtime.advance``: what slipped through is cleared, with an open incident).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import GeneratorType
from typing import Any, Mapping, Optional

from engine.clock import EngineDate, EngineDatetime

MAX_DEPTH = 32              # containers nested in one value (a list of dicts of lists is 3)
MAX_STRING = 1_000_000      # characters of one text (and digits of one Decimal)
MIN_INT, MAX_INT = -2**63, 2**63 - 1  # a 64-bit integer, as Camunda's Long
MAX_VALUES = 1_000_000      # values in one data dict, counted as written out
MAX_TEXT = 16_000_000       # characters of text, keys and digits in one data dict (a request holds 16 MB)


@dataclass(frozen=True)
class Problem:
    """Why a variable cannot be stored: ``path`` (``items[3].sku``) ``what`` (``is a set``); ``fix``."""

    variable: str
    path: str
    what: str
    fix: str

    def describe(self) -> str:
        return f"{self.path} {self.what}; {self.fix}"


class _Budget:
    """What one data dict may still hold (``MAX_VALUES``, ``MAX_TEXT``); a walk stops once it is spent."""

    __slots__ = ("values", "text")

    def __init__(self):
        self.values, self.text = MAX_VALUES, MAX_TEXT

    def spend(self, characters: int) -> bool:
        """Count one value of ``characters`` characters; False once over the budget."""
        self.values -= 1
        self.text -= characters
        return self.values >= 0 and self.text >= 0


_TOO_BIG = (f"makes the data larger than {MAX_VALUES:,} values or {MAX_TEXT:,} characters of text in all "
            "(a value held several times counts each time)")
_TOO_BIG_FIX = "keep less data in the process (e.g. a file reference instead of the document, or a summary)"


def find_problem(data: Mapping) -> Optional[Problem]:
    """The first variable of ``data`` (a dict of variables) that cannot be stored, or None."""
    if type(data) is dict and _all_fine(data):
        return None
    budget = _Budget()
    for name, value in data.items():
        if type(name) is not str:
            return Problem(repr(name), repr(name), "is a variable name that is not text",
                           "name variables with text")
        problem = _value_problem(name, value, budget)
        if problem is not None:
            return problem
    return None


def find_value_problem(name: str, value: Any) -> Optional[Problem]:
    """Why the variable ``name`` holding ``value`` cannot be stored, or None when it can."""
    return _value_problem(name, value, _Budget())


def _value_problem(name: str, value: Any, budget: _Budget) -> Optional[Problem]:
    if not budget.spend(len(name)):
        return Problem(name, name, _TOO_BIG, _TOO_BIG_FIX)
    found = _check(value, 1, set(), budget)
    if found is None:
        return None
    segments, what, fix = found
    segments.reverse()
    if len(segments) > 8:  # a value nested too deep: the start of its path is enough
        segments = segments[:4] + [f"…({len(segments)} levels)"]
    return Problem(name, name + "".join(segments), what, fix)


def scrub(data: dict) -> list[Problem]:
    """Replace every value of ``data`` that cannot be stored with None (in place, in the containers
    holding them); returns what was replaced. Only for values that slipped past the checks."""
    replaced = []
    for name in list(data):
        if type(name) is not str:
            replaced.append(Problem(repr(name), repr(name), "is a variable name that is not text",
                                    "name variables with text"))
            data[str(name)] = data.pop(name)
    for _ in range(10_000):  # each round removes one offending value
        problem = find_problem(data)
        if problem is None:
            return replaced
        replaced.append(problem)
        _replace(data, problem.variable)
    return replaced


# -- the walk ------------------------------------------------------------------------------

_PLAIN = frozenset({bool, type(None), date, datetime, EngineDate, EngineDatetime})


def _all_fine(data: dict) -> bool:
    """True when every value of ``data`` is storable: the common case, walked with a plain stack.

    No cycle check is needed here: a value that holds itself nests deeper than ``MAX_DEPTH`` (and
    values shared many times spend the budget), and anything that is not plainly fine is decided,
    with its reason, by the exact walk (``_fine`` / ``_check``)."""
    values, text = MAX_VALUES - 1, MAX_TEXT  # counted as the exact walk counts: the dict, keys, values
    stack = [(data, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        container, depth = pop()
        if depth > MAX_DEPTH:
            return False
        if type(container) is dict:
            for name in container:
                if type(name) is not str:
                    return False
                values -= 1
                text -= len(name)
            members = container.values()
        else:
            members = container
        for value in members:
            values -= 1
            kind = type(value)
            if kind is str:
                if len(value) > MAX_STRING:
                    return False
                text -= len(value)
            elif kind is int:
                if not MIN_INT <= value <= MAX_INT:
                    return False
            elif kind is float:
                if value - value != 0.0:  # NaN and infinities
                    return False
            elif kind is dict or kind is list or kind is tuple:
                push((value, depth + 1))
            elif kind is Decimal:
                digits = len(value.as_tuple().digits)
                if not value.is_finite() or digits > MAX_STRING:
                    return False
                text -= digits
            elif kind not in _PLAIN:
                return False  # the exact walk decides, and says why
        if values < 0 or text < 0:
            return False
    return True




def _fine(value, depth: int, ancestors: set, budget: _Budget) -> bool:
    """True when ``value`` is storable (the fast walk of the common types; ``_check`` says why not,
    and decides the uncommon ones)."""
    kind = type(value)
    if kind is str:
        return len(value) <= MAX_STRING and budget.spend(len(value))
    if not budget.spend(0):
        return False
    if kind is int:
        return MIN_INT <= value <= MAX_INT
    if kind is float:
        return value - value == 0.0  # False for NaN and infinities
    if kind in _PLAIN:
        return True
    if kind is dict or kind is list or kind is tuple:
        key = id(value)
        if depth > MAX_DEPTH or key in ancestors:
            return False
        ancestors.add(key)
        depth += 1
        if kind is dict:
            for name, item in value.items():
                if type(name) is not str or not budget.spend(len(name)) \
                        or not _fine(item, depth, ancestors, budget):
                    return False
        else:
            for item in value:
                if not _fine(item, depth, ancestors, budget):
                    return False
        ancestors.discard(key)
        return True
    if kind is Decimal:
        return value.is_finite() and len(value.as_tuple().digits) <= MAX_STRING \
            and budget.spend(len(value.as_tuple().digits))
    return False


def _check(value, depth: int, ancestors: set, budget: _Budget) -> Optional[tuple[list, str, str]]:
    """(path segments, innermost first; what; fix) of the first offending place in ``value``."""
    size = len(value) if isinstance(value, str) else \
        len(value.as_tuple().digits) if isinstance(value, Decimal) and value.is_finite() else 0
    if not budget.spend(size):
        return [], _TOO_BIG, _TOO_BIG_FIX
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        if MIN_INT <= value <= MAX_INT:
            return None
        return [], "is an integer beyond 64 bits (±2^63)", "store it as text (str(...)) or as a Decimal"
    if isinstance(value, float):
        if math.isfinite(value):
            return None
        what = "is NaN (not a number)" if math.isnan(value) else "is infinite"
        return [], what, "check the calculation (e.g. 0 / 0 or a division by zero) and store a number or None"
    if isinstance(value, str):
        if len(value) <= MAX_STRING:
            return None
        return [], f"is a text of {len(value):,} characters, over the limit of {MAX_STRING:,}", \
            "store a shorter text and keep large documents outside the process (e.g. a file reference)"
    if isinstance(value, Decimal):
        if value.is_finite() and len(value.as_tuple().digits) <= MAX_STRING:
            return None
        return [], f"is Decimal('{value}')", "store a finite number of reasonable size, or None"
    if isinstance(value, date):
        return None
    if isinstance(value, (dict, list)) or type(value) is tuple:
        return _check_container(value, depth, ancestors, budget)
    return [], *_refused(value)


def _check_container(value, depth: int, ancestors: set, budget: _Budget) -> Optional[tuple[list, str, str]]:
    if depth > MAX_DEPTH:
        return [], f"is nested more than {MAX_DEPTH} levels deep", \
            "flatten the structure (e.g. a list of records instead of records inside records)"
    key = id(value)
    if key in ancestors:
        return [], "refers back to a value that contains it (a reference cycle)", \
            "store a copy without the cycle (e.g. list(items) instead of items itself)"
    ancestors.add(key)
    try:
        if isinstance(value, dict):
            for name, item in value.items():
                if not isinstance(name, str):
                    return [f"[{name!r}]"], "is under a key that is not text", \
                        "use text keys (e.g. str(key), or 'a:b' instead of a tuple key)"
                if not budget.spend(len(name)):
                    return [f"[{name[:40]!r}]"], _TOO_BIG, _TOO_BIG_FIX
                found = _check(item, depth + 1, ancestors, budget)
                if found is not None:
                    found[0].append(f".{name}" if name.isidentifier() else f"[{name!r}]")
                    return found
        else:
            for index, item in enumerate(value):
                found = _check(item, depth + 1, ancestors, budget)
                if found is not None:
                    found[0].append(f"[{index}]")
                    return found
    finally:
        ancestors.discard(key)
    return None


def _refused(value) -> tuple[str, str]:
    """(what, fix) for a value of a type data cannot hold."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "is bytes", "store text instead (e.g. value.decode('utf-8'))"
    if isinstance(value, GeneratorType) or (hasattr(value, "__next__") and hasattr(value, "__iter__")):
        return "is a generator or iterator (a lazy sequence)", "store list(...) of it"
    if isinstance(value, range):
        return "is a range", "store list(range(...)) or its bounds as numbers"
    if isinstance(value, (set, frozenset)):
        return "is a set", "store sorted(...) or list(...) of it"
    if isinstance(value, timedelta):
        return "is a timedelta", "store a number, e.g. delta.days or delta.total_seconds()"
    if isinstance(value, tuple):
        return "is a tuple subclass", "store list(...) of it"
    return f"is a {type(value).__name__}, which cannot be stored", \
        "store text, a number, a date, a list or a dict"


def _replace(data: dict, variable: str) -> None:
    """Set the innermost offending place of ``variable`` to None (the containers around it stay)."""
    container, key, value, depth = data, variable, data[variable], 1
    ancestors: set = set()
    while isinstance(value, (dict, list)) and depth <= MAX_DEPTH and id(value) not in ancestors:
        ancestors.add(id(value))
        found = None
        for child_key, child in (list(value.items()) if isinstance(value, dict) else enumerate(value)):
            if isinstance(value, dict) and not isinstance(child_key, str):
                value[str(child_key)] = value.pop(child_key)
                return
            if _check(child, depth + 1, set(ancestors), _Budget()) is not None:
                found = (child_key, child)
                break
        if found is None:
            break
        container, (key, value), depth = value, found, depth + 1
    container[key] = None
