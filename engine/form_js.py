"""Camunda Forms: the form-js JSON that Camunda Modeler's form editor writes (``*.form`` files, or the
``zeebe:userTaskForm`` a Camunda 8 model embeds), converted to a Liucheng form (forms/README.md).

``convert(schema, file_name)`` gives the form and the problems that refuse it (a component without the
key or path it needs); what the form asks that Liucheng does not do (FEEL ``=…`` properties, conditional
hiding, buttons, images, HTML, file pickers…) is ignored, and the form's ``notes`` say so; the deploy
reply shows them for each element that uses the form. How each component type maps is in forms/README.md.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"
PHONE = r"\+?[0-9][0-9 ()\-]{4,24}"
LAYOUT_ONLY = {"separator", "spacer"}
NOT_SHOWN = {"button": "the worklist has its own buttons", "image": "forms do not load images",
             "html": "forms do not show HTML", "iframe": "forms do not embed pages",
             "filepicker": "files are not form values", "documentPreview": "documents are not shown",
             "table": "tables are not shown", "expression": "FEEL expressions are not evaluated"}
FEEL_PROPERTIES = ("label", "description", "defaultValue", "readonly", "disabled", "valuesExpression")


def is_form_js(name: str, content: Any) -> bool:
    """A form-js schema: a ``.form`` file, or JSON with ``components`` and no Liucheng ``fields``."""
    return isinstance(content, dict) and (name.lower().endswith(".form") or
                                          ("components" in content and "fields" not in content))


def convert(schema: dict, file_name: str) -> tuple[dict, list[dict]]:
    """The Liucheng form of a form-js schema, and the problems that refuse it."""
    converter = _Converter()
    fields = converter.components(schema.get("components"), "")
    form_id = schema.get("id") if isinstance(schema.get("id"), str) and schema.get("id") else Path(file_name).stem
    title = schema.get("name") if isinstance(schema.get("name"), str) else form_id
    form = {"id": form_id, "title": {"zh": title, "en": title}, "file": file_name, "fields": fields}
    if converter.notes:
        form["notes"] = converter.notes
    return form, converter.problems


class _Converter:
    """One conversion: the fields made so far, its notes and problems."""

    def __init__(self):
        self.notes: list[str] = []
        self.problems: list[dict] = []

    def components(self, items: Any, where: str) -> list[dict]:
        if not isinstance(items, list):
            self.problem(where or None, "A form-js form has a list 'components'; export it again from the "
                         "Camunda Modeler form editor.")
            return []
        fields: list[dict] = []
        for item in items:
            if not isinstance(item, dict):
                self.problem(where or None, "Every component is an object with a 'type'.")
                continue
            self.feel_notes(item)
            for path, field in self.component(item):
                _place(fields, path, field)
        return fields

    def component(self, item: dict) -> list[tuple[list[str], dict]]:
        """The fields one component gives, each with the path of objects it sits in."""
        kind, ident = item.get("type"), _ident(item)
        if kind == "group":
            inner = self.components(item.get("components", []), ident)
            if not item.get("path"):
                return [([], field) for field in inner]  # a group without path only arranges its fields
            path = self.path(item, "path")
            return [(path[:-1], _object(path[-1], item, inner))]
        if kind == "dynamiclist":
            if not item.get("path"):
                self.problem(ident, f"Dynamic list '{ident}' needs a 'path' (the list variable); set it in "
                             "the form editor.")
                return []
            path = self.path(item, "path")
            rows = self.components(item.get("components", []), ident)
            field = {"name": path[-1], "type": "list", "label": _label(item, path[-1]), "fields": rows,
                     "add_remove": item.get("allowAddRemove", True) is not False}
            if isinstance(item.get("defaultRepetitions"), int) and item["defaultRepetitions"] > 0:
                field["default_rows"] = item["defaultRepetitions"]
            return [(path[:-1], field)]
        if kind == "text":
            text = str(item.get("text") or "")
            if text.startswith("="):
                self.notes.append(f"Text '{ident}' is a FEEL expression; it is shown as written.")
            return [([], {"name": _note_name(ident), "type": "note", "text": {"zh": text, "en": text}})]
        if kind in LAYOUT_ONLY:
            return []
        if kind in NOT_SHOWN or kind not in SCALAR_KINDS:
            why = NOT_SHOWN.get(kind, "Liucheng does not know this component type")
            self.notes.append(f"Component '{ident}' ({kind}) is ignored: {why}.")
            return []
        if not item.get("key"):
            self.problem(ident, f"Component '{ident}' ({kind}) needs a 'key' (the variable); set it in the "
                         "form editor.")
            return []
        path = self.path(item, "key")
        field = {"name": path[-1], "label": _label(item, path[-1]), **SCALAR_KINDS[kind](item, self)}
        return [(path[:-1], _common(item, field))]

    def path(self, item: dict, prop: str) -> list[str]:
        """The variable names of a key or path (``a.b`` nests ``b`` in object ``a``); names that are not
        identifiers are written with ``_`` instead of what is not allowed, with a note."""
        written = str(item[prop])
        parts = [_identifier(part) for part in written.split(".")]
        if ".".join(parts) != written:
            self.notes.append(f"The {prop} '{written}' of component '{_ident(item)}' is not a variable name: "
                              f"its value is stored as {'.'.join(parts)}.")
        return parts

    def feel_notes(self, item: dict) -> None:
        ident = _ident(item)
        for prop in FEEL_PROPERTIES:
            if isinstance(item.get(prop), str) and item[prop].startswith("="):
                self.notes.append(f"Component '{ident}': the FEEL expression in '{prop}' is ignored.")
        hide = (item.get("conditional") or {}).get("hide") if isinstance(item.get("conditional"), dict) else None
        if hide:
            self.notes.append(f"Component '{ident}': conditional hiding ({hide}) is ignored; the field is "
                              "always shown.")

    def problem(self, element: Optional[str], message: str) -> None:
        self.problems.append({"file": "", "line": None, "element_id": element, "message": message})


# -- one scalar component ---------------------------------------------------------------------

def _textfield(item: dict, converter: _Converter) -> dict:
    field: dict = {"type": "str", **_lengths(item)}
    rules = _validate(item)
    if rules.get("pattern"):
        field["pattern"] = str(rules["pattern"])
    kind = rules.get("validationType")
    if kind == "email":
        field.update(pattern=EMAIL, pattern_message={"zh": "请输入有效的电子邮件地址。", "en": "Must be an email address."})
    elif kind == "phone":
        field.update(pattern=PHONE, pattern_message={"zh": "请输入有效的电话号码。", "en": "Must be a phone number."})
    return field


def _textarea(item: dict, converter: _Converter) -> dict:
    return {"type": "text", "widget": "textarea", **_lengths(item)}


def _number(item: dict, converter: _Converter) -> dict:
    digits = item.get("decimalDigits")
    field: dict = {"type": "int"} if digits == 0 else {"type": "decimal", "places": digits if
                                                                    isinstance(digits, int) else None}
    rules = _validate(item)
    for limit in ("min", "max"):
        if isinstance(rules.get(limit), (int, float)):
            field[limit] = rules[limit]
    if item.get("serializeToString"):
        converter.notes.append(f"Number '{_ident(item)}': serializeToString is ignored; the value is stored "
                               "as a number.")
    return field


def _checkbox(item: dict, converter: _Converter) -> dict:
    return {"type": "bool"}


def _single_choice(widget: str):
    def convert(item: dict, converter: _Converter) -> dict:
        return {"type": "str", "widget": widget, **_choices(item, converter)}
    return convert


def _multi_choice(widget: Optional[str]):
    def convert(item: dict, converter: _Converter) -> dict:
        field = {"type": "list", "item_type": "str", **_choices(item, converter)}
        return {**field, "widget": widget} if widget else field
    return convert


def _datetime(item: dict, converter: _Converter) -> dict:
    subtype = item.get("subtype") or "date"
    if subtype == "time":
        return {"type": "str", "widget": "time"}
    return {"type": "datetime" if subtype == "datetime" else "date"}


SCALAR_KINDS = {"textfield": _textfield, "textarea": _textarea, "number": _number, "checkbox": _checkbox,
                "radio": _single_choice("radio"), "select": _single_choice("select"),
                "checklist": _multi_choice("checkboxes"), "taglist": _multi_choice(None), "datetime": _datetime}


def _choices(item: dict, converter: _Converter) -> dict:
    """Static ``values`` become choices; ``valuesKey`` (options held by a variable) becomes the hint
    ``choices_from``, the value then not restricted; ``valuesExpression`` (FEEL) gives no options."""
    if isinstance(item.get("values"), list) and item["values"]:
        return {"choices": [{"value": v.get("value"), "label": _label(v, str(v.get("value")))}
                            for v in item["values"] if isinstance(v, dict)]}
    if item.get("valuesKey"):
        converter.notes.append(f"Component '{_ident(item)}': its options come from variable "
                               f"'{item['valuesKey']}' at run time; the value is not checked against them.")
        return {"choices_from": str(item["valuesKey"])}
    return {}


def _common(item: dict, field: dict) -> dict:
    """The keys every value component has: required, default, read-only, description."""
    if _validate(item).get("required") is True:
        field["required"] = True
    default = item.get("defaultValue")
    if default is not None and not (isinstance(default, str) and default.startswith("=")):
        field["default"] = default
    elif field["type"] == "bool":
        field["default"] = False
    if item.get("readonly") is True or item.get("disabled") is True:
        field["readonly"] = True
    if isinstance(item.get("description"), str) and item["description"] and not item["description"].startswith("="):
        field["help"] = {"zh": item["description"], "en": item["description"]}
    return field


def _lengths(item: dict) -> dict:
    rules = _validate(item)
    return {name: rules[key] for key, name in (("minLength", "min_length"), ("maxLength", "max_length"))
            if isinstance(rules.get(key), int)}


def _validate(item: dict) -> dict:
    return item.get("validate") if isinstance(item.get("validate"), dict) else {}


def _object(name: str, item: dict, inner: list[dict]) -> dict:
    """A group with a path: an object of its fields, required when one of them must be filled in,
    shown only when none can be."""
    field = {"name": name, "type": "object", "label": _label(item, name), "fields": inner}
    if any(f.get("required") and not f.get("readonly") for f in inner):
        field["required"] = True
    if inner and all(f.get("readonly") or f.get("type") == "note" for f in inner):
        field["readonly"] = True
    return field


def _place(fields: list[dict], path: list[str], field: dict) -> None:
    """Put ``field`` in ``fields``, inside the objects named by ``path`` (made when missing)."""
    for name in path:
        found = next((f for f in fields if f.get("name") == name and f.get("type") == "object"), None)
        if found is None:
            found = {"name": name, "type": "object", "label": {"zh": name, "en": name}, "fields": []}
            fields.append(found)
        fields = found["fields"]
        found["required"] = found.get("required") or bool(field.get("required") and not field.get("readonly"))
        found["readonly"] = all(f.get("readonly") for f in found["fields"] + [field])
    fields.append(field)


def _label(item: dict, fallback: str) -> dict:
    text = item.get("label")
    if not isinstance(text, str) or not text or text.startswith("="):
        text = item.get("dateLabel") if isinstance(item.get("dateLabel"), str) else fallback
    return {"zh": text, "en": text}


def _ident(item: dict) -> str:
    return str(item.get("id") or item.get("key") or item.get("path") or item.get("type"))


def _identifier(text: str) -> str:
    name = re.sub(r"\W", "_", text.strip())
    return name if name.isidentifier() else f"f_{name}"


def _note_name(ident: str) -> str:
    return "note_" + _identifier(ident)
