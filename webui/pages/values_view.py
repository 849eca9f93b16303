"""Process data as people read it: choices by their labels, 是/否, money with two decimals and its currency,
dates and times in the local zone (also a text field holding an ISO date-time, such as a due time a script
computed), lists and objects as small tables with their field labels.

``html`` gives the markup pages show (Jinja: ``show_value`` in ``common/macros.html``), ``text`` the same in
one line (exports with labels, details); both take the value's field spec (the form field, or the
variable's entry of ``engine.variable_catalog``) when there is one, and read a value without one too
(an object as a table of its keys, never JSON). ``with_currency`` puts the process variable ``currency`` into a
money field that names none. A form's read-only field often names no choices: ``described`` completes it from
the variable's entry of the catalogue of the process shown in this request (``remember``, called by
``history.Labels``).
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Optional

from flask import Flask, g, has_request_context
from markupsafe import Markup, escape

from webui.pages import file_links
from webui.pages.display import as_text, lang, local_zone, localized

CURRENCY_SIGNS = {"CNY": "¥", "RMB": "¥", "USD": "US$", "EUR": "€", "GBP": "£", "JPY": "JP¥", "HKD": "HK$",
                  "TWD": "NT$", "KRW": "₩", "AUD": "A$", "CAD": "C$", "SGD": "S$", "CHF": "CHF "}
ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
MAX_ROWS = 200  # rows of a table shown; more are counted


def with_currency(spec: Optional[dict], data: Optional[dict]) -> Optional[dict]:
    """``spec`` with the currency of the process (its variable ``currency``, a code such as ``CNY``) when it
    is a money field (``decimal``) that names none itself; nested fields too."""
    code = (data or {}).get("currency") if isinstance(data, dict) else None
    if not spec or not isinstance(code, str) or not code.isalpha():
        return spec
    if spec.get("fields"):
        spec = {**spec, "fields": [with_currency(sub, data) for sub in spec["fields"]]}
    if spec.get("type") == "decimal" and not spec.get("currency"):
        spec = {**spec, "currency": code.upper()}
    return spec


def remember(variables: dict[str, dict], data: Optional[dict] = None) -> None:
    """The variable catalogue and data of the instance this request shows (the first one given wins)."""
    if has_request_context() and "variable_specs" not in g:
        g.variable_specs, g.variable_data = variables, data or {}


def described(spec: Optional[dict]) -> Optional[dict]:
    """``spec`` with what its variable's owning field says and it does not (choices, nested fields, places,
    currency), from the catalogue ``remember``ed for this request."""
    known = g.get("variable_specs") if spec and has_request_context() else None
    owner = (known or {}).get(spec.get("name")) if spec else None
    if owner and owner.get("type") == spec.get("type"):
        spec = {**{k: v for k, v in owner.items() if k in ("choices", "fields", "places", "currency", "item_type")},
                **{k: v for k, v in spec.items() if v not in (None, [], "")}}
    return with_currency(spec, g.get("variable_data"))


# -- one value ------------------------------------------------------------------------------------

def scalar(value: Any, spec: Optional[dict] = None) -> str:
    """A single value in words: a choice's label, 是/否, money, a local time, else the value."""
    spec = spec or {}
    kind = spec.get("type")
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return as_text(value)
    label = choice_label(value, spec)
    if label is not None:
        return label
    if (kind == "decimal" or spec.get("currency")) and not isinstance(value, (dict, list)):
        return money(value, spec)
    if isinstance(value, str) and (kind == "datetime" or (kind in (None, "str", "text") and ISO_DATETIME.match(value))):
        return local_time(value, naive_is_utc=False)  # a time with an offset in the local zone, else as written
    return as_text(value)


def choice_label(value: Any, spec: dict) -> Optional[str]:
    for choice in spec.get("choices") or []:
        if isinstance(choice, dict) and str(choice.get("value")) == str(value):
            return localized(choice.get("label"), str(value))
        if not isinstance(choice, dict) and str(choice) == str(value):
            return str(value)
    return None


def money(value: Any, spec: dict) -> str:
    """``¥1,000.00``: two decimals (or the field's ``places``; ``null``: as given), thousands separated, the
    currency's sign (a code without one: ``CHF 10.00``)."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    places = spec.get("places", 2)
    text = f"{number:,.{places}f}" if isinstance(places, int) else f"{number:,}"
    code = str(spec.get("currency") or "").upper()
    if not code:
        return text
    sign = CURRENCY_SIGNS.get(code, code + " ")
    return ("-" + sign + text[1:]) if text.startswith("-") else sign + text


def local_time(value: str, naive_is_utc: bool = True) -> str:
    """An ISO date-time in the local zone, ``2026-12-24 09:30`` (seconds when given); a time without offset
    is UTC when ``naive_is_utc`` (the engine's own times), else already local (a form's ``datetime``)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is None and naive_is_utc:
        moment = moment.replace(tzinfo=timezone.utc)
    if moment.tzinfo is not None:
        moment = moment.astimezone(local_zone())
    return moment.strftime("%Y-%m-%d %H:%M:%S" if moment.second else "%Y-%m-%d %H:%M")


def item_spec(spec: Optional[dict]) -> dict:
    """The spec of one item of a list of scalars (its ``item_type``, the list's choices and currency)."""
    spec = spec or {}
    return {**{k: spec[k] for k in ("choices", "currency", "places") if k in spec}, "type": spec.get("item_type")}


def columns(rows: list, spec: Optional[dict]) -> list[tuple[str, str, Optional[dict]]]:
    """``(key, label, spec)`` of a table's columns: the spec's fields, then keys no field names."""
    fields = [sub for sub in (spec or {}).get("fields") or [] if sub.get("name")]
    found = [(sub["name"], localized(sub.get("label"), sub["name"]), sub) for sub in fields]
    named = {key for key, _label, _spec in found}
    for row in rows:
        for key in row if isinstance(row, dict) else []:
            if key not in named:
                named.add(key)
                found.append((key, str(key), None))
    return found


def is_table(value: Any) -> bool:
    return isinstance(value, list) and any(isinstance(item, dict) for item in value)


# -- markup ---------------------------------------------------------------------------------------

def html(value: Any, spec: Optional[dict] = None) -> Markup:
    """The value as HTML: a table for a list of objects (a row per item, a column per field), a two-column
    table for an object, a joined list for a list of values, else its words (escaped)."""
    if file_links.is_reference(value):  # a file field's attachments: download links (issue 14, H4)
        return file_links.html(value)
    if is_table(value):
        return _rows_table(value, spec)
    if isinstance(value, dict):
        return _object_table(value, spec)
    if isinstance(value, list):
        return escape(joined([scalar(item, item_spec(spec)) for item in value]))
    return escape(scalar(value, spec))


def _rows_table(rows: list, spec: Optional[dict]) -> Markup:
    cols = columns(rows, spec)
    head = "".join(f"<th scope=\"col\">{escape(label)}</th>" for _key, label, _spec in cols)
    body = "".join("<tr>" + "".join(f"<td>{html(row.get(key), sub) if isinstance(row, dict) else ''}</td>"
                                    for key, _label, sub in cols) + "</tr>" for row in rows[:MAX_ROWS])
    more = f"<tfoot><tr><td colspan=\"{len(cols)}\">… {len(rows) - MAX_ROWS}</td></tr></tfoot>" \
        if len(rows) > MAX_ROWS else ""
    return Markup(f"<table class=\"value-table\"><thead><tr>{head}</tr></thead><tbody>{body}</tbody>{more}</table>")


def _object_table(value: dict, spec: Optional[dict]) -> Markup:
    if not value:
        return Markup("")
    body = "".join(f"<tr><th scope=\"row\">{escape(label)}</th><td>{html(value.get(key), sub)}</td></tr>"
                   for key, label, sub in columns([value], spec) if key in value)
    return Markup(f"<table class=\"value-table value-object\"><tbody>{body}</tbody></table>")


# -- one line of text -----------------------------------------------------------------------------

def text(value: Any, spec: Optional[dict] = None) -> str:
    """The value in one line: ``货号：T-100，数量：1,000；货号：…`` for rows, ``a、b`` for a list."""
    if file_links.is_reference(value):  # a file field's attachments: their names (issue 14, H4)
        return file_links.text(value)
    colon, comma, semicolon = ("：", "，", "；") if lang() == "zh" else (": ", ", ", "; ")
    if is_table(value) or isinstance(value, dict):
        rows = value if isinstance(value, list) else [value]
        cols = columns(rows, spec)
        return semicolon.join(comma.join(f"{label}{colon}{text(row.get(key), sub)}" for key, label, sub in cols
                                         if isinstance(row, dict) and row.get(key) not in (None, "")) for row in rows)
    if isinstance(value, list):
        return joined([scalar(item, item_spec(spec)) for item in value])
    return scalar(value, spec)


def joined(items: list[str]) -> str:
    return ("、" if lang() == "zh" else ", ").join(items)


def init_app(app: Flask) -> None:
    """``value_html`` and ``value_text`` for the templates (``show_value`` in ``common/macros.html``)."""
    app.jinja_env.globals.update(value_html=html, value_text=text)
