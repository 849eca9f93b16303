"""The tables of Liucheng (SQLAlchemy 2.0 typed models): definitions, instances and their variables, tasks,
timers, messages, incidents, external tasks, comments and attachments. The people tables, the role groups
and ``Base`` live in ``engine.people_models``, the history and its hash chain in ``engine.audit_models``; both
are re-exported here, so
``from engine.models import User, Base, ADMIN`` is the one way to import any table.

Alembic owns the schema (``engine/migrations``); these classes are its source (all tables share
``Base.metadata``). The statuses their rows take are ``engine.statuses``'s ``StrEnum``s (stored as their
text), re-exported here so ``from engine.models import InstanceStatus`` keeps working.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import (
    JSON, Date, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.audit_models import (GENESIS, AuditAnchor, CleanupPermit, HistoryChain, HistoryEvent,
                                 HistoryGap)
from engine.people_models import (ADMIN, AUDITOR, DESIGNER, INTEGRATION_ROLES, INTEGRATOR, MANAGER_ROLES,
                                  NON_WORKER_ROLES, READ_ALL_ROLES, SUPERVISOR, ApiToken, Base, LoginAttempt,
                                  Membership, Role, User, UserAttribute)
from engine.statuses import (ExternalTaskStatus, IncidentStatus, InstanceStatus, MessageStatus, TaskStatus,
                             TimerStatus)


__all__ = [  # the tables, the statuses (defined in engine.statuses, imported from here too) and the role groups
    "Base", "Role", "User", "Membership", "UserAttribute", "ApiToken", "LoginAttempt", "Definition", "Instance",
    "HumanTask", "TaskCandidate", "SavedFilter", "HistoryEvent", "HistoryChain", "AuditAnchor", "HistoryGap",
    "CleanupPermit", "GENESIS", "Timer", "MessageSubscription", "Message", "Incident", "ExternalTask", "Comment",
    "Attachment", "ExternalTaskStatus", "IncidentStatus", "InstanceStatus", "MessageStatus", "TaskStatus",
    "TimerStatus", "ADMIN", "SUPERVISOR", "AUDITOR", "INTEGRATOR", "DESIGNER", "MANAGER_ROLES", "READ_ALL_ROLES",
    "NON_WORKER_ROLES", "INTEGRATION_ROLES",
]


class Definition(Base):
    """One deployed version of one BPMN process, parsed once."""

    __tablename__ = "definitions"
    __table_args__ = (
        UniqueConstraint("process_id", "version"),
        UniqueConstraint("process_id", "content_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(256), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    source_name: Mapped[str] = mapped_column(String(512), default="")
    bpmn_xml: Mapped[str] = mapped_column(Text, deferred=True)
    spec_json: Mapped[str] = mapped_column(Text, deferred=True)
    elements: Mapped[dict[str, Any]] = mapped_column(JSON)
    forms: Mapped[dict[str, Any]] = mapped_column(JSON)
    start_form: Mapped[Optional[str]] = mapped_column(String(128), nullable=True)
    deployed_at: Mapped[datetime] = mapped_column(DateTime)
    deployed_by: Mapped[str] = mapped_column(String(64), default="system")
    history_ttl_days: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)  # historyTimeToLive


class Instance(Base):
    __tablename__ = "instances"
    __table_args__ = (Index("ix_instances_process_status", "process_id", "status"),
                      Index("ix_instances_ended_at", "ended_at"))  # retention: what ended before a time

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=InstanceStatus.RUNNING)
    business_key: Mapped[Optional[str]] = mapped_column(String(256), nullable=True, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(Text, default="", deferred=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    etag: Mapped[str] = mapped_column(String(32), default="")
    started_at: Mapped[datetime] = mapped_column(DateTime)
    started_by: Mapped[str] = mapped_column(String(64))
    ended_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    cancel_reason: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    error: Mapped[Optional[str]] = mapped_column(Text, nullable=True)

    definition: Mapped[Definition] = relationship(lazy="select")


class InstanceVariable(Base):
    """One top-level scalar variable of an instance, for searching instances and tasks by their data
    (``engine.variable_index``): text cut to 256 characters, numbers (and text holding a plain number) in
    ``num_value``, booleans as ``'true'``/``'false'``; lists, objects and None are not indexed. One index
    serves both kinds of search (a text equality is ``num_value IS NULL AND text_value = ?``), and SQLite keeps
    the rows in their primary key (no rowid): each written variable costs two b-trees, not four."""

    __tablename__ = "instance_variables"
    __table_args__ = (Index("ix_instance_variables_value", "name", "num_value", "text_value"),
                      {"sqlite_with_rowid": False})

    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    text_value: Mapped[Optional[str]] = mapped_column(String(256), nullable=True)
    num_value: Mapped[Optional[float]] = mapped_column(Float, nullable=True)


class HumanTask(Base):
    """One row per ready user task; the worklist reads only this table."""

    __tablename__ = "human_tasks"
    __table_args__ = (
        Index("ix_tasks_role_open", "role", "due_at",
              sqlite_where=text("status = 'open' AND assignee IS NULL"),
              postgresql_where=text("status = 'open' AND assignee IS NULL")),
        Index("ix_tasks_assignee_open", "assignee", "due_at",
              sqlite_where=text("status IN ('open', 'claimed') AND assignee IS NOT NULL"),
              postgresql_where=text("status IN ('open', 'claimed') AND assignee IS NOT NULL")),
        Index("ix_tasks_owner_delegated", "owner", sqlite_where=text("delegation = 'pending'"),
              postgresql_where=text("delegation = 'pending'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(128))
    engine_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(256), default="")
    role: Mapped[str] = mapped_column(String(64))
    form_key: Mapped[Optional[str]] = mapped_column(String(128), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.OPEN)
    assignee: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    candidate_user: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    claimed_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    completed_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    completed_by: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    due_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    # issue 14: delegation (Camunda's owner / delegationState), priority 0-100 and follow-up date
    owner: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    delegation: Mapped[Optional[str]] = mapped_column(String(16), nullable=True)  # pending | resolved
    priority: Mapped[int] = mapped_column(Integer, default=50, server_default=text("50"))
    follow_up: Mapped[Optional[date]] = mapped_column(Date, nullable=True)
    draft: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, nullable=True)  # the delegate's values

    instance: Mapped[Instance] = relationship(lazy="raise")


class TaskCandidate(Base):
    """Who else may claim a human task besides its ``role``: every candidate group (a role) and every
    candidate user, one row each (``kind`` is ``group`` or ``user``)."""

    __tablename__ = "task_candidates"
    __table_args__ = (Index("ix_task_candidates_kind_name", "kind", "name"),)

    task_id: Mapped[int] = mapped_column(ForeignKey("human_tasks.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)


class SavedFilter(Base):
    """A user's named worklist query (the worklist's query keys), shown as a tab, in ``position`` order."""

    __tablename__ = "saved_filters"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_saved_filters_user_id_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    query: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Timer(Base):
    """A waiting timer of an instance (or a timer start event of a definition) with its due time."""

    __tablename__ = "timers"
    __table_args__ = (
        Index("ix_timers_due", "due_at", sqlite_where=text("status = 'waiting'"),
              postgresql_where=text("status = 'waiting'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[Optional[int]] = mapped_column(ForeignKey("instances.id"), nullable=True, index=True)
    definition_id: Mapped[Optional[int]] = mapped_column(ForeignKey("definitions.id"), nullable=True)
    process_id: Mapped[str] = mapped_column(String(128))
    element_id: Mapped[str] = mapped_column(String(128))
    engine_task_id: Mapped[Optional[str]] = mapped_column(String(36), nullable=True)
    kind: Mapped[str] = mapped_column(String(16), default="catch")
    attached_to: Mapped[Optional[str]] = mapped_column(String(128), nullable=True)
    expression: Mapped[Optional[str]] = mapped_column(String(256), nullable=True)
    due_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default=TimerStatus.WAITING)
    locked_by: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    locked_until: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class MessageSubscription(Base):
    """An instance waiting for a message (a catch event, receive task or event gateway branch)."""

    __tablename__ = "message_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    element_id: Mapped[str] = mapped_column(String(128))
    engine_task_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Message(Base):
    """Every message received, once per (sender, message_id); kept ones wait for a subscriber."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("sender", "message_id", name="uq_messages_sender_message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(128), index=True)
    correlation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))
    instance_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    received_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    sender: Mapped[str] = mapped_column(String(64), default="system")


class Incident(Base):
    """A failing service task or script: retried with back-off, then open for a person."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_status_retry", "status", "next_retry_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(128))
    element_id: Mapped[Optional[str]] = mapped_column(String(128), nullable=True)
    engine_task_id: Mapped[Optional[str]] = mapped_column(String(36), nullable=True)
    message: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default=IncidentStatus.RETRYING)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    next_retry_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    resolved_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    resolved_by: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    comment: Mapped[Optional[str]] = mapped_column(Text, nullable=True)


class ExternalTask(Base):
    """A service task done by an external worker (Camunda's external task): the instance waits at it
    until a worker that fetched and locked it completes it, reports a failure or a BPMN error."""

    __tablename__ = "external_tasks"
    __table_args__ = (Index("ix_external_tasks_topic_status", "topic", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(128))
    element_id: Mapped[str] = mapped_column(String(128))
    engine_task_id: Mapped[str] = mapped_column(String(36))
    topic: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default=ExternalTaskStatus.OPEN)
    worker_id: Mapped[Optional[str]] = mapped_column(String(128), nullable=True)
    lock_expires_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    available_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)  # after a retry timeout
    retries: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)  # None until a worker sets it
    error_message: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    error_details: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Comment(Base):
    """A comment on an instance or one of its tasks (Camunda's task and process instance comments).
    Never changed: database triggers refuse UPDATE and DELETE."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    task_id: Mapped[Optional[int]] = mapped_column(ForeignKey("human_tasks.id"), nullable=True, index=True)
    author: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime)


class Attachment(Base):
    """A file uploaded to an instance or one of its tasks; ``instance_id`` is NULL while it waits for the
    start it was uploaded with. Its bytes are ``content`` (deferred), or NULL when they are stored as a
    file named by ``sha256`` in ``LIUCHENG_FILES_DIR`` (``engine.file_store``)."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[Optional[int]] = mapped_column(ForeignKey("instances.id"), nullable=True, index=True)
    task_id: Mapped[Optional[int]] = mapped_column(ForeignKey("human_tasks.id"), nullable=True)
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime)
    content: Mapped[Optional[bytes]] = mapped_column(LargeBinary, nullable=True, deferred=True)
