"""Call activities across files and deployments: which deployed version a call activity calls.

``calledElement`` names a process of the same file (parsed into the caller's own spec, as before) or of
another file: one deployed together with the caller or earlier. Which version, as Camunda 7's
``camunda:calledElementBinding`` says:

* ``latest`` (the default): the latest version deployed **when the call activity starts**. A process
  neither in the deployment nor deployed yet does not refuse the caller: the deploy reply notes it, and
  an instance that reaches the call activity before it is deployed stops there with an incident (retry
  it once the process is deployed).
* ``deployment`` (also ``flowable:sameDeployment="true"``): the version deployed together with the
  caller; the process must be in the same deployment. The caller's stored elements pin that version
  (``pin``), and a new version of the called process makes a new version of the caller.
* ``version`` with ``camunda:calledElementVersion``: that version, which must be deployed (or be the one
  this deployment creates).

An instance keeps what it bound: the SpiffWorkflow adapter records, in the instance's state, the version
each called process was bound to when first called (``spiff.called_bindings``), and a restored instance
runs those versions. The called process runs inside the caller's instance (its tasks, timers and messages
are the caller's, under the caller's business key); ``merged`` is the caller's version seen with the
elements and forms of the versions it calls, for the rows (worklist, timers, forms).
"""
from __future__ import annotations

import dataclasses
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import bpmn
from engine.models import Definition

BINDINGS = ("latest", "deployment", "version")


def external_calls(elements: dict) -> list[tuple[str, dict, dict]]:
    """(element id, node, call) of each call activity of ``elements`` calling a process of another file."""
    return [(node_id, node, node["call"]) for node_id, node in elements.get("nodes", {}).items()
            if node.get("call") and not node["call"].get("local") and node["call"].get("process_id")]


def _deployed_versions(session: Session, process_id: str) -> set[int]:
    return set(session.scalars(select(Definition.version).where(Definition.process_id == process_id)))


def check(session: Session, models: list) -> dict[str, list[dict]]:
    """Refuse (located) a call that cannot be bound as written; returns the notes per process id for a
    ``latest`` call of a process neither in this deployment nor deployed."""
    here = {model.process_id for model in models}
    problems, notes = [], {}
    for model in models:
        for node_id, node, call in external_calls(model.elements):
            called, where = call["process_id"], (model.source_name, node.get("line"), node_id)
            deployed = _deployed_versions(session, called)
            if call["binding"] == "deployment" and called not in here:
                problems.append(bpmn.Problem(*where, f"This call activity calls process '{called}' of its own "
                                             "deployment (binding deployment), but no file of this deployment "
                                             f"holds it: deploy the file of '{called}' together with this one, "
                                             "or use the binding latest."))
            elif call["binding"] == "version" and call["version"] not in deployed and called not in here:
                have = ", ".join(str(v) for v in sorted(deployed)) or "none"
                problems.append(bpmn.Problem(*where, f"This call activity calls version {call['version']} of "
                                             f"process '{called}', which is not deployed (deployed versions: "
                                             f"{have}): correct calledElementVersion or deploy that process."))
            elif call["binding"] == "latest" and called not in here and not deployed:
                notes.setdefault(model.process_id, []).append(bpmn.Note(
                    *where, f"Process '{called}', which this call activity calls, is neither in this deployment "
                    "nor deployed yet: deploy it before an instance reaches this call activity (an instance that "
                    "gets there first stops with an incident, to retry once it is deployed).").as_dict())
    bpmn.fail(problems)
    return notes


def in_call_order(models: list) -> list:
    """``models`` with each process a ``deployment`` binding calls stored before its callers."""
    by_id = {model.process_id: model for model in models}
    ordered, seen = [], set()

    def visit(model, path: frozenset) -> None:
        if model.process_id in seen or model.process_id in path:
            return
        for _, _, call in external_calls(model.elements):
            if call["binding"] == "deployment" and call["process_id"] in by_id:
                visit(by_id[call["process_id"]], path | {model.process_id})
        seen.add(model.process_id)
        ordered.append(model)

    for model in models:
        visit(model, frozenset())
    return ordered


def pin(elements: dict, stored: dict[str, int]) -> tuple[dict, dict[str, int]]:
    """``elements`` with each ``deployment`` call pinned to the version stored in this deployment
    (``stored``: {process id: version}), and the pins (they are part of the version's content)."""
    pins = {node_id: stored[call["process_id"]] for node_id, _, call in external_calls(elements)
            if call["binding"] == "deployment" and call["process_id"] in stored}
    if not pins:
        return elements, {}
    nodes = dict(elements["nodes"])
    for node_id, version in pins.items():
        nodes[node_id] = {**nodes[node_id], "call": {**nodes[node_id]["call"], "version": version}}
    return {**elements, "nodes": nodes}, pins


def check_versions(session: Session, models: list, stored: dict[str, int]) -> None:
    """After storing: a ``version`` call of a process of this deployment names a version that exists."""
    problems = []
    for model in models:
        for node_id, node, call in external_calls(model.elements):
            if call["binding"] == "version" and call["process_id"] in stored \
                    and call["version"] not in _deployed_versions(session, call["process_id"]):
                problems.append(bpmn.Problem(model.source_name, node.get("line"), node_id,
                                             f"This call activity calls version {call['version']} of process "
                                             f"'{call['process_id']}', which this deployment makes version "
                                             f"{stored[call['process_id']]}: correct calledElementVersion."))
    bpmn.fail(problems)


def pinned_version(elements: dict, process_id: str) -> Optional[int]:
    """The version a call activity of ``elements`` binds ``process_id`` to (None: the latest)."""
    for _, _, call in external_calls(elements):
        if call["process_id"] == process_id and call["binding"] in ("deployment", "version"):
            return call.get("version")
    return None


_merged: dict[tuple, object] = {}


def merged(version, called: list):
    """``version`` (a ``definitions.Version``) seen with the elements and forms of the ``called``
    versions (its own win where ids meet); cached per combination."""
    if not called:
        return version
    key = (version.id, version.content_hash, tuple(sorted((c.id, c.content_hash) for c in called)))
    found = _merged.get(key)
    if found is None:
        nodes, flows, forms = {}, {}, {}
        for other in called:
            nodes.update({node_id: {**node, "in_subprocess": True}
                          for node_id, node in other.elements.get("nodes", {}).items()})
            flows.update(other.elements.get("flows", {}))
            forms.update(other.forms or {})
        nodes.update(version.elements.get("nodes", {}))
        flows.update(version.elements.get("flows", {}))
        elements = {**version.elements, "nodes": nodes, "flows": flows}
        found = _merged[key] = dataclasses.replace(version, elements=elements, forms={**forms, **version.forms})
    return found
