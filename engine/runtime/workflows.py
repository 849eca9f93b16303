"""Instances' workflows inside a command: the instance lock, loading and saving the state, the cache.

Every writer of an instance first locks its row (``SELECT ... FOR UPDATE``; on SQLite the
``BEGIN IMMEDIATE`` transaction) and writes it back only if its ``etag`` is unchanged.
Deserialized workflows are cached per instance and reused while the row's ``etag`` matches,
so a step does not re-read the whole state (nor rewrite the variables' search index: only the
variables that changed are written); a workflow saved in a command joins the cache
when the command commits, never before. A reader that does not lock the instance uses
``peek_workflow``, which leaves the cache as it is. Data a workflow holds that cannot be stored is
cleared here and opens an incident (``contain_unstorable``), so the command still commits.
"""
from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import bindparam, event, select, update
from sqlalchemy.orm import Session

from engine import (call_activities, clock, config, database, definitions, incidents, spiff, variable_history,
                    variable_index)
from engine.errors import ConflictError, EngineError, NotFoundError
from engine.models import Definition, Instance, InstanceStatus
from engine.statements import Statement

SCRIPT_TIMEOUT = config.script_timeout()
CACHE_SIZE = config.workflow_cache_size()
_cache: OrderedDict[tuple[str, int], tuple[str, Any]] = OrderedDict()  # least recently saved first
_cache_lock = threading.Lock()
PENDING = "pending_workflows"  # session.info key: workflows saved by the open command
ENDED = (InstanceStatus.COMPLETED, InstanceStatus.CANCELLED)


@dataclass
class Locked:
    """The columns of a locked instance row a command needs."""

    id: int
    process_id: str
    status: str
    etag: str
    started_by: str
    definition_id: int


@dataclass
class StepFailure:
    """A step that failed (its incident is recorded): where, and the message."""

    element_id: Optional[str]
    message: str


_INSTANCES = Instance.__table__
_DEFINITIONS = Definition.__table__
_SAVE = Statement(update(_INSTANCES)
         .where(_INSTANCES.c.id == bindparam("iid"), _INSTANCES.c.etag == bindparam("old_etag"))
         .values(state=bindparam("state"), data=bindparam("data"), etag=bindparam("new_etag"),
                 revision=_INSTANCES.c.revision + 1, status=bindparam("status"), ended_at=bindparam("ended")))
_LOCK = Statement(select(_INSTANCES.c.id, _INSTANCES.c.process_id, _INSTANCES.c.status, _INSTANCES.c.etag,
                _INSTANCES.c.started_by, _INSTANCES.c.definition_id, _DEFINITIONS.c.content_hash)
         .join(_DEFINITIONS, _DEFINITIONS.c.id == _INSTANCES.c.definition_id)
         .where(_INSTANCES.c.id == bindparam("iid")).with_for_update(of=_INSTANCES, key_share=True))
_STATE = Statement(select(_INSTANCES.c.state).where(_INSTANCES.c.id == bindparam("iid")))
_DATA = Statement(select(_INSTANCES.c.data).where(_INSTANCES.c.id == bindparam("iid")))
_PEEK = Statement(select(_INSTANCES.c.etag, _INSTANCES.c.definition_id, _DEFINITIONS.c.content_hash)
                  .join(_DEFINITIONS, _DEFINITIONS.c.id == _INSTANCES.c.definition_id)
                  .where(_INSTANCES.c.id == bindparam("iid")))


def lock_instance(session: Session, instance_id: int) -> tuple[Locked, definitions.Version]:
    """Lock the instance row for this transaction; return it with its (cached) version."""
    found = _LOCK.first(session, {"iid": instance_id})
    if found is None:
        raise NotFoundError(f"Instance {instance_id} does not exist.")
    locked = Locked(*found[:6])
    return locked, calling(session, definitions.version_of(session, locked.definition_id, found.content_hash))


def _cache_key(session: Session, instance_id: int) -> tuple[str, int]:
    engine = session.get_bind().engine
    database_key = engine.__dict__.get("liucheng_cache_key")
    if database_key is None:
        database_key = engine.__dict__["liucheng_cache_key"] = str(engine.url)
    return (database_key, instance_id)


def load_workflow(session: Session, instance: Locked, version: definitions.Version):
    """The instance's workflow, from the cache when its etag still matches."""
    with _cache_lock:
        cached = _cache.pop(_cache_key(session, instance.id), None)
    if cached is not None and cached[0] == instance.etag:
        spiff.set_resolver(cached[1], _resolver(session, version))
        return cached[1]
    specs = spiff.load_spec(f"{version.content_hash}:{version.id}", version.spec_json)
    state = _STATE.scalar(session, {"iid": instance.id})
    return spiff.load_state(specs, state, SCRIPT_TIMEOUT, _resolver(session, version))


def peek_workflow(session: Session, instance_id: int):
    """The instance's workflow to read, without locking the instance (never to save): the cached one while its
    etag matches the row's, left in the cache; else deserialized from the row and not cached."""
    found = _PEEK.first(session, {"iid": instance_id})
    if found is None:
        raise NotFoundError(f"Instance {instance_id} does not exist.")
    with _cache_lock:
        cached = _cache.get(_cache_key(session, instance_id))
    if cached is not None and cached[0] == found.etag:
        return cached[1]
    version = calling(session, definitions.version_of(session, found.definition_id, found.content_hash))
    specs = spiff.load_spec(f"{version.content_hash}:{version.id}", version.spec_json)
    state = _STATE.scalar(session, {"iid": instance_id})
    return spiff.load_state(specs, state, SCRIPT_TIMEOUT, _resolver(session, version))


def new_workflow(version: definitions.Version, values: dict, start_event: Optional[str] = None,
                 session: Optional[Session] = None):
    """A new workflow of ``version`` holding the start values, not run yet."""
    specs = spiff.load_spec(f"{version.content_hash}:{version.id}", version.spec_json)
    return spiff.new_workflow(specs, values, SCRIPT_TIMEOUT, start_event,
                              _resolver(session, version) if session is not None else None)


# -- processes of other files that call activities call (engine.call_activities) -------------------

def _find_version(session: Session, process_id: str, version: Optional[int] = None):
    try:
        return definitions.current_version(session, process_id, version)
    except NotFoundError:
        return None


def _resolver(session: Session, version: definitions.Version) -> spiff.Resolver:
    """How a workflow of ``version`` binds a called process of another file: the version it is bound to,
    else the one its call activity pins (binding deployment or version), else the latest deployed."""
    def resolve(process_id: str, bound: Optional[int]):
        if bound is not None:
            found = definitions.version_by_id(session, bound)
        else:
            found = _find_version(session, process_id, call_activities.pinned_version(version.elements, process_id))
        if found is None:
            return None
        return found.id, spiff.load_spec(f"{found.content_hash}:{found.id}", found.spec_json)
    return resolve


def calling(session: Session, version: definitions.Version) -> definitions.Version:
    """``version`` seen with the elements and forms of the processes of other files it calls (the pinned or
    latest versions, before its workflow says which it bound: ``with_bound``)."""
    calls = call_activities.external_calls(version.elements)
    if not calls:
        return version
    found = [_find_version(session, call["process_id"], call_activities.pinned_version(version.elements,
                                                                                      call["process_id"]))
             for _, _, call in calls]
    return call_activities.merged(version, [v for v in found if v is not None])


def with_bound(session: Session, version: definitions.Version, wf) -> definitions.Version:
    """``version`` seen with the elements and forms of the versions its workflow bound."""
    bound = spiff.called_bindings(wf)
    if not bound:
        return version
    own = definitions.version_of(session, version.id, version.content_hash)
    return call_activities.merged(own, [definitions.version_by_id(session, d) for d in sorted(set(bound.values()))])


def save_workflow(session: Session, instance: Locked, wf, status: str, data: dict) -> None:
    """Prune, serialize and write back the state and the changed variables' search index; keep the workflow
    cached after commit."""
    spiff.prune(wf)
    state, contained = _dump_state(session, instance, wf)
    if contained is not None and status != InstanceStatus.CANCELLED:
        status = contained
    new_etag = uuid.uuid4().hex
    before = _saved_data(session, instance, wf)
    saved = _SAVE.rowcount(session, {
        "iid": instance.id, "old_etag": instance.etag, "state": state, "data": data,
        "new_etag": new_etag, "status": status, "ended": clock.now() if status in ENDED else None})
    if saved != 1:
        raise ConflictError(f"Instance {instance.id} was changed by someone else; reload and try again.")
    _index_variables(session, instance, wf, before, data)
    if status in (InstanceStatus.RUNNING, InstanceStatus.FAILED):  # an ended instance takes no more steps
        session.info.setdefault(PENDING, {})[_cache_key(session, instance.id)] = (new_etag, wf)


def _saved_data(session: Session, instance: Locked, wf) -> dict:
    """The instance's data as last saved: what the cached workflow saved, else the row's (before it is
    written), none for a new instance."""
    before = spiff.memo(wf).get("saved_data")
    if before is None:
        before = (_DATA.scalar(session, {"iid": instance.id}) or {}) if instance.etag else {}
    return before


def _index_variables(session: Session, instance: Locked, wf, before: dict, data: dict) -> None:
    """Write the variables the step changed (``before`` -> ``data``) to the search index
    (``engine.variable_index``) and their history (``engine.variable_history``)."""
    variable_index.write_changes(session, instance.id, before, data)
    variable_history.record_changes(session, instance.id, before, data)
    spiff.memo(wf)["saved_data"] = data


@event.listens_for(Session, "after_commit")
@database.on("after_commit")
def _keep_committed_workflows(session: Session) -> None:
    pending = session.info.pop(PENDING, None)
    if pending:
        with _cache_lock:
            _cache.update(pending)
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)


@event.listens_for(Session, "after_rollback")
@database.on("after_rollback")
def _drop_uncommitted_workflows(session: Session) -> None:
    session.info.pop(PENDING, None)


def pending_mark(session: Session) -> dict:
    """The workflows saved so far in this command (to undo a savepoint with ``pending_reset``)."""
    return dict(session.info.get(PENDING) or {})


def pending_reset(session: Session, mark: dict) -> None:
    session.info[PENDING] = mark


def forget(instance_id: Optional[int] = None) -> None:
    """Drop one instance's (or every) cached workflow."""
    with _cache_lock:
        if instance_id is None:
            _cache.clear()
        else:
            for key in [k for k in _cache if k[1] == instance_id]:
                del _cache[key]


# -- data that cannot be stored ------------------------------------------------------------

def set_error(session: Session, instance_id: int, message: str) -> None:
    """The instance's last error, shown with it."""
    session.execute(update(Instance).where(Instance.id == instance_id).values(error=message)
                    .execution_options(synchronize_session=False))


def contain_unstorable(session: Session, instance: Locked, wf) -> Optional[tuple[str, StepFailure]]:
    """Clear data the engine cannot store from the workflow and open an incident on the element it
    appeared at, so the command still commits; returns the instance's new status and the failure
    (None: nothing found)."""
    found = spiff.contain(wf)
    if found is None:
        return None
    message = (f"Variable '{found.problem.variable}' written at {found.where} cannot be stored: "
               f"{found.problem.describe()}. It was set to None so the instance could be saved. Correct the step "
               f"that wrote it (or the data sent to it), then retry the incident to run on with "
               f"'{found.problem.variable}' cleared, or resolve it.")
    status = incidents.record_failure(session, instance.id, instance.process_id, found.element_id,
                                      found.engine_task_id, message, retries=False)
    set_error(session, instance.id, message)
    return status, StepFailure(found.element_id, message)


def _dump_state(session: Session, instance: Locked, wf) -> tuple[str, Optional[str]]:
    """The state's JSON, and the status to save when data that cannot be stored had to be cleared."""
    try:
        return spiff.dump_state(wf), None
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        contained = contain_unstorable(session, instance, wf)
        if contained is None:
            raise EngineError(f"Instance {instance.id} could not be saved ({exc}); nothing was changed. "
                              "Report this with the process and the step.") from exc
        return spiff.dump_state(wf), contained[0]
