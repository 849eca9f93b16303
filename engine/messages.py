"""Message rows: stored messages (once per sender and ``message_id``), kept ones, subscriptions.

Receiving and delivering are commands in ``engine.runtime.deliveries``: a message is stored once
per (sender, ``message_id``), delivered to every waiting instance whose data matches its
correlation (e.g. ``{"order_no": "A1001"}``), or starts the process whose message start event
has that name, or is kept until an instance starts waiting for it (kept messages are delivered
when a workflow advances), a process with that message start event is deployed, or it expires.
This module holds the rows those commands read and write: subscriptions in step with what a
workflow waits for (``sync``), kept messages (``kept_for``, ``take_kept``, ``expire_old``),
duplicates, the delivery history and ``as_dict``.

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
* Correlation (``engine.spiff.correlation``): ``correlation`` keys are process variables, except the
  ids of a message's BPMN correlation properties (``variable_keys`` tells them apart), which the
  catch event matches; ``business_key`` narrows to the instance's business key. An instance whose
  waiting catch events do not correlate is not delivered to. In one instance a message reaches ONE
  catch event: several correlating ones are a 409 (``ConflictError``, Camunda's
  ``MismatchingMessageCorrelationException``) unless the sender asks for all of them.
* A message the instance cannot catch (anything raises while the event catches it) is refused
  with 422 (``MessageRefusedError``, code ``message_refused``): no message row, no history, no
  instance changed. Failures of later steps (a script after the catch event) are ordinary
  incidents: the message is delivered and the incident sits on that step.
* Duplicates are detected per sender: one integrator's ``message_id`` cannot squat another's.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from engine import clock, definitions, forms, history, message_rules, spiff, timestamps
from engine.errors import ValidationError
from engine.models import Instance, InstanceStatus, Message, MessageStatus, MessageSubscription, User

KEEP_FOR = timedelta(days=7)
_SUBS = MessageSubscription.__table__
_MESSAGES = Message.__table__
_SUB_ROWS = select(_SUBS.c.id, _SUBS.c.engine_task_id, _SUBS.c.name).where(_SUBS.c.instance_id == bindparam("iid"))


def matches(correlation: dict, data: dict) -> bool:
    return all(str(data.get(key)) == str(value) for key, value in (correlation or {}).items())


# -- subscriptions ---------------------------------------------------------------------

def sync(session: Session, instance_id: int, wf) -> list[str]:
    """Make the subscription rows match what the instance waits for; returns newly waited names."""
    waiting = {(w.engine_task_id, w.name): w for w in spiff.waiting_messages(wf)}
    memo = spiff.memo(wf)
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
    for message in session.scalars(select(Message).where(Message.name == name, Message.status == MessageStatus.KEPT)
                                   .order_by(Message.id)):
        if message.expires_at is not None and message.expires_at <= now:
            continue
        if matches(variable_keys(session, name, message.correlation or {}), data) and \
                (accepts is None or accepts(message)):
            return message
    return None


def check_keepable(session: Session, name: str, data: dict) -> None:
    """A message about to be kept is refused now if no deployed element catching it would take its data."""
    catchers = [(version_, element_id, node.get("message_variables"))
                for version_ in latest_versions(session)
                for element_id, node in version_.elements.get("nodes", {}).items()
                if name in (node.get("messages") or []) and node["type"] != "startEvent"
                and node["type"] in message_rules.CATCHING_TAGS]
    refused = message_rules.refused_by_all(data, [declared for _, _, declared in catchers])
    if refused:
        raise message_rules.refusal(name, refused, [declared for _, _, declared in catchers],
                       [f"{v.process_id}:{element_id}" for v, element_id, _ in catchers], None)


def latest_versions(session: Session) -> list:
    return [definitions.version_of(session, row.id, row.content_hash)
            for row in definitions.list_definitions(session, latest_only=True)]


def stored(session: Session, sender: User, message_id: str) -> Optional[Message]:
    """The message ``sender`` sent before with ``message_id``."""
    return session.scalar(select(Message).where(Message.sender == sender.username, Message.message_id == message_id))


def duplicate(session: Session, existing: Message, message_id: str, sender: User) -> dict:
    """The same message_id again: nothing is delivered; the instances it reached record the attempt."""
    for instance_id in existing.instance_ids or []:
        history.record(session, instance_id, "message_duplicate", sender.username,
                       data={"name": existing.name, "message_id": message_id})
    return {"message_id": message_id, "status": MessageStatus.DUPLICATE, "instance_ids": existing.instance_ids,
            "first_status": existing.status}


def keep_time() -> timedelta:
    """How long an uncorrelated message is kept: ``LIUCHENG_MESSAGE_KEEP_HOURS`` (default 7 days)."""
    hours = os.environ.get("LIUCHENG_MESSAGE_KEEP_HOURS")
    try:
        return timedelta(hours=float(hours)) if hours else KEEP_FOR
    except ValueError:
        return KEEP_FOR


def variable_keys(session: Session, name: str, correlation: dict) -> dict:
    """The part of ``correlation`` matched against process variables: without the keys that are
    the id of a BPMN correlation property of message ``name`` in a deployed process (those are
    matched by the catch event, ``engine.spiff.correlation``)."""
    properties = set().union(*(spiff.correlation_property_ids(v.spec_json, name) for v in latest_versions(session)))
    return {key: value for key, value in correlation.items() if key not in properties}


def waiting_instances(session: Session, name: str, correlation: dict, business_key: Optional[str] = None) -> list[int]:
    """Running instances subscribed to ``name`` whose variables match ``correlation`` (and whose
    business key is ``business_key``, if given), oldest first."""
    waiting = select(MessageSubscription.instance_id).where(MessageSubscription.name == name)
    query = (select(Instance.id, Instance.data)
             .where(Instance.id.in_(waiting), Instance.status == InstanceStatus.RUNNING).order_by(Instance.id))
    if business_key is not None:
        query = query.where(Instance.business_key == business_key)
    for key, value in correlation.items():
        if isinstance(value, str):  # narrowed in SQL; every value is checked again below
            query = query.where(Instance.data[key].as_string() == value)
    return [row.id for row in session.execute(query) if matches(correlation, row.data or {})]


def expire_old(session: Session) -> int:
    """Mark kept messages whose time ran out expired; returns how many."""
    return session.execute(update(Message).where(Message.status == MessageStatus.KEPT,
                                                 Message.expires_at <= clock.now())
                           .values(status=MessageStatus.EXPIRED).execution_options(synchronize_session=False)).rowcount


def take_kept(session: Session, message: Message, instance_id: int) -> bool:
    """Mark a kept message delivered to ``instance_id``; False if someone else took it first."""
    return session.execute(update(Message).where(Message.id == message.id, Message.status == MessageStatus.KEPT).values(
        status=MessageStatus.DELIVERED, instance_ids=[instance_id]).execution_options(synchronize_session=False)).rowcount == 1


def kept_by_name(session: Session, names: list[str]) -> list[Message]:
    """Kept messages of any of ``names``, oldest first."""
    return list(session.scalars(select(Message).where(Message.name.in_(names), Message.status == MessageStatus.KEPT)
                                .order_by(Message.id)))


def take_for_start(session: Session, message: Message) -> bool:
    """Mark a kept message as starting instances; False if something took it meanwhile."""
    return session.execute(update(Message).where(Message.id == message.id, Message.status == MessageStatus.KEPT)
                           .values(status=MessageStatus.STARTED, expires_at=None)
                           .execution_options(synchronize_session=False)).rowcount == 1


def set_instances(session: Session, message: Message, instance_ids: list[int]) -> None:
    session.execute(update(Message).where(Message.id == message.id).values(instance_ids=instance_ids)
                    .execution_options(synchronize_session=False))


def checked(name: Any, correlation: Any, data: Any) -> tuple[str, dict, dict]:
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
            "received_at": timestamps.iso(message.received_at), "expires_at": timestamps.iso(message.expires_at)}


def history_of_delivery(session: Session, instance_id: int, name: str, message_id: str, data: dict,
                        actor: str, kept_since: Optional[datetime] = None, element_id: Optional[str] = None) -> None:
    history.record(session, instance_id, "message_correlated", actor, element_id, data={
        "name": name, "message_id": message_id, "data": data,
        **({"kept_since": kept_since} if kept_since else {})})


def message_element(element_id: str, name: str, elements: dict) -> str:
    """The catch event behind an event-based gateway that waits for message ``name``."""
    nodes = elements.get("nodes", {})
    if nodes.get(element_id, {}).get("type") != "eventBasedGateway":
        return element_id
    for flow in elements.get("flows", {}).values():
        if flow["source"] == element_id and name in (nodes.get(flow["target"], {}).get("messages") or []):
            return flow["target"]
    return element_id


def message_starts(version_) -> dict[str, str]:
    """Message name → element id of the version's (first) top-level message start event of that name."""
    found: dict[str, str] = {}
    for element_id, node in version_.elements.get("nodes", {}).items():
        if node["type"] == "startEvent" and not node.get("in_subprocess"):
            for name in node.get("messages") or []:
                found.setdefault(name, element_id)
    return found
