"""Which form a user task or start event shows, decided at deploy, and the forms made from the model itself.

``link(node, forms)`` gives the element's ``Linked`` form: the key of a deployed form (``formKey``,
``camunda:formRef``, ``camunda-forms:deployment:``/``app:NAME.form``, Camunda 8 ``zeebe:formDefinition``
``formId``), or a form made here (``camunda:formData``/``flowable:``/``activiti:formProperty`` fields, a
``zeebe:userTaskForm`` embedded in the BPMN) under a key starting with ``generated:`` that no form file may
use, or none (the generic form), with the findings: ``embedded:`` HTML forms are refused; a key that names
no deployed form, and what is ignored, are ``Note``s. The rules in order are in forms/README.md.
"""
from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

from engine import form_js, forms as form_files
from engine.bpmn import extensions

ZEEBE = "{http://camunda.org/schema/zeebe/1.0}"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
TYPES = {"string": "str", "long": "int", "integer": "int", "boolean": "bool", "date": "date", "enum": "str",
         "double": "decimal"}
NUMBER_CONSTRAINTS = {"min": "min", "max": "max"}
TEXT_CONSTRAINTS = {"minlength": "min_length", "maxlength": "max_length"}


@dataclass
class Finding:
    """What ``link`` found: a refusal (``refuses``) or a note; ``engine.bpmn.checks`` makes it a Problem or Note."""

    file: str
    line: Optional[int]
    element_id: Optional[str]
    message: str
    refuses: bool = False


def _refusal(file, line, element_id, message) -> Finding:
    return Finding(file, line, element_id, message, True)


def _note(file, line, element_id, message) -> Finding:
    return Finding(file, line, element_id, message, False)


@dataclass
class Linked:
    key: Optional[str] = None  # the form key the element uses; None: the generic form
    form: Optional[dict] = None  # a form made from the model, stored with the version under ``key``
    findings: list[Finding] = field(default_factory=list)


def link(node, forms: dict[str, dict], file_name: str = "") -> Linked:
    """The form of a user task or start event (see the module docstring for the order of the rules)."""
    where = (file_name, node.sourceline, node.get("id"))
    form_key = (extensions.attribute(node, "formKey") or "").strip()
    form_ref = (extensions.attribute(node, "formRef") or "").strip()
    zeebe = node.find(f"{BPMN}extensionElements/{ZEEBE}formDefinition")
    fields = extensions.form_fields(node)
    if form_key.lower().startswith("embedded:"):
        return Linked(findings=[_embedded(where, node, form_key)])
    if form_ref:
        return _by_reference(where, node, forms, form_ref, fields)
    if zeebe is not None:
        return _zeebe(where, node, forms, zeebe, fields)
    if form_key:
        return _by_key(where, node, forms, form_key, fields)
    return _generated(where, node, fields, []) if fields else Linked()


def _by_key(where, node, forms, form_key, fields) -> Linked:
    written = extensions.qualified(node, "formKey")
    match = re.fullmatch(r"camunda-forms:(deployment|app|bpmn):(.+)", form_key)
    if match and match.group(1) == "bpmn":
        return _embedded_form(where, node, match.group(2), f'{written}="{form_key}"')
    key = _form_file(forms, match.group(2)) if match else (form_key if form_key in forms else None)
    if key is not None:
        notes = [_note(*where, f'{written}="{form_key}": an app: form is taken from the forms deployed with '
                      "Liucheng (deploy the .form file with the BPMN).")] if match and match.group(1) == "app" else []
        if fields:
            notes.append(_note(*where, f"Form '{key}' ({written}) is used; the element's generated form fields "
                              "are ignored."))
        return _with_form_notes(where, forms, key, notes)
    missing = _note(*where, f"Form '{form_key}' ({written}) is not deployed: " + (
        "the generated form of the element's form fields is used instead." if fields else
        "the step shows the generic form (complete it, optionally with variables). Deploy the form "
        f"(forms/{form_key}.json, or a Camunda Form .form file) to show it."))
    return _generated(where, node, fields, [missing]) if fields else Linked(findings=[missing])


def _by_reference(where, node, forms, form_ref, fields) -> Linked:
    """``camunda:formRef``: a Camunda Form by its id; binding latest, deployment and version all take the
    form as deployed now, frozen into this version (a version number is not kept: a note says so)."""
    binding = (extensions.attribute(node, "formRefBinding") or "latest").strip()
    notes = []
    if binding == "version":
        notes.append(_note(*where, f"Form '{form_ref}': formRefVersion "
                          f"{extensions.attribute(node, 'formRefVersion') or ''} is not kept; the form deployed "
                          "now is used (Liucheng keeps no form versions)."))
    if form_ref in forms:
        return _with_form_notes(where, forms, form_ref, notes)
    missing = _note(*where, f"Form '{form_ref}' (camunda:formRef) is not deployed: deploy its .form file with the "
                   "BPMN; meanwhile the step shows the " + ("generated form of its form fields."
                                                           if fields else "generic form."))
    return _generated(where, node, fields, notes + [missing]) if fields else Linked(findings=notes + [missing])


def _zeebe(where, node, forms, zeebe, fields) -> Linked:
    """Camunda 8: ``formKey="camunda-forms:bpmn:ID"`` (a form embedded in the BPMN) or ``formId`` (a
    deployed Camunda Form); an external ``formKey`` is a key like any other."""
    form_key, form_id = (zeebe.get("formKey") or "").strip(), (zeebe.get("formId") or "").strip()
    if form_key.startswith("camunda-forms:bpmn:"):
        return _embedded_form(where, node, form_key.split(":", 2)[2], f'zeebe:formDefinition formKey="{form_key}"')
    if form_id:
        return _by_reference(where, node, forms, form_id, fields)
    return _by_key(where, node, forms, form_key, fields) if form_key else Linked()


def _embedded_form(where, node, form_id: str, written: str) -> Linked:
    """The ``zeebe:userTaskForm`` of the document with id ``form_id``, converted."""
    root = node.getroottree().getroot()
    found = next((f for f in root.iter(f"{ZEEBE}userTaskForm") if f.get("id") == form_id), None)
    if found is None:
        return Linked(findings=[_refusal(*where, f"{written} names no zeebe:userTaskForm with id '{form_id}' in "
                                        "this file: add the form or correct the key.")])
    at = (where[0], found.sourceline, form_id)
    if not (found.text or "").strip():
        return Linked(findings=[_note(*at, f"{written}: the embedded form is empty; the step shows the generic "
                                     "form (design the form in the form editor to show it).")])
    try:
        schema = json.loads(html.unescape(found.text or ""))
    except json.JSONDecodeError as exc:
        return Linked(findings=[_refusal(*at, f"The embedded form is not JSON ({exc.msg}, line {exc.lineno}): "
                                        "export it again from the form editor.")])
    if not isinstance(schema, dict):
        return Linked(findings=[_refusal(*at, "The embedded form is not a form-js object with 'components'.")])
    form, problems = form_js.convert(schema, f"{form_id}.form")
    problems += form_files.check_form(form)
    key = _key("bpmn", where, node)
    form["id"] = key
    findings = [_refusal(*at, p["message"] + (f" [{p['element_id']}]" if p.get("element_id") else ""))
                for p in problems]
    findings += [_note(*where, text) for text in form.get("notes", [])]
    return Linked(key, form, findings)


def _with_form_notes(where, forms, key, notes) -> Linked:
    return Linked(key, None, notes + [_note(*where, f"Form '{key}': {text}") for text in forms[key].get("notes", [])])


def _form_file(forms: dict[str, dict], name: str) -> Optional[str]:
    """The deployed Camunda Form of file ``name`` (``invoice.form``), or whose id is its stem."""
    stem = re.sub(r"\.form$", "", name)
    for key, form in forms.items():
        if form.get("file") == name:
            return key
    return stem if stem in forms else (name if name in forms else None)


def _embedded(where, node, form_key: str) -> Finding:
    written = extensions.qualified(node, "formKey")
    key = re.sub(r"\.html?$", "", form_key.rsplit("/", 1)[-1].rsplit(":", 1)[-1]) or "<key>"
    return _refusal(*where, f'{written}="{form_key}" is an embedded HTML form, which Liucheng does not show (it '
                   f"would run the form's own HTML and JavaScript): describe its fields as a Liucheng JSON form, "
                   f'forms/{key}.json, and set {written}="{key}"; or as camunda:formData fields; or as a '
                   f'Camunda Form ({key}.form, camunda:formRef="<its id>").')


# -- generated forms ---------------------------------------------------------------------------

def _generated(where, node, fields: list[dict], findings: list[Finding]) -> Linked:
    """The form of the element's ``formData``/``formProperty`` fields."""
    made, notes = [], []
    for written in fields:
        one = _generated_field(written, notes)
        if one is not None and not any(f["name"] == one["name"] for f in made):
            made.append(one)
    title = node.get("name") or node.get("id")
    key = _key("generated", where, node)
    form = {"id": key, "title": {"zh": title, "en": title}, "fields": made}
    problems = [_refusal(*where, f"Generated form field '{p['element_id']}': {p['message']}")
                for p in form_files.check_form(form)]
    return Linked(key, form, findings + problems + [_note(*where, text) for text in notes])


def _generated_field(written: dict, notes: list[str]) -> Optional[dict]:
    """One Liucheng field of a ``formField``/``formProperty`` (None when it is not to be shown)."""
    ident = written.get("id") or ""
    if written.get("readable") is False:
        notes.append(f"Form property '{ident}' is not readable: it is not shown.")
        return None
    name = _variable(written, notes)
    kind = (written.get("type") or "string").strip()
    field = {"name": name, "type": TYPES.get(kind, "str"),
             "label": {"zh": written.get("label") or ident, "en": written.get("label") or ident}}
    if kind not in TYPES:
        notes.append(f"Form field '{ident}' has type '{kind}', which Liucheng does not know: it is taken as text.")
    if kind == "double":
        field["places"] = None
    if written.get("values"):
        field.update(choices=[{"value": v, "label": {"zh": n, "en": n}} for v, n in written["values"]],
                     widget="select")
    if written.get("required"):
        field["required"] = True
    if written.get("readonly"):
        field["readonly"] = True
    _constraints(field, written.get("constraints") or {}, ident, notes)
    default = _default(field["type"], written.get("default"), ident, notes)
    if default is not None:
        field["default"] = default
    return field


def _variable(written: dict, notes: list[str]) -> str:
    """The variable a field is stored in: Flowable's ``variable``, or a ``${name}`` ``expression``, else its id."""
    expression = re.fullmatch(r"\s*[$#]\{\s*([A-Za-z_]\w*)\s*\}\s*", written.get("expression") or "")
    name = written.get("variable") or (expression.group(1) if expression else None) or written.get("id") or ""
    if written.get("expression") and not expression:
        notes.append(f"Form property '{written.get('id')}': expression '{written['expression']}' is ignored; "
                     f"the value is stored as {name}.")
    if not name.isidentifier():
        fixed = re.sub(r"\W", "_", name)
        fixed = fixed if fixed.isidentifier() else f"f_{fixed}"
        notes.append(f"Form field '{name}' is not a variable name: its value is stored as {fixed}.")
        name = fixed
    return name


def _constraints(field: dict, constraints: dict, ident: str, notes: list[str]) -> None:
    numeric = field["type"] in ("int", "decimal")
    for name, config in constraints.items():
        target = (NUMBER_CONSTRAINTS if numeric else TEXT_CONSTRAINTS if field["type"] == "str" else {}).get(name)
        if name in ("required", "readonly"):
            continue
        try:
            if target is None:
                raise ValueError
            field[target] = int(config) if field["type"] != "decimal" else float(config)
        except (TypeError, ValueError):
            notes.append(f"Form field '{ident}': validation constraint {name}"
                         f"{'=' + config if config else ''} is ignored (Liucheng checks required, readonly, "
                         "min and max of numbers, minlength and maxlength of text).")


def _default(kind: str, text: Optional[str], ident: str, notes: list[str]):
    """The default as a value of the field's type; Camunda writes dates as dd/MM/yyyy, taken as ISO dates."""
    if text is None or text == "":
        return None
    if re.search(r"[$#]\{", text):
        notes.append(f"Form field '{ident}': the default '{text}' is an expression and is ignored.")
        return None
    try:
        if kind == "int":
            return int(text)
        if kind == "bool":
            return {"true": True, "false": False}[text.strip().lower()]
        if kind == "date":
            for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
                try:
                    return datetime.strptime(text.strip(), pattern).date().isoformat()
                except ValueError:
                    pass
            raise ValueError
    except (ValueError, KeyError):
        notes.append(f"Form field '{ident}': the default '{text}' is not a {kind} value and is ignored.")
        return None
    return text


def _key(kind: str, where, node) -> str:
    """The key of a form made from the model: ``generated:<process>/<element>`` (``bpmn`` for embedded forms
    ``generated:<process>/<element>/bpmn``), hashed when longer than the 128 characters a form key has."""
    process = next((p.get("id") for p in node.iterancestors(f"{BPMN}process")), "") or ""
    key = f"{form_files.GENERATED}{process}/{where[2]}" + ("/bpmn" if kind == "bpmn" else "")
    if len(key) > 128:
        key = form_files.GENERATED + hashlib.sha256(key.encode()).hexdigest()[:40]
    return key
