"""The ``required_if`` conditions of a form's fields as a page says and shows them.

``words(spec, siblings)`` says when a field is required in the user's language, with the other field's label
and the label of the value («「主管是否同意」为「否」»); ``holds_now(spec, shown)`` tells whether the
conditions hold for the values the page shows (input texts, by field name), so the field is marked required;
``as_json(spec)`` is what ``static/js/forms.js`` reads to mark it live. The engine enforces the rule
(``engine.form_schema.RequiredIf``).
"""
from __future__ import annotations

import json
from typing import Any

from flask_babel import gettext as _

from engine.form_schema import conditions_of
from webui.pages.display import localized


def words(spec: dict, siblings: list[dict]) -> str:
    """``“Supervisor approves” is “No”`` (several conditions joined by "and"); "" without conditions."""
    by_name = {s.get("name"): s for s in siblings if isinstance(s, dict)}
    return _(" and ").join(_condition(c, by_name.get(c.get("field"), {})) for c in conditions_of(spec))


def _condition(condition: dict, other: dict) -> str:
    label = localized(other.get("label"), str(condition.get("field")))
    if "equals" in condition:
        return _("“%(field)s” is “%(value)s”", field=label, value=_value_label(condition["equals"], other))
    if "not_equals" in condition:
        return _("“%(field)s” is not “%(value)s”", field=label, value=_value_label(condition["not_equals"], other))
    values = "、".join(_value_label(v, other) for v in condition.get("in") or [])
    return _("“%(field)s” is one of “%(values)s”", field=label, values=values)


def _value_label(value: Any, other: dict) -> str:
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    for choice in other.get("choices") or []:
        if isinstance(choice, dict) and choice.get("value") == value:
            return localized(choice.get("label"), str(value))
    return str(value)


def input_text(value: Any) -> str:
    """A condition's value as an input of the page holds it (``true``/``false`` for a yes/no)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def holds_now(spec: dict, shown: dict[str, Any]) -> bool:
    """Whether every condition holds for the texts the page shows (a field not shown holds nothing)."""
    conditions = conditions_of(spec)
    return bool(conditions) and all(_holds(c, shown) for c in conditions)


def _holds(condition: dict, shown: dict[str, Any]) -> bool:
    value = shown.get(condition.get("field"))
    if not isinstance(value, str) or value == "":
        return False
    if "equals" in condition:
        return value == input_text(condition["equals"])
    if "not_equals" in condition:
        return value != input_text(condition["not_equals"])
    return value in [input_text(v) for v in condition.get("in") or []]


def as_json(spec: dict) -> str:
    """The conditions for the script: ``[{"field", "equals"|"not_equals"|"in"}]`` with values as input texts."""
    return json.dumps([{key: ([input_text(v) for v in value] if key == "in" else
                              value if key == "field" else input_text(value))
                        for key, value in condition.items()} for condition in conditions_of(spec)],
                      ensure_ascii=False)
