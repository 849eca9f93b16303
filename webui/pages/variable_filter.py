"""The variable filter of the worklist and the instance list: a field, an operator and a value picked from lists,
or a typed expression (``order_no_eq_A1001,amount_gt_100``, ``engine.variable_index``'s syntax), as one
``variables`` expression for the engine's searches.

The fields offered are the top-level variables of the processes' latest versions with their labels (the
variable catalogue of ``Definition.elements``, else the start form's fields); lists and objects are not
searchable and are left out.
"""
from __future__ import annotations

from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.models import Definition
from webui.pages.display import localized

OPERATORS = (("eq", _l("equals")), ("neq", _l("does not equal")), ("gt", _l("greater than")),
             ("gteq", _l("at least")), ("lt", _l("less than")), ("lteq", _l("at most")), ("like", _l("contains")))
NOT_SEARCHABLE = {"list", "object", "note", "file", "table"}
MAX_LENGTH = 500


def expression(args) -> str:
    """The ``variables`` expression the page's arguments ask for: the typed one, and the picked condition."""
    typed = (args.get("variables") or "").strip()[:MAX_LENGTH]
    name, op, value = (args.get("var_name") or "").strip(), args.get("var_op") or "eq", args.get("var_value") or ""
    if not name or not value.strip() or op not in dict(OPERATORS):
        return typed
    value = value.strip()
    if op == "like" and "%" not in value:
        value = f"%{value}%"  # "contains": the value anywhere in the text
    picked = f"{name}_{op}_{escaped(value)}"
    return f"{typed},{picked}" if typed else picked


def escaped(value: str) -> str:
    """A value as the expression syntax needs it: ``\\``, ``,`` and ``_`` escaped with a backslash."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("_", "\\_")


def fields(session: Session, process_ids: list[str], process_id: Optional[str] = None) -> list[tuple[str, str]]:
    """``(variable, label)`` of the searchable variables of ``process_id`` (or of all ``process_ids``)."""
    wanted = [process_id] if process_id else process_ids
    if not wanted:
        return []
    latest = (select(Definition.process_id, func.max(Definition.version).label("version"))
              .where(Definition.process_id.in_(wanted)).group_by(Definition.process_id).subquery())
    rows = session.execute(select(Definition.elements, Definition.forms, Definition.start_form).join(
        latest, (latest.c.process_id == Definition.process_id) & (latest.c.version == Definition.version))).all()
    found: dict[str, str] = {}
    for elements, forms, start_form in rows:
        for name, spec in variables_of(elements or {}, forms or {}, start_form):
            if spec.get("type") not in NOT_SEARCHABLE and name not in found:
                found[name] = localized(spec.get("label"), name)
    return sorted(found.items(), key=lambda item: item[1])


def variables_of(elements: dict, forms: dict, start_form: Optional[str]) -> list[tuple[str, dict]]:
    catalogue = elements.get("variables")
    if isinstance(catalogue, dict) and catalogue:
        return [(name, spec) for name, spec in catalogue.items() if isinstance(spec, dict)]
    start = forms.get(start_form or "") or {}
    return [(spec["name"], spec) for spec in start.get("fields", []) if isinstance(spec, dict) and spec.get("name")]
