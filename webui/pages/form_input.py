"""The inputs a page form submits, read back: the rows of its tables, then the form data for the engine.

Input names (drawn by ``webui.pages.forms``): ``amount``; ``address.city`` (a field of an object);
``lines-0-sku`` (a cell of row 0 of a list of objects); a multi-choice field sends its name once per
checked choice. ``rework(form, submitted)`` first renumbers the rows of every list of objects ``0, 1, …``
in the order sent, leaving out blank rows, and applies the "add row" / "remove row" button a form sent
without JavaScript (``_rows=add:lines`` / ``_rows=remove:lines-2``): the page is then drawn again, with
what was typed, and nothing is submitted. Because rows are renumbered the way ``parse`` reads them, the
engine's error for item 3 of ``lines`` stands next to the inputs of drawn row 3.
``parse(form, submitted)`` builds the data the engine validates (blank inputs are left out, so a
required field reports "required"; display-only notes and read-only fields are never sent).
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Optional

from werkzeug.datastructures import MultiDict

ROW_ACTION = "_rows"  # the name of the add-row / remove-row buttons
MAX_ROWS = 1000  # rows of one list a post may keep (the engine's own limit of a list)


def submitted_rows(submitted, name: str) -> list[int]:
    """The row numbers of list ``name`` that have inputs (``lines-3-sku``), in order: only those rows
    are read, so ``lines-100000000-sku`` costs one row; a number that is not 1-9 ASCII digits names no row."""
    if submitted is None:
        return []
    pattern = re.compile(re.escape(name) + r"-([0-9]{1,9})-")
    return sorted({int(m.group(1)) for key in submitted for m in [pattern.match(key)] if m})


def row_action(submitted) -> Optional[tuple[str, str, Optional[int]]]:
    """``("add", "lines", None)`` or ``("remove", "lines", 2)`` when a row button was pressed, else None."""
    value = (submitted or {}).get(ROW_ACTION) or ""
    kind, _sep, target = value.partition(":")
    if kind == "add" and target:
        return "add", target, None
    if kind == "remove":
        name, _sep, index = target.rpartition("-")
        if name and index.isascii() and index.isdigit() and len(index) <= 9:
            return "remove", name, int(index)
    return None


# -- rows ------------------------------------------------------------------------------------------

def rework(form: Optional[dict], submitted) -> MultiDict:
    """A copy of ``submitted`` with the rows of each list of objects renumbered (blank rows out) and
    the row button, if any, applied."""
    data = MultiDict(submitted or {})
    action = row_action(submitted)
    _rework_fields((form or {}).get("fields", []), "", data, action)
    return data


def _rework_fields(items: Iterable[dict], prefix: str, data: MultiDict, action) -> None:
    for spec in items:
        if not isinstance(spec, dict) or "name" not in spec:
            continue
        name = prefix + spec["name"]
        if spec.get("type") == "object":
            _rework_fields(spec.get("fields", []), name + ".", data, action)
        elif spec.get("type") == "list" and spec.get("fields"):
            columns = [(s["name"], _blank_value(s)) for s in spec["fields"] if isinstance(s, dict) and "name" in s]
            preset = frozenset(s["name"] for s in spec["fields"] if s.get("choices") and s.get("default") is not None)
            count = renumber_rows(data, name, columns, action, limit=row_limit(spec), ignore=preset)
            for index in range(count):
                _rework_fields(spec["fields"], f"{name}-{index}-", data, action)


def _blank_value(spec: dict) -> str:
    """What a new row's input shows: the column's default when it is a plain value."""
    default = spec.get("default")
    if isinstance(default, bool):
        return "true" if default else "false"
    return str(default) if isinstance(default, (str, int, float)) else ""


def row_limit(spec: dict) -> int:
    """How many rows the list ``spec`` may hold at most."""
    return min(int(spec.get("max_items") or MAX_ROWS), MAX_ROWS)


def renumber_rows(data: MultiDict, name: str, columns: list[tuple[str, str]], action=None, limit: int = MAX_ROWS,
                  ignore: frozenset = frozenset()) -> int:
    """Renumber the rows of list ``name`` in ``data`` (in place) and apply ``action``; return the row count.

    On a submission, a row is blank when every input it sent is blank (inputs of the columns in ``ignore``, choices
    with a default, do not count) and is left out; on a row button, "remove" drops the row pressed, "add" appends a
    new row (``columns``: name and what its input shows) unless the list holds ``limit`` rows."""
    rows = []
    for index in submitted_rows(data, name):
        start = f"{name}-{index}-"
        cells = [(key[len(start):], value) for key in list(data.keys()) if key.startswith(start)
                 for value in data.poplist(key)]
        if action and action[0] == "remove" and action[1] == name and action[2] == index:
            continue
        if action or any(str(value).strip() for key, value in cells if key.split("-")[0].split(".")[0] not in ignore):
            rows.append(cells)  # blank rows are kept while rows are being added or removed
    rows = rows[:MAX_ROWS]
    if action and action[0] == "add" and action[1] == name and len(rows) < limit:
        rows.append(list(columns))
    for number, cells in enumerate(rows):
        for key, value in cells:
            data.add(f"{name}-{number}-{key}", value)
    return len(rows)


# -- form data ---------------------------------------------------------------------------------------

def is_multi_choice(spec: dict) -> bool:
    """A list of scalars with choices: drawn as checkboxes (or a multi-select), sent once per choice."""
    return spec.get("type") == "list" and not spec.get("fields") and bool(spec.get("choices") or spec.get("choices_from"))


def parse(form: Optional[dict], submitted: MultiDict) -> dict:
    """The form data of the submitted inputs; blank inputs are left out."""
    if not form:
        return {}
    return _parse_fields(form.get("fields", []), "", submitted)


def _parse_fields(items: list[dict], prefix: str, submitted: MultiDict) -> dict:
    result = {}
    for spec in items:
        if spec.get("readonly") or spec.get("type") == "note":
            continue
        value = _parse(spec, prefix + spec["name"], submitted)
        if value is not None:
            result[spec["name"]] = value
    return result


def _parse(spec: dict, name: str, submitted: MultiDict) -> Any:
    kind = spec.get("type", "str")
    if kind == "object":
        return _parse_fields(spec.get("fields", []), name + ".", submitted) or None
    if kind == "list" and spec.get("fields"):
        rows = [_parse_fields(spec["fields"], f"{name}-{i}-", submitted) for i in submitted_rows(submitted, name)]
        return [row for row in rows if row] or None
    if is_multi_choice(spec):  # checkboxes; one value per line if drawn as a textarea (no choices to show)
        return [line.strip() for value in submitted.getlist(name) for line in value.splitlines() if line.strip()] or None
    raw = submitted.get(name)
    if raw is None:
        return None
    if kind == "list":
        return [line.strip() for line in raw.splitlines() if line.strip()] or None
    if kind == "text":
        return raw if raw.strip() else None
    raw = raw.strip()
    if not raw:
        return None
    if kind == "bool":
        return {"true": True, "false": False}.get(raw, raw)
    return raw
