"""The sandbox's language: what a condition or script may contain and how it runs.

Sources are compiled with RestrictedPython (no import, try, with, class, print, no
name or attribute starting with ``_``) and run with a whitelist of builtins; ``*``,
``**``, ``<<`` and ``range`` are size-checked, and ``run_code`` stops the code after
``timeout`` seconds with a ``sys.settrace`` tracer. This module imports neither
SpiffWorkflow nor the database: the sandbox worker process (``engine.script_worker``)
runs code with it as well as the web process (``engine.spiff.scripts``).
"""
from __future__ import annotations

import ast
import builtins
import difflib
import functools
import operator
import sys
import time
import traceback
from datetime import timedelta
from decimal import Decimal

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import (full_write_guard, guarded_iter_unpack_sequence,
                                     guarded_unpack_sequence, safer_getattr)
from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations

from engine.clock import EngineDate, EngineDatetime
from engine.errors import ScriptError, ScriptTimeoutError

FILENAME = "<sandbox>"
MAX_RANGE = 10**6       # items in one range()
MAX_SEQUENCE = 10**7    # items/characters produced by one sequence repetition
MAX_INT_BITS = 1 << 16  # bits of an int produced by *, ** or <<


class _Deadline(BaseException):
    """Raised by the tracer; a BaseException so no script code can catch it."""


class _SandboxPolicy(RestrictingNodeTransformer):
    """RestrictedPython policy that also refuses imports, print, try, with and
    class, and routes ``*``, ``**`` and ``<<`` through a size-checking guard."""

    _GUARDED_OPS = {ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<"}
    _IMPORT = "import (use Decimal, date, datetime, timedelta directly)"
    _REFUSED = {ast.Import: _IMPORT, ast.ImportFrom: _IMPORT, ast.With: "with",
                ast.Try: ("try/except (a script could catch the sandbox's own limit errors; check values with if "
                          "instead, and give a variable that may be missing a value in an earlier task)"), ast.ClassDef: "class"}

    def _refuse(self, node, what=None):
        self.error(node, f"{what or self._REFUSED[type(node)]} is not allowed in the sandbox.")
        return node

    visit_Import = visit_ImportFrom = visit_Try = visit_With = visit_ClassDef = _refuse

    def visit_Name(self, node):
        if node.id in ("print", "printed"):
            return self._refuse(node, "print (assign the value to a variable instead)")
        return super().visit_Name(node)

    def visit_While(self, node):
        # `while True: pass` compiles to one jump onto itself, which fires no trace
        # event in CPython 3.11: start each body with a name load so it cannot.
        node = self.node_contents_visit(node)
        tick = ast.Expr(ast.Name("_loop_", ast.Load()))
        copy_locations(tick, node.body[0])
        node.body.insert(0, tick)
        return node

    def visit_BinOp(self, node):
        node = self.node_contents_visit(node)
        symbol = self._GUARDED_OPS.get(type(node.op))
        if symbol is None:
            return node
        call = ast.Call(func=ast.Name("_binop_", ast.Load()),
                        args=[ast.Constant(symbol), node.left, node.right], keywords=[])
        copy_locations(call, node)
        return call


def _refused(message: str) -> ScriptError:
    return ScriptError(message, {"error": message})


def _safe_range(*args):
    """range() limited to MAX_RANGE items."""
    result = range(*args)
    size = (result[-1] - result[0]) // result.step + 1 if result else 0  # len() may overflow
    if size > MAX_RANGE:
        raise _refused(f"range() of {size} items exceeds the sandbox limit of {MAX_RANGE}; "
                       "iterate over a smaller range or over the data itself.")
    return result


def _check_int_bits(bits: int, symbol: str) -> None:
    if bits > MAX_INT_BITS:
        raise _refused(f"'{symbol}' would build an integer of about {bits} bits, above the "
                       f"sandbox limit of {MAX_INT_BITS}; use smaller numbers or Decimal.")


def _binop(symbol: str, left, right):
    """``left <symbol> right`` for *, ** and <<, refusing results that are too large."""
    if symbol == "*":
        for count, seq in ((left, right), (right, left)):
            if isinstance(count, int) and isinstance(seq, (str, bytes, list, tuple)):
                if count * len(seq) > MAX_SEQUENCE:
                    raise _refused(f"Repeating a sequence to {count * len(seq)} items exceeds the "
                                   f"sandbox limit of {MAX_SEQUENCE}; build a smaller value.")
        if isinstance(left, int) and isinstance(right, int):
            _check_int_bits(left.bit_length() + right.bit_length(), symbol)
        return left * right
    if symbol == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
            _check_int_bits(left.bit_length() * right, symbol)
        return left ** right
    if isinstance(left, int) and isinstance(right, int) and left and right > 0:
        _check_int_bits(left.bit_length() + right, symbol)
    return left << right


_INPLACE = {"+=": operator.iadd, "-=": operator.isub, "/=": operator.itruediv,
            "//=": operator.ifloordiv, "%=": operator.imod, "@=": operator.imatmul,
            ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor}


def _inplacevar(op: str, target, value):
    """Augmented assignment ``target op= value`` (``x += 1``)."""
    if op in ("*=", "**=", "<<="):
        return _binop(op[:-1], target, value)
    return _INPLACE[op](target, value)


def _c_import(name, globals=None, locals=None, fromlist=(), level=0):
    """``__import__`` for C code (date.strftime/strptime import time, _strptime).
    Scripts cannot call it: ``import`` and names starting with ``_`` are refused."""
    if name not in ("time", "_strptime") or level:
        raise ImportError(f"import of {name!r} is not allowed in the sandbox")
    return builtins.__import__(name, globals, locals, fromlist, level)


SAFE_BUILTINS = {
    "len": len, "min": min, "max": max, "sum": sum, "abs": abs, "round": round,
    "sorted": sorted, "any": any, "all": all, "enumerate": enumerate, "zip": zip,
    "range": _safe_range, "int": int, "float": float, "str": str, "bool": bool,
    "list": list, "dict": dict, "set": set, "tuple": tuple, "isinstance": isinstance,
    "True": True, "False": False, "None": None,
    "Decimal": Decimal, "date": EngineDate, "datetime": EngineDatetime, "timedelta": timedelta,
}
_GUARDS = {
    "_getattr_": safer_getattr, "_getitem_": operator.getitem, "_getiter_": iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence, "_write_": full_write_guard,
    "_inplacevar_": _inplacevar, "_apply_": lambda func, *args, **kwargs: func(*args, **kwargs),
    "_binop_": _binop, "_loop_": None, "__import__": _c_import,
}
# Guards live in __builtins__: scripts cannot rebind names starting with "_".
SANDBOX_BUILTINS = {**SAFE_BUILTINS, **_GUARDS}


@functools.lru_cache(maxsize=4096)
def compile_source(source: str, mode: str):
    """(code, errors) for ``source``; cached because the same conditions run very often."""
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    try:
        result = compiler(source, filename=FILENAME, policy=_SandboxPolicy)
    except (RecursionError, MemoryError):  # the parser's own limits: '-' * 100000 + '1', 'x' + '.a' * 100000
        return None, ("Line 1: it is nested too deep to compile (operators, attributes, brackets or "
                      "conditionals inside one another); split it into simpler expressions",)
    return result.code, tuple(result.errors)


def check_source(source: str, mode: str) -> None:
    """Raise ScriptError unless ``source`` compiles in the sandbox.

    ``mode`` is "eval" for conditions/expressions, "exec" for scripts.
    """
    if mode not in ("eval", "exec"):
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    if not isinstance(source, str):
        raise ScriptError("The script or expression must be text; enter it as a string.",
                          {"source": source, "error": f"got {type(source).__name__}"})
    code, errors = compile_source(source, mode)
    if errors:
        kind = "Expression" if mode == "eval" else "Script"
        raise ScriptError(f"{kind} {source.strip()[:80]!r} is refused: "
                          f"{'; '.join(e.rstrip('.') for e in errors)}. "
                          "Fix the syntax; names starting with '_', import, print, try, with "
                          "and class are not allowed in the sandbox.",
                          {"source": source, "error": errors[0], "errors": list(errors),
                           "mode": mode})


def timeout_error(kind: str, source: str, timeout: float, inside_one_operation=False):
    """The ScriptTimeoutError for code stopped after ``timeout`` seconds."""
    where = (" inside one operation on very large values (numbers, strings or lists)"
             if inside_one_operation else "")
    advice = ("Use smaller values" if inside_one_operation else "Look for an endless loop")
    return ScriptTimeoutError(
        f"{kind} ran longer than {timeout} s and was stopped{where}. {advice} "
        "or move heavy work to a service task.",
        {"source": source, "error": "timeout", "timeout": timeout})


def memory_error(kind: str, source: str, memory_mb: int) -> ScriptError:
    """The ScriptError for code that needed more than ``memory_mb`` MB."""
    return ScriptError(
        f"{kind} {source.strip()[:80]!r} needed more than {memory_mb} MB of memory and was "
        "stopped. Build smaller values (long strings, big numbers, large lists) or move heavy "
        "work to a service task.",
        {"source": source, "error": "MemoryError", "memory_mb": memory_mb})


def run_code(code, namespace: dict, source: str, kind: str, timeout: float | None):
    """``eval(code, namespace)``; every failure becomes a ScriptError naming the source."""
    try:
        return _run_with_deadline(code, namespace, timeout)
    except _Deadline:
        raise timeout_error(kind, source, timeout) from None
    except ScriptError as err:
        err.details.setdefault("source", source)
        raise
    except MemoryError:
        raise  # the sandbox worker reports it with its memory limit (memory_error)
    except Exception as err:
        line = None
        for frame, lineno in traceback.walk_tb(err.__traceback__):
            if frame.f_code.co_filename == FILENAME:
                line = lineno
        where = f" on line {line}" if line and kind == "Script" else ""
        error = f"{type(err).__name__}: {err}"
        raise ScriptError(f"{kind} {source.strip()[:80]!r} failed{where}: {error}. "
                          f"{_hint(err, list(namespace) + list(SAFE_BUILTINS))}",
                          {"source": source, "error": error, "line": line}) from err


def _run_with_deadline(code, namespace: dict, timeout: float | None):
    """``eval(code, namespace)``; a tracer raises _Deadline after ``timeout`` s."""
    if not timeout:
        return eval(code, namespace)
    deadline = time.monotonic() + timeout

    def local_tracer(frame, event, arg):
        if time.monotonic() > deadline:
            raise _Deadline()
        return local_tracer

    def global_tracer(frame, event, arg):
        if frame.f_code.co_filename != FILENAME:
            return None  # host code (guards, Spiff) is not traced
        return local_tracer(frame, event, arg)

    previous = sys.gettrace()
    sys.settrace(global_tracer)
    try:
        return eval(code, namespace)
    finally:
        sys.settrace(previous)


def _hint(err: Exception, names) -> str:
    if isinstance(err, NameError) and getattr(err, "name", None):
        if hasattr(builtins, err.name):
            return f"'{err.name}' is not available in the sandbox; use plain expressions."
        close = difflib.get_close_matches(err.name, list(names), n=1)
        if close:
            return f"Did you mean '{close[0]}'? Otherwise set '{err.name}' in an earlier task."
        return f"Set '{err.name}' in an earlier task or form, or fix the spelling."
    if isinstance(err, ZeroDivisionError):
        return "Check the divisor before dividing (e.g. 'x / y if y else 0')."
    if isinstance(err, AttributeError):
        return "Only public attributes of data values can be used; names starting with '_' are refused."
    return "Fix the script or the task data it uses."
