"""Delivering messages: receiving one from outside, delivering it to the instances waiting for it
or starting the processes it starts, and delivering what instances throw, until all is at rest.

Who may send a message and what it may set are the rules of ``engine.message_rules``; the rows
(stored messages, kept ones, subscriptions) are ``engine.messages``. Messages thrown by send
tasks and throw events are received as from the trusted sender ``system``; ``settle`` delivers
them in a loop, depth first: the messages an instance threw while taking one message are
delivered before the next message thrown before it.
"""
from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, Optional

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import clock, database, definitions, forms, history, message_rules, messages, spiff
from engine.database import command
from engine.errors import EngineError, PermissionDeniedError
from engine.models import InstanceStatus, Message, MessageStatus, User
from engine.runtime import starts, steps, workflows
from engine.runtime.steps import Advanced

MAX_CHAIN = 200  # messages thrown in answer to thrown messages, at most, in one command
Produced = list[tuple[int, Advanced]]  # (instance id, what advancing it did) in the order it happened
SEND, SENT, COMPLETION = "send", "sent", "completion"  # the kinds of work settling does


def receive_message(session: Session, name: str, correlation: Any, data: Any, message_id: Optional[str],
                    sender: User, keep_for: Optional[timedelta] = None) -> dict:
    """Deliver, start or keep one message; the reply says which happened."""
    message_rules.check_may_send(sender)
    name, correlation, data = messages.checked(name, correlation, data)
    message_id = str(message_id) if message_id else uuid.uuid4().hex
    with command(session):
        reply, produced = receive(session, name, correlation, data, message_id, sender, keep_for)
        settle_all(session, produced)
        return reply


def receive(session: Session, name: str, correlation: dict, data: dict, message_id: str, sender: User,
            keep_for: Optional[timedelta] = None) -> tuple[dict, Produced]:
    """``receive_message`` inside the open command: the reply, and what the instances it reached
    or started did (for the caller to settle)."""
    now = clock.now()
    record = Message(message_id=message_id, name=name, correlation=forms.to_json(correlation),
                     data=forms.to_json(data), status=MessageStatus.RECEIVING, instance_ids=[], received_at=now,
                     sender=sender.username)
    try:
        with session.begin_nested():  # the unique message_id: a concurrent twin waits here, then fails
            session.add(record)
    except IntegrityError:
        return messages.duplicate(session, messages.stored(session, sender, message_id), message_id, sender), []
    messages.expire_old(session)
    instance_ids, status, produced = _deliver_to_waiting(session, name, correlation, data, message_id, sender)
    if status is None:
        database.serialize(session, "message-starts")  # a deployment scanning kept messages waits, or we see it
        produced = start_by_message(session, name, {**correlation, **data}, sender, message_id)
        if produced:
            instance_ids, status = [instance_id for instance_id, _ in produced], MessageStatus.STARTED
        elif not message_rules.is_engine(sender):
            messages.check_keepable(session, name, data)
    record.status, record.instance_ids = status or MessageStatus.KEPT, instance_ids
    record.expires_at = None if status else now + (keep_for or messages.keep_time())
    session.flush()
    return {"message_id": message_id, "status": status or MessageStatus.KEPT, "instance_ids": instance_ids}, produced


def _deliver_to_waiting(session: Session, name: str, correlation: dict, data: dict, message_id: str,
                        sender: User) -> tuple[list[int], Optional[str], Produced]:
    instance_ids, produced = [], []
    for instance_id in messages.waiting_instances(session, name, correlation):
        advanced = deliver(session, instance_id, name, data, sender, message_id)
        if advanced is not None:
            instance_ids.append(instance_id)
            produced.append((instance_id, advanced))
    return instance_ids, MessageStatus.DELIVERED if instance_ids else None, produced


def deliver(session: Session, instance_id: int, name: str, data: dict, sender: User,
            message_id: str) -> Optional[Advanced]:
    """Deliver a message to one waiting instance inside the caller's command (None: it does not
    wait for it). A message from outside that the instance's catching element refuses, or that
    the instance cannot catch, raises ``MessageRefusedError`` (the command rolls back)."""
    instance, version = workflows.lock_instance(session, instance_id)
    if instance.status != InstanceStatus.RUNNING:
        return None
    wf = workflows.load_workflow(session, instance, version)
    catching = [messages.message_element(w.element_id, name, version.elements)
                for w in spiff.waiting_messages(wf) if w.name == name]
    if not catching:
        return None
    if message_rules.is_engine(sender):
        messages.history_of_delivery(session, instance.id, name, message_id, data, sender.username,
                                     element_id=catching[0])
        return steps.advance(session, instance, version, wf,
                             step=lambda wf_, on_step: spiff.deliver_message(wf_, name, data, on_step))
    message_rules.check_catchable(wf, version, instance.id, name, data, catching)
    messages.history_of_delivery(session, instance.id, name, message_id, data, sender.username, element_id=catching[0])
    try:
        spiff.catch_message(wf, name, data)
    except Exception as exc:  # noqa: BLE001 - refused as a whole: the command rolls back
        reason = (str(exc).splitlines() or [""])[0]
        raise message_rules.not_caught(name, instance.id, f"{type(exc).__name__}: {reason}") from exc
    return steps.advance(session, instance, version, wf)  # later steps fail as incidents, as always


def start_by_message(session: Session, name: str, data: dict, sender: User,
                     message_id: Optional[str] = None) -> Produced:
    """Start (the latest version of) every process with a top-level message start event ``name``
    that ``sender`` may start."""
    started = []
    for version in messages.latest_versions(session):
        element_id = messages.message_starts(version).get(name)
        if element_id is None:
            continue
        if not message_rules.is_engine(sender):
            try:
                starts.check_may_start(version, sender)
            except PermissionDeniedError:
                continue
        started.append(start_with(session, version, element_id, name, data, sender, message_id))
    return started


def start_with(session: Session, version: definitions.Version, element_id: str, name: str, data: dict,
               sender: User, message_id: Optional[str]) -> tuple[int, Advanced]:
    """Start ``version`` at its message start event ``element_id`` with the message's data."""
    if not message_rules.is_engine(sender):
        starts.check_may_start(version, sender)
        declared = version.elements["nodes"][element_id].get("message_variables")
        refused = message_rules.refused(data, [declared])
        if refused:
            raise message_rules.refusal(name, refused, [declared], [f"{version.process_id}:{element_id}"], None)
    return starts.begin(
        session, version, data, sender,
        lambda wf_, on_step: (spiff.run(wf_, on_step), spiff.deliver_message(wf_, name, data, on_step)),
        start_event=element_id, started_by_message={"name": name, "message_id": message_id})


# -- settling what advancing left ------------------------------------------------------------------

def settle(session: Session, instance_id: int, advanced: Advanced) -> None:
    """Deliver the messages one instance threw (and all they lead to), then record its completion."""
    settle_all(session, [(instance_id, advanced)])


def settle_all(session: Session, produced: Produced) -> None:
    """Deliver thrown messages in a loop, depth first as they were thrown; each instance's
    ``message_sent`` events come before its ``instance_completed``."""
    work: list[tuple] = []
    _push(work, produced, 0)
    while work:
        item = work.pop()
        if item[0] == SEND:
            _, instance_id, name, payload, depth = item
            if depth > MAX_CHAIN:
                raise EngineError(f"Messages thrown in answer to messages went {MAX_CHAIN} deep without coming to "
                                  "rest; check the processes that send them to each other.")
            correlation = {key: payload[key] for key in starts.BUSINESS_KEYS if key in payload}
            reply, more = receive(session, name, correlation, payload, uuid.uuid4().hex, starts.system_actor())
            work.append((SENT, instance_id, name, payload, reply))
            _push(work, more, depth + 1)
        elif item[0] == SENT:
            _, instance_id, name, payload, reply = item
            history.record(session, instance_id, "message_sent", "system",
                           data={"name": name, "payload": payload, "status": reply["status"],
                                 "instance_ids": reply["instance_ids"]})
        else:
            _, instance_id, data = item
            history.record(session, instance_id, "instance_completed", "system", data={"data": data})


def _push(work: list, produced: Produced, depth: int) -> None:
    """Queue what instances did so that the first of them is taken first."""
    for instance_id, advanced in reversed(produced):
        if advanced.completed is not None:
            work.append((COMPLETION, instance_id, advanced.completed))
        for name, payload in reversed(advanced.thrown):
            work.append((SEND, instance_id, name, payload, depth))


def expire_kept_messages(session: Session) -> int:
    """Mark kept messages whose time ran out expired; returns how many."""
    with command(session):
        return messages.expire_old(session)
