"""The generic form of a user task that has no form: complete it, optionally setting process variables.

The page draws it as a form of one table, ``var``, whose rows are name, type (text, number, true/false,
date, JSON) and value (``FORM``, drawn by ``webui.pages.forms`` like any table, with add/remove row).
``parse_variables`` turns the submitted rows into typed values (``{"qty": 3, "ok": True}``) or errors per
input; ``variable_errors`` puts the engine's refusal of a variable next to the row that sent it. The
engine accepts identifier names not starting with "_" and JSON values (``engine.forms``); blank rows are
left out, a row with a value and no name is an error.
"""
from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _

from webui.pages.form_input import submitted_rows
from webui.pages.form_messages import translate

TABLE = "var"
MAX_VARIABLES = 100
KINDS = [("text", {"zh": "文本", "en": "Text"}), ("number", {"zh": "数字", "en": "Number"}),
         ("bool", {"zh": "是/否", "en": "True/false"}), ("date", {"zh": "日期", "en": "Date"}),
         ("json", {"zh": "JSON", "en": "JSON"})]
FORM = {"id": "_generic", "fields": [
    {"name": TABLE, "type": "list", "label": {"zh": "设置流程变量（可选）", "en": "Set process variables (optional)"},
     "max_items": MAX_VARIABLES, "default_rows": 1,
     "help": {"zh": "名称用字母、数字和下划线（不以数字或下划线开头）；空行会被忽略。",
              "en": "Names are letters, digits and _ (not starting with a digit or _); blank rows are ignored."},
     "fields": [
         {"name": "name", "type": "str", "label": {"zh": "变量名", "en": "Name"}, "max_length": 100},
         {"name": "type", "type": "str", "label": {"zh": "类型", "en": "Type"}, "default": "text",
          "choices": [{"value": value, "label": label} for value, label in KINDS]},
         {"name": "value", "type": "str", "label": {"zh": "值", "en": "Value"}},
     ]},
]}
INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
TRUE, FALSE = {"true", "yes", "1", "是", "对"}, {"false", "no", "0", "否", "不"}


def parse_variables(submitted) -> tuple[dict, dict[str, list[str]]]:
    """The variables of the submitted rows and the errors by input name (``var-2-value``)."""
    data: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for index in submitted_rows(submitted, TABLE):
        name = (submitted.get(f"{TABLE}-{index}-name") or "").strip()
        kind = submitted.get(f"{TABLE}-{index}-type") or "text"
        raw = submitted.get(f"{TABLE}-{index}-value") or ""
        if not name and not raw.strip():
            continue
        problem = _name_problem(name, data)
        if problem:
            errors[f"{TABLE}-{index}-name"] = [problem]
            continue
        try:
            data[name] = typed(kind, raw)
        except ValueError as exc:
            errors[f"{TABLE}-{index}-value"] = [str(exc)]
    return data, errors


def _name_problem(name: str, seen: dict) -> str:
    if not name:
        return _("Give the variable a name.")
    if not name.isidentifier() or name.startswith("_"):
        return _("A name is letters, digits and _, and does not start with a digit or _.")
    if name in seen:
        return _("This name is given twice.")
    return ""


def typed(kind: str, raw: str) -> Any:
    """The value ``raw`` typed as ``kind``; ``ValueError`` with a message for the user."""
    text = raw.strip()
    if kind == "number":
        if INTEGER.fullmatch(text):
            return int(text)
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise ValueError(_("Enter a number."))
        return number
    if kind == "bool":
        if text.lower() in TRUE | FALSE:
            return text.lower() in TRUE
        raise ValueError(_("Enter true or false (是 or 否)."))
    if kind == "date":
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError(_("Enter a date (YYYY-MM-DD).")) from None
    if kind == "json":
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            raise ValueError(_('Enter valid JSON, e.g. {"a": 1}, [1, 2] or "text".')) from None
    return raw


def variable_errors(details: Any, submitted) -> dict[str, list[str]]:
    """The engine's messages per variable (``{"qty": ["…"]}``) on the value input of the row naming it."""
    rows = {(submitted.get(f"{TABLE}-{i}-name") or "").strip(): i for i in submitted_rows(submitted, TABLE)}
    errors: dict[str, list[str]] = {}
    items = details.items() if isinstance(details, dict) else [("_form", details)]
    for name, messages in items:
        messages = messages if isinstance(messages, (list, tuple)) else [messages]
        target = f"{TABLE}-{rows[name]}-value" if name in rows else "_form"
        errors.setdefault(target, []).extend(translate(str(m)) for m in messages)
    return errors
