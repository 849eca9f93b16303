"""The ``liucheng`` command: database, deploy, users and their tokens, serve, demo and the worker."""
from __future__ import annotations

import getpass
import sys
from typing import Optional
from datetime import datetime, timezone
from pathlib import Path

import click
from sqlalchemy.exc import ArgumentError, DBAPIError

from engine import clock, runtime, scheduler, users
from engine.config import default_database_url
from engine.database import Database
from engine.errors import EngineError
from webui import create_app, database_url, demo as demo_data
from webui.audit_cli import audit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATHS = (ROOT / "processes", ROOT / "forms")


def _database(url: str | None) -> Database:
    return Database(url or default_database_url())


def _fail(error: EngineError) -> None:
    problems = error.details.get("problems", []) if isinstance(error.details, dict) else []
    if problems:
        click.secho(f"Error: nothing was deployed; {len(problems)} problem(s) to fix:", fg="red", err=True)
    else:
        click.secho(f"Error: {error.message}", fg="red", err=True)
    for problem in problems:
        where = problem.get("file") or ""
        if problem.get("line"):
            where += f":{problem['line']}"
        if problem.get("element_id"):
            where += f" [{problem['element_id']}]"
        click.echo(f"  {where}: {problem.get('message')}", err=True)
    sys.exit(1)


@click.group()
@click.option("--database", "url", envvar="LIUCHENG_DATABASE_URL", default=None,
              help="SQLAlchemy URL (default: SQLite file liucheng.db here; env LIUCHENG_DATABASE_URL).")
@click.pass_context
def main(ctx: click.Context, url: str | None) -> None:
    """Liucheng (流程): run the department's BPMN processes."""
    runtime.start_engine()
    ctx.obj = {"url": url}


main.add_command(audit)  # liucheng audit verify|head|anchor (webui/audit_cli.py)


@main.group()
def db() -> None:
    """Manage the database schema."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(obj) -> None:
    """Create or migrate the schema to the newest version."""
    database = _ready(obj["url"])
    click.echo(f"Schema is up to date ({database_url.shown(database.url)}).")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--default-role", default=None, metavar="ROLES",
              help="Role(s), comma separated, of user tasks with no lane, assignee or candidates (default: admin).")
@click.pass_obj
def deploy(obj, paths: tuple[Path, ...], default_role: Optional[str]) -> None:
    """Deploy BPMN files and forms (default: processes/ and forms/). All or nothing."""
    database = _ready(obj["url"])
    with database.session() as session:
        try:
            results = runtime.deploy_paths(session, list(paths) or list(DEFAULT_PATHS), _actor(), default_role)
        except EngineError as error:
            _fail(error)
    for result in results:
        state = "new version" if result.created else "unchanged"
        click.echo(f"{result.process_id} v{result.version} ({state}) from {result.source_name}")
        for task in result.defaulted or []:
            click.echo(f"  user task {task['element_id']} ({task['name']}) has no role lane, assignee or candidates: "
                       f"it goes to role {', '.join(task['roles'])}")
        for note in result.notes or []:
            where = f"{note['file']}:{note['line']}" if note.get("line") else note["file"]
            click.echo(f"  note: {where} [{note.get('element_id') or '-'}] {note['message']}")


@main.group()
def user() -> None:
    """Manage users."""


@user.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help="A role id (repeatable).")
@click.option("--attr", "attrs", multiple=True, help="KEY=VALUE attribute (repeatable), e.g. categories=家电,数码.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_obj
def user_add(obj, name: str, roles: tuple[str, ...], attrs: tuple[str, ...], password_stdin: bool) -> None:
    """Create a user with roles and attributes."""
    if not password_stdin:
        raise click.UsageError("Pass the password on standard input with --password-stdin.")
    password = sys.stdin.readline().rstrip("\r\n")
    attributes = {}
    for item in attrs:
        if "=" not in item:
            raise click.UsageError(f"--attr {item!r}: write KEY=VALUE.")
        key, value = item.split("=", 1)
        attributes[key.strip()] = value.strip()
    database = _ready(obj["url"])
    with database.session() as session:
        try:
            users.add_user(session, name, password, roles, attributes, actor=_actor())
            session.commit()
        except EngineError as error:
            session.rollback()
            _fail(error)
    click.echo(f"User {name} created with roles {', '.join(roles)}.")


@user.command("token")
@click.argument("name")
@click.option("--expires-days", default=users.TOKEN_DAYS, show_default=True, type=int,
              help=f"Days until the token expires (1-{users.MAX_TOKEN_DAYS}).")
@click.option("--label", default="cli", show_default=True, help="What the token is for.")
@click.pass_obj
def user_token(obj, name: str, expires_days: int, label: str) -> None:
    """Issue an API bearer token for a user (printed once; only its hash is kept)."""
    database = _ready(obj["url"])
    with database.session() as session:
        try:
            token = users.issue_token(session, users.get_user(session, name), label, expires_days, _actor())
        except EngineError as error:
            _fail(error)
    click.echo(token)


@user.command("tokens")
@click.argument("name")
@click.pass_obj
def user_tokens(obj, name: str) -> None:
    """List a user's tokens: id, created, expires, last used, state (never the secret)."""
    database = _ready(obj["url"])
    with database.session() as session:
        try:
            rows = users.tokens_of(session, users.get_user(session, name))
        except EngineError as error:
            _fail(error)
        click.echo(f"{'id':>6}  {'created':16}  {'expires':16}  {'last used':16}  {'state':7}  label")
        for row in rows:
            state = "revoked" if row.revoked_at else "expired" if users.is_expired(row) else "active"
            click.echo(f"{row.id:>6}  {_minute(row.created_at):16}  {_minute(row.expires_at):16}  "
                       f"{_minute(row.last_used_at):16}  {state:7}  {row.label}")


@user.command("revoke-token")
@click.argument("token_id", metavar="ID", type=int)
@click.pass_obj
def user_revoke_token(obj, token_id: int) -> None:
    """Revoke a token by its id (see `liucheng user tokens NAME`); it gets 401 from now on."""
    database = _ready(obj["url"])
    with database.session() as session:
        try:
            row = users.revoke_token(session, token_id, actor=_actor())
        except EngineError as error:
            _fail(error)
        click.echo(f"Token {row.id} revoked at {_minute(row.revoked_at)} UTC.")


def _actor() -> str:
    """Who the operation log names for a command-line change: ``cli:<os user>``."""
    try:
        return users.CLI_ACTOR + getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment nor the password database
        return users.CLI_ACTOR + "unknown"


def _minute(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.pass_obj
def serve(obj, host: str, port: int) -> None:
    """Serve the worklist and REST API on an existing database."""
    _serve(_ready(obj["url"]).url, host, port)


@main.command()
@click.option("--port", default=5000, show_default=True, type=int)
@click.pass_obj
def demo(obj, port: int) -> None:
    """Deploy processes/, create one user per role, and serve on 127.0.0.1."""
    database = _ready(obj["url"])
    with database.session() as session:
        try:
            runtime.deploy_paths(session, list(DEFAULT_PATHS))
        except EngineError as error:
            _fail(error)
        created = demo_data.create_users(session)
        samples = demo_data.create_sample_instances(session)
    click.echo("Demo users (username / password):")
    for name, password, roles in created:
        click.echo(f"  {name:16s} {password:20s} {', '.join(roles)}")
    click.echo(f"Sample instances started: {samples}. Open http://127.0.0.1:{port}/")
    _serve(database.url, "127.0.0.1", port)


@main.command()
@click.option("--once", is_flag=True, help="Fire what is due now and exit (for cron).")
@click.option("--interval", default=5.0, show_default=True, type=float, help="Seconds between ticks.")
@click.option("--now", "now_text", default=None, metavar="ISO-TIME",
              help="With --once: act as if it were this time (UTC unless an offset is given), e.g. to "
                   "replay or test deadlines.")
@click.pass_obj
def worker(obj, once: bool, interval: float, now_text: str | None) -> None:
    """Fire due timers and retry failed steps (several workers may share one PostgreSQL database).

    A timer or retry that fails is rolled back and reported; the others still run, and the exit
    status stays 0 (failed steps are incidents: see the incidents list)."""
    database = _ready(obj["url"])
    if now_text:
        if not once:
            raise click.UsageError("--now only works with --once.")
        clock.set_clock(clock.FrozenClock(_parse_time(now_text)))
    if once:
        failures: list = []
        fired = scheduler.tick(database, failures=failures)
        click.echo(f"Fired {fired} timer(s)." + (f" {len(failures)} failure(s):" if failures else ""))
        for failure in failures:
            click.echo(f"  {failure.describe()}")
        return
    click.echo(f"Worker ticking every {interval:g}s (Ctrl+C to stop)")
    scheduler.run_forever(database, interval)


def _parse_time(text: str):
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO time such as 2026-11-05T14:00:00+08:00.", param_hint="--now")
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value


def _ready(url: str | None) -> Database:
    """The database, schema upgraded and roles created; an unusable URL ends the command with one line."""
    url = url or default_database_url()
    try:
        database = _database(url)
    except ArgumentError as error:
        _fail(EngineError(f"{database_url.shown(url)} is not a database URL ({error}); write it like "
                          f"postgresql+psycopg://user:password@host:5432/name or sqlite:///liucheng.db."))
    except OSError as error:
        _fail(EngineError(f"cannot use the database {database_url.shown(url)} ({error.strerror or error}: "
                          f"{error.filename}); check the path in the URL (--database or LIUCHENG_DATABASE_URL)."))
    try:
        database.upgrade()
        with database.session() as session:
            users.ensure_roles(session)
            session.commit()
    except DBAPIError as error:  # unreachable, or a connection option the driver refuses
        database.dispose()
        problem = database_url.first_line(error.orig or error, url)
        _fail(EngineError(f"cannot use the database {database_url.shown(url)} ({problem}); "
                          f"check the URL (--database or LIUCHENG_DATABASE_URL) and that the server is running."))
    return database


def _serve(url: str, host: str, port: int) -> None:
    from waitress import serve as waitress_serve  # only when serving

    app = create_app({"DATABASE_URL": url})
    background = scheduler.start_background(app.extensions["liucheng_db"])
    click.echo(f"Serving on http://{host}:{port}/ (Ctrl+C to stop); timers fire in-process")
    try:
        waitress_serve(app, host=host, port=port, threads=8)
    finally:
        background.shutdown(wait=False)
