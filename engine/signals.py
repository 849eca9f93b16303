"""Signals (there are no signal rows): checking one sent from outside, which running instances may wait for
one and which processes one starts, read from the deployed models, and its history events.

Signals are broadcasts (Camunda 7's ``signalEventReceived``, REST ``POST /signal``): every waiting
signal catch event of every running instance takes one, and every (latest) process with a top-level
signal start event of that name starts. Unlike messages a signal is never kept: one that nobody
waits for is gone. The command is ``engine.runtime.deliveries.broadcast_signal`` (one command, one
transaction, including the instances a thrown signal reaches). Who may send one is the messages'
rule (``engine.message_rules.check_may_send``: integrators and admins, and the engine itself).

No subscription rows: the running instances of the versions whose model names the signal are
read (``candidates``, without locking them); the command asks each whether it waits now and locks
only those that do. History: ``signal_received`` (an instance caught one) and ``signal_sent`` (an
instance threw one, with the instances it reached).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import definitions, forms, history, spiff
from engine.errors import ValidationError
from engine.models import Instance, InstanceStatus


def checked(name: Any, variables: Any) -> tuple[str, dict]:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("A signal needs a 'name'.", {"name": ["Required."]})
    if variables is not None and not isinstance(variables, dict):
        raise ValidationError("'variables' must be an object such as {\"reason\": \"recall\"}.",
                              {"variables": ["Not an object."]})
    forms.refuse_unstorable(variables or {}, "variables")
    return name.strip(), dict(variables or {})


def candidates(session: Session, name: str) -> list[int]:
    """Running instances (oldest first) of the versions whose model names signal ``name``."""
    rows = session.execute(select(Instance.id, Instance.definition_id)
                           .where(Instance.status == InstanceStatus.RUNNING).order_by(Instance.id)).all()
    naming: dict[int, bool] = {}
    found = []
    for instance_id, definition_id in rows:
        if definition_id not in naming:
            version = definitions.version_by_id(session, definition_id)
            naming[definition_id] = name in spiff.signal_names(version.spec_json)
        if naming[definition_id]:
            found.append(instance_id)
    return found


def starts(session: Session, name: str) -> list[tuple[definitions.Version, str]]:
    """(latest version, start event id) of every process a signal ``name`` starts."""
    found = []
    for row in definitions.list_definitions(session, latest_only=True):
        version = definitions.version_of(session, row.id, row.content_hash)
        element_id = spiff.signal_starts(version.spec_json).get(name)
        if element_id is not None:
            found.append((version, element_id))
    return found


def record_received(session: Session, instance_id: int, name: str, variables: dict, actor: str) -> None:
    """History of a signal an instance caught."""
    history.record(session, instance_id, "signal_received", actor, data={"name": name, "data": variables})


def record_thrown(session: Session, instance_id: int, name: str, variables: dict, reached: list[int]) -> None:
    """History of a signal an instance threw, with the instances it reached."""
    history.record(session, instance_id, "signal_sent", "system",
                   data={"name": name, "payload": variables, "instance_ids": reached})
