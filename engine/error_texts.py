"""The engine's refusals and deploy problems in the reader's language: a catalogue of English message
templates with their Chinese, and ``translate``.

The engine raises English (``engine.errors``; logs, the CLI and the API by default keep it); the pages,
and the API when asked (``Accept-Language: zh``), show ``translate(message, "zh")``. A template's
``{name}`` matches any text and is copied untranslated (ids, file names, variables, code); ``{w_name}``
is an English word the ``WORDS`` map translates (a status); ``{m_name}`` is an embedded message,
translated in turn; ``{q_name}`` is a quoted text (a script's source as Python writes it). A message
is translated sentence by sentence, so a template may cover one sentence or several; a deploy refusal
``Cannot deploy: file:line [element]: message; …`` keeps each location and translates each problem. A
sentence no template knows stays English (nothing is lost, nothing guessed).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Optional

from engine.problem_texts import PROBLEMS
from engine.refusal_texts import REFUSALS, WORDS

DEPLOY_PREFIX = "Cannot deploy: "
LOCATION = re.compile(r"(?P<where>[^\s;:]+(?::\d+)?(?: \[[^\]]+\])?): ")
MORE = re.compile(r" \(and (?P<count>\d+) more\)$")
PLACEHOLDER = re.compile(r"\{(?P<name>[a-z_0-9]+)\}")
SENTENCE_END = re.compile(r"(?<=[.;:!?])\s+")
ENGLISH_WORDS = re.compile(r"[A-Za-z]{2,} [A-Za-z]{2,}")
PUNCTUATION = {";": "；", ".": "。", ":": "："}  # between translated sentences


def translate(message: Optional[str], lang: Optional[str]) -> str:
    """``message`` in ``lang`` (``zh…``: Chinese; anything else: unchanged English)."""
    if not message or not str(lang or "").lower().startswith("zh"):
        return message or ""
    if message.startswith(DEPLOY_PREFIX):
        problems, more = _problems(message[len(DEPLOY_PREFIX):])
        tail = f"（另有 {more} 处）" if more else ""
        return "无法部署：" + "；".join((f"{where}：" if where else "") + _text(body) for where, body in problems) + tail
    return _text(message)


def untranslated(message: str) -> list[str]:
    """The English sentences of ``message`` no template knows (what a test of the catalogue looks for); a
    piece without two English words in a row (an id, a number, code) is not a sentence."""
    bodies = [body for _, body in _problems(message[len(DEPLOY_PREFIX):])[0]] \
        if message.startswith(DEPLOY_PREFIX) else [message]
    return [piece for body in bodies for piece, known in _pieces(body) if not known and ENGLISH_WORDS.search(piece)]


# -- located problems (deploy refusals) -----------------------------------------------------------

def _problems(text: str) -> tuple[list[tuple[str, str]], Optional[str]]:
    """The (location, message) of each problem of a deploy refusal, and how many more it did not list."""
    more = MORE.search(text)
    rest = text[:more.start()] if more else text
    problems = []
    while rest:
        found = LOCATION.match(rest)
        where = found.group("where") if found else ""
        rest = rest[found.end():] if found else rest
        body, rest = _until_next_location(rest)
        problems.append((where, body))
    return problems, more.group("count") if more else None


def _until_next_location(text: str) -> tuple[str, str]:
    """The problem at the start of ``text`` and what follows its ``; `` before the next location."""
    for cut in re.finditer(r"; ", text):
        if LOCATION.match(text, cut.end()) and not _unfinished(text[:cut.start()]):
            return text[:cut.start()], text[cut.end():]
    return text, ""


def _unfinished(problem: str) -> bool:
    """Whether ``problem`` is an unfinished sentence (a location-like text inside a message)."""
    return problem.count("'") % 2 == 1 or problem.count('"') % 2 == 1


# -- sentences -----------------------------------------------------------------------------------

def _text(text: str) -> str:
    return "".join(known or PUNCTUATION.get(piece.strip(), piece) for piece, known in _pieces(text))


def _pieces(text: str) -> list[tuple[str, str]]:
    """``text`` cut into (English, Chinese or ``""``) pieces: the longest template matching at each point,
    else the English up to the end of its sentence."""
    pieces, rest = [], text.strip()
    while rest:
        match = _longest_match(rest)
        if match is None:
            cut = SENTENCE_END.search(rest)
            piece, rest = (rest[:cut.start()], rest[cut.end():]) if cut else (rest, "")
            pieces.append((piece + (" " if rest else ""), ""))
            continue
        template, found = match
        pieces.append((found.group(0), _fill(template, found)))
        rest = rest[found.end():].lstrip()
    return pieces


def _longest_match(text: str):
    best = None
    for pattern, template in _compiled():
        found = pattern.match(text)
        if found and (best is None or found.end() > best[1].end()):
            best = (template, found)
    return best


def _fill(template: str, found: re.Match) -> str:
    values = {}
    for name, value in found.groupdict().items():
        if name.startswith("w_"):
            values[name] = WORDS.get(value, value)
        elif name.startswith("m_"):
            values[name] = _text(value).rstrip("。") if value else value
        else:
            values[name] = value
    return PLACEHOLDER.sub(lambda m: values.get(m.group("name"), m.group(0)), template)


@lru_cache(maxsize=1)
def _compiled() -> list[tuple[re.Pattern, str]]:
    return [(_pattern(english), chinese) for english, chinese in REFUSALS + PROBLEMS]


def _pattern(english: str) -> re.Pattern:
    """A template's regular expression: its text literally (its final full stop optional: an embedded
    message may lack it), each ``{name}`` any text (to the end when the template ends with it, or an
    ``m_`` one with a full stop), ending where a word ends."""
    parts, position, names = [], 0, set()
    for found in PLACEHOLDER.finditer(english):
        parts.append(re.escape(english[position:found.start()]))
        name = found.group("name")
        after = english[found.end():]
        at_end = after == "" or (name.startswith("m_") and after in (".", ".)"))  # a message: to its last stop
        in_juel = english[:found.start()].endswith("$")  # ${name}: one JUEL expression
        parts.append(f"(?P={name})" if name in names else f"(?P<{name}>{_any(name, at_end, in_juel)})")
        names.add(name)
        position = found.end()
    tail = english[position:]
    ends = tail.endswith(".")  # a full stop ends a sentence, or is missing where an embedded message ends
    parts.append(re.escape(tail[:-1]) + r"(?:\.(?=\s|$)|$)" if ends else re.escape(tail))
    return re.compile("".join(parts) + r"(?![A-Za-z0-9])", re.DOTALL)


def _any(name: str, at_end: bool, in_juel: bool = False) -> str:
    """What a placeholder matches: one of the known words for ``w_``, a ``{…}`` after ``$``, else any text
    (to the end if last)."""
    if in_juel:
        return r"\{[^}]*\}"
    if name.startswith("q_"):
        return r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
    if name.startswith("w_"):
        return "|".join(re.escape(word) for word in sorted(WORDS, key=len, reverse=True))
    return ".+" if at_end else ".+?"
