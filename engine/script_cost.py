"""Which conditions and scripts are provably cheap enough to run in the web process.

A source is *cheap* when its syntax tree holds at most ``MAX_NODES`` nodes, all of
them from ``_CHEAP_NODES`` (names, constants, attribute and subscript reads, slices,
comparisons, ``and``/``or``/``not``, unary ``-``/``+``/``~``, ``x if c else y``,
``+``/``-``, tuple/list/dict displays, ``if``, ``pass``, assignments to a name or a
subscript, calls of ``len``/``abs``/``bool`` with one argument and of ``Decimal``
with one text constant), and, for scripts, no name that an earlier statement
assigned (or whose item it assigned) is read inside ``+``/``-`` or a display.
Such code has no loop and no call into arbitrary code; every value it builds
(``+``, ``-``, displays) is built from the task data and the source text alone,
and the other operations only copy a reference, select or compare: its time and
memory are linear in the size of the data and of the source. What it cannot do is
grow a value statement after statement (``s = s + s`` twice, or ``a = [d, d]``,
``b = [a, a]``...), copy the data more than ``MAX_COPIES`` times in one source
(operands of ``+``/``-`` that are not constants, and slices: ``x + x + ... + x``
with a text of a million characters would build hundreds of megabytes), or hold
an integer constant beyond 64 bits (``Decimal(1) == 0xfff...``: converting it is
quadratic). Everything else runs in a sandbox worker process
(``engine.script_pool``).
"""
from __future__ import annotations

import ast
import functools

MAX_NODES = 200
MAX_COPIES = 4          # operands of +/- that are not constants, and slices, in one source
MAX_CONSTANT_BITS = 64  # integer constants beyond this are converted slowly (Decimal(int), str(int))
CHEAP_CALLS = frozenset({"len", "abs", "bool"})
_GROWING = (ast.BinOp, ast.List, ast.Tuple, ast.Dict)  # where an operand's size adds up

_CHEAP_NODES = (
    ast.Expression, ast.Module, ast.Expr, ast.Assign, ast.Pass, ast.If,
    ast.Name, ast.Constant, ast.Attribute, ast.Subscript, ast.Slice, ast.Compare,
    ast.BoolOp, ast.UnaryOp, ast.BinOp, ast.IfExp, ast.Tuple, ast.List, ast.Dict, ast.Call,
    ast.Load, ast.Store, ast.And, ast.Or, ast.Not, ast.UAdd, ast.USub, ast.Invert,
    ast.Add, ast.Sub, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
    ast.Is, ast.IsNot, ast.In, ast.NotIn,
)


@functools.lru_cache(maxsize=4096)
def cheap_calls(source: str, mode: str) -> frozenset | None:
    """None if ``source`` may be expensive; else the builtin names it calls (often none).

    The caller runs the source in-process only if none of those names is rebound by
    the task data or the environment (so ``len`` really is the builtin).
    """
    try:
        tree = ast.parse(source, mode=mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES or not all(_is_cheap_node(node) for node in nodes):
        return None
    if _copies(nodes) > MAX_COPIES:
        return None
    if mode == "exec" and not _no_growth_from_assigned(tree.body, set()):
        return None
    called = frozenset(node.func.id for node in nodes if isinstance(node, ast.Call))
    if any(isinstance(node, ast.Name) and node.id in called and isinstance(node.ctx, ast.Store)
           for node in nodes):
        return None  # ``len = max`` then ``len(x)``: not the builtin any more
    return called


def _copies(nodes: list[ast.AST]) -> int:
    """How many times the source may copy (a part of) the data: operands of ``+``/``-`` that are not
    constants or other ``+``/``-`` (those are counted themselves), and slices."""
    count = 0
    for node in nodes:
        if isinstance(node, ast.Slice):
            count += 1
        elif isinstance(node, ast.BinOp):
            count += sum(not isinstance(side, (ast.Constant, ast.BinOp)) for side in (node.left, node.right))
    return count


def _is_cheap_node(node: ast.AST) -> bool:
    if not isinstance(node, _CHEAP_NODES):
        return False
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value.bit_length() <= MAX_CONSTANT_BITS  # bool is an int too: fine
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, (ast.Add, ast.Sub))
    if isinstance(node, ast.Call):
        if not (isinstance(node.func, ast.Name) and len(node.args) == 1 and not node.keywords):
            return False
        argument = node.args[0]
        if node.func.id == "Decimal":
            return isinstance(argument, ast.Constant) and isinstance(argument.value, str)
        return node.func.id in CHEAP_CALLS and not isinstance(argument, ast.Starred)
    if isinstance(node, ast.Assign):
        return all(_assigned_root(target) is not None for target in node.targets)
    return True


def _assigned_root(target: ast.AST) -> str | None:
    """The name ``x`` that ``x = ...`` or ``x[k]...[j] = ...`` changes, else None."""
    while isinstance(target, ast.Subscript):
        target = target.value
    return target.id if isinstance(target, ast.Name) else None


def _loaded_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _growing_names(node: ast.AST) -> set[str]:
    """Names read inside ``+``/``-`` or a tuple/list/dict display within ``node``."""
    found = set()
    for sub in ast.walk(node):
        if isinstance(sub, _GROWING):
            found |= _loaded_names(sub)
    return found


def _no_growth_from_assigned(body: list[ast.stmt], assigned: set[str]) -> bool:
    """True if no statement (in source order) builds a value from a name assigned before it."""
    for statement in body:
        if isinstance(statement, ast.If):
            if _growing_names(statement.test) & assigned:
                return False
            if not (_no_growth_from_assigned(statement.body, assigned)
                    and _no_growth_from_assigned(statement.orelse, assigned)):
                return False
            continue
        if _growing_names(statement) & assigned:
            return False
        if isinstance(statement, ast.Assign):
            assigned.update(_assigned_root(target) for target in statement.targets)
    return True
