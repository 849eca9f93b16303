"""How many files of the conformance corpus that are meant to run deploy today, and why the others are
refused: ``python3 tests/conformance_report.py`` prints the table that docs/conformance.md holds
(``--write`` rewrites docs/conformance.md with it).

"Meant to run" is the corpus's own definition (PARSE_RESULTS.md in the corpus): the BPMN files with at
least one ``<process isExecutable="true">`` (80 files). Each is deployed alone, with the engine's standard
roles and no forms, as ``liucheng deploy <file>`` would; a refused file is grouped by the kind of its
first problem (``kind``). tests/test_conformance.py uses ``meant_to_run``, ``measure`` and
``recorded_figure`` to check that the figure only goes up.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Callable

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine import runtime, users  # noqa: E402
from engine.database import Database  # noqa: E402
from engine.errors import DefinitionError  # noqa: E402

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
DOC = ROOT / "docs" / "conformance.md"
SHARED = [Path(os.environ["LIUCHENG_SHARED"])] if os.environ.get("LIUCHENG_SHARED") else []
SHARED += [ROOT.parent / "shared", Path("/work/shared")]  # beside the checkout
CORPUS = next((p / "conformance" / "bpmn" for p in SHARED if (p / "conformance" / "bpmn").is_dir()),
              SHARED[0] / "conformance" / "bpmn")
FIGURE = re.compile(r"\*\*(\d+) of (\d+)\*\* files meant to run deploy")

# (kind, pattern of the problem message), first match wins
KINDS = [
    ("condition in FEEL, XPath or prose (not executable in Camunda 7 either)", r"not executable in Camunda 7"),
    ("Java code (class, delegate expression or a bean's method)", r"names Java code|of the Java bean"),
    ("DMN decision (business rule task)", r"DMN decision"),
    ("compensation (SpiffWorkflow cannot)", r"does not support compensation"),
    ("call activity naming no process", r"call activity names no process"),
    ("multi-instance without collection or cardinality", r"multi-instance activity says neither"),
    ("timer without a time (Camunda refuses too)", r"timer says neither when"),
    ("repeated id (Camunda refuses too)", r"is used twice"),
    ("service of another engine or Camunda Connect", r"service of another engine|Camunda Connect"),
    ("camunda:script parameter", r"is a camunda:script"),
    ("user task in no lane", r"is in no lane"),
    ("lane not named after a role", r"is not a known role"),
    ("service task without a Liucheng connector", r"must name a connector|serviceTaskOperator|Unknown connector"),
    ("JUEL outside the subset Liucheng translates", r"outside the JUEL subset"),
    ("call activity calls a process in another file", r"which is not in this file"),
    ("embedded: HTML form", r"embedded:"),
    ("form key without forms/<key>.json", r"^Form '.*' does not exist"),
    ("script format other than Python", r"^Script format"),
    ("script or expression outside the sandbox", r"is not allowed|not a valid expression"),
    ("timer neither ISO-8601 nor Python", r"^Timer |Empty time"),
    ("empty condition", r"^Empty conditionExpression"),
    ("message catch event without declared variables", r"inputOutput|declares"),
    ("SpiffWorkflow cannot read the model", r"SpiffWorkflow cannot read"),
    ("task with several outgoing flows (SpiffWorkflow)", r"Multiple outgoing flows"),
    ("(sub)process without a start event (SpiffWorkflow)", r"No start event"),
    ("BPMN schema (XSD) violation", r"XSD|validate against the BPMN 2.0 schema"),
]


def all_files(corpus: Path = CORPUS) -> list[Path]:
    return sorted(p for p in corpus.rglob("*") if p.is_file() and p.name.lower().endswith((".bpmn", ".bpmn20.xml")))


def meant_to_run(corpus: Path = CORPUS) -> list[Path]:
    """The corpus files with at least one process marked isExecutable="true"."""
    chosen = []
    for path in all_files(corpus):
        try:
            root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
        except etree.XMLSyntaxError:
            continue
        if any(p.get("isExecutable", "").strip().lower() == "true" for p in root.iter(BPMN + "process")):
            chosen.append(path)
    return chosen


def kind(message: str) -> str:
    """The group a deploy problem belongs to (its message's first matching pattern)."""
    for name, pattern in KINDS:
        if re.search(pattern, message):
            return name
    return "other: " + message[:70]


def measure(deploy: Callable[[Path], object], files: list[Path]) -> dict[Path, list[dict]]:
    """``{file: problems}`` for each file (``[]`` when it deployed); ``deploy(path)`` deploys one file."""
    results = {}
    for path in files:
        try:
            deploy(path)
            results[path] = []
        except DefinitionError as error:
            results[path] = error.details.get("problems") or [{"message": str(error)}]
    return results


def recorded_figure(doc: Path = DOC) -> tuple[int, int]:
    """(deploying, meant to run) as docs/conformance.md records them."""
    found = FIGURE.search(doc.read_text(encoding="utf-8"))
    if not found:
        raise ValueError(f"{doc} does not give the figure as '**N of M** files meant to run deploy'")
    return int(found.group(1)), int(found.group(2))


def table(results: dict[Path, list[dict]], corpus: Path = CORPUS) -> str:
    """The markdown that docs/conformance.md holds between its markers."""
    deployed = sorted(str(p.relative_to(corpus)) for p, problems in results.items() if not problems)
    refused = {p: problems for p, problems in results.items() if problems}
    first = Counter(kind(problems[0]["message"]) for problems in refused.values())
    anywhere = Counter(k for problems in refused.values() for k in {kind(q["message"]) for q in problems})
    lines = [f"**{len(deployed)} of {len(results)}** files meant to run deploy today; "
             f"{len(refused)} are refused.", "",
             "| first problem of a refused file | files (first problem) | files with such a problem |",
             "|---|---:|---:|"]
    for name, count in sorted(first.items(), key=lambda item: (-item[1], item[0])):
        lines.append(f"| {name} | {count} | {anywhere[name]} |")
    for name, count in sorted(anywhere.items(), key=lambda item: (-item[1], item[0])):
        if name not in first:
            lines.append(f"| {name} | 0 | {count} |")
    lines += ["", "Deploying: " + (", ".join(f"`{name}`" for name in deployed) or "none") + ".", "",
              "| refused file | first problem |", "|---|---|"]
    for path, problems in sorted(refused.items()):
        message = problems[0]["message"].replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `{path.relative_to(corpus)}` | {message[:160]}{'…' if len(message) > 160 else ''} |")
    return "\n".join(lines) + "\n"


def deploy_each(files: list[Path]) -> dict[Path, list[dict]]:
    """Deploy every file alone into a fresh SQLite database with the standard roles."""
    runtime.start_engine()
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{folder}/conformance.db")
        database.upgrade()
        with database.session() as session:
            users.ensure_roles(session)
            session.commit()
            results = measure(lambda path: runtime.deploy_paths(session, [path]), files)
        database.dispose()
    return results


START, END = "<!-- conformance table: python3 tests/conformance_report.py --write -->", "<!-- end of table -->"


def main(argv: list[str]) -> int:
    text = table(deploy_each(meant_to_run()))
    if "--write" in argv:
        doc = DOC.read_text(encoding="utf-8")
        head, rest = doc.split(START, 1)
        DOC.write_text(head + START + "\n" + text + END + rest.split(END, 1)[1], encoding="utf-8")
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
