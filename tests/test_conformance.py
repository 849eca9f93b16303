"""Every public BPMN file of the conformance corpus either deploys or is rejected with problems that
name the file, the element or line, and what to do.

The corpus (139 BPMN files from Camunda, Flowable, the MIWG test suite and others, each under its own
licence) is kept beside the checkout, in ``$LIUCHENG_SHARED/conformance`` or ``../shared/conformance``;
docs/spiffworkflow.md ("Real models from other tools") says what it holds. ``test_corpus_is_present`` fails when it cannot be found.

Of the files meant to run (tests/conformance_report.py), at least as many deploy as docs/conformance.md records:
the figure only goes up (raise it there, with ``python3 tests/conformance_report.py --write``, when it does)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from conformance_report import measure, meant_to_run, recorded_figure
from engine import definitions, runtime
from engine.errors import DefinitionError

SHARED = [Path(os.environ["LIUCHENG_SHARED"])] if os.environ.get("LIUCHENG_SHARED") else []
SHARED += [Path(__file__).resolve().parents[2] / "shared", Path("/work/shared")]  # beside the checkout
CORPUS = next((p / "conformance" / "bpmn" for p in SHARED if (p / "conformance" / "bpmn").is_dir()),
              SHARED[0] / "conformance" / "bpmn")
FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name.lower().endswith((".bpmn", ".bpmn20.xml")))


def test_corpus_is_present():
    assert len(FILES) >= 100, f"expected the conformance corpus at {CORPUS}"


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(CORPUS)) for p in FILES])
def test_file_deploys_or_is_rejected_clearly(path, db_session):
    try:
        deployed = runtime.deploy_paths(db_session, [path])
    except DefinitionError as error:
        problems = error.details["problems"]
        assert problems, "a rejection lists its problems"
        for problem in problems:
            assert problem["file"].endswith(path.name)
            assert problem["line"] or problem["element_id"], problem
            assert "Traceback" not in problem["message"] and len(problem["message"]) > 20
        assert definitions.list_definitions(db_session) == []  # nothing half-deployed
    else:
        assert deployed and all(d.version == 1 for d in deployed)
        again = runtime.deploy_paths(db_session, [path])
        assert [d.created for d in again] == [False] * len(again)


def test_no_fewer_files_meant_to_run_deploy_than_docs_conformance_records(db_session):
    files = meant_to_run(CORPUS)
    results = measure(lambda path: runtime.deploy_paths(db_session, [path]), files)
    deployed = sorted(path.name for path, problems in results.items() if not problems)
    recorded, of = recorded_figure()
    assert len(files) == of, f"the corpus has {len(files)} files meant to run; docs/conformance.md says {of}"
    assert len(deployed) >= recorded, (f"only {len(deployed)} of {of} files meant to run deploy; "
                                       f"docs/conformance.md records {recorded}: {deployed}")
