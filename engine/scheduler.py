"""APScheduler ticks that fire due timers (``liucheng worker``, or in-process in ``serve``).

Each scheduler has its own in-memory job store (APScheduler job stores must not
be shared); what makes several workers safe is the lease on timer rows, not the
scheduler.
"""
from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from engine import incidents, messages, timers
from engine.database import Database, command

log = logging.getLogger("liucheng.worker")


def tick(database: Database, worker: str | None = None) -> int:
    """Fire every due timer once and expire old kept messages; returns how many fired."""
    fired = timers.fire_due(database, worker)
    incidents.retry_due(database)
    with database.session() as session, command(session):
        messages.expire_old(session)
    if fired:
        log.info("fired %d timer(s)", fired)
    return fired


def _add_job(scheduler, database: Database, interval: float) -> None:
    worker = timers.worker_name()
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
