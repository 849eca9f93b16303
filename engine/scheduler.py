"""APScheduler ticks that run the engine's timed commands (``liucheng worker``, or in-process in ``serve``).

Each scheduler has its own in-memory job store (APScheduler job stores must not
be shared); what makes several workers safe is the lease on timer rows, not the
scheduler. A tick never raises: each timer, incident retry and clean-up runs in
its own transaction, and what fails is rolled back, logged and listed as a
``Failure`` while the rest goes on.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Optional

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from engine import anchors, retention, runtime
from engine.database import Database
from engine.errors import EngineError
from engine.runtime import collaboration

log = logging.getLogger("liucheng.worker")


@dataclass
class Failure:
    """Something a tick could not do: ``timer 12``, ``incident 3 (retry)``, ``expiring kept messages``."""

    what: str
    instance_id: Optional[int]
    element_id: Optional[str]
    message: str

    def describe(self) -> str:
        where = f"instance {self.instance_id}" if self.instance_id is not None else "no instance"
        if self.element_id:
            where += f", element {self.element_id}"
        return f"{self.what} [{where}]: {self.message}"


def tick(database: Database, worker: str | None = None, failures: Optional[list[Failure]] = None) -> int:
    """Fire every due timer once, retry due incidents, expire old kept messages, prune unused staged
    uploads, record the day's anchor of the history chain (``engine.anchors``) and remove expired history
    (``engine.retention``); returns how many timers fired. What fails is
    appended to ``failures``; the tick itself never raises."""
    found: list[Failure] = failures if failures is not None else []

    def failed(what: str, instance_id: Optional[int], element_id: Optional[str], message: str) -> None:
        found.append(Failure(what, instance_id, element_id, message))

    fired = _guarded("firing timers", failed, lambda: runtime.fire_due_timers(database, worker, on_failure=failed)) or 0
    _guarded("retrying incidents", failed, lambda: runtime.retry_due_incidents(database, on_failure=failed))
    _guarded("expiring kept messages", failed, lambda: _expire_messages(database))
    _guarded("pruning staged uploads", failed, lambda: _prune_staged_uploads(database))
    _guarded("recording the daily anchor", failed, lambda: _record_daily_anchor(database))
    _guarded("removing expired history", failed, lambda: _remove_expired_history(database))
    if fired:
        log.info("fired %d timer(s)", fired)
    return fired


def _expire_messages(database: Database) -> None:
    with database.session() as session:
        runtime.expire_kept_messages(session)


def _prune_staged_uploads(database: Database) -> None:
    """Uploads staged for a start none used within a day: one bounded batch a tick."""
    with database.session() as session:
        collaboration.prune_staged_uploads(session)


def _record_daily_anchor(database: Database) -> None:
    """The history chain's head, signed, once a local calendar day (``engine.anchors``)."""
    with database.session() as session:
        anchors.record_daily_anchor_if_due(session)


def _remove_expired_history(database: Database) -> None:
    """Ended instances past their history time-to-live: a few bounded batches, in the off-peak window."""
    with database.session() as session:
        for batch in retention.remove_expired(session):
            log.info("retention removed %d instance(s), %d row(s)", len(batch.instance_ids), batch.rows)


def _guarded(what: str, failed: Callable, run: Callable):
    """``run()``; what it raises is logged and reported instead of ending the tick."""
    try:
        return run()
    except Exception as exc:
        log.exception("worker: %s failed", what)
        failed(what, None, None, exc.message if isinstance(exc, EngineError) else f"{type(exc).__name__}: {exc}")
        return None


def _add_job(scheduler, database: Database, interval: float) -> None:
    retention.check_settings()  # a bad LIUCHENG_CLEANUP_* or LIUCHENG_HISTORY_TTL_DAYS stops the start
    worker = runtime.worker_name()
    scheduler.add_job(tick, "interval", seconds=interval, args=[database, worker], id="fire-timers",
                      max_instances=1, coalesce=True, misfire_grace_time=None)


def run_forever(database: Database, interval: float = 5.0) -> None:
    scheduler = BlockingScheduler()
    _add_job(scheduler, database, interval)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


def start_background(database: Database, interval: float = 5.0) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(daemon=True)
    _add_job(scheduler, database, interval)
    scheduler.start()
    return scheduler
