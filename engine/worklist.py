"""Human task rows: who sees them, who may claim, complete and unclaim them, and their updates.

A row exists for every user task that became ready. Who it goes to is ``engine.assignment``'s
rule: its ``role`` (the first candidate group: the lane named after a role, a candidate group or the
deployment's default role), one named user (the assignee: the task is created claimed by them, as a
Camunda assignee is set at creation, and only they may work on it; given back, it goes to the role's
queue with them as a candidate user), and more candidate groups (roles) and candidate users
(``task_candidates`` rows: a candidate user may claim without the role); its name is the model's, with
``${…}`` evaluated; its ``priority`` (0-100, 50 by default) and ``follow_up`` date come from the model
too. Claims are conditional updates, so of two users claiming at once exactly one wins. Delegation
(``owner``, ``delegation``, ``draft``) is ``engine.delegation``'s. The queries are the worklist's tabs
(``search``, ``in_tab``, ``narrowed``, ``ordered``, ``counts``); the API's list and JSON are
``engine.task_listing``. The commands (complete, claim, unclaim, reassign, prioritize) are
``engine.runtime.tasks``; delegate and resolve are ``engine.runtime.delegations``.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any, Optional

from sqlalchemy import Select, and_, bindparam, exists, func, insert, null, or_, select, update
from sqlalchemy.orm import Session, object_session

from engine import assignment, clock, config, delegation, history, instances
from engine import spiff
from engine import variable_index
from engine.errors import ConflictError, EngineError, NotFoundError, PermissionDeniedError, ValidationError
from engine.models import HumanTask, Instance, TaskCandidate, TaskStatus, User
from engine.statements import Statement

ACTIVE = instances.ACTIVE_TASK  # open or claimed
STATUSES = tuple(TaskStatus)
TABS = ("mine", "claimable", "delegated")
SORTS = ("due", "-due", "created", "priority", "-priority", "follow_up", "-follow_up")
FOLLOW_UPS = ("due", "current")


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
        raise ConflictError(f"Task {row.id} is already {row.status}; it cannot be {verb.removesuffix('e')}ed.")
    if verb == "complete" and row.delegation == delegation.PENDING:
        raise ConflictError(f"Task {row.id} is delegated to {row.assignee}: they must resolve it before it can "
                            "be completed.")
    if row.assignee and row.assignee != actor.username:
        if row.status == TaskStatus.CLAIMED and row.candidate_user != row.assignee:
            raise ConflictError(f"Task {row.id} is claimed by {row.assignee}; ask them to unclaim it or a "
                                "supervisor to reassign it.")
        raise PermissionDeniedError(f"Task {row.id} is assigned to {row.assignee} only.")
    if not row.assignee and not is_offered(row, actor, session):
        raise PermissionDeniedError(f"Task {row.id} is for role '{row.role}', which you do not have.")


def may_read(row: HumanTask, actor: User) -> bool:
    return (actor.reads_all or actor.username in (row.assignee, row.owner, row.candidate_user)
            or is_offered(row, actor))


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
    a read-only user; never while a delegate holds it: they resolve it)."""
    return (row.status == TaskStatus.CLAIMED and not actor.read_only and row.delegation != delegation.PENDING
            and (row.assignee == actor.username or actor.manages_work))


def may_reassign(row: HumanTask, actor: User) -> bool:
    """A supervisor or an admin reassigns an active task; the assignee hands their own claimed task on
    (as Camunda lets the assignee set the assignee), unless a delegate holds it."""
    if row.status not in ACTIVE or actor.read_only:
        return False
    return actor.manages_work or (row.status == TaskStatus.CLAIMED and row.assignee == actor.username
                                  and row.delegation != delegation.PENDING)


def may_prioritize(row: HumanTask, actor: User) -> bool:
    """The assignee, the owner, a supervisor or an admin sets an active task's priority and follow-up date."""
    return (row.status in ACTIVE and not actor.read_only
            and (actor.manages_work or actor.username in (row.assignee, row.owner)))


def abilities(row: HumanTask, actor: User) -> dict[str, bool]:
    """What ``actor`` may do with the task now: ``claim``, ``unclaim``, ``complete``, ``reassign``,
    ``delegate``, ``resolve``, ``prioritize`` (each command checks again)."""
    try:
        check_may_work(row, actor, "complete")
        may_work = not actor.read_only
    except EngineError:
        may_work = False
    return {"claim": may_work and row.status == TaskStatus.OPEN, "unclaim": may_unclaim(row, actor),
            "complete": may_work, "reassign": may_reassign(row, actor),
            "delegate": delegation.may_delegate(row, actor), "resolve": delegation.may_resolve(row, actor),
            "prioritize": may_prioritize(row, actor)}


# -- row updates (the commands are engine.runtime.tasks) ----------------------------------

def mark_claimed(session: Session, row: HumanTask, username: str) -> None:
    """Claim an open row for ``username``; a ConflictError if someone else got it first."""
    _changed(session, update(HumanTask).where(
        HumanTask.id == row.id, HumanTask.status == TaskStatus.OPEN,
        or_(HumanTask.assignee.is_(None), HumanTask.assignee == username))
        .values(status=TaskStatus.CLAIMED, assignee=username, claimed_at=clock.now()),
        f"Task {row.id} was claimed or completed by someone else just now.")


_NO_DELEGATION: dict[str, Any] = {"owner": None, "delegation": None, "draft": null()}  # SQL NULL, not JSON null


def mark_unclaimed(session: Session, row: HumanTask) -> None:
    """Give a claimed row back to its role's queue. A task routed to one user goes to the queue too (as
    Camunda's ``setAssignee(null)`` leaves the candidates), that user becoming one of its candidate users
    so that they may take it again. A past delegation ends here: owner, delegation state and the
    delegate's draft are cleared, so that the next holder works on a task of their own."""
    _changed(session, update(HumanTask).where(
        HumanTask.id == row.id, HumanTask.status == TaskStatus.CLAIMED, HumanTask.assignee == row.assignee)
        .values(status=TaskStatus.OPEN, assignee=None, candidate_user=None, claimed_at=None, **_NO_DELEGATION),
        f"Task {row.id} changed just now; reload it.")
    routed = row.candidate_user
    if routed and session.get(TaskCandidate, (row.id, "user", routed[:64])) is None:
        session.add(TaskCandidate(task_id=row.id, kind="user", name=routed[:64]))


def mark_prioritized(session: Session, row: HumanTask, values: dict[str, Any]) -> None:
    """Set an active row's ``priority`` and/or ``follow_up`` (the keys of ``values``)."""
    _changed(session, update(HumanTask).where(HumanTask.id == row.id, HumanTask.status.in_(ACTIVE))
             .values(**values), f"Task {row.id} changed just now; reload it.")


def mark_reassigned(session: Session, row: HumanTask, username: str) -> None:
    """Give an active row to ``username`` (claimed by them). A delegation (pending or resolved) ends: owner,
    delegation state and the delegate's draft are cleared (a supervisor reassigns because someone is away;
    the history event keeps what was cleared)."""
    _changed(session, update(HumanTask).where(
        HumanTask.id == row.id, HumanTask.status.in_(ACTIVE),
        HumanTask.assignee.is_(row.assignee) if row.assignee is None else HumanTask.assignee == row.assignee)
        .values(status=TaskStatus.CLAIMED, assignee=username, claimed_at=clock.now(),
                candidate_user=username if row.candidate_user else None, **_NO_DELEGATION),
        f"Task {row.id} changed just now; reload it.")


def _changed(session: Session, statement, conflict: str) -> None:
    if session.execute(statement.execution_options(synchronize_session=False)).rowcount != 1:
        raise ConflictError(conflict)


_FINISH = Statement(update(HumanTask.__table__).where(
    HumanTask.__table__.c.id == bindparam("tid"),
    or_(HumanTask.__table__.c.status == TaskStatus.OPEN, HumanTask.__table__.c.status == TaskStatus.CLAIMED),
    or_(HumanTask.__table__.c.assignee.is_(None), HumanTask.__table__.c.assignee == bindparam("user")),
    or_(HumanTask.__table__.c.delegation.is_(None), HumanTask.__table__.c.delegation != delegation.PENDING))
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
    "candidate_user", "created_at", "claimed_at", "priority", "follow_up"))


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
        routed = routing.assignee is not None  # routed to one user: theirs at once, as a Camunda assignee
        task_id = _CREATE.scalar(session, {
            "instance_id": instance.id, "process_id": instance.process_id, "engine_task_id": engine_task_id,
            "element_id": task.element_id, "name": assignment.task_name(task.name, task.data),
            "role": routing.role, "form_key": node.get("form_key"),
            "status": TaskStatus.CLAIMED if routed else TaskStatus.OPEN, "assignee": routing.assignee,
            "candidate_user": routing.assignee, "created_at": now, "claimed_at": now if routed else None,
            "priority": assignment.priority_of(node.get("priority"), task.data),
            "follow_up": assignment.follow_up_of(node.get("follow_up"), task.data)})
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

DUE_SOON = timedelta(hours=24)


def search(actor: User, tab: str, process_id: Optional[str] = None, due: Optional[str] = None,
           text: Optional[str] = None, variables: Optional[str] = None, *, role: Optional[str] = None,
           min_priority: Optional[int] = None, follow_up: Optional[str] = None,
           today: Optional[date] = None) -> Select:
    """``select(HumanTask, Instance)`` of the worklist tab ``tab`` (``TABS``, see ``in_tab``), filtered
    by process, due (``overdue``: past due; ``soon``: due within ``DUE_SOON``), business key text,
    variables and ``narrowed``'s role, priority and follow-up (not yet ordered)."""
    query = select(HumanTask, Instance).join(Instance, Instance.id == HumanTask.instance_id)
    query = query.where(in_tab(actor, tab if tab in TABS else "mine"))
    now = clock.now()
    if due == "overdue":
        query = query.where(HumanTask.due_at.is_not(None), HumanTask.due_at < now)
    elif due == "soon":
        query = query.where(HumanTask.due_at.is_not(None), HumanTask.due_at >= now,
                            HumanTask.due_at < now + DUE_SOON)
    if text and text.strip():
        query = query.where(instances.business_key_match(text))
    if variables:  # its instance's data (engine.variable_index)
        query = query.where(variable_index.matching(variable_index.parse(variables), HumanTask.instance_id))
    return narrowed(query, process_id, role, min_priority, follow_up, today)


def in_tab(actor: User, tab: str):
    """SQL condition of a worklist tab: ``mine`` (active, assigned to ``actor``, or owned by them while a
    delegate holds it), ``claimable`` (open, unassigned, offered to them) or ``delegated`` (owned by
    them, a delegate holds it)."""
    delegated = and_(HumanTask.owner == actor.username, HumanTask.delegation == delegation.PENDING,
                     HumanTask.status.in_(ACTIVE))
    if tab == "claimable":
        return and_(HumanTask.status == TaskStatus.OPEN, HumanTask.assignee.is_(None), offered(actor))
    if tab == "delegated":
        return delegated
    return or_(and_(HumanTask.assignee == actor.username, HumanTask.status.in_(ACTIVE)), delegated)


def narrowed(query: Select, process_id: Optional[str] = None, role: Optional[str] = None,
             min_priority: Optional[int] = None, follow_up: Optional[str] = None,
             today: Optional[date] = None) -> Select:
    """``query`` of one process, of one role, of priority at least ``min_priority``, and by follow-up
    date (Camunda's semantics, ``today`` the local date by default): ``due`` has a follow-up date on or
    before today, ``current`` has none or one on or before today (hides those to follow up later)."""
    if process_id:
        query = query.where(HumanTask.process_id == process_id)
    if role:
        query = query.where(HumanTask.role == role)
    if min_priority is not None:
        query = query.where(HumanTask.priority >= min_priority)
    if follow_up is not None and follow_up not in FOLLOW_UPS:
        raise ValidationError(f"follow_up must be one of {', '.join(FOLLOW_UPS)}.",
                              {"follow_up": ["Unknown follow-up filter."]})
    today = today or local_today()
    if follow_up == "due":
        query = query.where(HumanTask.follow_up.is_not(None), HumanTask.follow_up <= today)
    elif follow_up == "current":
        query = query.where(or_(HumanTask.follow_up.is_(None), HumanTask.follow_up <= today))
    return query


def local_today() -> date:
    """Today's date in the deployment's time zone (``engine.config.timezone``)."""
    return clock.now().replace(tzinfo=timezone.utc).astimezone(config.timezone()).date()


def ordered(query: Select, sort: str) -> Select:
    """``query`` in a ``SORTS`` order: by due date (``due``, no date last), latest due first (``-due``),
    newest (``created``), by priority (``priority`` lowest first, ``-priority`` highest first, then by
    due date) or by follow-up date (``follow_up``, ``-follow_up``; no date last)."""
    if sort == "-due":
        return query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at.desc(), HumanTask.id.desc())
    if sort == "created":
        return query.order_by(HumanTask.created_at.desc(), HumanTask.id.desc())
    if sort in ("priority", "-priority"):
        first = HumanTask.priority.desc() if sort == "-priority" else HumanTask.priority
        return query.order_by(first, HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id)
    if sort in ("follow_up", "-follow_up"):
        first = HumanTask.follow_up.desc() if sort == "-follow_up" else HumanTask.follow_up
        return query.order_by(HumanTask.follow_up.is_(None), first, HumanTask.id)
    return query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id)


def counts(session: Session, actor: User, today: Optional[date] = None) -> dict[str, int]:
    """What ``actor`` can act on, counted: ``mine``, ``claimable``, ``delegated`` (theirs, held by a
    delegate) and ``overdue`` (of mine and claimable, past their due date)."""
    def count(condition) -> int:
        return session.scalar(select(func.count()).select_from(HumanTask).where(condition)) or 0
    late = and_(HumanTask.due_at.is_not(None), HumanTask.due_at < clock.now())
    return {"mine": count(in_tab(actor, "mine")), "claimable": count(in_tab(actor, "claimable")),
            "delegated": count(in_tab(actor, "delegated")),
            "overdue": count(and_(or_(in_tab(actor, "mine"), in_tab(actor, "claimable")), late))}


def completes_without_input(form: Optional[dict]) -> bool:
    """A task may be completed in one click (from the list) only when its form has no field at all (or
    it has no form): nothing to fill in, nothing to read first."""
    return form is None or not form.get("fields")


def processes_with_tasks(session: Session, actor: User) -> list[str]:
    """Processes that have active tasks for ``actor`` (assigned, or unassigned of their roles)."""
    mine = or_(HumanTask.assignee == actor.username,
               and_(HumanTask.assignee.is_(None), offered(actor)))
    return sorted(session.scalars(select(HumanTask.process_id).distinct()
                                  .where(HumanTask.status.in_(ACTIVE), mine)))
