"""Forms of forms/README.md as HTML inputs, and the submitted inputs back as form data.

The page renders ``fields(form, values)`` with the macro in
``templates/tasks/_form.html``; ``parse(form, request.form)`` builds the data
the engine validates (empty inputs are left out, so a required field reports
"required"); ``field_errors`` flattens the engine's ``FormValidationError``
details onto the input names. Input names: ``amount``, ``address.city``
(object), ``lines-0-sku`` (list of objects); a list of scalars is a textarea,
one value per line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from webui.pages.display import as_text, localized

INPUT_TYPES = {"str": "text", "int": "number", "decimal": "number", "date": "date", "datetime": "datetime-local"}
BLANK_ROWS = 2
MAX_ROWS = 1000  # rows a list of objects draws at most after a post (its max_items if smaller)


@dataclass
class Field:
    """One input as the template draws it."""

    name: str           # the input name
    spec: dict          # the field of the form definition
    value: Any = ""     # what the input shows (text), or rows of Fields for a list of objects
    errors: list = field(default_factory=list)
    children: list = field(default_factory=list)

    @property
    def type(self) -> str:
        return self.spec.get("type", "str")

    @property
    def label(self) -> str:
        return localized(self.spec.get("label"), self.spec.get("name", ""))

    @property
    def help(self) -> str:
        return localized(self.spec.get("help"))

    @property
    def required(self) -> bool:
        return bool(self.spec.get("required")) and not self.spec.get("readonly")

    @property
    def readonly(self) -> bool:
        return bool(self.spec.get("readonly"))

    @property
    def input_type(self) -> str:
        return INPUT_TYPES.get(self.type, "text")

    @property
    def choices(self) -> list[tuple[str, str]]:
        result = []
        for choice in self.spec.get("choices") or []:
            if isinstance(choice, dict):
                result.append((str(choice.get("value")), localized(choice.get("label"), str(choice.get("value")))))
            else:
                result.append((str(choice), str(choice)))
        return result

    @property
    def step(self) -> Optional[str]:
        if self.type == "decimal":
            return "0." + "0" * (int(self.spec.get("places", 2)) - 1) + "1" if self.spec.get("places", 2) else "1"
        return "1" if self.type == "int" else None

    @property
    def limits(self) -> str:
        """The limits in words, shown under the input."""
        spec, parts = self.spec, []
        if "min" in spec and "max" in spec:
            parts.append(_("from %(min)s to %(max)s", min=spec["min"], max=spec["max"]))
        elif "min" in spec:
            parts.append(_("at least %(min)s", min=spec["min"]))
        elif "max" in spec:
            parts.append(_("at most %(max)s", max=spec["max"]))
        if spec.get("max_length") and self.type in ("str", "text"):
            parts.append(_("up to %(n)s characters", n=spec["max_length"]))
        if self.type == "list" and (spec.get("min_items") or spec.get("max_items")):
            parts.append(_("%(min)s to %(max)s items", min=spec.get("min_items", 0), max=spec.get("max_items", "∞")))
        return ", ".join(parts)


def display(value: Any) -> str:
    return as_text(value)


def _text(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "bool":
        return "true" if value is True else "false" if value is False else str(value)
    if kind == "datetime" and isinstance(value, str):
        return value[:16]
    if kind == "list" and isinstance(value, list):
        return "\n".join(as_text(v) for v in value)
    return as_text(value)


def fields(form: Optional[dict], data: dict, submitted: Optional[MultiDict] = None,
           errors: Optional[dict] = None) -> list[Field]:
    """The inputs of ``form`` showing ``submitted`` values if given, else process ``data`` or defaults."""
    if not form:
        return []
    return [_field(spec, spec["name"], data, submitted, errors or {}) for spec in form.get("fields", [])]


def _field(spec: dict, name: str, data: dict, submitted, errors: dict) -> Field:
    kind = spec.get("type", "str")
    stored = data.get(spec["name"], spec.get("default")) if isinstance(data, dict) else None
    item = Field(name, spec, errors=errors.get(name, []))
    if spec.get("readonly"):
        item.value = display(stored)
    elif kind == "object":
        inner = stored if isinstance(stored, dict) else {}
        item.children = [_field(sub, f"{name}.{sub['name']}", inner, submitted, errors)
                         for sub in spec.get("fields", [])]
    elif kind == "list" and spec.get("fields"):
        rows = [row if isinstance(row, dict) else {} for row in (stored if isinstance(stored, list) else [])]
        sent = _submitted_rows(submitted, name)
        count = max(len(rows), min(sent[-1] + 1 if sent else 0, spec.get("max_items", MAX_ROWS))) + BLANK_ROWS
        rows += [{}] * (count - len(rows))
        item.children = [[_field(sub, f"{name}-{i}-{sub['name']}", rows[i], submitted, errors)
                          for sub in spec["fields"]] for i in range(count)]
    else:
        item.value = submitted.get(name, "") if submitted is not None else _text(stored, kind)
    return item


def _submitted_rows(submitted, name: str) -> list[int]:
    """The row numbers of list ``name`` that have inputs (``lines-3-sku``), in order: only those rows
    are read, so ``lines-100000000-sku`` costs one row; a number that is not 1-9 ASCII digits names no row."""
    if submitted is None:
        return []
    pattern = re.compile(re.escape(name) + r"-([0-9]{1,9})-")
    return sorted({int(m.group(1)) for key in submitted for m in [pattern.match(key)] if m})


# -- reading the submitted inputs -------------------------------------------------------------------

def parse(form: Optional[dict], submitted: MultiDict) -> dict:
    """The form data of the submitted inputs; blank inputs are left out."""
    if not form:
        return {}
    result = {}
    for spec in form.get("fields", []):
        if spec.get("readonly"):
            continue
        value = _parse(spec, spec["name"], submitted)
        if value is not None:
            result[spec["name"]] = value
    return result


def _parse(spec: dict, name: str, submitted: MultiDict) -> Any:
    kind = spec.get("type", "str")
    if kind == "object":
        inner = {s["name"]: _parse(s, f"{name}.{s['name']}", submitted) for s in spec.get("fields", [])}
        inner = {k: v for k, v in inner.items() if v is not None}
        return inner or None
    if kind == "list" and spec.get("fields"):
        rows = []
        for i in _submitted_rows(submitted, name):
            row = {s["name"]: _parse(s, f"{name}-{i}-{s['name']}", submitted) for s in spec["fields"]}
            row = {k: v for k, v in row.items() if v is not None}
            if row:
                rows.append(row)
        return rows or None
    raw = submitted.get(name)
    if raw is None:
        return None
    if kind == "list":
        items = [line.strip() for line in raw.splitlines() if line.strip()]
        return items or None
    if kind == "text":
        return raw if raw.strip() else None
    raw = raw.strip()
    if not raw:
        return None
    if kind == "bool":
        return {"true": True, "false": False}.get(raw, raw)
    return raw


# -- errors -------------------------------------------------------------------------------------------

def field_errors(details: Any, form: Optional[dict]) -> dict[str, list[str]]:
    """``{input name: [translated messages]}`` from ``FormValidationError.details``."""
    flat: dict[str, list[str]] = {}

    def walk(value: Any, path: str, spec: dict) -> None:
        if isinstance(value, (list, tuple)) or not isinstance(value, dict):
            messages = value if isinstance(value, (list, tuple)) else [value]
            flat.setdefault(path or "_form", []).extend(translate(str(m)) for m in messages)
            return
        kind = spec.get("type")
        for key, inner in value.items():
            if kind == "list":  # key is an item's index
                row = {"type": "row", "fields": spec["fields"]} if spec.get("fields") else {}
                walk(inner, f"{path}-{key}" if row else path, row)
                continue
            child = next((f for f in spec.get("fields", []) if f.get("name") == key), {})
            name = {"object": f"{path}.{key}", "row": f"{path}-{key}"}.get(kind or "", str(key))
            walk(inner, name if path else str(key), child)

    walk(details, "", {"fields": (form or {}).get("fields", [])})
    return flat


MESSAGES = [
    (r"Missing data for required field\.", lambda m: _("This field is required.")),
    (r"Field may not be null\.", lambda m: _("This field is required.")),
    (r"Not a valid number\.", lambda m: _("Enter a number.")),
    (r"Not a valid integer\.", lambda m: _("Enter a whole number.")),
    (r"Not a valid boolean\.", lambda m: _("Choose yes or no.")),
    (r"Not a valid date\.", lambda m: _("Enter a date (YYYY-MM-DD).")),
    (r"Not a valid datetime\.", lambda m: _("Enter a date and time.")),
    (r"Not a valid (string|list)\.", lambda m: _("This value has the wrong type.")),
    (r"Must be one of: .*", lambda m: _("Choose one of the listed values.")),
    (r"Must be greater than or equal to (\S+) and less than or equal to (\S+?)\.?$",
     lambda m: _("Must be between %(min)s and %(max)s.", min=m.group(1), max=m.group(2))),
    (r"Must be greater than or equal to (\S+?)\.?$", lambda m: _("Must be at least %(min)s.", min=m.group(1))),
    (r"Must be less than or equal to (\S+?)\.?$", lambda m: _("Must be at most %(max)s.", max=m.group(1))),
    (r"Shorter than minimum length (\d+)\.", lambda m: _("Enter at least %(n)s characters.", n=m.group(1))),
    (r"Longer than maximum length (\d+)\.", lambda m: _("Enter at most %(n)s characters.", n=m.group(1))),
    (r"Length must be between (\d+) and (\d+)\.",
     lambda m: _("Enter between %(min)s and %(max)s characters or items.", min=m.group(1), max=m.group(2))),
    (r"Unknown field\.", lambda m: _("This field is not part of the form.")),
    (r"Special numeric values \(nan or infinity\) are not permitted\.", lambda m: _("Enter a number.")),
]
_COMPILED = [(re.compile(pattern), make) for pattern, make in MESSAGES]


def translate(message: str) -> str:
    """A marshmallow message in the page's language (unknown messages as they are)."""
    for pattern, make in _COMPILED:
        match = pattern.fullmatch(message.strip())
        if match:
            return make(match)
    return message
