"""Forms: JSON field lists (see forms/README.md) turned into marshmallow schemas.

``load_forms`` reads and checks form files; ``validate`` checks submitted data
against a form and returns it typed (``Decimal``, ``date``...) or raises
``FormValidationError`` with messages per field; ``to_json`` turns process data
back into JSON-safe values for the API. An ``int`` field takes whole numbers
within 64 bits (``3`` or ``"3"``; ``1.5`` is refused, never cut to 1).
"""
from __future__ import annotations

import json
import math
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Optional

from marshmallow import RAISE, Schema, fields, validate as mv
from marshmallow.exceptions import ValidationError as MarshmallowError

from engine import values as storable
from engine.errors import DefinitionError, FormValidationError

TYPES = {"str", "text", "int", "decimal", "bool", "date", "datetime", "list", "object"}
INT_BOUNDS = mv.Range(min=-(2 ** 63), max=2 ** 63 - 1, error="Must be within 64 bits (-2^63 .. 2^63-1).")
_schema_cache: dict[str, Schema] = {}
_schema_by_id: dict[int, tuple[dict, Schema]] = {}


# -- reading form files -----------------------------------------------------------

def load_forms(paths: list[Path]) -> dict[str, dict]:
    """Read form files; raise ``DefinitionError`` naming each bad file and field."""
    files, problems = {}, []
    for path in paths:
        try:
            files[str(path)] = path.read_bytes()
        except OSError as exc:
            problems.append({"file": str(path), "line": None, "element_id": None,
                             "message": f"Cannot read the form: {exc}."})
    return read_forms(files, problems)


def read_forms(files: dict[str, bytes], problems: Optional[list[dict]] = None) -> dict[str, dict]:
    """Forms from their file contents (disk or upload), each checked; all problems raised at once."""
    forms, problems = {}, list(problems or [])
    for name, content in files.items():
        try:
            form = json.loads(content.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append({"file": name, "line": getattr(exc, "lineno", None), "element_id": None,
                             "message": f"Cannot read the form: {exc}. Fix the JSON syntax."})
            continue
        if isinstance(form, dict):
            form.setdefault("id", Path(name).stem)
        found = [dict(p, file=name) for p in check_form(form)]
        problems += found
        if not found:
            forms[form["id"]] = form
    if problems:
        raise DefinitionError("Cannot deploy: " + "; ".join(f"{p['file']}: {p['message']}" for p in problems[:5]),
                              {"problems": problems})
    return forms


def check_form(form: Any) -> list[dict]:
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
        kind = item.get("type")
        if kind not in TYPES:
            problems.append(_problem(prefix + name, f"Unknown type '{kind}'; use one of {', '.join(sorted(TYPES))}."))
        if kind in ("list", "object") and "fields" in item:
            problems += _check_fields(item["fields"], prefix + name + ".")
        if kind == "list" and "fields" not in item and item.get("item_type", "str") not in TYPES - {"list", "object"}:
            problems.append(_problem(prefix + name, "A list needs 'fields' (objects) or a scalar 'item_type'."))
    return problems


def _problem(element: Optional[str], message: str) -> dict:
    return {"file": "", "line": None, "element_id": element, "message": message}


def form_paths(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.json"))


# -- validation -----------------------------------------------------------------------

def validate(form: Optional[dict], data: Any, partial_context: Optional[dict] = None) -> dict:
    """Typed, validated values of ``data`` for ``form``; unknown fields are refused."""
    if not isinstance(data, dict):
        raise FormValidationError("The data must be a JSON object of field values.", {"_schema": ["Not an object."]})
    if form is None:
        if data:
            raise FormValidationError("This step has no form and takes no data: send an empty object.",
                                      {name: ["Unknown field."] for name in data})
        return {}
    schema = schema_for(form)
    try:
        return schema.load(data)
    except MarshmallowError as exc:
        messages = exc.normalized_messages()
        raise FormValidationError(
            f"The data does not fit form '{form.get('id')}': correct the fields listed in details.", messages)


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
    attrs = {item["name"]: _field(item) for item in items if not item.get("readonly")}
    return Schema.from_dict(attrs)


def _field(item: dict) -> fields.Field:
    kind = item["type"]
    required = bool(item.get("required"))
    options: dict[str, Any] = {"required": required}
    if not required:  # an optional field left out is still a variable (None): expressions may name it
        options["allow_none"] = True
        options["load_default"] = item.get("default")
    validators = []
    if item.get("choices") and kind != "list":
        validators.append(mv.OneOf([c["value"] if isinstance(c, dict) else c for c in item["choices"]]))
    if kind in ("int", "decimal") and ("min" in item or "max" in item):
        validators.append(mv.Range(min=_num(item.get("min")), max=_num(item.get("max"))))
    if kind in ("str", "text"):
        validators.append(mv.Length(min=item.get("min_length", 1 if required else None),
                                    max=item.get("max_length", 10000 if kind == "text" else 500)))
    if kind == "list":
        validators.append(mv.Length(min=item.get("min_items", 1 if required else None), max=item.get("max_items", 1000)))
    if validators:
        options["validate"] = validators
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
    else:
        inner = _field({"name": "item", "type": item.get("item_type", "str"), "required": True,
                        "choices": item.get("choices")})
    return fields.List(inner, **options)


class WholeNumber(fields.Integer):
    """A form's integer: an int, an integral float (``2.0``) or digits in text; ``1.5`` is an error."""

    def _validated(self, value):
        if isinstance(value, (float, Decimal)) and not (math.isfinite(value) and value == int(value)):
            raise self.make_error("invalid")
        return super()._validated(value)


def _num(value):
    return None if value is None else Decimal(str(value))


# -- JSON output ------------------------------------------------------------------------

_PLAIN = frozenset({str, int, float, bool, type(None)})


def to_json(value: Any) -> Any:
    """Process data as JSON-safe values: money as numbers, dates as ISO strings."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items() if not callable(v)}
    if isinstance(value, (list, tuple, set)):
        return [to_json(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 else float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def describe(form: Optional[dict]) -> Optional[dict]:
    """The form as the API shows it (id, title, fields)."""
    if form is None:
        return None
    return {"id": form.get("id"), "title": form.get("title", {}), "fields": form.get("fields", [])}


def refuse_unstorable(values: dict, part: Optional[str] = None) -> dict:
    """``values`` when the engine can store them all (``engine.values``), else a FormValidationError
    naming the field (under ``part`` of the request, e.g. a message's "data", when given)."""
    problem = storable.find_problem(values)
    if problem is not None:
        field = f"{(part or 'field').capitalize()} '{problem.variable}'"
        errors = {problem.variable: [f"{problem.path} {problem.what}; {problem.fix}."]}
        raise FormValidationError(f"{field} cannot be stored: {problem.describe()}.",
                                  {part: errors} if part else errors)
    return values
