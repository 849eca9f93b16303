"""Form schemas: the checks of a form's field list and the marshmallow schema built from it.

``check_form`` finds what is wrong with a form (forms/README.md is the reference of its keys: types, choices,
limits, ``pattern``, ``widget``, multi-choice lists, display-only ``note`` fields, lists of objects with
``add_remove``, ``required_if`` conditions on another field of the same form or row); ``schema_for`` gives
the form's schema, cached (a ``required_if`` is a schema-level check: ``RequiredIf``); ``generic_values``
checks the data of a task that has no form (the generic form: variables by name). Reading form files is ``engine.forms``.
"""
from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any, Optional

from marshmallow import RAISE, Schema, ValidationError as MarshmallowError, fields, validate as mv, validates_schema

from engine import file_fields
from engine.errors import FormValidationError

SCALARS = {"str", "text", "int", "decimal", "bool", "date", "datetime"}
TYPES = SCALARS | {"list", "object", "note", "file"}
WIDGETS = {"radio", "select", "checkboxes", "textarea", "time"}
TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?")
INT_BOUNDS = mv.Range(min=-(2 ** 63), max=2 ** 63 - 1, error="Must be within 64 bits (-2^63 .. 2^63-1).")
GENERIC_LIMIT = 100  # variables one submission of the generic form may set
_schema_cache: dict[str, Schema] = {}
_schema_by_id: dict[int, tuple[dict, Schema]] = {}


# -- checking a form ---------------------------------------------------------------------------

def check_form(form: Any) -> list[dict]:
    """The problems of a form ({"file": "", "line", "element_id": field path, "message"}); [] when fine."""
    if not isinstance(form, dict) or not isinstance(form.get("fields"), list):
        return [_problem(None, "A form is an object with a list 'fields' (see forms/README.md).")]
    return _check_fields(form["fields"], "")


def _check_fields(items: list, prefix: str) -> list[dict]:
    problems, seen = [], set()
    for item in items:
        name = item.get("name") if isinstance(item, dict) else None
        if not name or not isinstance(name, str) or not name.isidentifier():
            problems.append(_problem(prefix + str(name), "Every field needs a 'name' that is a valid identifier."))
            continue
        if name in seen:
            problems.append(_problem(prefix + name, f"Field '{name}' appears twice; remove one."))
        seen.add(name)
        problems += [_problem(prefix + name, text) for text in _field_problems(item)]
        problems += [_problem(prefix + name, text) for text in _condition_problems(item, items)]
        if item.get("type") in ("list", "object") and isinstance(item.get("fields"), list):
            problems += _check_fields(item["fields"], prefix + name + ".")
    return problems


def _field_problems(item: dict) -> list[str]:
    """What is wrong with one field's own keys (its sub-fields aside)."""
    kind, found = item.get("type"), []
    if kind not in TYPES:
        found.append(f"Unknown type '{kind}'; use one of {', '.join(sorted(TYPES))}.")
    if kind == "note" and not isinstance(item.get("text"), (dict, str)):
        found.append("A note needs a 'text' ({\"zh\": ..., \"en\": ...}) to show.")
    if kind == "list" and "fields" not in item and item.get("item_type", "str") not in SCALARS:
        found.append("A list needs 'fields' (objects) or a scalar 'item_type'.")
    if "fields" in item and not isinstance(item["fields"], list):
        found.append("'fields' must be a list of fields.")
    if "pattern" in item:
        try:
            re.compile(str(item["pattern"]))
        except re.error as exc:
            found.append(f"Pattern '{item['pattern']}' is not a valid regular expression ({exc}); correct it.")
    if item.get("widget") is not None and item["widget"] not in WIDGETS:
        found.append(f"Unknown widget '{item['widget']}'; use one of {', '.join(sorted(WIDGETS))}.")
    if kind == "file":
        found += file_fields.problems(item)
    if "add_remove" in item and not isinstance(item["add_remove"], bool):
        found.append("'add_remove' is true or false.")
    if "choices" in item and not isinstance(item["choices"], list):
        found.append("'choices' is a list of {\"value\", \"label\"}.")
    return found


CONDITION_TESTS = ("equals", "not_equals", "in")


def conditions_of(item: dict) -> list[dict]:
    """A field's ``required_if`` as a list of conditions (one object or a list: all must hold)."""
    found = item.get("required_if")
    if found is None:
        return []
    return found if isinstance(found, list) else [found]


def _condition_problems(item: dict, siblings: list) -> list[str]:
    """What is wrong with a field's ``required_if``: each condition names another submitted field of the
    same form (or row) and has one test, ``equals``, ``not_equals`` or ``in`` (a list)."""
    if "required_if" not in item:
        return []
    conditions = conditions_of(item)
    if not conditions or not all(isinstance(c, dict) for c in conditions):
        return ["'required_if' is {\"field\": <name>, \"equals\": <value>} (or \"not_equals\", \"in\": [...]), "
                "or a list of them that must all hold."]
    if item.get("required") or item.get("readonly") or item.get("type") == "note":
        return ["'required_if' is for a field that is neither required, read-only nor a note; remove one."]
    inputs = {s.get("name"): s for s in siblings if isinstance(s, dict) and not s.get("readonly")
              and s.get("type") != "note" and s.get("name") != item.get("name")}
    return [text for condition in conditions for text in _condition_problem(condition, inputs)]


def _condition_problem(condition: dict, inputs: dict) -> list[str]:
    other, tests = condition.get("field"), [t for t in CONDITION_TESTS if t in condition]
    if other not in inputs:
        return [f"'required_if' names field '{other}', which is not another input of the same form or row; "
                f"use one of: {', '.join(sorted(map(str, inputs))) or 'none'}."]
    if len(tests) != 1 or set(condition) - {"field", *CONDITION_TESTS}:
        return ["A 'required_if' condition has 'field' and exactly one of 'equals', 'not_equals', 'in'."]
    values = condition[tests[0]] if tests[0] == "in" else [condition[tests[0]]]
    if not isinstance(values, list) or not values:
        return ["'in' of 'required_if' is a non-empty list of values."]
    spec = inputs[other]
    allowed = [c.get("value") if isinstance(c, dict) else c for c in spec.get("choices") or []]
    wrong = [v for v in values if (spec.get("type") == "bool" and not isinstance(v, bool))
             or (allowed and spec.get("type") != "list" and v not in allowed)]
    if wrong:
        return [f"'required_if' compares '{other}' with {json.dumps(wrong[0], ensure_ascii=False)}, which it can "
                "never hold; use " + ("true or false." if spec.get("type") == "bool" else "one of its choices.")]
    return []


def _problem(element: Optional[str], message: str) -> dict:
    return {"file": "", "line": None, "element_id": element, "message": message}


# -- the schema of a form ----------------------------------------------------------------------

def schema_for(form: dict) -> Schema:
    """The form's schema: by identity for the long-lived forms of a cached version, else by content."""
    known = _schema_by_id.get(id(form))
    if known is not None and known[0] is form:
        return known[1]
    key = json.dumps(form, sort_keys=True, ensure_ascii=False)
    schema = _schema_cache.get(key)
    if schema is None:
        schema = _schema_class(form["fields"])(unknown=RAISE)
        _schema_cache[key] = schema
    if len(_schema_by_id) < 10_000:
        _schema_by_id[id(form)] = (form, schema)  # the form is kept alive, so its id is not reused
    return schema


def _schema_class(items: list[dict]) -> type[Schema]:
    """Shown-only fields (``readonly``) and notes are never submitted, so the schema leaves them out."""
    attrs = {item["name"]: _field(item) for item in items
             if not item.get("readonly") and item.get("type") != "note"}
    conditional = {item["name"]: conditions_of(item) for item in items
                   if item.get("required_if") and item["name"] in attrs}
    if not conditional:
        return Schema.from_dict(attrs)
    return type("RequiredIfForm", (RequiredIf,), {"conditional": conditional}).from_dict(attrs)


class RequiredIf(Schema):
    """A form (or row) with ``required_if`` fields: each is required while all its conditions hold."""

    conditional: dict[str, list[dict]] = {}

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _required_if(self, data: dict, original: Any = None, **kwargs) -> None:
        sent = original if isinstance(original, dict) else {}  # a value sent but refused has its own message
        errors = {name: [f"Required when {' and '.join(map(condition_words, conditions))}."]
                  for name, conditions in self.conditional.items()
                  if _blank(data.get(name)) and _blank(sent.get(name)) and all(holds(c, data) for c in conditions)}
        if errors:
            raise MarshmallowError(errors)


def holds(condition: dict, data: dict) -> bool:
    """Whether the typed ``data`` of a form or row meets one condition (a field left out holds nothing)."""
    if condition["field"] not in data:
        return False
    value = _comparable(data[condition["field"]])
    if "equals" in condition:
        return value == _comparable(condition["equals"])
    if "not_equals" in condition:
        return value != _comparable(condition["not_equals"])
    return value in [_comparable(v) for v in condition.get("in") or []]


def condition_words(condition: dict) -> str:
    """A condition in English as the engine's message says it: ``'approved' is false``."""
    said = {k: json.dumps(v, ensure_ascii=False) for k, v in condition.items() if k != "field"}
    if "equals" in said:
        return f"'{condition['field']}' is {said['equals']}"
    if "not_equals" in said:
        return f"'{condition['field']}' is not {said['not_equals']}"
    return f"'{condition['field']}' is one of {said.get('in')}"


def _comparable(value: Any) -> Any:
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return Decimal(str(value))
    return value.isoformat() if hasattr(value, "isoformat") else value


def _blank(value: Any) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def _field(item: dict) -> fields.Field:
    kind = item["type"]
    required = bool(item.get("required"))
    options: dict[str, Any] = {"required": required}
    if not required:  # an optional field left out is still a variable (None): expressions may name it
        options["allow_none"] = True
        options["load_default"] = item.get("default")
    validators = _validators(item, kind, required)
    if validators:
        options["validate"] = validators
    if kind == "file":
        return file_fields.field(item, options)
    if kind in ("str", "text"):
        return fields.String(**options)
    if kind == "int":
        options["validate"] = [INT_BOUNDS, *validators]
        return WholeNumber(**options)
    if kind == "decimal":
        return fields.Decimal(places=item.get("places", 2), allow_nan=False, **options)
    if kind == "bool":
        return fields.Boolean(truthy={True, "true", "True"}, falsy={False, "false", "False"}, **options)
    if kind == "date":
        return fields.Date(**options)
    if kind == "datetime":
        return fields.NaiveDateTime(**options)
    if kind == "object":
        return fields.Nested(_schema_class(item.get("fields", [])), unknown=RAISE, **options)
    if "fields" in item:
        inner: fields.Field = fields.Nested(_schema_class(item["fields"]), unknown=RAISE)
    else:  # a list of scalars; with choices, a multi-choice: each item one of them
        inner = _field({"name": "item", "type": item.get("item_type", "str"), "required": True,
                        "choices": item.get("choices"), "pattern": item.get("pattern"),
                        "pattern_message": item.get("pattern_message")})
    return fields.List(inner, **options)


def _validators(item: dict, kind: str, required: bool) -> list:
    validators: list = []
    if item.get("choices") and kind != "list":
        validators.append(mv.OneOf([c["value"] if isinstance(c, dict) else c for c in item["choices"]]))
    if kind in ("int", "decimal") and ("min" in item or "max" in item):
        validators.append(mv.Range(min=_num(item.get("min")), max=_num(item.get("max"))))
    if kind in ("str", "text"):
        validators.append(mv.Length(min=item.get("min_length", 1 if required else None),
                                    max=item.get("max_length", 10000 if kind == "text" else 500)))
        if item.get("pattern"):
            validators.append(_pattern(str(item["pattern"]), item.get("pattern_message")))
        if item.get("widget") == "time":
            validators.append(_pattern(TIME.pattern, {"en": "Must be a time of day, HH:MM."}))
    if kind == "list":
        validators.append(mv.Length(min=item.get("min_items", 1 if required else None),
                                    max=item.get("max_items", 1000)))
    return validators


def _pattern(pattern: str, message: Optional[dict]):
    """A validator: the whole text matches ``pattern`` (``re.fullmatch``)."""
    compiled = re.compile(pattern)
    text = (message or {}).get("en") if isinstance(message, dict) else message
    error = text or f"Does not match the pattern {pattern}."

    def check(value):
        if value is not None and compiled.fullmatch(value) is None:
            raise MarshmallowError(error)
    return check


class WholeNumber(fields.Integer):
    """A form's integer: an int, an integral float (``2.0``) or digits in text; ``1.5`` is an error."""

    def _validated(self, value):
        if isinstance(value, (float, Decimal)) and not (math.isfinite(value) and value == int(value)):
            raise self.make_error("invalid")
        return super()._validated(value)


def _num(value):
    return None if value is None else Decimal(str(value))


# -- the generic form ----------------------------------------------------------------------------

def generic_values(data: dict) -> dict:
    """The variables a task without a form takes: identifiers not starting with "_", at most
    ``GENERIC_LIMIT`` of them, JSON values (whether the engine can store them is checked after)."""
    errors = {}
    for name in data:
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
            errors[str(name)] = ["Not a variable name: use letters, digits and _ (not first), e.g. approved."]
    if len(data) > GENERIC_LIMIT:
        errors["_schema"] = [f"At most {GENERIC_LIMIT} variables at once; send fewer."]
    if errors:
        raise FormValidationError("This step has no form: send variables as {\"name\": value} with names that "
                                  f"are identifiers not starting with _, at most {GENERIC_LIMIT}.", errors)
    return dict(data)
