"""Delivering messages and signals: receiving one from outside, delivering it to the instances waiting for it
or starting the processes it starts, and delivering what instances throw, until all is at rest.

Who may send a message and what it may set are the rules of ``engine.message_rules``; the rows
(stored messages, kept ones, subscriptions) are ``engine.messages``. Messages thrown by send
tasks and throw events are received as from the trusted sender ``system``. Settling is depth
first, as a recursion would do it, but with a stack of generators (``_run``): an instance that
takes a message has its own thrown messages delivered (and all they lead to) before the next
instance takes that message, and before the next message thrown before it goes out.

A signal locks only the instances that wait for it: they are found without their lock (the running
instances whose model names it, each workflow read with ``workflows.peek_workflow``), locked in id order,
and asked again once locked.
"""
from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, Generator, Optional

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import clock, database, definitions, forms, history, instances, message_rules, messages, signals, spiff
from engine.database import command
from engine.errors import EngineError, PermissionDeniedError
from engine.models import InstanceStatus, Message, MessageStatus, User
from engine.runtime import starts, steps, workflows
from engine.runtime.steps import Advanced

MAX_CHAIN = 200  # messages thrown in answer to thrown messages, at most, in one command
Work = Generator[Any, Any, Any]  # a piece of settling: yields the pieces to do first, is sent their results


def receive_message(session: Session, name: str, correlation: Any, data: Any, message_id: Optional[str],
                    sender: User, keep_for: Optional[timedelta] = None, business_key: Optional[str] = None,
                    every: bool = False) -> dict:
    """Deliver, start or keep one message; the reply says which happened. In each instance it
    reaches, the message is caught by ONE catch event: several waiting ones that correlate are a
    ``ConflictError`` (Camunda's MismatchingMessageCorrelationException) unless ``every`` (Camunda's
    correlateAll) delivers it to each of them."""
    message_rules.check_may_send(sender)
    name, correlation, data = messages.checked(name, correlation, data)
    message_id = str(message_id) if message_id else uuid.uuid4().hex
    with command(session):
        return _run(_receiving(session, name, correlation, data, message_id, sender, keep_for, depth=0,
                               business_key=business_key, every=every))


def settle(session: Session, instance_id: int, advanced: Advanced) -> None:
    """Deliver the messages one instance threw (and all they lead to), then record its completion."""
    _run(_settling(session, instance_id, advanced, depth=0))


def _run(work: Work) -> Any:
    """Do ``work``, and first the work it yields (depth first), with a stack instead of recursion;
    returns what ``work`` returns. Each piece is sent the result of the piece it yielded."""
    stack, result = [work], None
    while stack:
        try:
            stack.append(stack[-1].send(result))
            result = None
        except StopIteration as done:
            stack.pop()
            result = done.value
    return result


def _settling(session: Session, instance_id: int, advanced: Advanced, depth: int) -> Work:
    """Deliver one instance's thrown messages in the order thrown, each with all it leads to, then
    record its completion: its ``message_sent`` events come before its ``instance_completed``."""
    for name, payload in advanced.thrown:
        if depth > MAX_CHAIN:
            raise EngineError(f"Messages thrown in answer to messages went {MAX_CHAIN} deep without coming to "
                              "rest; check the processes that send them to each other.")
        if isinstance(name, spiff.ThrownSignal):
            reached = yield _signalling(session, str(name), payload, starts.system_actor(), depth + 1)
            signals.record_thrown(session, instance_id, str(name), payload, reached["instance_ids"])
            continue
        correlation = {key: payload[key] for key in instances.BUSINESS_KEYS if key in payload}
        reply = yield _receiving(session, name, correlation, payload, uuid.uuid4().hex, starts.system_actor(),
                                 None, depth + 1)
        history.record(session, instance_id, "message_sent", "system",
                       data={"name": name, "payload": payload, "status": reply["status"],
                             "instance_ids": reply["instance_ids"]})
    if advanced.completed is not None:
        history.record(session, instance_id, "instance_completed", "system", data={"data": advanced.completed})


def _receiving(session: Session, name: str, correlation: dict, data: dict, message_id: str, sender: User,
               keep_for: Optional[timedelta], depth: int, business_key: Optional[str] = None,
               every: bool = False) -> Work:
    """Store one message and deliver it to every instance waiting for it (each settled before the
    next takes it), or start the processes it starts, or keep it; returns the reply."""
    now = clock.now()
    record = Message(message_id=message_id, name=name, correlation=forms.to_json(correlation),
                     data=forms.to_json(data), status=MessageStatus.RECEIVING, instance_ids=[], received_at=now,
                     sender=sender.username)
    try:
        with session.begin_nested():  # the unique message_id: a concurrent twin waits here, then fails
            session.add(record)
    except IntegrityError:
        return messages.duplicate(session, messages.stored(session, sender, message_id), message_id, sender)
    messages.expire_old(session)
    instance_ids = []
    variables = messages.variable_keys(session, name, correlation)
    for instance_id in messages.waiting_instances(session, name, variables, business_key):
        advanced = deliver(session, instance_id, name, data, sender, message_id, correlation, every)
        if advanced is not None:
            instance_ids.append(instance_id)
            yield _settling(session, instance_id, advanced, depth)
    status = MessageStatus.DELIVERED if instance_ids else None
    if status is None:
        database.serialize(session, "message-starts")  # a deployment scanning kept messages waits, or we see it
        instance_ids = yield _starting(session, name, {**correlation, **data}, sender, message_id, depth)
        if instance_ids:
            status = MessageStatus.STARTED
        elif not message_rules.is_engine(sender):
            messages.check_keepable(session, name, data)
    record.status, record.instance_ids = status or MessageStatus.KEPT, instance_ids
    record.expires_at = None if status else now + (keep_for or messages.keep_time())
    session.flush()
    return {"message_id": message_id, "status": status or MessageStatus.KEPT, "instance_ids": instance_ids}


def deliver(session: Session, instance_id: int, name: str, data: dict, sender: User,
            message_id: str, correlation: Optional[dict] = None, every: bool = False) -> Optional[Advanced]:
    """Deliver a message to one waiting instance inside the caller's command (None: nothing of it
    waiting for the message correlates). A message from outside that the instance's catching
    element refuses raises ``MessageRefusedError``; one that several catch events of the instance
    wait for raises ``ConflictError`` unless ``every`` (the command rolls back). The engine's own
    messages go to the catch event waiting longest."""
    instance, version = workflows.lock_instance(session, instance_id)
    if instance.status != InstanceStatus.RUNNING:
        return None
    wf = workflows.load_workflow(session, instance, version)
    correlation = correlation or {}
    catching = [messages.message_element(element_id, name, version.elements)
                for element_id in spiff.catching_elements(wf, name, data, correlation)]
    if not catching:
        return None
    if message_rules.is_engine(sender):
        messages.history_of_delivery(session, instance.id, name, message_id, data, sender.username,
                                     element_id=catching[0])
        return steps.advance(session, instance, version, wf, step=lambda wf_, on_step: spiff.deliver_message(
            wf_, name, data, on_step, correlation))
    if len(catching) > 1 and not every:
        raise message_rules.ambiguous(name, instance.id, catching)
    message_rules.check_catchable(wf, version, instance.id, name, data, catching if every else catching[:1],
                                  correlation)
    messages.history_of_delivery(session, instance.id, name, message_id, data, sender.username, element_id=catching[0])
    try:
        spiff.catch_message(wf, name, data, correlation, every)
    except Exception as exc:  # noqa: BLE001 - refused as a whole: the command rolls back
        reason = (str(exc).splitlines() or [""])[0]
        raise message_rules.not_caught(name, instance.id, f"{type(exc).__name__}: {reason}") from exc
    return steps.advance(session, instance, version, wf)  # later steps fail as incidents, as always


def _starting(session: Session, name: str, data: dict, sender: User, message_id: Optional[str],
              depth: int) -> Work:
    """Start (the latest version of) every process with a top-level message start event ``name``
    that ``sender`` may start, each settled before the next starts; returns their instance ids."""
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
        instance_id, advanced = start_with(session, version, element_id, name, data, sender, message_id)
        started.append(instance_id)
        yield _settling(session, instance_id, advanced, depth)
    return started


def start_with(session: Session, version: definitions.Version, element_id: str, name: str, data: dict,
               sender: User, message_id: Optional[str]) -> tuple[int, Advanced]:
    """Start ``version`` at its message start event ``element_id`` with the message's data (to be
    settled by the caller)."""
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


def broadcast_signal(session: Session, name: Any, variables: Any, sender: User) -> dict:
    """Broadcast a signal (Camunda's signalEventReceived): every waiting signal catch event of every
    running instance takes it, every process with a signal start event of that name starts (if the
    sender may start it); all in one command. The reply lists the instances reached and started."""
    message_rules.check_may_send(sender)
    name, variables = signals.checked(name, variables)
    with command(session):
        return _run(_signalling(session, name, variables, sender, depth=0))


def _signalling(session: Session, name: str, variables: dict, sender: User, depth: int) -> Work:
    """Deliver one signal to every instance waiting for it, then start what it starts, each settled
    (its own thrown messages and signals delivered) before the next; returns the reply."""
    reached = []
    waiting = _waiting_for_signal(session, name)
    for instance_id in waiting:  # locked in id order, only those waiting, before any takes the signal
        workflows.lock_instance(session, instance_id)
    for instance_id in waiting:
        instance, version = workflows.lock_instance(session, instance_id)  # its row now (settling may change it)
        if instance.status != InstanceStatus.RUNNING:
            continue
        wf = workflows.load_workflow(session, instance, version)
        if not spiff.waits_for_signal(wf, name):  # it moved on since it was seen waiting
            continue
        signals.record_received(session, instance.id, name, variables, sender.username)
        advanced = steps.advance(session, instance, version, wf,
                                 step=lambda wf_, on_step: spiff.catch_signal(wf_, name, variables, on_step))
        reached.append(instance_id)
        yield _settling(session, instance_id, advanced, depth)
    started = []
    for version, element_id in signals.starts(session, name):
        if not message_rules.is_engine(sender):
            try:
                starts.check_may_start(version, sender)
            except PermissionDeniedError:
                continue
        instance_id, advanced = starts.begin(
            session, version, variables, sender,
            lambda wf_, on_step: (spiff.run(wf_, on_step), spiff.catch_signal(wf_, name, variables, on_step)),
            start_event=element_id)
        started.append(instance_id)
        yield _settling(session, instance_id, advanced, depth)
    return {"name": name, "instance_ids": reached, "started_instance_ids": started}


def _waiting_for_signal(session: Session, name: str) -> list[int]:
    """The running instances (in id order) that wait for signal ``name``, seen without their lock."""
    return [instance_id for instance_id in signals.candidates(session, name)
            if spiff.waits_for_signal(workflows.peek_workflow(session, instance_id), name)]


def expire_kept_messages(session: Session) -> int:
    """Mark kept messages whose time ran out expired; returns how many."""
    with command(session):
        return messages.expire_old(session)
