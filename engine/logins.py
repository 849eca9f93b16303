"""Failed sign-ins and lockouts: the throttle that stops passwords being guessed.

Every wrong password (HTTP Basic on any API request, or the web sign-in form) is a
``failure`` row: who (the user name tried, known or not), when, from where (the
client address) and through which channel. The rule, shared by both channels:

* ``USER_LIMIT`` (5) failures for one user name, or ``ADDRESS_LIMIT`` (30) from one
  address, within ``WINDOW`` (15 minutes) lock further attempts for that name / from
  that address — a correct password included — until enough of those failures are
  older than the window. ``check_allowed`` then raises ``TooManyRequestsError`` with
  ``retry_after`` (seconds) in its details.
* Refused attempts are not failures (no password is checked) and do not extend the
  lock; each is recorded as a ``locked`` row, at most one per user name and address
  per ``LOCKED_RECORD_EVERY`` (a minute) — one per locked address, whatever the names
  tried from it — so a flood cannot fill the table.
* A successful sign-in does not erase failures: they stay as the record of what happened.
* The failure that starts a lock (the ``USER_LIMIT``-th for the name, the ``ADDRESS_LIMIT``-th from the
  address, within the window) is also a ``login_lockout`` operation in the history, committed with the
  failure: entity ``user`` or ``address``, ``new`` = ``{address|username, channel, until}``. Once per lock:
  refused attempts record no failure, so none starts another. A name is written into the chain only when a
  user of that name exists, else as ``UNKNOWN`` (the entity of a name's lockout, the ``username`` of an
  address's): what is typed into the name field may be a password, and the chain keeps what it holds forever.
  An unknown name's lockout is still recorded (as ``UNKNOWN``, with its address): it is a lock that happened,
  and guessing at names that do not exist is what an auditor looks for.

Checks and writes are separate transactions, so attempts racing each other may pass
the check together; the overshoot is bounded by the server's concurrency.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Optional

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine import clock, history, timestamps, users
from engine.database import command
from engine.errors import TooManyRequestsError
from engine.models import LoginAttempt

USER_LIMIT = 5
ADDRESS_LIMIT = 30
WINDOW = timedelta(minutes=15)
LOCKED_RECORD_EVERY = timedelta(minutes=1)
FIELD_LENGTH = 64  # login_attempts.username / address
UNKNOWN = "(unknown)"  # a name tried that is no user's, as the operation log writes it


class Outcome(StrEnum):
    FAILURE = "failure"
    LOCKED = "locked"


class Channel(StrEnum):
    API = "api"
    WEB = "web"


def check_allowed(session: Session, username: str, address: str, channel: Channel) -> None:
    """Raise ``TooManyRequestsError`` (and record the refusal) while ``username`` or ``address`` is locked.

    One query counts both in the usual case (nothing locked), so a sign-in that succeeds pays one
    index lookup; when a limit is reached two more find when the lock lifts.
    """
    username, address = _key(username), _key(address)
    by_user, by_address = _recent_failures(session, username, address)
    if by_user < USER_LIMIT and by_address < ADDRESS_LIMIT:
        return
    unlocks = [at for at in (_unlock_at(session, LoginAttempt.username == username, USER_LIMIT),
                             _unlock_at(session, LoginAttempt.address == address, ADDRESS_LIMIT)) if at]
    now = clock.now()
    retry_after = max(1, math.ceil((max(unlocks) - now).total_seconds())) if unlocks else 1
    _record_refusal(session, username, address, channel, now, address_locked=by_address >= ADDRESS_LIMIT)
    raise TooManyRequestsError(
        f"Too many failed sign-ins for this user name or from this address; try again in {retry_after} "
        f"seconds, with the right password (ask an administrator to reset it if you forgot it).",
        {"retry_after": retry_after})


def record_failure(session: Session, username: str, address: str, channel: Channel) -> None:
    """Record one wrong password, in its own transaction (the request that failed changes nothing else),
    and the lockout it starts, if it does."""
    username, address, channel = _key(username), _key(address), Channel(channel)
    with command(session):
        session.add(LoginAttempt(at=clock.now(), username=username, address=address,
                                 outcome=Outcome.FAILURE.value, channel=channel.value))
        session.flush()
        _record_lockouts(session, username, address, channel)


def _record_lockouts(session: Session, username: str, address: str, channel: Channel) -> None:
    """A ``login_lockout`` operation for the name and for the address whose failures just reached the limit."""
    by_user, by_address = _recent_failures(session, username, address)
    if by_user == USER_LIMIT:
        until = _unlock_at(session, LoginAttempt.username == username, USER_LIMIT)
        history.record_operation(session, "system", "login_lockout", "user", _known_name(session, username),
                                 new={"address": address, "channel": channel.value, "until": timestamps.iso(until)})
    if by_address == ADDRESS_LIMIT:
        until = _unlock_at(session, LoginAttempt.address == address, ADDRESS_LIMIT)
        history.record_operation(session, "system", "login_lockout", "address", address,
                                 new={"username": _known_name(session, username), "channel": channel.value,
                                      "until": timestamps.iso(until)})


def _known_name(session: Session, username: str) -> str:
    """``username`` if a user has that name, else ``UNKNOWN`` (it may be a password typed in the wrong field)."""
    return username if users.find_user(session, username) is not None else UNKNOWN


def _recent_failures(session: Session, username: str, address: str) -> tuple[int, int]:
    """Failures within the window for ``username`` and from ``address``."""
    row = session.execute(
        select(func.count().filter(LoginAttempt.username == username),
               func.count().filter(LoginAttempt.address == address))
        .where(or_(LoginAttempt.username == username, LoginAttempt.address == address),
               LoginAttempt.outcome == Outcome.FAILURE.value, LoginAttempt.at > clock.now() - WINDOW)).one()
    return row[0], row[1]


def _unlock_at(session: Session, who, limit: int) -> Optional[datetime]:
    """When the failures matching ``who`` drop below ``limit`` within the window, if they reach it now."""
    nth_latest = session.scalar(
        select(LoginAttempt.at)
        .where(who, LoginAttempt.outcome == Outcome.FAILURE.value, LoginAttempt.at > clock.now() - WINDOW)
        .order_by(LoginAttempt.at.desc()).offset(limit - 1).limit(1))
    return nth_latest + WINDOW if nth_latest is not None else None


def _record_refusal(session: Session, username: str, address: str, channel: Channel, now: datetime,
                    address_locked: bool) -> None:
    """One ``locked`` row per minute for the name and address (for the address alone when it is locked)."""
    same = [LoginAttempt.address == address] + ([] if address_locked else [LoginAttempt.username == username])
    recorded = session.scalar(
        select(LoginAttempt.id).where(*same, LoginAttempt.outcome == Outcome.LOCKED.value,
                                      LoginAttempt.at > now - LOCKED_RECORD_EVERY).limit(1))
    if recorded is None:
        with command(session):
            session.add(LoginAttempt(at=now, username=username, address=address, outcome=Outcome.LOCKED.value,
                                     channel=Channel(channel).value))
            session.flush()


def _key(value: str | None) -> str:
    return (value or "")[:FIELD_LENGTH]
