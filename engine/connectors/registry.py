"""The connector registry: ``connector`` registers a callable by name, ``call`` runs one.

``running`` gives the connectors called during a command their ``Context`` (session, instance,
process); ``call`` is what the script engine is given at start-up to run service tasks.
"""
from __future__ import annotations

import json
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Optional

from engine import clock, values
from engine.forms import to_json


@dataclass
class Context:
    session: Any
    instance_id: Optional[int]
    process_id: Optional[str]

    @property
    def now(self) -> datetime:
        return clock.now()


@dataclass
class Connector:
    name: str
    func: Callable[..., Any]
    inputs: dict[str, str]
    outputs: list[str] = field(default_factory=list)
    description: str = ""


REGISTRY: dict[str, Connector] = {}
_current: ContextVar[Optional[Context]] = ContextVar("liucheng_connector_context", default=None)


def connector(name: str, inputs: dict[str, str], outputs: Optional[list[str]] = None, description: str = ""):
    """Register ``func(context, **inputs)`` as connector ``name``."""
    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        REGISTRY[name] = Connector(name, func, dict(inputs), list(outputs or []), description or (func.__doc__ or ""))
        return func
    return register


def find_connector(name: str) -> Optional[Connector]:
    return REGISTRY.get(name)


class running:
    """``with connectors.running(context):`` — the context service tasks of this command see."""

    def __init__(self, context: Context):
        self.context = context

    def __enter__(self):
        self.token = _current.set(self.context)
        return self.context

    def __exit__(self, *exc):
        _current.reset(self.token)


class ConnectorFailed(Exception):
    """A connector that is unknown, raised, or returned what cannot be stored; the message says which."""


def call(operation_name: str, inputs: dict, result_variable: str) -> Any:
    """Call connector ``operation_name`` with ``inputs`` in the current command's context (the
    script engine is given this function at start-up); returns the result as JSON text."""
    found = find_connector(operation_name)
    if found is None:
        raise ConnectorFailed(f"Unknown connector '{operation_name}'")
    context = _current.get() or Context(None, None, None)
    try:
        result = found.func(context, **inputs)
    except Exception as exc:
        raise ConnectorFailed(f"Connector '{operation_name}' failed: {exc}") from exc
    problem = values.find_value_problem(result_variable, result)
    if problem is not None:
        raise ConnectorFailed(
            f"Connector '{operation_name}' returned a value that cannot be stored in variable '{result_variable}': "
            f"{problem.describe()}. Change the connector to return plain data (text, numbers, dates, "
            "lists, dicts)")
    return json.dumps(to_json(result), ensure_ascii=False)
