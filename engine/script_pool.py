"""The pool of sandbox worker processes that run conditions and scripts with hard limits.

``run(request)`` hands a request (see ``engine.script_worker``) to an idle worker
and waits on its pipe, which releases the GIL, so the web process's other threads
keep serving. The wait ends at ``hard_limit(timeout)`` (1.5 times the timeout,
so always below twice it): the worker is then killed, reaped and replaced, and
the caller gets a ScriptTimeoutError. A worker that dies (RLIMIT_CPU, the kernel)
gives a ScriptError; one that asks to retire (after a MemoryError) is replaced.

At most ``LIUCHENG_SCRIPT_WORKERS`` workers run (``engine.config``); they start
lazily (``warm()`` starts the first one in the background when a script engine is
made), are reused, and a caller waits for a free one when all are busy, at most
``queue_limit(timeout)`` (half the timeout, so that waiting and running stay
below twice it): then it gets a ScriptTimeoutError saying the sandbox is busy
(``details["error"] == "busy"``), and its step fails and is retried like any
other, instead of queueing behind one user's slow scripts. A worker
is ``python -m engine.script_worker`` started with ``subprocess.Popen`` (fork and
exec, never a bare fork of the threaded web process). Answers are decoded by an
Unpickler that builds no class but Decimal, the date and time types and the
engine clock's, so nothing a script does can make the web process run its code.
"""
from __future__ import annotations

import atexit
import io
import os
import pickle
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

from engine import config
from engine.errors import ScriptError, ScriptTimeoutError
from engine.script_policy import timeout_error
from engine.script_worker import HEADER, MAX_MESSAGE_BYTES

START_TIMEOUT = 30.0   # seconds a new worker may take to say it is ready
_ROOT = str(Path(__file__).resolve().parent.parent)  # the directory holding the engine package
_ALLOWED_CLASSES = {("decimal", "Decimal"), ("datetime", "date"), ("datetime", "datetime"),
                    ("datetime", "time"), ("datetime", "timedelta"), ("datetime", "timezone"),
                    ("engine.clock", "EngineDate"), ("engine.clock", "EngineDatetime")}


def hard_limit(timeout: float) -> float:
    """Seconds the pool waits for an answer before it kills the worker (< 2x ``timeout``)."""
    return timeout * 1.5


def queue_limit(timeout: float) -> float:
    """Seconds a caller waits for a free worker when all are busy (with ``hard_limit``: 2x ``timeout``)."""
    return timeout * 2 - hard_limit(timeout)


class _AnswerUnpickler(pickle.Unpickler):
    """Builds plain data and the allowed value classes only."""

    def find_class(self, module, name):
        if (module, name) not in _ALLOWED_CLASSES:
            raise pickle.UnpicklingError(f"the sandbox worker sent a {module}.{name}")
        return super().find_class(module, name)


class _Stopped(Exception):
    """The worker closed its pipe or sent something unreadable; ``unstarted`` if before the
    request reached it (then another worker may run it)."""

    def __init__(self, why: str, unstarted: bool = False):
        super().__init__(why)
        self.unstarted = unstarted


class _Worker:
    """One worker process and its pipes; ``ready`` once it said so."""

    def __init__(self):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            filter(None, [_ROOT, os.environ.get("PYTHONPATH")])))
        self.process = subprocess.Popen([sys.executable, "-m", "engine.script_worker"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        env=env, cwd=_ROOT, start_new_session=True)
        self.poll = select.poll()
        self.poll.register(self.process.stdout.fileno(), select.POLLIN)
        self.ready = False

    def call(self, frame: bytes, limit: float | None) -> dict:
        """Send ``frame``; the decoded answer. TimeoutError after ``limit`` seconds (counted
        once the worker is ready), _Stopped if it died."""
        if not self.ready:
            try:
                self._read(time.monotonic() + START_TIMEOUT)
            except (TimeoutError, _Stopped) as err:
                raise _Stopped(f"it did not start: {err or 'timeout'}", unstarted=True) from err
            self.ready = True
        try:
            self.process.stdin.write(frame)
            self.process.stdin.flush()
        except OSError as err:
            raise _Stopped("its pipe is closed", unstarted=True) from err
        return self._read(None if limit is None else time.monotonic() + limit)

    def _read(self, deadline: float | None) -> dict:
        size = HEADER.unpack(self._read_exactly(HEADER.size, deadline))[0]
        if size > MAX_MESSAGE_BYTES:
            raise _Stopped(f"answer of {size} bytes")
        try:
            return _AnswerUnpickler(io.BytesIO(self._read_exactly(size, deadline))).load()
        except Exception as err:  # anything unreadable: the worker is not trusted
            raise _Stopped(f"unreadable answer ({err})") from err

    def _read_exactly(self, size: int, deadline: float | None) -> bytes:
        chunks, missing, fd = [], size, self.process.stdout.fileno()
        while missing:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self.poll.poll(None if wait is None else wait * 1000):
                raise TimeoutError()
            chunk = os.read(fd, min(missing, 1 << 20))
            if not chunk:
                raise _Stopped(f"exit code {self.process.wait()}")
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)

    def stop(self) -> None:
        """Kill and reap the process (idempotent)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:
                pass


class _Pool:
    """Idle workers, the count of live ones and a condition to wait for a free one."""

    def __init__(self):
        self.pid = os.getpid()
        self.idle: list[_Worker] = []
        self.live = 0
        self.changed = threading.Condition()

    def warm(self) -> None:
        """Start the first worker in the background (a failure is reported when one is needed)."""
        with self.changed:
            if self.live == 0 and self.pid == os.getpid():
                try:
                    self._adopt()
                except OSError:
                    pass

    def run(self, request: dict):
        """The value (eval) or task data (exec) the worker answers; ScriptError on failure."""
        frame = _encode(request)
        timeout = request["timeout"]
        queued_until = time.monotonic() + queue_limit(timeout) if timeout else None
        for attempt in (1, 2):
            worker = self._acquire(queued_until)
            if worker is None:
                raise _busy_error(request)
            try:
                answer = worker.call(frame, hard_limit(timeout) if timeout else None)
            except TimeoutError:
                self._replace(worker)
                kind = "Expression" if request["mode"] == "eval" else "Script"
                raise timeout_error(kind, request["source"], timeout,
                                    inside_one_operation=True) from None
            except _Stopped as err:
                self._replace(worker)
                if attempt == 1 and err.unstarted:
                    continue  # the request never reached it: a fresh worker runs it
                raise _stopped_error(request, err) from None
            except BaseException:
                self._replace(worker)
                raise
            if answer.get("retire"):
                self._replace(worker)
            else:
                self._release(worker)
            return _result(answer)

    def _acquire(self, until: float | None) -> _Worker | None:
        """A free worker (started if need be); None if none was free by ``until``."""
        try:
            return self._take(until)
        except OSError as err:  # no process could be started (limits of the machine)
            raise ScriptError(f"The sandbox could not start a worker process ({err}); free "
                              "resources or lower LIUCHENG_SCRIPT_WORKERS and retry.",
                              {"error": f"worker start: {err}"}) from err

    def _take(self, until: float | None) -> _Worker | None:
        with self.changed:
            if self.pid != os.getpid():  # forked (a preloading server): the workers are the parent's
                self.pid, self.idle, self.live = os.getpid(), [], 0
            while not self.idle and self.live >= config.script_workers():
                wait = None if until is None else until - time.monotonic()
                if wait is not None and wait <= 0:
                    return None
                self.changed.wait(wait)
            if not self.idle:
                self._adopt()
            return self.idle.pop()

    def _adopt(self) -> None:
        self.idle.append(_Worker())
        self.live += 1

    def _release(self, worker: _Worker) -> None:
        with self.changed:
            self.idle.append(worker)
            self.changed.notify()

    def _replace(self, worker: _Worker) -> None:
        """Stop ``worker`` and start its successor right away (it warms up meanwhile)."""
        worker.stop()
        with self.changed:
            if self.pid == os.getpid():
                self.live -= 1
                try:
                    self._adopt()
                except OSError:
                    pass  # the next caller starts one (and reports why it cannot)
            self.changed.notify()

    def close(self) -> None:
        with self.changed:
            workers, self.idle, self.live = self.idle, [], 0
        for worker in workers:
            worker.stop()


def _encode(request: dict) -> bytes:
    """The request as a frame; a ScriptError naming the first value that cannot be sent."""
    try:
        data = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
        return HEADER.pack(len(data)) + data
    except Exception as err:
        problem = err
    for part in ("context", "external", "globals"):
        for name, value in request[part].items():
            try:
                pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as err:
                problem = f"the variable '{name}' holds a {type(value).__name__} ({err})"
                break
        else:
            continue
        break
    source = request["source"]
    raise ScriptError(f"{source.strip()[:80]!r} cannot run: {problem}, which the sandbox cannot "
                      "pass to its worker process; keep only plain data (text, numbers, dates, "
                      "lists, dicts) in the task data.", {"source": source, "error": str(problem)})


def _result(answer: dict):
    if "error" in answer:
        error = answer["error"]
        cls = ScriptTimeoutError if error.get("timeout") else ScriptError
        raise cls(str(error.get("message")), dict(error.get("details") or {}))
    return answer["value"] if "value" in answer else answer["context"]


def _busy_error(request: dict) -> ScriptTimeoutError:
    kind = "Expression" if request["mode"] == "eval" else "Script"
    source, workers = request["source"], config.script_workers()
    return ScriptTimeoutError(
        f"{kind} {source.strip()[:80]!r} was not run: the sandbox is busy (all its {workers} worker "
        f"process(es) stayed busy with other scripts for {queue_limit(request['timeout']):g} s). Retry in a "
        "moment (a failed step is retried automatically); if this happens often, look for slow scripts "
        "or raise LIUCHENG_SCRIPT_WORKERS.", {"source": source, "error": "busy", "timeout": request["timeout"]})


def _stopped_error(request: dict, err: _Stopped) -> ScriptError:
    kind = "Expression" if request["mode"] == "eval" else "Script"
    source = request["source"]
    if err.unstarted:
        message = (f"{kind} {source.strip()[:80]!r} could not run: the sandbox worker process "
                   f"failed ({err}). Check that 'python -m engine.script_worker' runs on this "
                   "machine, then retry.")
    else:
        message = (f"{kind} {source.strip()[:80]!r} was stopped by the sandbox ({err}): it "
                   f"probably needed more than {request['memory_mb']} MB of memory or too much "
                   "processor time. Build smaller values or move heavy work to a service task.")
    return ScriptError(message, {"source": source, "error": f"worker stopped: {err}"})


_POOL = _Pool()
atexit.register(_POOL.close)
run = _POOL.run
warm = _POOL.warm
