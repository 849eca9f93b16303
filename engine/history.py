"""The audit trail: an append-only table of what happened to each instance, one hash chain.

Events are only ever inserted (the database refuses UPDATE and DELETE on the table, except retention holding a
cleanup permit). ``record`` queues an event on the session, ``record_operation`` an operation (an administrative
action: reassign, cancel, deploy, a user change… with its old and new value and reason; it may concern no
instance); the queue is written in one statement just before the session commits (``write_queued``), so an event
exists exactly when the change it describes was committed, and a step costs one insert, not one per event.
``write_queued`` also chains the events: it takes the head row ``history_chain`` (locked until the commit, so
writers append one after the other), hashes each event onto the one before (``engine.hash_chain``), and writes
the new head with its signature. ``record_engine_step`` turns what the engine did by itself (gateways taken,
data a script changed) into events.

Reading: ``events_of`` (one instance's, oldest first), ``search`` (across instances, the auditors' search), and an
event as JSON: ``as_dict`` (the API) and ``export_row`` (the auditors' CSV/JSON exports, with the instance's
process and business key) — the only places an event becomes a dict. Checking the chain is
``engine.chain_verify``.
"""
from __future__ import annotations

import weakref
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import Engine, Select, bindparam, event, select, update
from sqlalchemy.orm import Session

from engine import clock, database, hash_chain, instances, timestamps, values
from engine.forms import to_json
from engine.models import HistoryChain, HistoryEvent, Instance
from engine.spiff import Step
from engine.statements import Statement

EVENT_TYPES = frozenset({  # every type ``record`` is called with (a test keeps the list complete)
    "instance_started", "instance_completed", "instance_cancelled", "instance_failed",
    "task_created", "task_claimed", "task_unclaimed", "task_reassigned", "task_completed", "task_cancelled",
    "gateway_taken", "script_changed_data", "script_failed", "step_failed",
    "timer_scheduled", "timer_fired", "timer_cancelled",
    "message_correlated", "message_sent", "message_duplicate", "receive_task_signalled",
    "signal_received", "signal_sent",
    "incident_opened", "incident_retried", "incident_resolved",
    "external_task_completed", "external_task_failed", "external_task_bpmn_error",
    "comment_added", "attachment_added",
    "task_delegated", "task_resolved", "task_updated",
    "variables_changed",  # what a step changed in the data: {"changes": {name: {"old", "new"}}, "source"}
    "operation",  # an administrative action (``record_operation``): the operation log
    "element_completed",  # a step the engine completed that left no other event (start/end events, …)
})
_INSERT = Statement(HistoryEvent.__table__.insert(),
                    columns=("instance_id", "type", "actor", "element_id", "task_id", "data", "at", "operation",
                             "entity_type", "entity_id", "prev_hash", "hash"))
_TAKE_HEAD = Statement(  # locks the head row until commit: writers on every node append one after the other
    update(HistoryChain).where(HistoryChain.id == 1).values(events=HistoryChain.events + bindparam("n"))
    .returning(HistoryChain.head, HistoryChain.events))
_MOVE_HEAD = Statement(update(HistoryChain).where(HistoryChain.id == 1).values(
    head=bindparam("head"), signature=bindparam("signature")))
_APPEND = Statement(  # one statement when the head is still the one this process last wrote (the usual case)
    update(HistoryChain).where(HistoryChain.id == 1, HistoryChain.head == bindparam("old"),
                               HistoryChain.events == bindparam("old_events"))
    .values(head=bindparam("head"), events=bindparam("events"), signature=bindparam("signature")))
_HEAD = "liucheng_chain_head"
_LAST_HEADS: "weakref.WeakKeyDictionary[Engine, tuple[str, int]]" = weakref.WeakKeyDictionary()
"""Per database, the head (hash, events) this process last committed: a guess ``write_queued`` tries first."""
_QUEUE = "liucheng_history"


def record(session: Session, instance_id: Optional[int], type_: str, actor: str = "system",
           element_id: Optional[str] = None, task_id: Optional[int] = None,
           data: Optional[dict[str, Any]] = None, at: Optional[datetime] = None) -> None:
    """Queue one event; it is written with the session's next flush before commit."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"Unknown history event type {type_!r}: add it to engine.history.EVENT_TYPES.")
    session.info.setdefault(_QUEUE, []).append({
        "instance_id": instance_id, "type": type_, "actor": actor or "system", "element_id": element_id,
        "task_id": task_id, "data": to_json(data or {}), "at": at or clock.now(), "operation": None,
        "entity_type": None, "entity_id": None})


def record_operation(session: Session, actor: str, operation: str, entity_type: str, entity_id: Any,
                     instance_id: Optional[int] = None, property: Optional[str] = None, old: Any = None,
                     new: Any = None, reason: Optional[str] = None, **details: Any) -> None:
    """Queue an operation event (``type`` ``operation``): someone did ``operation`` to the ``entity_type``
    ``entity_id`` (changing its ``property`` from ``old`` to ``new``, for ``reason``), in the same chain as
    every other event. ``instance_id`` when it concerns an instance (it then shows in its history too)."""
    record(session, instance_id, "operation", actor, data={
        "property": property, "old": old, "new": new, "reason": reason, **details})
    queued = session.info[_QUEUE][-1]
    queued.update(operation=operation, entity_type=entity_type, entity_id=None if entity_id is None else str(entity_id))


def queue_mark(session: Session) -> int:
    """How many events are queued now (to drop the ones of a savepoint rolled back later)."""
    return len(session.info.get(_QUEUE) or [])


def queued_since(session: Session, mark: int) -> list[dict[str, Any]]:
    """The events queued since ``mark`` (``queue_mark``), not yet written: read them, do not change them."""
    return (session.info.get(_QUEUE) or [])[mark:]


def queue_reset(session: Session, mark: int) -> None:
    queued = session.info.get(_QUEUE)
    if queued:
        del queued[mark:]


def write_queued(session: Session) -> None:
    """Chain the queued events onto the head, move and sign the head (locking it until commit), then insert
    them. The head this process wrote last is tried first, in one conditional UPDATE; when another writer has
    moved it, the head is read under the lock and the events chained onto it."""
    queued = session.info.pop(_QUEUE, None)
    if not queued:
        return
    engine = session.get_bind().engine
    known = session.info.get(_HEAD) or _LAST_HEADS.get(engine)
    if known is None or not _append(session, queued, *known):
        taken = _TAKE_HEAD.all(session, {"n": len(queued)})
        if not taken:
            raise RuntimeError("The history chain has no head row: run `liucheng db upgrade`.")
        head, events = _chained(queued, taken[0][0]), taken[0][1]
        _MOVE_HEAD.execute(session, {"head": head, "signature": hash_chain.sign("head", head, events)})
        session.info[_HEAD] = (head, events)
    _INSERT.execute_many(session, queued)


def _chained(queued: list[dict], head: str) -> str:
    """Link the events one after the other from ``head``; the last one's hash."""
    for row in queued:
        row["prev_hash"] = head
        head = row["hash"] = hash_chain.event_hash(row, head)
    return head


def _append(session: Session, queued: list[dict], old: str, old_events: int) -> bool:
    head, events = _chained(queued, old), old_events + len(queued)
    moved = _APPEND.rowcount(session, {"old": old, "old_events": old_events, "head": head, "events": events,
                                       "signature": hash_chain.sign("head", head, events)})
    if moved == 1:
        session.info[_HEAD] = (head, events)
    return moved == 1


@event.listens_for(Session, "after_commit")
@database.on("after_commit")
def _remember_head(session: Session) -> None:
    head = session.info.pop(_HEAD, None)
    if head is not None:
        _LAST_HEADS[session.get_bind().engine] = head


@event.listens_for(Session, "before_commit")
@database.on("before_commit")
def _write_before_commit(session: Session) -> None:
    write_queued(session)


@event.listens_for(Session, "after_rollback")
@database.on("after_rollback")
def _drop_on_rollback(session: Session) -> None:
    session.info.pop(_QUEUE, None)
    session.info.pop(_HEAD, None)


def events_of(session: Session, instance_id: int) -> list[HistoryEvent]:
    write_queued(session)
    return list(session.scalars(
        select(HistoryEvent).where(HistoryEvent.instance_id == instance_id).order_by(HistoryEvent.id)))


def search(actor: Optional[str] = None, since: Optional[datetime] = None, until: Optional[datetime] = None,
           process_id: Optional[str] = None, event_type: Optional[str] = None, instance_id: Optional[int] = None,
           text: Optional[str] = None) -> Select:
    """``select(HistoryEvent, Instance)`` across instances, filtered, oldest first (for those who read
    every instance: the caller checks that)."""
    query = select(HistoryEvent, Instance).join(Instance, Instance.id == HistoryEvent.instance_id)
    if actor:  # people's events are indexed (ix_history_events_person), the engine's are not
        actor = actor.strip()
        query = query.where(HistoryEvent.actor == actor)
        if actor != "system":
            query = query.where(HistoryEvent.actor != "system")
    if since:
        query = query.where(HistoryEvent.at >= since)
    if until:
        query = query.where(HistoryEvent.at < until)
    if process_id:
        query = query.where(Instance.process_id == process_id)
    if event_type:
        query = query.where(HistoryEvent.type == event_type)
    if instance_id is not None:
        query = query.where(HistoryEvent.instance_id == instance_id)
    if text and text.strip():
        query = query.where(instances.business_key_match(text))
    return query.order_by(HistoryEvent.at, HistoryEvent.id)


def as_dict(event_row: HistoryEvent) -> dict[str, Any]:
    """The event as the API returns it (``at`` ISO 8601 UTC with ``+00:00``)."""
    return {"id": event_row.id, "instance_id": event_row.instance_id, "type": event_row.type,
            "actor": event_row.actor, "at": timestamps.iso(event_row.at), "element_id": event_row.element_id,
            "task_id": event_row.task_id, "data": event_row.data}


def export_row(event_row: HistoryEvent, process_id: str = "", business_key: Optional[str] = None) -> dict[str, Any]:
    """The event as an export row, with its instance's process and business key (JSON-safe; ``at``
    ISO 8601 UTC with ``+00:00``, as the API writes times: ``timestamps.iso``)."""
    return {"id": event_row.id, "instance_id": event_row.instance_id, "process_id": process_id,
            "business_key": business_key, "at": timestamps.iso(event_row.at), "type": event_row.type,
            "actor": event_row.actor, "element_id": event_row.element_id, "task_id": event_row.task_id,
            "data": event_row.data or {}}


_INTERNAL_STEPS = frozenset({  # SpiffWorkflow's own tasks: no element of the diagram
    "BpmnStartTask", "SimpleBpmnTask", "StartEventJoin", "_EndJoin", "BoundaryEventSplit", "BoundaryEventJoin"})


def record_engine_step(session: Session, instance_id: int, outgoing: dict, step: Step) -> None:
    """What the engine did by itself at ``step``: the flows a gateway took (``outgoing``: the version's
    flows by source element), the data a script changed, or else that the element completed
    (``element_completed``: start and end events, catch events, service tasks, scripts that changed
    nothing — so the diagram marks what ran from the history, never from a guess)."""
    kind, element_id = step.kind, step.element_id
    before, after = step.data_before, step.data_after
    if "Gateway" in kind:
        flows_out = outgoing.get(element_id, {})
        targets = step.targets
        if len(flows_out) == 1:  # a converging gateway: the token goes on its only way
            targets = [f["target"] for f in flows_out.values()]
        flows = [fid for fid, f in flows_out.items() if f["target"] in targets]
        record(session, instance_id, "gateway_taken", "system", element_id, data={"flows": flows, "targets": targets})
    elif "Script" in kind:
        changed = {k: v for k, v in after.items() if k not in before or before[k] != v}
        removed = [k for k in before if k not in after]
        if values.find_problem(changed) is not None:  # advance() contains it; the history must stay writable
            changed = {k: None if values.find_value_problem(k, v) else v for k, v in changed.items()}
        if changed or removed:
            record(session, instance_id, "script_changed_data", "system", element_id,
                   data={"changed": changed, "removed": removed, "before": {k: before.get(k) for k in changed}})
            return
    if "Gateway" not in kind and kind not in _INTERNAL_STEPS and "MultiInstance" not in kind:  # not an MI wrapper
        record(session, instance_id, "element_completed", "system", element_id)
