"""Deployed definitions: checking and storing versions (one per content change), reading them.

A user task goes to (stored per node as ``roles``): its lane when the lane is named after a role, then its
candidate groups; a task with none of these, no assignee and no candidate users goes to the deployment's
default role(s) (``default_role``, ``admin`` unless given), which ``Deployed.defaulted`` reports. Who may
start the process is stored with them (``starters``, ``engine.starters``' rule).

The deployment command (one transaction, then the kept messages it starts) is
``engine.runtime.deployments``; ``Version`` is what running instances need of a version, cached.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Iterable, Optional

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from engine import bpmn, call_activities, clock, forms as form_files, starters, timers, timestamps, variable_catalog
from engine.errors import DefinitionError, NotFoundError
from engine.models import Definition
from engine.statements import Statement
from engine.users import role_ids

BPMN_SUFFIXES = (".bpmn", ".bpmn20.xml", ".bpmn2")


@dataclass
class Deployed:
    process_id: str
    version: int
    created: bool
    source_name: str
    defaulted: list = None  # [{"element_id", "name", "roles"}] of the tasks that went to the default role
    notes: list = None  # [{"file", "line", "element_id", "message"}]: what the designer should know

    def as_dict(self) -> dict:
        result = {"process_id": self.process_id, "version": self.version,
                  "status": "created" if self.created else "unchanged", "file": self.source_name}
        if self.defaulted:  # only when some user task went to the default role
            result["default_role_tasks"] = list(self.defaulted)
        if self.notes:  # only when the designer has something to know
            result["notes"] = list(self.notes)
        return result


DEFAULT_ROLE = "admin"


def default_roles(text: Optional[str]) -> list[str]:
    """The roles of a ``default_role`` option (a comma list); ``admin`` when empty."""
    return [r.strip() for r in (text or DEFAULT_ROLE).split(",") if r.strip()] or [DEFAULT_ROLE]


def assign_roles(elements: dict, roles: set[str], defaults: list[str]) -> tuple[dict, list]:
    """``elements`` with each user task's ``roles`` (lane if a role, then candidate groups, else
    ``defaults`` when it has no assignee nor candidate users either: a lane not named after a role counts
    as no lane) and who may start the process (``starters``), and the defaulted tasks."""
    nodes, defaulted = {}, []
    for node_id, node in elements.get("nodes", {}).items():
        if node.get("type") in ("userTask", "manualTask"):
            node = dict(node)
            lane = node.get("lane")
            groups = ([lane] if lane and lane in roles else []) + list(node.get("candidate_groups") or [])
            if not groups and not (node.get("assignee") or node.get("candidate_users")):
                groups = list(defaults)
                defaulted.append({"element_id": node_id, "name": node.get("name") or "", "roles": groups})
            node["roles"] = list(dict.fromkeys(groups))
        nodes[node_id] = node
    assigned = {**elements, "nodes": nodes}
    return {**assigned, "starters": starters.who_may_start(assigned, roles, defaults)}, defaulted


def collect_files(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """The BPMN files and form files named by ``paths`` (files or directories)."""
    bpmn_files, form_paths = [], []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise DefinitionError(f"{path} does not exist: give a BPMN file, a form file or a directory.",
                                  {"problems": [{"file": str(path), "line": None, "element_id": None,
                                                 "message": "No such file or directory: give an existing BPMN file, form file or directory."}]})
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        for candidate in candidates:
            name = candidate.name.lower()
            if name.endswith(BPMN_SUFFIXES):
                bpmn_files.append(candidate)
            elif name.endswith(form_files.FORM_SUFFIXES) and candidate.is_file():
                form_paths.append(candidate)
    return bpmn_files, form_paths


def store_all(session: Session, documents: dict[str, bytes], forms: dict[str, dict],
              actor: str = "system", default_role: Optional[str] = None) -> list[Deployed]:
    """Check every document, then store the changed processes (in the caller's transaction); tasks
    without lane, assignee or candidates go to ``default_role`` (``admin`` when not given)."""
    known_forms = {**stored_forms(session), **forms}
    roles = role_ids(session)
    defaults = default_roles(default_role)
    unknown = [r for r in defaults if r not in roles]
    if unknown:
        raise DefinitionError(f"Default role '{unknown[0]}' is not a known role: give one of "
                              + ", ".join(sorted(roles)) + " (or add the role first).",
                              {"problems": [{"file": None, "line": None, "element_id": None,
                                             "message": f"Default role '{unknown[0]}' is not a known role."}]})
    models = read_all(documents, known_forms, roles)
    notes = call_activities.check(session, models)
    stored: dict[str, int] = {}  # process id: version, of this deployment (call activities pin them)
    deployed: dict[str, Deployed] = {}
    for model in call_activities.in_call_order(models):
        item = deployed[model.process_id] = store(session, model, known_forms, actor, roles, defaults, stored)
        stored[model.process_id] = item.version
        item.notes = (item.notes or []) + notes.get(model.process_id, [])
    call_activities.check_versions(session, models, stored)
    return [deployed[model.process_id] for model in models]



def versions_of(session: Session, deployed: list[Deployed]) -> list[Version]:
    """The ``Version`` of each deployed process version."""
    versions = []
    for item in deployed:
        row = session.scalar(select(Definition).where(Definition.process_id == item.process_id,
                                                      Definition.version == item.version))
        versions.append(version_of(session, row.id, row.content_hash))
    return versions


_parsed: dict[tuple, list[bpmn.ProcessModel]] = {}


def read_all(documents: dict[str, bytes], forms: dict[str, dict], roles: set[str]) -> list[bpmn.ProcessModel]:
    """Parse and check every document (a document already parsed with the same forms and roles is
    taken from a cache: parsing is the slow part of a deployment)."""
    models, problems, seen = [], [], {}
    context = hashlib.sha256(json.dumps([forms, sorted(roles)], sort_keys=True, ensure_ascii=False,
                                        default=str).encode()).hexdigest()
    for name, content in documents.items():
        key = (name, hashlib.sha256(content).hexdigest(), context)
        try:
            if key not in _parsed:
                _parsed[key] = bpmn.read_document(name, content, forms, roles)
            models += _parsed[key]
        except DefinitionError as exc:
            problems += [bpmn.Problem(**p) for p in exc.details.get("problems", [])]
    for model in models:
        if model.process_id in seen:
            problems.append(bpmn.Problem(model.source_name, None, model.process_id,
                                         f"Process id '{model.process_id}' is also defined in "
                                         f"{seen[model.process_id]}; give each process its own id."))
        seen[model.process_id] = model.source_name
    bpmn.fail(problems)
    return models


def store(session: Session, model: bpmn.ProcessModel, forms: dict[str, dict], actor: str,
          roles: Optional[set[str]] = None, defaults: Optional[list[str]] = None,
          stored: Optional[dict[str, int]] = None) -> Deployed:
    elements, defaulted = assign_roles(model.elements, roles if roles is not None else role_ids(session),
                                       defaults or [DEFAULT_ROLE])
    elements, pins = call_activities.pin(elements, stored or {})  # versions called with binding deployment
    dictionary = dictionary_of(model.process_id, forms)
    used = {**model.forms_used(forms), **dictionary}
    elements, variable_notes = variable_catalog.with_variables(elements, used, model.source_name)
    content_hash = model.content_hash(forms)
    if dictionary:  # another data dictionary is another version
        content_hash = hashlib.sha256((content_hash + json.dumps(dictionary, sort_keys=True, ensure_ascii=False)
                                       ).encode()).hexdigest()
    if pins:  # calling another version is another version
        content_hash = hashlib.sha256((content_hash + json.dumps(pins, sort_keys=True)).encode()).hexdigest()
    by_default = defaulted + ([elements["starters"]] if elements["starters"]["by"] == starters.DEFAULT else [])
    if by_default:  # another default role is another version
        content_hash = hashlib.sha256((content_hash + json.dumps(by_default)).encode()).hexdigest()
    existing = session.scalar(select(Definition).where(Definition.process_id == model.process_id,
                                                       Definition.content_hash == content_hash))
    if existing is not None:
        return Deployed(model.process_id, existing.version, False, model.source_name, defaulted,
                        [n.as_dict() for n in model.notes + variable_notes])
    latest = session.scalar(select(func.max(Definition.version)).where(Definition.process_id == model.process_id))
    definition = Definition(
        process_id=model.process_id, version=(latest or 0) + 1, name=model.name, content_hash=content_hash,
        source_name=Path(model.source_name).name, bpmn_xml=model.xml, spec_json=model.spec_json,
        elements=elements, forms=used,
        start_form=model.start_form, deployed_at=clock.now(), deployed_by=actor,
        history_ttl_days=model.history_ttl_days)
    session.add(definition)
    session.flush()
    timers.schedule_start_timers(session, definition.id, definition.process_id, definition.elements)
    return Deployed(model.process_id, definition.version, True, model.source_name, defaulted,
                    [n.as_dict() for n in model.notes + variable_notes])


def dictionary_of(process_id: str, forms: dict[str, dict]) -> dict[str, dict]:
    """The process's data dictionary among the known forms (``{key: dictionary}``), else ``{}``."""
    key = form_files.dictionary_key(process_id)
    return {key: forms[key]} if key in forms else {}


def stored_forms(session: Session) -> dict[str, dict]:
    """Forms of the deployed definitions, newest version winning."""
    result: dict[str, dict] = {}
    for stored in session.scalars(select(Definition.forms).order_by(Definition.id)):
        result.update(stored or {})
    return result


def find_definition(session: Session, process_id: str, version: Optional[int] = None) -> Optional[Definition]:
    query = select(Definition).where(Definition.process_id == process_id)
    if version is not None:
        query = query.where(Definition.version == version)
    return session.scalar(query.order_by(Definition.version.desc()).limit(1))


def get_definition(session: Session, process_id: str, version: Optional[int] = None) -> Definition:
    definition = find_definition(session, process_id, version)
    if definition is None:
        which = f"version {version} of " if version is not None else ""
        raise NotFoundError(f"No {which}process '{process_id}' is deployed; deploy it with `liucheng deploy`.")
    return definition


def list_definitions(session: Session, latest_only: bool = False) -> list[Definition]:
    rows = list(session.scalars(select(Definition).order_by(Definition.process_id, Definition.version.desc())))
    if latest_only:
        seen, latest = set(), []
        for row in rows:
            if row.process_id not in seen:
                seen.add(row.process_id)
                latest.append(row)
        return latest
    return rows


@dataclass(frozen=True)
class Version:
    """What running instances need of a deployed version; immutable, so cached per process."""

    id: int
    process_id: str
    version: int
    content_hash: str
    elements: dict
    forms: dict
    start_form: Optional[str]
    spec_json: str

    def form(self, key: Optional[str]) -> Optional[dict]:
        return self.forms.get(key) if key else None

    @cached_property
    def has_timers(self) -> bool:
        return any(n.get("timers") for n in self.elements.get("nodes", {}).values())

    @cached_property
    def has_messages(self) -> bool:
        return any(n.get("messages") or n.get("type") == "receiveTask"
                   for n in self.elements.get("nodes", {}).values())

    @cached_property
    def outgoing(self) -> dict[str, dict[str, dict]]:
        """Sequence flows by source element: {source: {flow id: flow}}."""
        found: dict[str, dict[str, dict]] = {}
        for flow_id, flow in self.elements.get("flows", {}).items():
            found.setdefault(flow["source"], {})[flow_id] = flow
        return found


_versions: dict[str, Version] = {}
_DEFS = Definition.__table__


_LATEST = Statement(select(_DEFS.c.id, _DEFS.c.content_hash).where(_DEFS.c.process_id == bindparam("pid"))
                    .order_by(_DEFS.c.version.desc()).limit(1))
_GIVEN = Statement(select(_DEFS.c.id, _DEFS.c.content_hash).where(_DEFS.c.process_id == bindparam("pid"),
                                                                 _DEFS.c.version == bindparam("version")))


def current_version(session: Session, process_id: str, version: Optional[int] = None) -> Version:
    """The latest (or the given) deployed version of ``process_id``."""
    if version is None:
        found = _LATEST.first(session, {"pid": process_id})
    else:
        found = _GIVEN.first(session, {"pid": process_id, "version": version})
    if found is None:
        which = f"version {version} of " if version is not None else ""
        raise NotFoundError(f"No {which}process '{process_id}' is deployed; deploy it with `liucheng deploy`.")
    return version_of(session, found.id, found.content_hash)


def version_of(session: Session, definition_id: int, content_hash: str) -> Version:
    """The cached ``Version`` of a definition row (keyed by content, valid across databases)."""
    key = f"{content_hash}:{definition_id}"
    cached = _versions.get(key)
    if cached is None:
        row = session.get(Definition, definition_id)
        if row is None:
            raise NotFoundError(f"Definition {definition_id} does not exist.")
        cached = Version(row.id, row.process_id, row.version, row.content_hash, row.elements, row.forms,
                         row.start_form, row.spec_json)
        _versions[key] = cached
    return cached


def version_by_id(session: Session, definition_id: int) -> Version:
    """The cached ``Version`` of the definition with id ``definition_id``."""
    row = session.get(Definition, definition_id)
    if row is None:
        raise NotFoundError(f"Definition {definition_id} does not exist.")
    return version_of(session, row.id, row.content_hash)


def as_dict(definition: Definition) -> dict:
    return {"id": definition.id, "process_id": definition.process_id, "version": definition.version,
            "name": definition.name, "content_hash": definition.content_hash, "file": definition.source_name,
            "deployed_at": timestamps.iso(definition.deployed_at), "deployed_by": definition.deployed_by,
            "start_form": form_files.describe(definition.forms.get(definition.start_form))
            if definition.start_form else None}
