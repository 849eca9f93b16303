"""Connectors: the Python callables service tasks may call, registered by name.

A BPMN service task names one with SpiffWorkflow's extension::

    <spiffworkflow:serviceTaskOperator id="stock.receive" resultVariable="stock_result">
      <spiffworkflow:parameters>
        <spiffworkflow:parameter id="lines" type="any" value="accepted_lines"/>
      </spiffworkflow:parameters>
    </spiffworkflow:serviceTaskOperator>

Parameter values are sandboxed expressions on the process data; the
connector's return value is stored in ``resultVariable``. An unknown connector
or a missing declared input is a deploy-time error. A connector receives a
``Context`` (database session, instance id, clock) and the declared inputs. A result
the engine cannot store (``engine.values``) fails the service task, like a connector error.
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
    load_builtin()
    return REGISTRY.get(name)


def load_builtin() -> None:
    """Import the connectors that ship with Liucheng (they register themselves)."""
    from engine.connectors import builtin  # noqa: F401


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
