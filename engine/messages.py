"""Messages from outside (and from send tasks): authorize, correlate, deliver once, or keep.

``receive`` stores every message once per (sender, ``message_id``) and then delivers it
to every waiting instance whose data matches its correlation (e.g.
``{"order_no": "A1001"}``), or starts the process whose message start event has
that name, or keeps it until an instance starts waiting for it (``deliver_kept``
runs after every command), a process with that message start event is deployed
(``start_kept``), or it expires.

Who may send, and what a message may change:

* Only ``integrator`` and ``admin`` users send messages (``check_may_send``; others get 403 and
  nothing is kept, delivered or started). The engine itself (send tasks and throw events, actor
  ``system``) is trusted and keeps its behaviour: no declaration check, a catch that fails there
  opens an incident on the receiving instance as any failing step does.
* A message start event starts a process only if the sender may start it (``runtime.check_may_start``);
  a kept message whose sender may not (any more) start a newly deployed process stays kept.
* A catching element may declare the variables its message may set (``engine.message_rules``);
  data naming anything else is refused with 422 (``MessageRefusedError``, ``details["refused"]``) and
  nothing changes. A message nobody waits for is refused the same way when every deployed element
  catching it refuses those names; a kept message is delivered only to an element that accepts it.
* A message the instance cannot catch (a ``bpmn:correlationProperty`` retrieval expression fails on
  it, its correlation keys differ, or anything else raises while the event catches it) is refused
  with 422 (``MessageRefusedError``, code ``message_refused``): no message row, no history, no
  instance changed. Camunda 7 answers a correlation it cannot make with an error too
  (``MismatchingMessageCorrelationException``). Failures of later steps (a script after the catch
  event) are ordinary incidents: the message is delivered and the incident sits on that step.
* Duplicates are detected per sender: one integrator's ``message_id`` cannot squat another's.
"""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import clock, database, definitions, forms, history, message_rules
from engine.spiff import waits, workflow
from engine.database import command
from engine.errors import PermissionDeniedError, ValidationError
from engine.models import Instance, Message, MessageSubscription, User

KEEP_FOR = timedelta(days=7)
_SUBS = MessageSubscription.__table__
_MESSAGES = Message.__table__
_SUB_ROWS = select(_SUBS.c.id, _SUBS.c.engine_task_id, _SUBS.c.name).where(_SUBS.c.instance_id == bindparam("iid"))


def matches(correlation: dict, data: dict) -> bool:
    return all(str(data.get(key)) == str(value) for key, value in (correlation or {}).items())


# -- subscriptions ---------------------------------------------------------------------

def sync(session: Session, instance_id: int, wf) -> list[str]:
    """Make the subscription rows match what the instance waits for; returns newly waited names."""
    waiting = {(w.engine_task_id, w.name): w for w in waits.waiting_messages(wf)}
    memo = workflow.memo(wf)
    rows = memo.get("subscriptions")
    if rows is None:
        rows = {(r.engine_task_id, r.name): r.id for r in session.connection().execute(_SUB_ROWS, {"iid": instance_id})}
        memo["subscriptions"] = rows
    known = set()
    for key, row_id in list(rows.items()):
        if key in waiting:
            known.add(key)
        else:
            session.connection().execute(delete(_SUBS).where(_SUBS.c.id == row_id))
            del rows[key]
    new_names = []
    now = clock.now()
    for key, wait in waiting.items():
        if key not in known:
            rows[key] = session.connection().execute(_SUBS.insert().returning(_SUBS.c.id), {
                "instance_id": instance_id, "name": wait.name, "element_id": wait.element_id,
                "engine_task_id": wait.engine_task_id, "created_at": now}).scalar_one()
            new_names.append(wait.name)
    return new_names


def remove_all(session: Session, instance_id: int) -> None:
    session.connection().execute(delete(_SUBS).where(_SUBS.c.instance_id == instance_id))


def kept_for(session: Session, name: str, data: dict, accepts=None) -> Optional[Message]:
    """The oldest kept, unexpired message of ``name`` whose correlation matches ``data`` (and that
    ``accepts(message)`` takes, if given)."""
    now = clock.now()
    for message in session.scalars(select(Message).where(Message.name == name, Message.status == "kept")
                                   .order_by(Message.id)):
        if message.expires_at is not None and message.expires_at <= now:
            continue
        if matches(message.correlation, data) and (accepts is None or accepts(message)):
            return message
    return None


# -- receiving ---------------------------------------------------------------------------

def receive(session: Session, name: str, correlation: Any, data: Any, message_id: Optional[str],
            sender: User, keep_for: Optional[timedelta] = None) -> dict:
    """Deliver, start or keep one message; the reply says which happened."""
    message_rules.check_may_send(sender)
    name, correlation, data = _checked(name, correlation, data)
    message_id = str(message_id) if message_id else uuid.uuid4().hex
    with command(session):
        return receive_in_command(session, name, correlation, data, message_id, sender, keep_for)


def receive_in_command(session: Session, name: str, correlation: dict, data: dict, message_id: str,
                       sender: User, keep_for: Optional[timedelta] = None) -> dict:
    """``receive`` inside a command that is already open (e.g. a throw event of another instance)."""
    now = clock.now()
    record = Message(message_id=message_id, name=name, correlation=forms.to_json(correlation),
                     data=forms.to_json(data), status="receiving", instance_ids=[], received_at=now,
                     sender=sender.username)
    try:
        with session.begin_nested():  # the unique message_id: a concurrent twin waits here, then fails
            session.add(record)
    except IntegrityError:
        existing = session.scalar(select(Message).where(Message.sender == sender.username,
                                                        Message.message_id == message_id))
        return duplicate(session, existing, message_id, sender)
    expire_old(session)
    instance_ids: list[int] = []
    for instance_id in waiting_instances(session, name, correlation):
        if deliver(session, instance_id, name, data, sender, message_id):
            instance_ids.append(instance_id)
    status = "delivered" if instance_ids else None
    if status is None:
        database.serialize(session, "message-starts")  # a deployment scanning kept messages waits, or we see it
        started = start_by_message(session, name, {**correlation, **data}, sender, message_id)
        if started:
            instance_ids, status = started, "started"
        elif not message_rules.is_engine(sender):
            check_keepable(session, name, data)
    record.status, record.instance_ids = status or "kept", instance_ids
    record.expires_at = None if status else now + (keep_for or keep_time())
    session.flush()
    return {"message_id": message_id, "status": status or "kept", "instance_ids": instance_ids}


def check_keepable(session: Session, name: str, data: dict) -> None:
    """A message about to be kept is refused now if no deployed element catching it would take its data."""
    catchers = [(version_, element_id, node.get("message_variables"))
                for version_ in _latest_versions(session)
                for element_id, node in version_.elements.get("nodes", {}).items()
                if name in (node.get("messages") or []) and node["type"] != "startEvent"
                and node["type"] in message_rules.CATCHING_TAGS]
    refused = message_rules.refused_by_all(data, [declared for _, _, declared in catchers])
    if refused:
        raise message_rules.refusal(name, refused, [declared for _, _, declared in catchers],
                       [f"{v.process_id}:{element_id}" for v, element_id, _ in catchers], None)


def _latest_versions(session: Session) -> list:
    return [definitions.version_of(session, row.id, row.content_hash)
            for row in definitions.list_definitions(session, latest_only=True)]


def duplicate(session: Session, existing: Message, message_id: str, sender: User) -> dict:
    """The same message_id again: nothing is delivered; the instances it reached record the attempt."""
    for instance_id in existing.instance_ids or []:
        history.record(session, instance_id, "message_duplicate", sender.username,
                       data={"name": existing.name, "message_id": message_id})
    return {"message_id": message_id, "status": "duplicate", "instance_ids": existing.instance_ids,
            "first_status": existing.status}


def keep_time() -> timedelta:
    """How long an uncorrelated message is kept: ``LIUCHENG_MESSAGE_KEEP_HOURS`` (default 7 days)."""
    hours = os.environ.get("LIUCHENG_MESSAGE_KEEP_HOURS")
    try:
        return timedelta(hours=float(hours)) if hours else KEEP_FOR
    except ValueError:
        return KEEP_FOR


def waiting_instances(session: Session, name: str, correlation: dict) -> list[int]:
    waiting = select(MessageSubscription.instance_id).where(MessageSubscription.name == name)
    query = (select(Instance.id, Instance.data)
             .where(Instance.id.in_(waiting), Instance.status == "running").order_by(Instance.id))
    for key, value in correlation.items():
        if isinstance(value, str):  # narrowed in SQL; every value is checked again below
            query = query.where(Instance.data[key].as_string() == value)
    return [row.id for row in session.execute(query) if matches(correlation, row.data or {})]


def expire_old(session: Session) -> int:
    return session.execute(update(Message).where(Message.status == "kept", Message.expires_at <= clock.now())
                           .values(status="expired").execution_options(synchronize_session=False)).rowcount


def take_kept(session: Session, message: Message, instance_id: int) -> bool:
    """Mark a kept message delivered to ``instance_id``; False if someone else took it first."""
    return session.execute(update(Message).where(Message.id == message.id, Message.status == "kept").values(
        status="delivered", instance_ids=[instance_id]).execution_options(synchronize_session=False)).rowcount == 1


def _checked(name: Any, correlation: Any, data: Any) -> tuple[str, dict, dict]:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("A message needs a 'name'.", {"name": ["Required."]})
    if correlation is not None and not isinstance(correlation, dict):
        raise ValidationError("'correlation' must be an object such as {\"order_no\": \"A1001\"}.",
                              {"correlation": ["Not an object."]})
    if data is not None and not isinstance(data, dict):
        raise ValidationError("'data' must be an object.", {"data": ["Not an object."]})
    for part, variables in (("correlation", correlation or {}), ("data", data or {})):
        forms.refuse_unstorable(variables, part)
    return name.strip(), dict(correlation or {}), dict(data or {})


def as_dict(message: Message) -> dict:
    return {"message_id": message.message_id, "name": message.name, "correlation": message.correlation,
            "data": message.data, "status": message.status, "instance_ids": message.instance_ids,
            "received_at": message.received_at.isoformat(),
            "expires_at": message.expires_at.isoformat() if message.expires_at else None}


def history_of_delivery(session: Session, instance_id: int, name: str, message_id: str, data: dict,
                        actor: str, kept_since: Optional[datetime] = None, element_id: Optional[str] = None) -> None:
    history.record(session, instance_id, "message_correlated", actor, element_id, data={
        "name": name, "message_id": message_id, "data": data,
        **({"kept_since": kept_since} if kept_since else {})})


# -- delivering inside commands ---------------------------------------------------------

def deliver_kept_messages(session: Session, instance_id: int, wf, on_step, elements: dict) -> None:
    """Messages that arrived before the instance waited for them are delivered now (bounded); a kept
    message the waiting element would refuse (declared variables, failing correlation) stays kept."""
    for _ in range(20):
        data = None
        for waiting in waits.waiting_messages(wf):
            data = data if data is not None else workflow.process_data(wf)
            element_id = _message_element(waiting.element_id, waiting.name, elements)
            kept = kept_for(session, waiting.name, data,
                            accepts=lambda m, e=element_id: message_rules.accepts_kept(wf, m, elements, e))
            if kept is not None and take_kept(session, kept, instance_id):
                waits.deliver_message(wf, waiting.name, dict(kept.data), on_step)
                history_of_delivery(session, instance_id, kept.name, kept.message_id, kept.data,
                                    kept.sender, kept_since=kept.received_at, element_id=element_id)
                break
        else:
            return


def deliver(session: Session, instance_id: int, name: str, data: dict, sender: User, message_id: str) -> bool:
    """Deliver a message to one waiting instance inside the caller's command. A message from outside
    that the instance's catching element refuses, or that the instance cannot catch, raises
    ``MessageRefusedError`` (the caller's command rolls back: nothing changes)."""
    from engine import runtime

    instance, version_ = runtime.lock_instance(session, instance_id)
    if instance.status != "running":
        return False
    wf = runtime.load_workflow(session, instance, version_)
    catching = [_message_element(w.element_id, name, version_.elements)
                for w in waits.waiting_messages(wf) if w.name == name]
    if not catching:
        return False
    if message_rules.is_engine(sender):
        history_of_delivery(session, instance.id, name, message_id, data, sender.username, element_id=catching[0])
        runtime.advance(session, instance, version_, wf,
                        step=lambda wf_, on_step: waits.deliver_message(wf_, name, data, on_step))
        return True
    message_rules.check_catchable(wf, version_, instance.id, name, data, catching)
    history_of_delivery(session, instance.id, name, message_id, data, sender.username, element_id=catching[0])
    try:
        waits.catch_message(wf, name, data)
    except Exception as exc:  # noqa: BLE001 - refused as a whole: the command rolls back
        reason = (str(exc).splitlines() or [""])[0]
        raise message_rules.not_caught(name, instance.id, f"{type(exc).__name__}: {reason}") from exc
    runtime.advance(session, instance, version_, wf)  # later steps fail as incidents, as always
    return True


def _message_element(element_id: str, name: str, elements: dict) -> str:
    """The catch event behind an event-based gateway that waits for message ``name``."""
    nodes = elements.get("nodes", {})
    if nodes.get(element_id, {}).get("type") != "eventBasedGateway":
        return element_id
    for flow in elements.get("flows", {}).values():
        if flow["source"] == element_id and name in (nodes.get(flow["target"], {}).get("messages") or []):
            return flow["target"]
    return element_id


def start_by_message(session: Session, name: str, data: dict, sender: User,
                     message_id: Optional[str] = None) -> list[int]:
    """Start (the latest version of) every process with a top-level message start event ``name``
    that ``sender`` may start."""
    from engine import runtime

    started = []
    for version_ in _latest_versions(session):
        element_id = message_starts(version_).get(name)
        if element_id is None:
            continue
        if not message_rules.is_engine(sender):
            try:
                runtime.check_may_start(version_, sender)
            except PermissionDeniedError:
                continue
        started.append(_start_with(session, version_, element_id, name, data, sender, message_id))
    return started


def start_kept(session: Session, versions: list) -> list[int]:
    """Processes deployed after messages for their message start events were kept start with
    them now, oldest message first, as they would have had they been deployed when the
    messages arrived (a message starts every such process). A message whose start fails stays
    kept; the deployment goes on."""
    starts = [(version_, message_starts(version_)) for version_ in versions]
    names = sorted({name for _, by_name in starts for name in by_name})
    if not names:
        return []
    database.serialize(session, "message-starts")  # a message arriving meanwhile waits, then sees the versions
    expire_old(session)
    started = []
    for message in session.scalars(select(Message).where(Message.name.in_(names), Message.status == "kept")
                                   .order_by(Message.id)):
        started += _start_from_kept(session, message, [(v, by_name[message.name])
                                                       for v, by_name in starts if message.name in by_name])
    return started


def _start_from_kept(session: Session, message: Message, targets: list) -> list[int]:
    from engine import runtime, users

    sender = runtime.system_actor() if message.sender == "system" else users.find_user(session, message.sender)
    if sender is None or not (message_rules.is_engine(sender) or sender.active):
        return []  # a removed or disabled sender starts nothing: the message stays kept
    data = {**(message.correlation or {}), **(message.data or {})}
    undo = history.queue_mark(session), dict(session.info.get("pending_workflows") or {})
    try:
        with session.begin_nested():
            taken = session.execute(update(Message).where(Message.id == message.id, Message.status == "kept")
                                    .values(status="started", expires_at=None)
                                    .execution_options(synchronize_session=False)).rowcount == 1
            if not taken:  # an instance took it meanwhile
                return []
            instance_ids = [_start_with(session, version_, element_id, message.name, data, sender,
                                        message.message_id) for version_, element_id in targets]
            session.execute(update(Message).where(Message.id == message.id).values(instance_ids=instance_ids)
                            .execution_options(synchronize_session=False))
    except Exception:  # noqa: BLE001 - this message stays kept (a later deployment or instance may take it)
        history.queue_reset(session, undo[0])
        session.info["pending_workflows"] = undo[1]
        return []
    return instance_ids


def message_starts(version_) -> dict[str, str]:
    """Message name → element id of the version's (first) top-level message start event of that name."""
    found: dict[str, str] = {}
    for element_id, node in version_.elements.get("nodes", {}).items():
        if node["type"] == "startEvent" and not node.get("in_subprocess"):
            for name in node.get("messages") or []:
                found.setdefault(name, element_id)
    return found


def _start_with(session: Session, version_, element_id: str, name: str, data: dict, sender: User,
                message_id: Optional[str]) -> int:
    from engine import runtime

    if not message_rules.is_engine(sender):
        runtime.check_may_start(version_, sender)
        declared = version_.elements["nodes"][element_id].get("message_variables")
        refused = message_rules.refused(data, [declared])
        if refused:
            raise message_rules.refusal(name, refused, [declared], [f"{version_.process_id}:{element_id}"], None)
    return runtime._start(
        session, version_, data, sender,
        lambda wf_, on_step: (workflow.run(wf_, on_step), waits.deliver_message(wf_, name, data, on_step)),
        start_event=element_id, started_by_message={"name": name, "message_id": message_id})


def send_thrown_messages(session: Session, instance_id: int, thrown: list[tuple[str, dict]]) -> None:
    """Send tasks and throw events reach other instances through the message store."""
    from engine import runtime

    for name, payload in thrown:
        correlation = {key: payload[key] for key in runtime.BUSINESS_KEYS if key in payload}
        reply = receive_in_command(session, name, correlation, payload, uuid.uuid4().hex,
                                            runtime.system_actor())
        history.record(session, instance_id, "message_sent", "system",
                       data={"name": name, "payload": payload, "status": reply["status"],
                             "instance_ids": reply["instance_ids"]})
