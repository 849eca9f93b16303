"""Forms of forms/README.md as the inputs a page draws (macros in ``templates/common/macros.html``).

``fields(form, data, submitted, errors)`` gives one ``Field`` per form field, showing what was submitted
(after ``form_input.rework``), else the process data, else the field's default. How each is drawn:
a ``str`` with choices is a select (radio buttons with ``"widget": "radio"``), a list of scalars with
choices is a checkbox group (a multi-select with ``"widget": "select"``) sending codes, a list of scalars
without choices a textarea (one value per line), a list of objects a table with "add row" / "remove row"
(``min_items``/``max_items``; none with ``"add_remove": false``), a ``note`` display-only text. Every cell
of a table is labelled by its column header and row number. A field with ``required_if`` says when it is
required and is marked required while its conditions hold (``form_conditions``). Reading the inputs back is
``form_input``'s; the engine's messages in the user's language are ``form_messages``'.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from flask_babel import gettext as _
from markupsafe import Markup

from webui.pages import form_conditions, values_view
from webui.pages.display import as_text, localized
from webui.pages.form_input import MAX_ROWS, is_multi_choice, row_limit, submitted_rows

INPUT_TYPES = {"str": "text", "int": "number", "decimal": "number", "date": "date", "datetime": "datetime-local"}
BLANK_ROWS = 2  # empty rows a list of objects shows when it has no value, no default and no default_rows
TEMPLATE_ROW = "__row__"  # the row number in the hidden row script copies to add a row in place


@dataclass
class Field:
    """One input as the template draws it."""

    name: str           # the input name
    spec: dict          # the field of the form definition
    value: Any = ""     # what the input shows (text; the checked codes of a multi-choice)
    errors: list = field(default_factory=list)
    children: list = field(default_factory=list)  # fields of an object; rows (lists of fields) of a table
    template: list = field(default_factory=list)  # the cells of a new row of a table
    labelled_by: str = ""  # ids of the column and row headers naming a cell of a table
    stored: Any = None  # the value in the process data, shown read-only by ``shown``
    typed: bool = False  # ``value`` is what was typed (a submission came back): ``shown`` shows it
    required_when: str = ""  # a required_if in words («「主管是否同意」为「否」»)
    required_now: bool = False  # its conditions hold for the values shown

    @property
    def type(self) -> str:
        return self.spec.get("type", "str")

    @property
    def label(self) -> str:
        return localized(self.spec.get("label"), self.spec.get("name", ""))

    @property
    def text(self) -> str:
        """The text of a display-only note."""
        return localized(self.spec.get("text"))

    @property
    def help(self) -> str:
        return localized(self.spec.get("help"))

    @property
    def required(self) -> bool:
        return (bool(self.spec.get("required")) or self.required_now) and not self.spec.get("readonly")

    @property
    def conditions(self) -> str:
        """The ``required_if`` conditions as ``static/js/forms.js`` reads them; "" without."""
        return form_conditions.as_json(self.spec) if self.required_when else ""

    @property
    def readonly(self) -> bool:
        return bool(self.spec.get("readonly"))

    @property
    def widget(self) -> str:
        """How to draw: select, radio, checkboxes, textarea, time, table, text, note…"""
        hint = self.spec.get("widget")
        if self.type == "note":
            return "note"
        if self.type == "list" and self.spec.get("fields"):
            return "table"
        if is_multi_choice(self.spec) and self.choices:
            return "select-multiple" if hint == "select" else "checkboxes"
        if self.choices:
            return "radio" if hint == "radio" else "select"
        if self.type == "bool":
            return "yes-no"
        if self.type in ("text", "list") or hint == "textarea":
            return "textarea"
        return "input"

    @property
    def group(self) -> bool:
        """Drawn as several inputs under one legend."""
        return self.widget in ("checkboxes", "radio", "yes-no")

    @property
    def input_type(self) -> str:
        return "time" if self.spec.get("widget") == "time" else INPUT_TYPES.get(self.type, "text")

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
    def checked(self) -> list[str]:
        """The codes a multi-choice shows checked."""
        return self.value if isinstance(self.value, list) else []

    @property
    def pattern_message(self) -> str:
        return localized(self.spec.get("pattern_message"))

    @property
    def step(self) -> Optional[str]:
        if self.type == "decimal":
            places = self.spec.get("places", 2)
            return "any" if places is None else "0." + "0" * (int(places) - 1) + "1" if places else "1"
        return "1" if self.type == "int" else None

    # -- tables ---------------------------------------------------------------------------------

    @property
    def add_remove(self) -> bool:
        return self.spec.get("add_remove", True) is not False

    @property
    def max_rows(self) -> int:
        return row_limit(self.spec)

    @property
    def min_rows(self) -> int:
        return int(self.spec.get("min_items") or 0)

    @property
    def can_add(self) -> bool:
        return self.add_remove and len(self.children) < self.max_rows

    @property
    def can_remove(self) -> bool:
        return self.add_remove and len(self.children) > self.min_rows

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

    @property
    def shown(self) -> Markup:
        """The stored value as people read it (``values_view``): choices by their labels, 是/否, tables."""
        value = self.value if self.typed else self.stored
        if self.typed and self.type == "bool" and value in ("true", "false"):
            value = value == "true"
        return values_view.html(value, values_view.described(self.spec))


# -- drawing ----------------------------------------------------------------------------------------

def fields(form: Optional[dict], data: dict, submitted=None, errors: Optional[dict] = None) -> list[Field]:
    """The inputs of ``form`` showing ``submitted`` values if given, else process ``data`` or defaults."""
    if not form:
        return []
    items = [with_choices(spec, data) for spec in form.get("fields", [])]
    return _fields(items, "", data, submitted, errors or {})


def with_choices(spec: dict, data: Any) -> dict:
    """``spec`` with the choices its ``choices_from`` names in the process data (a list of values or of
    ``{"value", "label"}``), inside objects and rows too; a field whose variable holds none keeps none."""
    if spec.get("fields"):
        spec = {**spec, "fields": [with_choices(sub, data) for sub in spec["fields"]]}
    source = spec.get("choices_from")
    if not source or spec.get("choices") or not isinstance(data, dict):
        return spec
    options = data.get(source)
    if not isinstance(options, list):
        return spec
    choices = [{"value": o.get("value"), "label": o.get("label", o.get("value"))} if isinstance(o, dict)
               else {"value": o, "label": str(o)} for o in options[:MAX_ROWS]]
    return {**spec, "choices": choices}


def _fields(items: list[dict], prefix: str, data: Any, submitted, errors: dict) -> list[Field]:
    return _with_conditions([_field(spec, prefix + spec["name"], data, submitted, errors) for spec in items])


def _with_conditions(items: list[Field]) -> list[Field]:
    """The fields of one form, object or row, those with ``required_if`` saying when they are required."""
    shown = {f.spec.get("name"): f.value for f in items}
    for item in items:
        if item.spec.get("required_if") and not item.readonly:
            item.required_when = form_conditions.words(item.spec, [f.spec for f in items])
            item.required_now = form_conditions.holds_now(item.spec, shown)
    return items


def _field(spec: dict, name: str, data: Any, submitted, errors: dict, labelled_by: str = "") -> Field:
    kind = spec.get("type", "str")
    stored = data.get(spec["name"], spec.get("default")) if isinstance(data, dict) else None
    item = Field(name, spec, errors=errors.get(name, []), labelled_by=labelled_by, stored=stored,
                 typed=submitted is not None and not spec.get("readonly"))
    if kind == "note":
        return item
    if spec.get("readonly"):
        item.value = stored if isinstance(stored, list) and not spec.get("fields") else display(stored)
    elif kind == "object":
        item.children = _fields(spec.get("fields", []), name + ".", stored if isinstance(stored, dict) else {},
                                submitted, errors)
    elif kind == "list" and spec.get("fields"):
        _table(item, stored, submitted, errors)
    elif is_multi_choice(spec) and spec.get("choices"):
        item.value = ([v for v in submitted.getlist(name) if v] if submitted is not None
                      else [str(v) for v in stored] if isinstance(stored, list) else [])
    else:
        item.value = submitted.get(name, "") if submitted is not None else _text(stored, kind)
    return item


def _table(item: Field, stored: Any, submitted, errors: dict) -> None:
    """The rows of a list of objects: those submitted, else the stored ones, else empty rows."""
    spec, name = item.spec, item.name
    rows = [row if isinstance(row, dict) else {} for row in (stored if isinstance(stored, list) else [])]
    if submitted is not None:
        count = len(submitted_rows(submitted, name))
    elif rows:
        count = len(rows)
    else:
        count = int(spec.get("default_rows", BLANK_ROWS if item.add_remove else 0))
    count = min(max(count, item.min_rows, 1), max(item.max_rows, 1), MAX_ROWS)
    rows += [{}] * (count - len(rows))
    item.children = [_row(spec, name, str(i), rows[i], submitted, errors) for i in range(count)]
    item.template = _row(spec, name, TEMPLATE_ROW, {}, None, {})


def _row(spec: dict, name: str, index: str, data: dict, submitted, errors: dict) -> list[Field]:
    return _with_conditions([_field(sub, f"{name}-{index}-{sub['name']}", data, submitted, errors,
                                    labelled_by=f"h-{name}-{sub['name']} r-{name}-{index}")
                             for sub in spec["fields"]])


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
