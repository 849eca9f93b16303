"""The ``liucheng`` command: database, deploy, users, demo and serve."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from engine import definitions, users
from engine.config import default_database_url
from engine.database import Database
from engine.errors import EngineError

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
@click.option("--database", "database_url", envvar="LIUCHENG_DATABASE_URL", default=None,
              help="SQLAlchemy URL (default: SQLite file liucheng.db here; env LIUCHENG_DATABASE_URL).")
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """Liucheng (流程): run the department's BPMN processes."""
    ctx.obj = {"url": database_url}


@main.group()
def db() -> None:
    """Manage the database schema."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(obj) -> None:
    """Create or migrate the schema to the newest version."""
    database = _database(obj["url"])
    database.upgrade()
    with database.session() as session:
        users.ensure_roles(session)
        session.commit()
    click.echo(f"Schema is up to date ({database.url.split('@')[-1]}).")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.pass_obj
def deploy(obj, paths: tuple[Path, ...]) -> None:
    """Deploy BPMN files and forms (default: processes/ and forms/). All or nothing."""
    database = _ready(obj["url"])
    with database.session() as session:
        try:
            results = definitions.deploy_paths(session, list(paths) or list(DEFAULT_PATHS))
        except EngineError as error:
            _fail(error)
    for result in results:
        state = "new version" if result.created else "unchanged"
        click.echo(f"{result.process_id} v{result.version} ({state}) from {result.source_name}")


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
            users.add_user(session, name, password, roles, attributes)
            session.commit()
        except EngineError as error:
            session.rollback()
            _fail(error)
    click.echo(f"User {name} created with roles {', '.join(roles)}.")


@user.command("token")
@click.argument("name")
@click.pass_obj
def user_token(obj, name: str) -> None:
    """Issue an API bearer token for a user (printed once)."""
    database = _ready(obj["url"])
    with database.session() as session:
        try:
            token = users.issue_token(session, users.get_user(session, name), "cli")
            session.commit()
        except EngineError as error:
            _fail(error)
    click.echo(token)


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
    from webui import demo as demo_data

    database = _ready(obj["url"])
    with database.session() as session:
        try:
            definitions.deploy_paths(session, list(DEFAULT_PATHS))
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
    from engine import clock, scheduler

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
    from datetime import datetime, timezone

    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO time such as 2026-11-05T14:00:00+08:00.", param_hint="--now")
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value


def _ready(url: str | None) -> Database:
    database = _database(url)
    database.upgrade()
    with database.session() as session:
        users.ensure_roles(session)
        session.commit()
    return database


def _serve(url: str, host: str, port: int) -> None:
    from waitress import serve as waitress_serve

    from webui import create_app

    from engine import scheduler

    app = create_app({"DATABASE_URL": url})
    background = scheduler.start_background(app.extensions["liucheng_db"])
    click.echo(f"Serving on http://{host}:{port}/ (Ctrl+C to stop); timers fire in-process")
    try:
        waitress_serve(app, host=host, port=port, threads=8)
    finally:
        background.shutdown(wait=False)
