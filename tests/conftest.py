"""Fixtures for the whole suite.

Every test gets an empty database: a fresh SQLite file in ``tmp_path``, or, when
``LIUCHENG_TEST_DATABASE_URL`` is set (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``), that database with its
``public`` schema dropped and recreated. On top of it:

* ``app`` — ``webui.create_app`` on that database (``TESTING``; schema upgraded, roles created);
* ``client`` — the app's Flask test client;
* ``db_session`` — a SQLAlchemy session on the same database (closed after the test). On SQLite
  every transaction holds the write lock (``BEGIN IMMEDIATE``): ``commit()`` or ``rollback()`` it
  before calling the API, or the request waits for the lock (30 s) and fails;
* ``clock`` — a ``FrozenClock`` at 2026-11-02 09:00 installed for the engine (``clock.advance(hours=1)``);
* ``make_user(name, *roles, **attrs)`` — creates an active user with password ``secret-<name>``;
* ``auth(name)`` — HTTP Basic headers for such a user (``auth(name, password)`` for another password);
* ``deploy(*paths, actor="system")`` — deploys BPMN files/forms like ``liucheng deploy``
  (default ``processes/`` and ``forms/``) and returns the ``Deployed`` list;
* autouse: cheap password hashing, and the engine's in-process caches emptied around each test.
"""
from __future__ import annotations

import base64
import os
from datetime import datetime
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.specs.defaults import UserTask
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.util.task import TaskIterator, TaskState
from sqlalchemy import create_engine, text

from engine import clock as engine_clock, definitions, runtime, users
from engine.spiff import speedups, state as spiff_state, tasks as spiff_tasks

runtime.start_engine()  # as the web app, the CLI and the worker do at start-up
from webui import create_app

pytest_plugins = ["e2e_support"]  # the browser fixtures of tests/e2e (a plugin: one conftest only)

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
TEST_DATABASE_ENV = "LIUCHENG_TEST_DATABASE_URL"
CLOCK_START = datetime(2026, 11, 2, 9, 0)


def password_of(name: str) -> str:
    return f"secret-{name}"


def basic_auth(name: str, password: str | None = None) -> dict[str, str]:
    raw = f"{name}:{password if password is not None else password_of(name)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def empty_postgres(url: str) -> None:
    """Drop and recreate the ``public`` schema: tables, triggers and sequences go."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


# -- autouse ------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """pbkdf2 with 1000 rounds instead of 120000: tests create many users."""
    monkeypatch.setattr(users, "PASSWORD_METHOD", "pbkdf2:sha256:1000")


@pytest.fixture(autouse=True)
def reset_engine_cache():
    """Forget cached workflows: instance ids repeat across the per-test databases."""
    runtime.forget()
    yield
    runtime.forget()


WALK_QUERIES = [{}, {"state": TaskState.READY}, {"state": spiff_tasks.FRONT}, {"state": TaskState.WAITING}, {"state": TaskState.NOT_FINISHED_MASK},
                {"state": TaskState.FINISHED_MASK}, {"state": TaskState.READY, "manual": True},
                {"state": TaskState.READY, "manual": False}, {"state": TaskState.DEFINITE_MASK, "skip_subprocesses": True},
                {"spec_class": UserTask}, {"spec_name": "Start"}, {"state": TaskState.DEFINITE_MASK, "lane": "warehouse"}]


@pytest.fixture(autouse=True)
def state_written_as_spiff_would(monkeypatch):
    """Every task tree the suite stores must equal SpiffWorkflow's own serialization of it, and
    be walked as SpiffWorkflow's iterators walk it (the engine has faster versions of both)."""
    fast = spiff_state._tasks_dict

    def checked(wf, registry):
        written = fast(wf, registry)
        expected = {str(k): registry.convert(t) for k, t in wf.tasks.items()}
        assert written == expected, "engine.spiff.state._tasks_dict differs from SpiffWorkflow's TaskConverter"
        for query in WALK_QUERIES:
            for tree in [wf, *wf.subprocesses.values()]:
                assert [t.id for t in speedups.walk(tree.task_tree, **query)] == [
                    t.id for t in BpmnTaskIterator(tree.task_tree, **query)], f"speedups.walk differs for {query}"
            plain = {k: v for k, v in query.items() if k not in ("skip_subprocesses", "lane")}
            assert [t.id for t in speedups.walk(wf.task_tree, subprocesses=False, **plain)] == [
                t.id for t in TaskIterator(wf.task_tree, **plain)], f"speedups.walk differs for {plain}"
        for task in list(BpmnTaskIterator(wf.task_tree, state=TaskState.READY | TaskState.WAITING))[:2]:
            start = task.parent or task  # from inside the tree, not only from its root
            assert [t.id for t in speedups.walk(start)] == [t.id for t in BpmnTaskIterator(start)], \
                "speedups.walk differs when it starts inside the tree"
        return written

    monkeypatch.setattr(spiff_state, "_tasks_dict", checked)


# -- database and app -------------------------------------------------------------------------------

@pytest.fixture
def database_url(tmp_path) -> str:
    url = os.environ.get(TEST_DATABASE_ENV)
    if not url:
        return f"sqlite:///{tmp_path / 'liucheng.db'}"
    empty_postgres(url)
    return url


@pytest.fixture
def app(database_url):
    application = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "test"})
    yield application
    application.extensions["liucheng_db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db_session(app):
    session = app.extensions["liucheng_db"].sessions()
    yield session
    session.close()


@pytest.fixture
def clock():
    frozen = engine_clock.FrozenClock(CLOCK_START)
    previous = engine_clock.set_clock(frozen)
    yield frozen
    engine_clock.set_clock(previous)


# -- users and definitions ----------------------------------------------------------------------------

@pytest.fixture
def make_user(app):
    """``make_user("wang", "warehouse", categories="A,B")`` → the new ``User`` (password ``secret-wang``)."""
    database = app.extensions["liucheng_db"]

    def make(name: str, *roles: str, **attributes: str):
        with database.session() as session:
            user = users.add_user(session, name, password_of(name), roles,
                                  {k: str(v) for k, v in attributes.items()})
            session.commit()
            return user
    return make


@pytest.fixture
def auth():
    """``auth("wang")`` → Basic-auth headers for a user made by ``make_user``."""
    return basic_auth


@pytest.fixture
def api(client, auth):
    """``api("post", "/tasks/1/claim", "wang", json=...)`` → the /api/v1 response, as that user (default root)."""
    def call(method: str, path: str, user: str = "root", **kwargs):
        return getattr(client, method)("/api/v1" + path, headers=auth(user), **kwargs)
    return call


@pytest.fixture
def deploy(app):
    """``deploy()`` deploys processes/ and forms/; ``deploy(DATA / "x.bpmn", DATA / "forms")`` given paths."""
    database = app.extensions["liucheng_db"]

    def run(*paths: Path | str, actor: str = "system") -> list[definitions.Deployed]:
        chosen = [Path(p) for p in paths] or [ROOT / "processes", ROOT / "forms"]
        with database.session() as session:
            return runtime.deploy_paths(session, chosen, actor)
    return run


@pytest.fixture
def scenario_only(client, make_user, auth, clock, app):
    """``scenario_only("refund", "exchange")`` → a ``Scenario`` driver (tests/scenario.py) with only those
    processes and their forms deployed (so other processes' timer start events stay out of the count)."""
    from scenario import Scenario

    def make(*process_ids: str):
        if process_ids:
            paths = [ROOT / "processes" / f"{p}.bpmn" for p in process_ids]
            paths += [f for p in process_ids for f in sorted((ROOT / "forms").glob(f"{p}_*.json"))]
        else:
            paths = [ROOT / "processes", ROOT / "forms"]
        with app.extensions["liucheng_db"].session() as session:
            runtime.deploy_paths(session, paths)
        return Scenario(client, make_user, auth, clock, app.extensions["liucheng_db"])
    return make


@pytest.fixture
def scenario(scenario_only):
    """A ``Scenario`` driver (tests/scenario.py) with every process of processes/ deployed."""
    return scenario_only()
