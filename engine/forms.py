"""Forms: JSON field lists (see forms/README.md) read from files and uploads, and data checked by them.

``load_forms`` reads and checks form files: Liucheng JSON forms (``*.json``) and Camunda Forms (form-js
``*.form``, or an upload that has ``components``), the latter converted by ``engine.form_js``;
``validate`` checks submitted data against a form (its schema: ``engine.form_schema``) and returns it typed
(``Decimal``, ``date``...) or raises ``FormValidationError`` with messages per field; a step without a form
takes variables by name (``form_schema.generic_values``); ``to_json`` turns process data back into
JSON-safe values for the API. An ``int`` field takes whole numbers within 64 bits (``3`` or ``"3"``;
``1.5`` is refused, never cut to 1).
"""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Optional

from marshmallow.exceptions import ValidationError as MarshmallowError

from engine import form_js, values as storable
from engine.errors import DefinitionError, FormValidationError
from engine.form_schema import TYPES, check_form, generic_values, schema_for

__all__ = ["TYPES", "check_form", "describe", "load_forms", "read_forms", "refuse_unstorable", "to_json",
           "validate"]
GENERATED = "generated:"  # the prefix of the keys of forms made at deploy; no form file may use it
DICTIONARY = "variables:"  # a process's data dictionary is kept with the forms as "variables:<process id>"
FORM_SUFFIXES = (".json", ".form")


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
        if is_dictionary(form):
            form, found = as_dictionary(form)
        elif form_js.is_form_js(name, form):
            form, found = form_js.convert(form, Path(name).name)
        else:
            found = []
            if isinstance(form, dict):
                form.setdefault("id", Path(name).stem)
        found = [dict(p, file=name) for p in found + check_form(form) + _check_id(form)]
        problems += found
        if not found:
            forms[form["id"]] = form
    if problems:
        raise DefinitionError("Cannot deploy: " + "; ".join(f"{p['file']}: {p['message']}" for p in problems[:5]),
                              {"problems": problems})
    return forms


def is_dictionary(document: Any) -> bool:
    """Whether a JSON file is a process's data dictionary: ``{"process_id", "variables": [fields]}``."""
    return isinstance(document, dict) and "process_id" in document and "variables" in document \
        and "fields" not in document


def as_dictionary(document: dict) -> tuple[dict, list[dict]]:
    """A data dictionary as a form keyed ``variables:<process id>`` (its variables are its fields, checked
    like a form's, shown after the forms': ``engine.variable_catalog``), and what is wrong with its frame."""
    process_id, fields = document.get("process_id"), document.get("variables")
    if not isinstance(process_id, str) or not process_id.strip() or not isinstance(fields, list):
        return {"id": dictionary_key("?"), "fields": []}, [{
            "file": "", "line": None, "element_id": None,
            "message": "A data dictionary needs 'process_id' (the id of the process it describes) and "
                       "'variables' (a list of fields as in a form); see forms/README.md."}]
    return {"id": dictionary_key(process_id.strip()), "process_id": process_id.strip(),
            "title": document.get("title", {}), "fields": fields}, []


def dictionary_key(process_id: str) -> str:
    return DICTIONARY + process_id


def _check_id(form: Any) -> list[dict]:
    """A form's id: text of at most 128 characters (the width of a form key), not ``generated:``."""
    if not isinstance(form, dict):
        return []  # check_form says what a form is
    form_id = form.get("id")
    if not isinstance(form_id, str) or not form_id.strip():
        return [{"file": "", "line": None, "element_id": None, "message": "The form needs an 'id' (text)."}]
    if form_id.startswith(GENERATED) or len(form_id) > 128:
        return [{"file": "", "line": None, "element_id": None, "message": f"Form id '{form_id[:40]}' is "
                 f"reserved or too long: give an id of at most 128 characters not starting with '{GENERATED}'."}]
    return []


def form_paths(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*") if p.name.lower().endswith(FORM_SUFFIXES))


# -- validation -----------------------------------------------------------------------

def validate(form: Optional[dict], data: Any, partial_context: Optional[dict] = None) -> dict:
    """Typed, validated values of ``data`` for ``form``; unknown fields are refused."""
    if not isinstance(data, dict):
        raise FormValidationError("The data must be a JSON object of field values.", {"_schema": ["Not an object."]})
    if form is None:
        return generic_values(data)
    schema = schema_for(form)
    try:
        return schema.load(data)
    except MarshmallowError as exc:
        messages = exc.normalized_messages()
        raise FormValidationError(
            f"The data does not fit form '{form.get('id')}': correct the fields listed in details.", messages)


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
