"""JUEL (the expression language of Camunda 7 and Flowable) translated to a Python expression for the
sandbox, so the sandbox stays the only evaluator.

``to_python("${amount > 100 && vip}")`` gives ``'((amount > 100) and vip)'``; ``is_juel`` tells whether
a text holds ``${…}`` or ``#{…}``. Text around and between ``${…}`` parts (``PT${hours}H``) is joined as
a string. The subset: identifiers, properties (``a.b`` is ``a["b"]``) and indexes, string/number/
boolean/null literals, ``== != < > <= >=`` and ``eq ne lt gt le ge``, ``&& || !`` and ``and or not``,
``empty``, ``+ - * / % div mod``, unary minus, ``?:``, the safe methods of ``METHODS``, and
``execution.getVariable('x')`` (the variable ``x``) and ``execution.setVariable('x', v)`` (an action:
``to_script`` gives ``x = v``; a Java bean's method, ``${service.call()}``, is refused saying what to use). Where the
semantics differ from Java EL the choice is: ``+`` concatenates when either side is a string
literal or a concatenation (``'PT' + hours + 'H'``), otherwise it is Python's ``+``; no string↔number
coercion in comparisons; ``/`` and ``div`` give a float; ``%`` is Python's. Anything else raises
``JuelError`` with the column (1-based, in the whole text) and what to write instead.
"""
from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

from engine.errors import EngineError

JUEL_START = re.compile(r"[$#]\{")
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)
  | (?P<string>'(\\.|[^'\\])*'|"(\\.|[^"\\])*")
  | (?P<name>[^\W\d][\w$]*|\$[\w$]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||->|\+=|[-+*/%<>!?:.\[\](),;={}])
""", re.X)
WORD_OPS = {"eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">=", "and": "&&", "or": "||",
            "not": "!", "div": "/", "mod": "%"}
LITERALS = {"true": ("True", "bool"), "false": ("False", "bool"), "null": ("None", "null")}
COMPARE = {"==", "!=", "<", ">", "<=", ">="}
# name: (numbers of arguments, Python template with {r} the receiver and {0}, {1} the arguments, kind)
METHODS = {
    "contains": ((1,), "({0} in {r})", "bool"), "containsKey": ((1,), "({0} in {r})", "bool"),
    "startsWith": ((1,), "{r}.startswith({0})", "bool"), "endsWith": ((1,), "{r}.endswith({0})", "bool"),
    "length": ((0,), "len({r})", "num"), "size": ((0,), "len({r})", "num"),
    "isEmpty": ((0,), "(len({r}) == 0)", "bool"), "equals": ((1,), "({r} == {0})", "bool"),
    "equalsIgnoreCase": ((1,), "(str({r}).lower() == str({0}).lower())", "bool"),
    "toUpperCase": ((0,), "{r}.upper()", "str"), "toLowerCase": ((0,), "{r}.lower()", "str"),
    "trim": ((0,), "{r}.strip()", "str"), "toString": ((0,), "str({r})", "str"),
    "concat": ((1,), "({r} + str({0}))", "str"), "replace": ((2,), "{r}.replace({0}, {1})", "str"),
    "substring": ((1, 2), "{r}[{0}:{1}]", "str"), "indexOf": ((1,), "{r}.find({0})", "num"),
    "get": ((1,), "{r}[{0}]", "any"),
}
_REFUSED_OPS = {
    "=": "assignment is not an expression; to compare write `==`",
    "+=": "`+=` string concatenation (EL 3.0) is not supported; write `'a' + b` or `a.concat(b)`",
    "->": "lambda expressions are not supported; write the condition directly",
    ";": "`;` (several expressions) is not supported; write one expression",
    "{": "set and map literals are not supported; compare with the values one by one",
}
_JAVA_OBJECTS = {"execution", "task", "variables", "authenticatedUserId", "processEngine", "delegateTask"}


class JuelError(EngineError):
    """A JUEL text outside the supported subset; ``column`` is 1-based within the whole text."""

    code = "invalid_expression"

    def __init__(self, column: int, message: str):
        super().__init__(f"JUEL column {column}: {message}", {"column": column})
        self.column = column


@dataclass
class _Token:
    kind: str   # number, string, name, op, end
    text: str
    column: int


def is_juel(text: str) -> bool:
    """True when ``text`` holds a ``${…}`` or ``#{…}`` expression."""
    return bool(JUEL_START.search(text or ""))


def to_python(text: str) -> str:
    """The Python expression equal to the JUEL (composite) text; raises ``JuelError``."""
    code = _translate(text)
    if SET_VARIABLE + "(" in code:
        raise JuelError(1, "execution.setVariable sets a variable and gives no value: use it only as the whole "
                        "expression of a service task (camunda:expression), or set the variable in a script task")
    return code


def _translate(text: str) -> str:
    parts, position = [], 0
    for match in JUEL_START.finditer(text):
        if match.start() < position:
            continue
        if match.start() > position:
            parts.append((repr(text[position:match.start()]), "str"))
        tokens, position = _tokens(text, match.end())
        parts.append(_Parser(tokens).parse())
    if position < len(text):
        parts.append((repr(text[position:]), "str"))
    if len(parts) == 1:
        return parts[0][0]
    return "(" + " + ".join(code if kind == "str" else f"str({code})" for code, kind in parts) + ")"


SET_VARIABLE = "_set_variable_"  # a marker to_script rewrites, never run
_SETTER = re.compile(r"^_set_variable_\('([^\W\d]\w*)', (.*)\)$", re.S)


def to_script(text: str) -> str | None:
    """The Python statement for a JUEL action that is ``execution.setVariable('x', value)`` (``x = value``, so
    the task's data get the variable), or None when ``text`` is an expression giving a value."""
    code = _translate(text.strip())
    found = _SETTER.match(code)
    if found is None:
        if SET_VARIABLE + "(" in code:
            raise JuelError(1, "execution.setVariable can only be the whole expression of a service task; "
                            "set the variable in a script task instead")
        return None
    return f"{found.group(1)} = {found.group(2)}"


def _tokens(text: str, start: int) -> tuple[list[_Token], int]:
    """The tokens of one ``${…}`` body starting at ``start``, and the position after its ``}``."""
    tokens, position = [], start
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise JuelError(position + 1, f"unexpected character {text[position]!r}; remove it or quote "
                            "the text as a string 'like this'")
        kind, value = match.lastgroup, match.group()
        if kind == "op" and value == "}":
            return tokens + [_Token("end", "}", position + 1)], match.end()
        if kind == "name" and value in WORD_OPS:
            kind = "op"
        if kind != "space":
            tokens.append(_Token(kind, value, position + 1))
        position = match.end()
    raise JuelError(start - 1, "the expression has no closing '}'; end it with '}'")


def _string(token: _Token) -> str:
    body, out, i = token.text[1:-1], [], 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            i += 1
        out.append(body[i])
        i += 1
    return repr("".join(out))


class _Parser:
    """Recursive descent over EL's precedence; each rule gives (Python code, kind)."""

    def __init__(self, tokens: list[_Token]):
        self.tokens, self.index = tokens, 0

    def parse(self) -> tuple[str, str]:
        if self.peek().kind == "end":
            raise JuelError(self.peek().column, "the expression is empty; write a condition such as "
                            "${amount > 100}")
        result = self.ternary()
        if self.peek().kind != "end":
            self.refuse(self.peek())
        return result

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at(self, *ops: str) -> bool:
        token = self.peek()
        return token.kind == "op" and WORD_OPS.get(token.text, token.text) in ops

    def expect(self, op: str, what: str) -> None:
        if not self.at(op):
            raise JuelError(self.peek().column, f"expected '{op}' {what}, found {self.describe(self.peek())}")
        self.take()

    @staticmethod
    def describe(token: _Token) -> str:
        return "the end of the expression" if token.kind == "end" else f"'{token.text}'"

    def refuse(self, token: _Token):
        if token.text in _REFUSED_OPS:
            raise JuelError(token.column, _REFUSED_OPS[token.text])
        if token.text == "instanceof":
            raise JuelError(token.column, "`instanceof` is not supported; compare the value itself")
        what = "the expression ends too early" if token.kind == "end" else f"unexpected '{token.text}'"
        raise JuelError(token.column, f"{what}; check the operators and brackets "
                        "(supported: == != < > <= >= && || ! empty + - * / % ?: and . [ ])")

    def ternary(self) -> tuple[str, str]:
        condition = self.binary(0)
        if not self.at("?"):
            return condition
        self.take()
        yes = self.ternary()
        self.expect(":", "after the 'then' value of `?:`")
        no = self.ternary()
        kind = yes[1] if yes[1] == no[1] else "any"
        return f"({yes[0]} if {condition[0]} else {no[0]})", kind

    LEVELS = [("||",), ("&&",), ("==", "!="), ("<", ">", "<=", ">="), ("+", "-"), ("*", "/", "%")]

    def binary(self, level: int) -> tuple[str, str]:
        if level == len(self.LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.at(*self.LEVELS[level]):
            op = WORD_OPS.get(self.take().text, None) or self.tokens[self.index - 1].text
            right = self.binary(level + 1)
            left = self.combine(op, left, right)
        return left

    @staticmethod
    def combine(op: str, left, right) -> tuple[str, str]:
        (a, a_kind), (b, b_kind) = left, right
        if op in ("&&", "||"):
            return f"({a} {'and' if op == '&&' else 'or'} {b})", "bool"
        if op in COMPARE:
            return f"({a} {op} {b})", "bool"
        if op == "+" and "str" in (a_kind, b_kind):
            wrap = lambda code, kind: code if kind == "str" else f"str({code})"  # noqa: E731
            return f"({wrap(a, a_kind)} + {wrap(b, b_kind)})", "str"
        return f"({a} {op} {b})", "num"

    def unary(self) -> tuple[str, str]:
        if self.at("-"):
            self.take()
            code, _ = self.unary()
            return f"(-{code})", "num"
        if self.at("!"):
            self.take()
            return f"(not {self.unary()[0]})", "bool"
        if self.peek().kind == "name" and self.peek().text == "empty":
            self.take()
            code, _ = self.unary()
            return (f"({code} == None or (isinstance({code}, (str, list, dict, tuple, set)) "
                    f"and len({code}) == 0))"), "bool"
        return self.value()

    def value(self) -> tuple[str, str]:
        start = self.peek()
        if start.kind == "name" and start.text == "execution" and self.tokens[self.index + 1].text == ".":
            return self.execution()
        code, kind = self.primary()
        bean = start.text if start.kind == "name" and start.text not in LITERALS else None
        while self.at(".", "["):
            if self.take().text == "[":
                index = self.ternary()
                self.expect("]", "to close the index")
                code, kind = f"{code}[{index[0]}]", "any"
                continue
            name = self.take()
            if name.kind != "name":
                raise JuelError(name.column, f"expected a property or method name after '.', found "
                                f"{self.describe(name)}")
            if self.at("("):
                code, kind = self.method(code, name, bean)
            else:
                code, kind = f"{code}[{name.text!r}]", "any"
        if self.at("("):
            raise JuelError(self.peek().column, "function calls are not supported; use a method of a "
                            "string or list (" + ", ".join(sorted(METHODS)) + ") or a plain value")
        return code, kind

    def arguments(self) -> list[tuple[str, str]]:
        self.take()
        args = []
        while not self.at(")"):
            if args:
                self.expect(",", "between the arguments")
            args.append(self.ternary())
        self.take()
        return args

    def method(self, receiver: str, name: _Token, bean: str | None = None) -> tuple[str, str]:
        args = [code for code, _ in self.arguments()]
        if name.text not in METHODS and bean and receiver == bean:
            raise JuelError(name.column, f"method '{name.text}' is not supported (safe methods of strings and "
                            f"lists: {', '.join(sorted(METHODS))}); if '{bean}' is a Java bean, this calls the "
                            f"method '{name.text}' of the Java bean '{bean}', which "
                            "Liucheng does not have (it runs no Java code): make the service task an external task "
                            "(camunda:type=\"external\" camunda:topic=\"<topic>\", done by a worker through the "
                            "external task API) or register a connector in engine/connectors; where a value is "
                            "needed (a condition, an assignee), compute it in a script task or an external task "
                            "first and name the variable, e.g. ${approved} or ${editor}")
        if name.text not in METHODS:
            raise JuelError(name.column, f"method '{name.text}' is not supported; the safe methods are "
                            + ", ".join(sorted(METHODS)))
        counts, template, kind = METHODS[name.text]
        if len(args) not in counts:
            raise JuelError(name.column, f"'{name.text}' takes {' or '.join(map(str, counts))} argument(s), "
                            f"not {len(args)}")
        return template.format(*args, "", r=receiver), kind

    def primary(self) -> tuple[str, str]:
        token = self.take()
        if token.kind == "number":
            return token.text, "num"
        if token.kind == "string":
            return _string(token), "str"
        if token.kind == "op" and token.text == "(":
            inner = self.ternary()
            self.expect(")", "to close the bracket")
            return f"({inner[0]})", inner[1]
        if token.kind != "name" or token.text == "empty":
            self.refuse(token)
        if token.text in LITERALS:
            return LITERALS[token.text]
        return self.identifier(token), "any"

    def execution(self) -> tuple[str, str]:
        """``execution.getVariable('x')`` is the variable ``x``; ``execution.setVariable('x', value)`` is
        ``SET_VARIABLE`` (``x = value`` in an action: ``to_script``); other members are refused."""
        self.take(), self.take()
        member = self.take()
        if member.kind == "name" and member.text in ("getVariable", "setVariable") and self.at("("):
            args = self.arguments()
            wanted = 1 if member.text == "getVariable" else 2
            name = args[0][0] if args else ""
            if len(args) != wanted or not re.fullmatch(r"'[^\W\d]\w*'", name):
                raise JuelError(member.column, f"execution.{member.text} takes the variable's name as a quoted "
                                "text" + (" and the value" if wanted == 2 else "")
                                + ", e.g. execution." + ("setVariable('approved', true)" if wanted == 2
                                                         else "getVariable('amount')"))
            variable = self.identifier(_Token("name", name[1:-1], member.column))
            if member.text == "getVariable":
                return variable, "any"
            return f"{SET_VARIABLE}({variable!r}, {args[1][0]})", "null"
        raise JuelError(member.column, f"execution.{member.text} is not available in Liucheng (only "
                        "execution.getVariable and execution.setVariable are): pass the value as a process "
                        "variable (the business key is the 'business_key' of the start request) and name it, "
                        "e.g. ${orderId}")

    @staticmethod
    def identifier(token: _Token) -> str:
        name = token.text
        if name in _JAVA_OBJECTS:
            raise JuelError(token.column, f"'{name}' is a Java object of Camunda/Flowable, not a process "
                            f"variable; name the variable directly (e.g. ${{amount}}, not "
                            f"${{{name}.getVariable('amount')}})")
        if name.startswith(("_", "$")) or "$" in name:
            raise JuelError(token.column, f"variable '{name}': names starting with '_' or holding '$' are "
                            "not allowed in the sandbox; rename the variable")
        if keyword.iskeyword(name) or name in ("instanceof", "print"):
            raise JuelError(token.column, f"'{name}' cannot be a variable name in Liucheng (it is a "
                            "reserved word); rename the variable")
        return name
