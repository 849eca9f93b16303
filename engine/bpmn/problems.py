"""What a check of a BPMN document finds: a ``Problem`` refuses the document, a ``Note`` only informs,
each located (file, line, element) and saying what to do; ``fail`` raises the problems together as one
``DefinitionError``, ``split_notes`` tells the two apart.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from engine.errors import DefinitionError


@dataclass
class Problem:
    file: str
    line: Optional[int]
    element_id: Optional[str]
    message: str

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "element_id": self.element_id, "message": self.message}

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        what = f" [{self.element_id}]" if self.element_id else ""
        return f"{where}{what}: {self.message}"


class Note(Problem):
    """A finding that does not stop the deployment: something of the model is ignored or taken in a way
    the designer should know (a data store, a form that is not deployed…). The deploy reply lists them
    under ``notes``; a check returns notes among its problems and ``split_notes`` tells them apart."""


def split_notes(found: list[Problem]) -> tuple[list[Problem], list[Note]]:
    """The problems that refuse the document, and the notes that only inform."""
    return [p for p in found if not isinstance(p, Note)], [p for p in found if isinstance(p, Note)]


def fail(problems: list[Problem]) -> None:
    """Raise the problems that refuse the document (notes aside) as one ``DefinitionError`` whose
    ``details["problems"]`` lists them all, its message the first five."""
    problems = [p for p in problems if not isinstance(p, Note)]
    if problems:
        summary = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise DefinitionError(f"Cannot deploy: {summary}{more}",
                              {"problems": [p.as_dict() for p in problems]})
