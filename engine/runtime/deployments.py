"""Deploying definitions: all or nothing, one version per content change, then the kept messages.

The checks and rows are ``engine.definitions`` (parse, check, store a version, schedule its timer
start events); this command adds what a deployment starts: processes deployed after messages for
their message start events were kept start with them now, oldest message first, as they would
have had they been deployed when the messages arrived. Each new version is a ``deploy`` operation in
the history, in the deployment's transaction (entity ``definition``, id ``<process_id>:<version>``, by
the deploying user, ``cli:<os user>`` or ``system``); a file deployed again unchanged creates no version
and records nothing.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

from sqlalchemy.orm import Session

from engine import database, definitions, forms, history, message_rules, messages, users
from engine.database import command
from engine.errors import DefinitionError
from engine.models import Message
from engine.runtime import deliveries, starts, workflows


def deploy_paths(session: Session, paths: Iterable[Path], actor: str = "system",
                 default_role: Optional[str] = None) -> list[definitions.Deployed]:
    """Deploy the BPMN and form files named by ``paths`` (files or directories); user tasks with no
    lane, assignee or candidates go to ``default_role`` (a comma list of roles, ``admin`` if None)."""
    bpmn_files, form_paths = definitions.collect_files(paths)
    if not bpmn_files:
        raise DefinitionError("No BPMN file found: give .bpmn files or a directory holding them.",
                              {"problems": []})
    documents = {str(p): p.read_bytes() for p in bpmn_files}
    return deploy_definitions(session, documents, forms.load_forms(form_paths), actor, default_role)


def deploy_definitions(session: Session, documents: dict[str, bytes], forms_: dict[str, dict],
                       actor: str = "system", default_role: Optional[str] = None) -> list[definitions.Deployed]:
    """Check every document, then store the changed processes in one transaction."""
    with command(session):
        results = definitions.store_all(session, documents, forms_, actor, default_role)
        created = [r for r in results if r.created]
        versions = definitions.versions_of(session, created)
        record_deploys(session, actor, created, versions)
        start_kept(session, versions)
    return results


def record_deploys(session: Session, actor: str, created: list[definitions.Deployed],
                   versions: list[definitions.Version]) -> None:
    """A ``deploy`` operation per new version (``created`` and their ``versions``, in the same order)."""
    for item, version in zip(created, versions):
        history.record_operation(
            session, actor, "deploy", "definition", f"{version.process_id}:{version.version}",
            new={"process_id": version.process_id, "version": version.version,
                 "content_hash": version.content_hash, "source_name": Path(item.source_name).name})


def start_kept(session: Session, versions: list[definitions.Version]) -> list[int]:
    """New versions with message start events start with the messages kept for them (a message
    starts every such process). A message whose start fails stays kept; the deployment goes on."""
    targets = [(version, messages.message_starts(version)) for version in versions]
    names = sorted({name for _, by_name in targets for name in by_name})
    if not names:
        return []
    database.serialize(session, "message-starts")  # a message arriving meanwhile waits, then sees the versions
    messages.expire_old(session)
    started = []
    for message in messages.kept_by_name(session, names):
        started += _start_from_kept(session, message, [(v, by_name[message.name])
                                                       for v, by_name in targets if message.name in by_name])
    return started


def _start_from_kept(session: Session, message: Message, targets: list) -> list[int]:
    """Start each target with one kept message, in a savepoint: if any start fails, none is kept."""
    sender = starts.system_actor() if message.sender == "system" else users.find_user(session, message.sender)
    if sender is None or not (message_rules.is_engine(sender) or sender.active):
        return []  # a removed or disabled sender starts nothing: the message stays kept
    data = {**(message.correlation or {}), **(message.data or {})}
    undo = history.queue_mark(session), workflows.pending_mark(session)
    try:
        with session.begin_nested():
            if not messages.take_for_start(session, message):  # an instance took it meanwhile
                return []
            instance_ids = []
            for version, element_id in targets:  # each settled before the next starts
                instance_id, advanced = deliveries.start_with(session, version, element_id, message.name, data,
                                                              sender, message.message_id)
                deliveries.settle(session, instance_id, advanced)
                instance_ids.append(instance_id)
            messages.set_instances(session, message, instance_ids)
    except Exception:  # noqa: BLE001 - this message stays kept (a later deployment or instance may take it)
        history.queue_reset(session, undo[0])
        workflows.pending_reset(session, undo[1])
        return []
    return instance_ids
