"""The statuses rows of Liucheng take, one ``StrEnum`` per table that has one: instances, human tasks,
timers, messages, incidents and external tasks. They are stored as their text and compare equal to it;
``engine.models`` uses them as the columns' defaults and re-exports them.
"""
from __future__ import annotations

from enum import StrEnum


class InstanceStatus(StrEnum):
    RUNNING = "running"
    FAILED = "failed"  # an incident is open; the instance waits for it to be retried or resolved
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class TaskStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class TimerStatus(StrEnum):
    WAITING = "waiting"


class MessageStatus(StrEnum):
    RECEIVING = "receiving"  # stored, being correlated in this transaction
    DELIVERED = "delivered"
    STARTED = "started"  # started an instance
    KEPT = "kept"  # nothing waited for it yet: delivered when something does, until it expires
    EXPIRED = "expired"
    DUPLICATE = "duplicate"  # the reply to a message id already received (never stored)


class IncidentStatus(StrEnum):
    RETRYING = "retrying"
    OPEN = "open"
    RESOLVED = "resolved"


class ExternalTaskStatus(StrEnum):
    OPEN = "open"  # waiting for a worker: fetchable when not locked (or its lock expired) and available
    FAILED = "failed"  # its retries are used up: an incident is open on its element
