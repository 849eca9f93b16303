"""Human task rows: who sees them, who may claim, complete and unclaim them, and their updates.

A row exists for every user task that became ready. Who it goes to is ``engine.assignment``'s
rule: its ``role`` (the first candidate group: the lane named after a role, a candidate group or the
deployment's default role), one named user (the assignee: then only that user may work on it), and
more candidate groups (roles) and candidate users (``task_candidates`` rows: a candidate user may
claim without the role); its name is the model's, with ``${…}`` evaluated. Claims are
conditional updates, so of two users claiming at once exactly one wins. The commands
(complete, claim, unclaim, reassign) are ``engine.runtime.tasks``.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import Select, and_, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session, object_session

from engine import assignment, clock, forms, history, instances
from engine import spiff
from engine.errors import ConflictError, EngineError, NotFoundError, PermissionDeniedError, ValidationError
from engine.models import Definition, HumanTask, Instance, TaskCandidate, TaskStatus, User
from engine.statements import Statement

ACTIVE = instances.ACTIVE_TASK  # open or claimed
STATUSES = tuple(TaskStatus)
SCOPES = ("mine", "claimable", "all")


def find_task(session: Session, task_id: int) -> Optional[HumanTask]:
    return session.get(HumanTask, task_id)


def get_task(session: Session, task_id: int) -> HumanTask:
    row = find_task(session, task_id)
    if row is None:
        raise NotFoundError(f"Task {task_id} does not exist.")
    return row


# -- permissions ----------------------------------------------------------------------

def check_may_work(row: HumanTask, actor: User, verb: str, session: Optional[Session] = None) -> None:
    """Raise unless ``actor`` may claim/complete ``row`` now (403 not allowed, 409 taken)."""
    if row.status not in ACTIVE:
        raise ConflictError(f"Task {row.id} is already {row.status}; it cannot be {verb}d.")
    if row.assignee and row.assignee != actor.username:
        if row.status == TaskStatus.CLAIMED:
            raise ConflictError(f"Task {row.id} is claimed by {row.assignee}; ask them to unclaim it or a "
                                "supervisor to reassign it.")
        raise PermissionDeniedError(f"Task {row.id} is assigned to {row.assignee} only.")
    if not row.assignee and not is_offered(row, actor, session):
        raise PermissionDeniedError(f"Task {row.id} is for role '{row.role}', which you do not have.")


def may_read(row: HumanTask, actor: User) -> bool:
    return actor.reads_all or row.assignee == actor.username or is_offered(row, actor)


def is_offered(row: HumanTask, actor: User, session: Optional[Session] = None) -> bool:
    """``actor`` has the task's role or one of its candidate groups, or is one of its candidate users
    (``row`` is a ``HumanTask`` or a row of its columns read with ``session``)."""
    if row.role in actor.roles:
        return True
    if session is None and isinstance(row, HumanTask):
        session = object_session(row)
    return session is not None and bool(session.scalar(select(exists().where(
        TaskCandidate.task_id == row.id, offered_to(actor)))))


def offered_to(actor: User):
    """SQL condition on ``TaskCandidate``: a row naming one of ``actor``'s roles or ``actor``."""
    return or_(and_(TaskCandidate.kind == "group", TaskCandidate.name.in_(actor.roles)),
               and_(TaskCandidate.kind == "user", TaskCandidate.name == actor.username))


def offered(actor: User):
    """SQL condition on ``HumanTask``: of one of ``actor``'s roles, or offered to them as a candidate."""
    return or_(HumanTask.role.in_(actor.roles),
               exists().where(TaskCandidate.task_id == HumanTask.id, offered_to(actor)))


def may_unclaim(row: HumanTask, actor: User) -> bool:
    """A claimed task may be given back by the user holding it, a supervisor or an admin (never by
    a read-only user)."""
    return (row.status == TaskStatus.CLAIMED and not actor.read_only
            and (row.assignee == actor.username or actor.manages_work))


def abilities(row: HumanTask, actor: User) -> dict[str, bool]:
    """What ``actor`` may do with the task now: ``claim``, ``unclaim``, ``complete`` (each command
    checks again)."""
    try:
        check_may_work(row, actor, "complete")
        may_work = not actor.read_only
    except EngineError:
        may_work = False
    return {"claim": may_work and row.status == TaskStatus.OPEN, "unclaim": may_unclaim(row, actor),
            "complete": may_work}


# -- row updates (the commands are engine.runtime.tasks) ----------------------------------

def mark_claimed(session: Session, row: HumanTask, username: str) -> None:
    """Claim an open row for ``username``; a ConflictError if someone else got it first."""
    _changed(session, update(HumanTask).where(
        HumanTask.id == row.id, HumanTask.status == TaskStatus.OPEN,
        or_(HumanTask.assignee.is_(None), HumanTask.assignee == username))
        .values(status=TaskStatus.CLAIMED, assignee=username, claimed_at=clock.now()),
        f"Task {row.id} was claimed or completed by someone else just now.")


def mark_unclaimed(session: Session, row: HumanTask) -> None:
    """Give a claimed row back to its role (or the user it was routed to)."""
    _changed(session, update(HumanTask).where(
        HumanTask.id == row.id, HumanTask.status == TaskStatus.CLAIMED, HumanTask.assignee == row.assignee)
        .values(status=TaskStatus.OPEN, assignee=row.candidate_user, claimed_at=None),
        f"Task {row.id} changed just now; reload it.")


def mark_reassigned(session: Session, row: HumanTask, username: str) -> None:
    """Give an active row to ``username`` (claimed by them)."""
    _changed(session, update(HumanTask).where(
        HumanTask.id == row.id, HumanTask.status.in_(ACTIVE),
        HumanTask.assignee.is_(row.assignee) if row.assignee is None else HumanTask.assignee == row.assignee)
        .values(status=TaskStatus.CLAIMED, assignee=username, claimed_at=clock.now(),
                candidate_user=username if row.candidate_user else None),
        f"Task {row.id} changed just now; reload it.")


def _changed(session: Session, statement, conflict: str) -> None:
    if session.execute(statement.execution_options(synchronize_session=False)).rowcount != 1:
        raise ConflictError(conflict)


_FINISH = Statement(update(HumanTask.__table__).where(
    HumanTask.__table__.c.id == bindparam("tid"),
    or_(HumanTask.__table__.c.status == TaskStatus.OPEN, HumanTask.__table__.c.status == TaskStatus.CLAIMED),
    or_(HumanTask.__table__.c.assignee.is_(None), HumanTask.__table__.c.assignee == bindparam("user")))
    .values(status=TaskStatus.COMPLETED, completed_at=bindparam("now"), completed_by=bindparam("user"),
            assignee=func.coalesce(HumanTask.__table__.c.assignee, bindparam("user"))))


def mark_completed(session: Session, task_id: int, username: str, now: datetime) -> bool:
    """Complete an active row by ``username``; False if someone else completed or claimed it."""
    return _FINISH.rowcount(session, {"tid": task_id, "now": now, "user": username}) == 1


# -- keeping rows in step with the engine -------------------------------------------------

_TASKS = HumanTask.__table__
_ACTIVE_ROWS = Statement(select(_TASKS.c.id, _TASKS.c.engine_task_id, _TASKS.c.element_id).where(
    _TASKS.c.instance_id == bindparam("iid"), or_(_TASKS.c.status == TaskStatus.OPEN, _TASKS.c.status == TaskStatus.CLAIMED)))
_CANCEL = Statement(update(_TASKS).where(_TASKS.c.id == bindparam("tid"))
                    .values(status=TaskStatus.CANCELLED, completed_at=bindparam("now")))
_CREATE = Statement(insert(_TASKS).returning(_TASKS.c.id), columns=(
    "instance_id", "process_id", "engine_task_id", "element_id", "name", "role", "form_key", "status", "assignee",
    "candidate_user", "created_at"))


def sync_tasks(session: Session, instance: Instance, version, wf, completed_task: Optional[str] = None) -> None:
    """Create rows for newly ready user tasks; cancel rows whose task went away."""
    ready = {t.engine_task_id: t for t in spiff.ready_user_tasks(wf)}
    memo = spiff.memo(wf)
    known = memo.get("tasks")
    if known is None:
        known = {r.engine_task_id: (r.id, r.element_id)
                 for r in _ACTIVE_ROWS.all(session, {"iid": instance.id})}
        memo["tasks"] = known
    known.pop(completed_task, None)
    now = clock.now()
    for engine_task_id, (row_id, element_id) in list(known.items()):
        if engine_task_id not in ready:
            _CANCEL.execute(session, {"tid": row_id, "now": now})
            history.record(session, instance.id, "task_cancelled", "system", element_id, row_id)
            del known[engine_task_id]
    nodes = version.elements.get("nodes", {})
    for engine_task_id, task in ready.items():
        if engine_task_id in known:
            continue
        node = nodes.get(task.element_id, {})
        routing = assignment.route(node, task.lane, task.data, instance.started_by)
        task_id = _CREATE.scalar(session, {
            "instance_id": instance.id, "process_id": instance.process_id, "engine_task_id": engine_task_id,
            "element_id": task.element_id, "name": assignment.task_name(task.name, task.data),
            "role": routing.role, "form_key": node.get("form_key"), "status": TaskStatus.OPEN,
            "assignee": routing.assignee, "candidate_user": routing.assignee, "created_at": now})
        extra = routing.extra_candidates
        if extra:
            session.execute(insert(TaskCandidate), [{"task_id": task_id, "kind": k, "name": n[:64]} for k, n in extra])
        known[engine_task_id] = (task_id, task.element_id)
        details = {"role": routing.role, "assignee": routing.assignee}
        if extra:
            details.update(candidate_groups=routing.groups, candidate_users=routing.users)
        history.record(session, instance.id, "task_created", "system", task.element_id, task_id, details)


def close_open_tasks(session: Session, instance_id: int, status: str, actor: str) -> None:
    rows = session.execute(select(HumanTask.id, HumanTask.element_id).where(
        HumanTask.instance_id == instance_id, HumanTask.status.in_(ACTIVE))).all()
    now = clock.now()
    for row in rows:
        session.execute(update(HumanTask).where(HumanTask.id == row.id).values(status=status, completed_at=now)
                        .execution_options(synchronize_session=False))
        history.record(session, instance_id, "task_cancelled", actor, row.element_id, row.id)


# -- queries ----------------------------------------------------------------------------------

def list_tasks(session: Session, actor: User, scope: str = "mine", process_id: Optional[str] = None,
               instance_id: Optional[int] = None, status: Optional[str] = None,
               due_before: Optional[datetime] = None, overdue: bool = False,
               limit: int = 100, offset: int = 0) -> list[HumanTask]:
    if scope not in SCOPES:
        raise ValidationError(f"scope must be one of {', '.join(SCOPES)}.", {"scope": ["Unknown scope."]})
    if status is not None and status not in STATUSES:
        raise ValidationError(f"status must be one of {', '.join(STATUSES)}.", {"status": ["Unknown status."]})
    query = select(HumanTask)
    if scope == "mine":
        query = query.where(HumanTask.assignee == actor.username, HumanTask.status.in_(ACTIVE))
    elif scope == "claimable":
        query = query.where(HumanTask.status == TaskStatus.OPEN, HumanTask.assignee.is_(None),
                            offered(actor))
    else:
        if not actor.reads_all:
            query = query.where(or_(offered(actor), HumanTask.assignee == actor.username))
        query = query.where(HumanTask.status == status) if status else query.where(HumanTask.status.in_(ACTIVE))
    if process_id:
        query = query.where(HumanTask.process_id == process_id)
    if instance_id is not None:
        query = query.where(HumanTask.instance_id == instance_id)
    if due_before is not None:
        query = query.where(HumanTask.due_at.is_not(None), HumanTask.due_at < due_before)
    if overdue:
        query = query.where(and_(HumanTask.due_at.is_not(None), HumanTask.due_at < clock.now()))
    query = query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id)
    return list(session.scalars(query.limit(min(max(limit, 1), 500)).offset(max(offset, 0))))


DUE_SOON = timedelta(hours=24)


def search(actor: User, tab: str, process_id: Optional[str] = None, due: Optional[str] = None,
           text: Optional[str] = None) -> Select:
    """``select(HumanTask, Instance)`` of the worklist tab ``mine`` (assigned to ``actor``, active) or
    ``claimable`` (open, unassigned, of one of their roles), filtered by process, due (``overdue``:
    past due; ``soon``: due within ``DUE_SOON``) and business key text (not yet ordered)."""
    query = select(HumanTask, Instance).join(Instance, Instance.id == HumanTask.instance_id)
    if tab == "claimable":
        query = query.where(HumanTask.status == TaskStatus.OPEN, HumanTask.assignee.is_(None),
                            offered(actor))
    else:
        query = query.where(HumanTask.assignee == actor.username, HumanTask.status.in_(ACTIVE))
    if process_id:
        query = query.where(HumanTask.process_id == process_id)
    now = clock.now()
    if due == "overdue":
        query = query.where(HumanTask.due_at.is_not(None), HumanTask.due_at < now)
    elif due == "soon":
        query = query.where(HumanTask.due_at.is_not(None), HumanTask.due_at >= now,
                            HumanTask.due_at < now + DUE_SOON)
    if text and text.strip():
        query = query.where(instances.business_key_match(text))
    return query


def ordered(query: Select, sort: str) -> Select:
    """``query`` by due date (``due``, no date last), latest due first (``-due``) or newest (``created``)."""
    if sort == "-due":
        return query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at.desc(), HumanTask.id.desc())
    if sort == "created":
        return query.order_by(HumanTask.created_at.desc(), HumanTask.id.desc())
    return query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id)


def processes_with_tasks(session: Session, actor: User) -> list[str]:
    """Processes that have active tasks for ``actor`` (assigned, or unassigned of their roles)."""
    mine = or_(HumanTask.assignee == actor.username,
               and_(HumanTask.assignee.is_(None), offered(actor)))
    return sorted(session.scalars(select(HumanTask.process_id).distinct()
                                  .where(HumanTask.status.in_(ACTIVE), mine)))


def task_form(session: Session, row: HumanTask) -> Optional[dict]:
    if not row.form_key:
        return None
    definition = session.scalar(select(Definition).join(Instance, Instance.definition_id == Definition.id)
                                .where(Instance.id == row.instance_id))
    return forms.describe(definition.forms.get(row.form_key)) if definition else None


def as_dict(row: HumanTask, form: Optional[dict] = None) -> dict[str, Any]:
    return {"id": row.id, "instance_id": row.instance_id, "process_id": row.process_id,
            "element_id": row.element_id, "name": row.name, "role": row.role, "status": row.status,
            "assignee": row.assignee, "created_at": _iso(row.created_at), "claimed_at": _iso(row.claimed_at),
            "completed_at": _iso(row.completed_at), "completed_by": row.completed_by,
            "due_at": _iso(row.due_at), "form": form}


def _iso(value: Optional[datetime]) -> Optional[str]:
    return value.isoformat() if value else None
