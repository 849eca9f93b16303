"""What every request's input must be before a view sees it.

JSON bodies are read by ``parse_json``, stricter than Python's ``json``: UTF-8
only, no ``NaN``/``Infinity`` (nor numbers too large for a float, like
``1e400``), integers within 64 bits (-2^63 .. 2^63-1: the database's BIGINT),
nesting at most ``MAX_DEPTH`` deep, and no string (key or value) holding a lone
surrogate (``"\\ud800"``, which no database can store) or a NUL character
(which PostgreSQL refuses in text; refused on SQLite too, so both behave alike).

``refusal_of_request`` applies the NUL rule to the rest of a request: path,
query string, form fields, uploaded file names and credentials (lone surrogates cannot come from a
URL or a form: Werkzeug decodes those with replacement characters).

``WholeNumberConverter`` replaces Flask's ``<int:…>``: a number in a path beyond
``ID_MAX`` (ids and versions are INTEGER columns, 32 bits on PostgreSQL) matches
no route (404) instead of reaching the database.

Each refusal is an ``engine.errors.ValidationError`` (HTTP 400): the request is
malformed, whatever it meant. Data that is well-formed but does not fit (a
form's integer field given ``1.5``) is the forms' 422.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any, Optional

from flask import Request
from werkzeug.routing import IntegerConverter, ValidationError as NoMatch

from engine.errors import ValidationError

MAX_DEPTH = 64
INT_MIN, INT_MAX = -(2 ** 63), 2 ** 63 - 1
ID_MAX = 2 ** 31 - 1  # the largest id or version a row can have (INTEGER columns)
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class WholeNumberConverter(IntegerConverter):
    """``<int:name>``: 0 .. ``ID_MAX``; anything larger is no such resource."""

    # 0 .. 2147483647 (ID_MAX) in the path's pattern: a larger number is no path at all (a 404), not a match of
    # the same path's route for another method (a 405)
    regex = (r"(?:\d{1,9}|[01]\d{9}|20\d{8}|21[0-3]\d{7}|214[0-6]\d{6}|2147[0-3]\d{5}|21474[0-7]\d{4}"
             r"|214748[0-2]\d{3}|2147483[0-5]\d{2}|21474836[0-3]\d|214748364[0-7])")

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", ID_MAX)
        super().__init__(url_map, *args, **kwargs)

    def to_python(self, value: str) -> int:
        if len(value) > 10:
            raise NoMatch()
        return super().to_python(value)


class _Constant:
    """``NaN``, ``Infinity`` or ``-Infinity`` as written in the document; refused where it is found."""

    def __init__(self, name: str):
        self.name = name


def parse_json(raw: bytes) -> Any:
    """The JSON document ``raw`` under the rules above, or ``ValidationError`` naming where it breaks one."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refused("_body", f"The request body is not UTF-8 ({exc.reason} at byte {exc.start}); send JSON in "
                               f"UTF-8.")
    try:
        value = json.loads(text, parse_constant=_Constant)
    except RecursionError:
        raise refused("_body", f"The JSON is nested too deeply; at most {MAX_DEPTH} levels of arrays and objects.")
    except ValueError as exc:
        raise refused("_body", f"The request body is not valid JSON ({exc}); send a JSON object.")
    problem = first_problem(value)
    if problem:
        raise refused(*problem)
    return value


def refused(where: str, message: str) -> ValidationError:
    return ValidationError(message if where == "_body" else f"{message} (at {where})", {where: [message]})


def first_problem(value: Any) -> Optional[tuple[str, str]]:
    """Where and why a parsed document breaks a rule (walked without recursion), or None."""
    pending = [(value, 1, "")]
    while pending:
        item, depth, path = pending.pop()
        where = path or "_body"
        if isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                return where, f"The JSON is nested {depth} levels deep; at most {MAX_DEPTH} levels are accepted."
            for key, child in (item.items() if isinstance(item, dict) else enumerate(item)):
                if isinstance(key, str) and bad_text(key):
                    return where, f"The key {key[:40]!r} {bad_text(key)}."
                inner = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key[:40]}" if path else key[:40]
                pending.append((child, depth + 1, inner))
        else:
            problem = bad_value(item)
            if problem:
                return where, problem
    return None


def bad_value(item: Any) -> Optional[str]:
    """Why a scalar of a document cannot be taken, or None."""
    if isinstance(item, _Constant):
        return f"{item.name} is not a JSON number; send a finite number or null."
    if isinstance(item, float) and not math.isfinite(item):
        return "The number is too large for a double; send a finite number."
    if isinstance(item, int) and not isinstance(item, bool) and not INT_MIN <= item <= INT_MAX:
        shown = str(item) if item.bit_length() < 80 else f"{str(item)[:20]}…"
        return f"The integer {shown} is outside 64 bits (-2^63 .. 2^63-1); send a smaller one or a string."
    if isinstance(item, str) and bad_text(item):
        return f"The text {item[:40]!r} {bad_text(item)}."
    return None


def bad_text(text: str) -> Optional[str]:
    """Why ``text`` cannot be stored (NUL or a lone surrogate), or None."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000); remove it"
    if LONE_SURROGATE.search(text):
        return "contains a lone UTF-16 surrogate (like \\ud800) that is not a character; send valid Unicode"
    return None


def refusal_of_request(request: Request) -> Optional[str]:
    """Why the path, query string, form fields, file names or credentials of ``request`` are refused, or None."""
    places = [("path", [request.path])]
    places.append(("query string", [t for pair in request.args.items(multi=True) for t in pair]))
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        places.append(("form", [t for pair in request.form.items(multi=True) for t in pair]))
        places.append(("file name", [f.filename or "" for _key, f in request.files.items(multi=True)]))
    credentials = request.authorization
    if credentials is not None:
        places.append(("credentials", [credentials.username or "", credentials.password or "",
                                       credentials.token or ""]))
    for where, texts in places:
        for text in texts:
            problem = bad_text(text)
            if problem:
                return f"The {where} {problem}."
    return None
