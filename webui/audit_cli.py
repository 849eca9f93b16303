"""``liucheng audit``: check the history's hash chain and write its head down (issue 15).

* ``audit verify [--instance N] [--against HASH:COUNT]``: walk the chain (``engine.chain_verify``); exit 0
  with the number of events and the head hash when it is intact, 1 naming the first event that does not
  verify and why (changed, missing, inserted, reordered), 2 for a malformed option or an instance that does
  not exist, 3 when the database cannot be read (so a script never takes "could not check" for "broken");
* ``audit head``: the head as ``HASH:COUNT`` on the first line (what ``--against`` takes, to copy out or
  mail), then a line for people;
* ``audit anchor``: record a signed anchor now (kind "manual", ``engine.anchors``) and print it;
* ``audit anchors``: the newest anchors with their signatures, and the chain proved against the newest one
  whose signature holds (with the audit key kept from the database's administrators, the anchors the worker
  records each day catch a chain rewritten with recomputed hashes without anyone writing an anchor down).

These commands read the database as it is: they never upgrade its schema (an auditor may hold a read-only
login; ``audit anchor`` alone writes). Each warns on standard error when ``LIUCHENG_AUDIT_KEY`` is not set.
"""
from __future__ import annotations

import re
import sys
from datetime import timezone
from pathlib import Path
from typing import Optional

import click
from sqlalchemy.exc import ArgumentError, DBAPIError

from engine import anchors, chain_verify, config, hash_chain
from engine.config import default_database_url
from engine.database import Database
from engine.errors import EngineError
from webui import database_url

BROKEN, USAGE, CANNOT_CHECK = 1, 2, 3  # exit statuses (0: intact)
_AGAINST = re.compile(r"^([0-9a-fA-F]{64}):([0-9]+)$")
KEY_WARNING = ("Warning: LIUCHENG_AUDIT_KEY is not set, so anchors and retention summaries are signed with a "
               "default key anyone can use: they prove nothing against someone who can write to the database. "
               "Set LIUCHENG_AUDIT_KEY to a long secret, the same for the web app, the worker and this command.")


@click.group()
def audit() -> None:
    """Verify the history's hash chain, print its head, record and check anchors."""
    if hash_chain.key_is_default():
        click.secho(KEY_WARNING, fg="yellow", err=True)


def parse_against(text: str) -> tuple[str, int]:
    """``HASH:COUNT`` (64 hex digits, a colon, a whole number) as ``liucheng audit head`` prints it."""
    match = _AGAINST.match(text.strip())
    if match is None:
        raise click.BadParameter(
            f"{text!r} is not HASH:COUNT; write the 64 hex digits of the head hash, a colon and the number of "
            "events, as the first line of `liucheng audit head` prints them.", param_hint="--against")
    return match.group(1).lower(), int(match.group(2))


@audit.command("verify")
@click.option("--instance", "instance_id", type=click.IntRange(min=1), default=None, metavar="N",
              help="Check only the stretch of the chain that holds instance N's events.")
@click.option("--against", "against", default=None, metavar="HASH:COUNT",
              help="Prove the chain up to an anchor written down earlier (`liucheng audit head`).")
@click.pass_obj
def verify(obj, instance_id: Optional[int], against: Optional[str]) -> None:
    """Walk the chain: exit 0 when intact, 1 naming the first event that does not verify."""
    anchor = parse_against(against) if against is not None else None
    if anchor is not None and instance_id is not None:
        raise click.UsageError("--against proves the whole chain up to an anchor; leave out --instance "
                               "(or run the two checks one after the other).")
    database = _open(obj)
    try:
        with database.session() as session:
            verdict = _verdict(session, instance_id, anchor)
    except EngineError as error:  # an instance that does not exist
        _stop(error.message, USAGE)
    except DBAPIError as error:
        _stop(_database_problem(database.url, error))
    finally:
        database.dispose()
    _report(verdict, instance_id, anchor)


@audit.command("head")
@click.pass_obj
def head(obj) -> None:
    """Print the chain's head as HASH:COUNT (for --against), then a readable line."""
    database = _open(obj)
    try:
        with database.session() as session:
            digest, events = chain_verify.current_head(session)
    except DBAPIError as error:
        _stop(_database_problem(database.url, error))
    finally:
        database.dispose()
    click.echo(anchors.against_text(digest, events))
    click.echo(f"The history chain holds {events} event(s); its head hash is {digest}. Write the line above "
               "down: `liucheng audit verify --against` it later proves nothing up to here was changed.")


@audit.command("anchor")
@click.pass_obj
def anchor(obj) -> None:
    """Record a signed anchor of the chain's head now (kind "manual") and print it."""
    database = _open(obj)
    try:
        with database.session() as session:
            row = anchors.record_anchor(session, "manual")
            shown = anchors.as_dict(row)
    except DBAPIError as error:
        _stop(_database_problem(database.url, error))
    finally:
        database.dispose()
    click.echo(shown["against"])
    click.echo(f"Anchor {shown['id']} recorded at {_local(row.at)}: {shown['events']} event(s), head "
               f"{shown['head']}, signed with {'the default key' if hash_chain.key_is_default() else 'the audit key'}.")


@audit.command("anchors")
@click.option("--limit", default=30, show_default=True, type=click.IntRange(min=1, max=1000),
              help="How many of the newest anchors to list.")
@click.pass_obj
def anchors_list(obj, limit: int) -> None:
    """List the newest anchors with their signatures, and prove the chain against the newest signed one.

    Exit 1 when an anchor's signature does not hold (it was edited or forged) or the chain is not the one
    the newest signed anchor names (the history was changed, even with its hashes recomputed)."""
    database = _open(obj)
    try:
        with database.session() as session:
            rows = anchors.list_anchors(session, limit)
            shown = [anchors.as_dict(row) for row in rows]
            newest = next((row for row, item in zip(rows, shown) if item["signature_valid"]), None)
            verdict = chain_verify.verify_against(session, newest.head, newest.events) if newest else None
    except DBAPIError as error:
        _stop(_database_problem(database.url, error))
    finally:
        database.dispose()
    if not rows:
        click.echo("No anchors yet: the worker records one a day; `liucheng audit anchor` records one now.")
        return
    click.echo(f"{'id':>6}  {'recorded (' + config.timezone().key + ')':25}  {'kind':6}  {'events':>8}  "
               f"{'head':16}  signature")
    for row, item in zip(rows, shown):
        click.echo(f"{row.id:>6}  {_local(row.at).rsplit(' ', 1)[0]:25}  {row.kind:6}  {row.events:>8}  "
                   f"{row.head[:16]}  {'valid' if item['signature_valid'] else 'INVALID'}")
    invalid = [item["id"] for item in shown if not item["signature_valid"]]
    if invalid:
        click.secho(f"BROKEN: the signature of anchor(s) {', '.join(map(str, invalid))} does not hold: edited or "
                    "forged (or LIUCHENG_AUDIT_KEY is not the key they were signed with).", fg="red")
    if verdict is not None and verdict.intact:
        click.echo(f"Intact up to anchor {newest.id}, the newest with a valid signature: the first "
                   f"{newest.events} event(s) end in {newest.head}.")
    elif verdict is not None:
        broken = verdict.first_broken
        click.secho(f"BROKEN: the chain is not the one anchor {newest.id} names: event {broken.id} "
                    f"{_reason_text(broken.reason)} ({broken.reason}: {broken.detail}).", fg="red")
    if invalid or newest is None or not verdict.intact:
        sys.exit(BROKEN)


def _verdict(session, instance_id: Optional[int], anchor: Optional[tuple[str, int]]) -> chain_verify.Verdict:
    if anchor is not None:
        return chain_verify.verify_against(session, *anchor)
    return chain_verify.verify(session, instance_id)


def _report(verdict: chain_verify.Verdict, instance_id: Optional[int], anchor: Optional[tuple[str, int]]) -> None:
    scope = f"instance {instance_id}'s history" if instance_id is not None else "the history chain"
    if verdict.intact:
        if anchor is not None:
            click.echo(f"Intact up to the anchor: the first {verdict.events} event(s) end in {verdict.head}, "
                       "as the anchor says.")
        else:
            click.echo(f"Intact: {scope} verifies, {verdict.events} event(s), head {verdict.head}.")
        if verdict.removed:
            click.echo(f"({verdict.removed} of them were removed by retention under signed summaries.)")
        return
    broken = verdict.first_broken
    click.secho(f"BROKEN: {scope} does not verify: event {broken.id} {_reason_text(broken.reason)} "
                f"({broken.reason}: {broken.detail}).", fg="red")
    click.echo(f"{verdict.events} event(s) verified before it; the walk stood at {verdict.head}.")
    sys.exit(BROKEN)


def _reason_text(reason: str) -> str:
    return {"changed": "was changed", "missing": "follows a missing event",
            "inserted": "was inserted", "reordered": "is out of order"}.get(reason, reason)


def _local(value) -> str:
    zone = config.timezone()
    return value.replace(tzinfo=timezone.utc).astimezone(zone).strftime(f"%Y-%m-%d %H:%M:%S {zone.key}")


def _open(obj) -> Database:
    url = (obj or {}).get("url") or default_database_url()
    if url.startswith("sqlite") and ":memory:" not in url and not Path(url.split("///", 1)[-1]).is_file():
        _stop(f"there is no database at {database_url.shown(url)}; give its URL (--database or "
              "LIUCHENG_DATABASE_URL).")
    try:
        return Database(url)
    except (ArgumentError, OSError) as error:
        _stop(f"cannot use the database {database_url.shown(url)} ({error}); check the URL (--database or "
              "LIUCHENG_DATABASE_URL).")


def _database_problem(url: str, error: DBAPIError) -> str:
    first = database_url.first_line(error.orig or error, url)
    return (f"cannot read the history from {database_url.shown(url)} ({first}); check the URL and that the schema "
            "is current (`liucheng db upgrade`).")


def _stop(message: str, status: int = CANNOT_CHECK) -> None:
    click.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(status)
