"""Sandboxed Python for BPMN conditions and script tasks, with hard limits.

What a source may contain and how it runs is ``engine.script_policy``:
RestrictedPython (no import, try, with, class, print, no name or attribute
starting with ``_``), a whitelist of builtins, size-checked ``*``, ``**``, ``<<``
and ``range``, and a ``sys.settrace`` deadline of ``timeout`` seconds.

Where it runs (this module decides, per source):

* **In the web process** when it is provably cheap (``engine.script_cost``): no
  loop, comprehension, lambda or call except ``len``/``abs``/``bool`` and
  ``Decimal('<text>')``, no ``*``, ``**``, ``<<``, ``%``, ``//``, f-string, only
  names, constants, attribute and subscript reads, comparisons, boolean
  operators, ``if``, ``+``/``-``, displays and simple assignments, at most 200
  syntax nodes, and no value built (``+``, ``-``, displays) from a name the script
  assigned before. Its time and memory are linear in the (size-limited) task
  data, so conditions like ``approved == True`` and scripts like
  ``outcome = 'refunded'`` or ``rounds = rounds + 1`` cost what they always did,
  less the tracer (163 of the 180 sources in processes/ run this way).
* **In a sandbox worker process** (``engine.script_pool``, ``engine.script_worker``)
  otherwise. The pool sends the source, the task data, the environment's names,
  the limits and the engine time (``datetime.now()`` in the worker is the web
  process's ``EngineDatetime.now()``: frozen test clocks and timer firing times)
  through a pipe. The worker runs under RLIMIT_AS (its size after start-up plus
  ``LIUCHENG_SCRIPT_MEMORY``) and a soft RLIMIT_CPU backstop, and stops loops
  with the tracer after ``timeout`` seconds as before. The web thread waits on
  the pipe (the GIL is released: static files and other users' commands are
  served meanwhile) at most 1.5 x timeout, then kills the worker, which is
  replaced: a single slow C-level call (``int(Decimal('1e300000'))``,
  ``max(..., key=int)``, ``//`` on huge integers, ``sum`` of lists) cannot hold
  the web process for longer than that. A MemoryError (``''.join([s] * 100)``,
  ``'%*d' % (10**9, 1)``) becomes a ScriptError naming the limit, and the worker
  is replaced. The answer is decoded by an Unpickler that builds only Decimal,
  date and time types; values that are not plain data (generators, ranges, sets,
  bytes, integers beyond ``MAX_INT_BITS``) are refused with a ScriptError naming
  the variable. Pool path cost: about 0.1-0.3 ms per call plus the pickling of the
  task data (``bench/sandbox_bench.py``).

Why both: only a separate process can stop a C-level call or refuse an
allocation at any point, but it costs a round trip (0.1 ms and more); the cheap
path keeps the frequent conditions as fast as before. No in-process guard beyond
the policy's is needed, since no call runs in-process but ``len``, ``abs``,
``bool`` and ``Decimal('<text>')``. The limits hold on Linux; where /proc is
missing (macOS) the memory limit is not set, the kill after 1.5 x timeout still
is. The 1.5 x timeout counts from when a worker has the request: when all
workers are busy, a caller first waits for one at most 0.5 x timeout, then its
script fails with a ScriptTimeoutError saying the sandbox is busy (and its step
is retried): one user's slow scripts cannot queue everyone else's behind them.

Settings (``engine.config``): ``LIUCHENG_SCRIPT_TIMEOUT`` (seconds, default 1.0),
``LIUCHENG_SCRIPT_MEMORY`` (MB a worker-run script may allocate, default 256),
``LIUCHENG_SCRIPT_WORKERS`` (worker processes at most, default the number of
processors; started lazily, reused; when all are busy a caller waits for one,
at most half the timeout).

Task data change exactly as with Spiff's TaskDataEnvironment: scripts see the
task data, the external context and the environment globals; afterwards
builtins, callables and environment names are removed, and the task data dict
is updated in place (for a worker-run script: replaced by the worker's result,
and left as it was when the script fails). Conditions return their value.

Recovering the ScriptError: Spiff's ``PythonScriptEngine`` wraps what the
environment raises in a ``WorkflowTaskException`` that keeps only the class name.
``SandboxScriptEngine`` makes the ScriptError that wrapper's ``__cause__``; call
``find_script_error(exc)`` (follows ``__cause__``/``__context__``, returns the
ScriptError or None). Spiff code calling ``environment.evaluate`` directly raises
the bare ScriptError, which ``find_script_error`` returns as is.
"""
from __future__ import annotations

import copy
from typing import Callable, Optional

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine import config, script_pool
from engine.clock import EngineDatetime
from engine.errors import ScriptError
from engine.script_cost import cheap_calls
from engine.script_policy import (MAX_INT_BITS, MAX_RANGE, MAX_SEQUENCE, SANDBOX_BUILTINS,
                                  check_source, run_code)
from engine.script_policy import compile_source as _compile

__all__ = ["SandboxEnvironment", "SandboxScriptEngine", "make_script_engine",
           "check_source", "find_script_error", "MAX_RANGE", "MAX_SEQUENCE", "MAX_INT_BITS"]


def find_script_error(exc: BaseException | None) -> ScriptError | None:
    """The ScriptError behind ``exc`` (itself, or along __cause__/__context__)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, ScriptError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


class SandboxEnvironment(TaskDataEnvironment):
    """TaskDataEnvironment that compiles with RestrictedPython and runs cheap sources
    in-process, the others in a sandbox worker with time and memory limits.

    ``memory_mb`` defaults to ``LIUCHENG_SCRIPT_MEMORY``.
    """

    def __init__(self, environment_globals=None, timeout: float | None = 1.0,
                 memory_mb: int | None = None):
        super().__init__(environment_globals)
        self.timeout = timeout
        self.memory_mb = memory_mb or config.script_memory_mb()

    def evaluate(self, expression, context, external_context=None):
        code = self._code(expression, "eval")
        self._prepare_context(context)
        external_context = external_context or {}
        if not self._in_process(expression, "eval", context, external_context):
            return self._in_worker("eval", expression, context, external_context)
        namespace = copy.copy(self.globals)
        namespace.update(external_context)
        namespace.update(context)
        namespace["__builtins__"] = SANDBOX_BUILTINS
        return run_code(code, namespace, expression, "Expression", None)

    def execute(self, script, context, external_context=None):
        code = self._code(script, "exec")
        external_context = external_context or {}
        try:
            self.check_for_overwrite(context, external_context)
        except ValueError as err:
            raise ScriptError(str(err), {"source": script, "error": str(err)}) from err
        self._prepare_context(context)
        if not self._in_process(script, "exec", context, external_context):
            result = self._in_worker("exec", script, context, external_context)
            context.clear()
            context.update(result)
            return True
        my_globals = copy.copy(self.globals)
        my_globals.update(external_context)
        context.update(my_globals)
        context["__builtins__"] = SANDBOX_BUILTINS
        try:
            run_code(code, context, script, "Script", None)
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        return True

    @staticmethod
    def _code(source, mode):
        check_source(source, mode)
        return _compile(source, mode)[0]

    def _in_process(self, source, mode, context, external_context) -> bool:
        """True if ``source`` is cheap and the builtins it calls are not shadowed."""
        calls = cheap_calls(source, mode)
        if calls is None:
            return False
        return not any(name in context or name in external_context or name in self.globals
                       for name in calls)

    def _in_worker(self, mode, source, context, external_context):
        request = {"mode": mode, "source": source, "context": context,
                   "external": external_context, "globals": self.globals,
                   "timeout": self.timeout, "memory_mb": self.memory_mb,
                   "now": EngineDatetime.now()}
        return script_pool.run(request)


class SandboxScriptEngine(PythonScriptEngine):
    """Spiff PythonScriptEngine on a SandboxEnvironment; wrapper exceptions get the
    ScriptError as ``__cause__`` (see ``find_script_error``)."""

    def __init__(self, environment=None, timeout: float | None = 1.0):
        super().__init__(environment or SandboxEnvironment(timeout=timeout))

    def validate(self, expression):
        try:
            super().validate(expression)  # SyntaxError first: Spiff's DMN engine relies on it
        except (RecursionError, MemoryError):
            pass  # nested too deep for the parser: check_source says so as a ScriptError
        check_source(expression, "eval")

    def evaluate(self, task, expression, external_context=None):
        return _linking_cause(super().evaluate, task, expression, external_context)

    def execute(self, task, script, external_context=None):
        return _linking_cause(super().execute, task, script, external_context)

    def call_service(self, task, operation_name: str, operation_params: dict, **_ignored) -> str:
        """Service tasks call the connectors the engine was given (``use_services``), never arbitrary
        code; a failing connector fails the task (its incident names the element)."""
        if _services is None:
            raise WorkflowTaskException("No connectors were given to the script engine; start the engine with "
                                        "engine.runtime.start_engine() before running service tasks", task=task)
        inputs = {name: param["value"] for name, param in (operation_params or {}).items()}
        variable = getattr(task.task_spec, "result_variable", None) or "result"
        try:
            return _services(operation_name, inputs, variable)
        except Exception as exc:  # noqa: BLE001 - a connector's own failure, whatever its kind
            raise WorkflowTaskException(str(exc), task=task, exception=exc) from exc


ServiceCall = Callable[[str, dict, str], str]
_services: Optional[ServiceCall] = None


def use_services(call: ServiceCall) -> None:
    """Give the script engine the function service tasks call: ``call(operation, inputs, result_variable)``
    returns the result as JSON text or raises (``engine.connectors.call``)."""
    global _services
    _services = call


def _linking_cause(method, *args):
    """Call a Spiff engine method; make the ScriptError the __cause__ of Spiff's wrapper."""
    try:
        return method(*args)
    except SpiffWorkflowException as exc:
        exc.__cause__ = exc.__cause__ or find_script_error(exc)
        raise


def make_script_engine(timeout: float | None = 1.0, environment_globals=None) -> SandboxScriptEngine:
    """A SandboxScriptEngine whose scripts stop after ``timeout`` seconds; starts the
    first sandbox worker in the background if none runs yet."""
    script_pool.warm()
    return SandboxScriptEngine(SandboxEnvironment(environment_globals, timeout=timeout))
