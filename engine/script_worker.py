"""A sandbox worker process: runs conditions and scripts sent by ``engine.script_pool``.

Started as ``python -m engine.script_worker``; it imports neither SpiffWorkflow nor
the database, so it starts in about a tenth of a second. It reads requests from
stdin and writes one answer per request to stdout, each a frame: an 8-byte length
then a pickle. A request names the mode (``eval``/``exec``), the source, the task
data, the environment's names, the timeout, the memory budget and the engine time
(``now``: what ``datetime.now()`` returns in the script, frozen clocks and timer
firing times included). The answer is ``{"value"}`` (eval), ``{"context"}`` (exec:
the task data after the script, without builtins, callables and environment
names, as Spiff's TaskDataEnvironment leaves them) or ``{"error"}``; ``retire``
asks the pool to replace this process (after a MemoryError, or when it has grown).

Each request runs under RLIMIT_AS = the size after start-up plus the memory budget
(a MemoryError is reported as such) and a soft RLIMIT_CPU of twice the timeout
plus a second from now (a backstop: the pool kills the process first). Values
that are not plain data (generators, ranges, sets, bytes, objects), integers
beyond the sandbox's ``MAX_INT_BITS`` and values nested too deep or with too many
items are refused with a ScriptError naming the variable.
"""
from __future__ import annotations

import math
import os
import pickle
import resource
import struct
import sys
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from engine import clock
from engine.errors import ScriptError, ScriptTimeoutError
from engine.script_policy import (MAX_INT_BITS, SANDBOX_BUILTINS, compile_source, memory_error,
                                  run_code)

HEADER = struct.Struct(">Q")
MAX_MESSAGE_BYTES = 64 << 20   # one answer; larger values are refused
MAX_ITEMS = 10**6              # values (counted as written out, shared ones each time)
MAX_DEPTH = 100                # containers nested in one value
_SCALARS = frozenset({type(None), bool, int, float, str, Decimal, date, datetime, time,
                      timedelta, clock.EngineDate, clock.EngineDatetime})
_CONTAINERS = frozenset({list, tuple, dict})


def crossing_problem(value) -> str | None:
    """Why ``value`` cannot be passed back to the web process, or None."""
    stack, count = [(value, 0)], 0
    while stack:
        item, depth = stack.pop()
        count += 1
        if count > MAX_ITEMS:
            return f"holds more than {MAX_ITEMS} values; keep less data in one variable"
        kind = type(item)
        if kind in _SCALARS:
            if kind is int and item.bit_length() > MAX_INT_BITS:
                return (f"holds an integer of {item.bit_length()} bits, above the sandbox limit of "
                        f"{MAX_INT_BITS}; use Decimal or smaller numbers")
            if kind in (datetime, time, clock.EngineDatetime) and item.tzinfo is not None \
                    and type(item.tzinfo) is not timezone:
                return "holds a time with a time zone other than a fixed offset; use UTC"
            continue
        if kind not in _CONTAINERS:
            return (f"holds a {kind.__name__}, which cannot be kept in task data; convert it "
                    "to a list, text or number (e.g. list(...)) or delete it with 'del'")
        if depth >= MAX_DEPTH:
            return f"is nested more than {MAX_DEPTH} levels deep (or contains itself)"
        if kind is dict:
            stack.extend((key, depth + 1) for key in item.keys())
            stack.extend((val, depth + 1) for val in item.values())
        else:
            stack.extend((val, depth + 1) for val in item)
    return None


def _refuse(kind: str, source: str, what: str, problem: str) -> ScriptError:
    message = f"{kind} {source.strip()[:80]!r}: {what} {problem}."
    return ScriptError(message, {"source": source, "error": f"{what} {problem}"})


def _evaluate(request: dict):
    namespace = dict(request["globals"])
    namespace.update(request["external"])
    namespace.update(request["context"])
    namespace["__builtins__"] = SANDBOX_BUILTINS
    code = compile_source(request["source"], "eval")[0]
    value = run_code(code, namespace, request["source"], "Expression", request["timeout"])
    problem = crossing_problem(value)
    if problem:
        raise _refuse("Expression", request["source"], "the result", problem)
    return {"value": value}


def _execute(request: dict):
    context, external, environment = request["context"], request["external"], request["globals"]
    context.update({**environment, **external})
    context["__builtins__"] = SANDBOX_BUILTINS
    code = compile_source(request["source"], "exec")[0]
    try:
        run_code(code, context, request["source"], "Script", request["timeout"])
    finally:
        for key in list(context):  # as TaskDataEnvironment._remove_globals_and_functions_from_context
            if key == "__builtins__" or callable(context[key]) or key in environment \
                    or key in external:
                del context[key]
    for key, value in context.items():
        problem = crossing_problem(value)
        if problem:
            raise _refuse("Script", request["source"], f"variable '{key}'", problem)
    return {"context": context}


class _Worker:
    """The loop of one worker process."""

    def __init__(self):
        self.output = os.fdopen(os.dup(1), "wb")
        os.dup2(2, 1)  # anything else printed goes to stderr, never into the answers
        self.input = sys.stdin.buffer
        clock._firing_at = lambda: None  # no timers here: "now" comes with each request
        compile_source("x == 1", "eval")   # load what the first request needs
        self.baseline = _address_space()

    def serve(self) -> None:
        self._write(pickle.dumps({"ready": os.getpid()}))
        while True:
            header = self.input.read(HEADER.size)
            if len(header) < HEADER.size:
                return  # the web process closed the pipe
            request = pickle.loads(self.input.read(HEADER.unpack(header)[0]))
            answer, retire = self._answer(request)
            self._write(answer)
            if retire:
                return

    def _answer(self, request: dict) -> tuple[bytes, bool]:
        """The pickled answer to ``request`` and whether to stop this process after it."""
        kind = "Expression" if request["mode"] == "eval" else "Script"
        clock.set_clock(clock.FrozenClock(request["now"]))
        self._limit(request["memory_mb"], request["timeout"])
        try:
            result = _evaluate(request) if request["mode"] == "eval" else _execute(request)
            retire = result["retire"] = self._grown(request["memory_mb"])
            data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
            if len(data) > MAX_MESSAGE_BYTES:
                raise _refuse(kind, request["source"], "the task data",
                              f"take {len(data) >> 20} MB, more than the sandbox passes back "
                              f"({MAX_MESSAGE_BYTES >> 20} MB); keep less data")
            return data, retire
        except MemoryError:
            error, retire = memory_error(kind, request["source"], request["memory_mb"]), True
        except ScriptError as err:
            error, retire = err, self._grown(request["memory_mb"])
        except RecursionError:
            error, retire = _refuse(kind, request["source"], "the result",
                                    "is nested too deep to pass back"), False
        except Exception as err:  # the sandbox's own failure: report it, start afresh
            error, retire = _refuse(kind, request["source"], "the sandbox",
                                    f"failed ({type(err).__name__}: {err})"), True
        answer = {"error": {"timeout": isinstance(error, ScriptTimeoutError),
                            "message": error.message, "details": error.details}, "retire": retire}
        return pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL), retire

    def _grown(self, memory_mb: int) -> bool:
        """True when this process kept more than half its memory budget: replace it."""
        return bool(self.baseline) and _address_space() > self.baseline + (memory_mb << 19)

    def _limit(self, memory_mb: int, timeout: float | None) -> None:
        if self.baseline:
            limit = self.baseline + (memory_mb << 20)
            resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
        used = resource.getrusage(resource.RUSAGE_SELF)
        seconds = math.ceil(used.ru_utime + used.ru_stime + 2 * (timeout or 0) + 1)
        resource.setrlimit(resource.RLIMIT_CPU,
                           (seconds if timeout else resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    def _write(self, data: bytes) -> None:
        self.output.write(HEADER.pack(len(data)) + data)
        self.output.flush()


def _address_space() -> int:
    """Bytes of address space this process uses now (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


def main() -> None:
    """Serve requests until the web process closes the pipe; a worker whose web process went away
    before it could answer (it stopped, or gave up waiting and replaced this worker) exits quietly."""
    try:
        _Worker().serve()
    except BrokenPipeError:
        os._exit(0)  # not sys.exit: flushing the unwritable answer again at exit would print the error anyway


if __name__ == "__main__":
    main()
