"""The engine's validation messages in the page's language, on the inputs they are about.

The engine (``engine.forms``) answers a form that does not fit with marshmallow's English messages per
field, nested like the data (``{"lines": {2: {"qty": ["Not a valid integer."]}}}``). ``field_errors``
flattens them onto the input names the page draws (``lines-2-qty``) and ``translate`` says each in the
user's language: a field's own ``pattern_message`` for a pattern it does not match, "items" rather than
"characters" for the length of a list, a ``required_if`` with the other field's label and value. A message
not known here is shown as the engine wrote it.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Optional

from flask_babel import gettext as _

from webui.pages import form_conditions
from webui.pages.display import localized


def field_errors(details: Any, form: Optional[dict]) -> dict[str, list[str]]:
    """``{input name: [translated messages]}`` from ``FormValidationError.details``."""
    flat: dict[str, list[str]] = {}

    def walk(value: Any, path: str, spec: dict) -> None:
        if isinstance(value, (list, tuple)) or not isinstance(value, dict):
            messages = value if isinstance(value, (list, tuple)) else [value]
            flat.setdefault(path or "_form", []).extend(translate(str(m), spec) for m in messages)
            return
        kind = spec.get("type")
        for key, inner in value.items():
            if kind == "list":  # key is an item's index
                row = {"type": "row", "fields": spec["fields"]} if spec.get("fields") else {**spec, "type": "item"}
                walk(inner, f"{path}-{key}" if spec.get("fields") else path, row)
                continue
            child = next((f for f in spec.get("fields", []) if f.get("name") == key), {})
            if child.get("required_if"):
                child = {**child, "required_when": form_conditions.words(child, spec.get("fields", []))}
            name = {"object": f"{path}.{key}", "row": f"{path}-{key}"}.get(kind or "", str(key))
            walk(inner, name if path else str(key), child)

    walk(details, "", {"fields": (form or {}).get("fields", [])})
    return flat


def _pattern(m, spec: dict) -> str:
    return localized(spec.get("pattern_message")) or _("Enter a value in the expected format.")


def _too_short(m, spec: dict) -> str:
    if spec.get("type") == "list":
        return _("Give at least %(n)s items.", n=m.group(1))
    return _("Enter at least %(n)s characters.", n=m.group(1))


def _too_long(m, spec: dict) -> str:
    if spec.get("type") == "list":
        return _("Give at most %(n)s items.", n=m.group(1))
    return _("Enter at most %(n)s characters.", n=m.group(1))


def _length(m, spec: dict) -> str:
    if spec.get("type") == "list":
        return _("Give between %(min)s and %(max)s items.", min=m.group(1), max=m.group(2))
    return _("Enter between %(min)s and %(max)s characters or items.", min=m.group(1), max=m.group(2))


def _one_of(m, spec: dict) -> str:
    if spec.get("type") in ("list", "item") and spec.get("choices"):
        return _("Choose only from the listed values.")
    return _("Choose one of the listed values.")


MESSAGES: list[tuple[str, Callable[[re.Match, dict], str]]] = [
    (r"Missing data for required field\.", lambda m, s: _("This field is required.")),
    (r"Field may not be null\.", lambda m, s: _("This field is required.")),
    (r"Not a valid number\.", lambda m, s: _("Enter a number.")),
    (r"Not a valid integer\.", lambda m, s: _("Enter a whole number.")),
    (r"Not a valid boolean\.", lambda m, s: _("Choose yes or no.")),
    (r"Not a valid date\.", lambda m, s: _("Enter a date (YYYY-MM-DD).")),
    (r"Not a valid datetime\.", lambda m, s: _("Enter a date and time.")),
    (r"Not a valid time\.|Must be a time of day, HH:MM\.", lambda m, s: _("Enter a time (HH:MM).")),
    (r"Not a valid (string|list|mapping type)\.", lambda m, s: _("This value has the wrong type.")),
    (r"Must be one of: .*", _one_of),
    (r"Must be greater than or equal to (\S+) and less than or equal to (\S+?)\.?$",
     lambda m, s: _("Must be between %(min)s and %(max)s.", min=m.group(1), max=m.group(2))),
    (r"Must be greater than or equal to (\S+?)\.?$", lambda m, s: _("Must be at least %(min)s.", min=m.group(1))),
    (r"Must be less than or equal to (\S+?)\.?$", lambda m, s: _("Must be at most %(max)s.", max=m.group(1))),
    (r"Shorter than minimum length (\d+)\.", _too_short),
    (r"Longer than maximum length (\d+)\.", _too_long),
    (r"Length must be between (\d+) and (\d+)\.", _length),
    (r"String does not match expected pattern\.", _pattern),
    (r"Does not match the pattern.*", _pattern),
    (r"Required when .*", lambda m, s: _("Required when %(condition)s.", condition=s["required_when"])
     if s.get("required_when") else _("This field is required.")),
    (r"Unknown field\.", lambda m, s: _("This field is not part of the form.")),
    (r"Special numeric values \(nan or infinity\) are not permitted\.", lambda m, s: _("Enter a number.")),
]
_COMPILED = [(re.compile(pattern, re.S), make) for pattern, make in MESSAGES]


def translate(message: str, spec: Optional[dict] = None) -> str:
    """A marshmallow message in the page's language (unknown messages as they are); ``spec`` is the
    field the message is about, when known."""
    own = (spec or {}).get("pattern_message")
    texts = set(own.values()) if isinstance(own, dict) else {own}
    if own and message.strip() in texts:
        return localized(own)  # the engine says a field's own pattern message in English
    for pattern, make in _COMPILED:
        match = pattern.fullmatch(message.strip())
        if match:
            return make(match, spec or {})
    return message
