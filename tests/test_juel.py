"""engine.juel (issue 12, item 3): each JUEL construct → the Python it becomes → the value the sandbox
gives on sample data; JUEL outside the subset is refused with its column and what to write instead."""
from __future__ import annotations

import operator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import juel
from engine.juel import JuelError, to_python
from engine.script_policy import SANDBOX_BUILTINS, check_source, compile_source, run_code

DATA = {"amount": 250, "vip": True, "name": " Wang Wei ", "tags": ["a", "b"], "order": {"no": "A1",
        "lines": [{"sku": "X", "qty": 2}]}, "nothing": None, "blank": "", "none": [], "hours": 2, "neg": -3}


def sandbox(expression: str, data: dict | None = None):
    """Translate, check with the sandbox's policy and evaluate in the sandbox as a condition is."""
    python = to_python(expression)
    check_source(python, "eval")
    code, _ = compile_source(python, "eval")
    return run_code(code, {**(DATA if data is None else data), "__builtins__": SANDBOX_BUILTINS},
                    python, "Expression", 1.0)


@pytest.mark.parametrize("expression, expected", [
    # identifiers, properties, indexes, literals
    ("${amount}", 250), ("#{vip}", True), ("${order.no}", "A1"), ("${order['no']}", "A1"),
    ("${order[\"lines\"][0].qty}", 2), ("${tags[1]}", "b"),
    ("${'a\\'b'}", "a'b"), ("${\"x\"}", "x"), ("${1.5e1}", 15.0), ("${true}", True), ("${null}", None),
    # comparisons, in symbols and words
    ("${amount == 250}", True), ("${amount != 250}", False), ("${amount < 300}", True),
    ("${amount > 300}", False), ("${amount <= 250}", True), ("${amount >= 251}", False),
    ("${amount eq 250}", True), ("${amount ne 250}", False), ("${amount lt 250}", False),
    ("${amount gt 249}", True), ("${amount le 249}", False), ("${amount ge 250}", True),
    ("${nothing == null}", True), ("${amount != null}", True), ("${order.no == 'A1'}", True),
    # logic
    ("${amount > 100 && vip}", True), ("${amount > 300 || !vip}", False), ("${not vip or amount gt 1}", True),
    ("${amount > 100 and not vip}", False), ("${!(amount > 100)}", False),
    # empty
    ("${empty nothing}", True), ("${empty blank}", True), ("${empty none}", True), ("${empty tags}", False),
    ("${empty name}", False), ("${not empty order}", True), ("${empty 0}", False),
    # arithmetic
    ("${amount + 1}", 251), ("${amount - 50 * 2}", 150), ("${7 / 2}", 3.5), ("${8 div 2}", 4.0),
    ("${7 % 4}", 3), ("${7 mod 4}", 3), ("${-neg}", 3), ("${-(amount + 1)}", -251), ("${(1 + 2) * 3}", 9),
    # ?: and string concatenation
    ("${vip ? 'gold' : 'plain'}", "gold"), ("${amount > 300 ? 1 : amount > 200 ? 2 : 3}", 2),
    ("${'PT' + hours + 'H'}", "PT2H"), ("PT${hours}H", "PT2H"), ("${order.no}-${hours}", "A1-2"),
    # safe methods on strings and lists
    ("${name.contains('Wang')}", True), ("${name.trim().startsWith('Wang')}", True),
    ("${name.endsWith('x')}", False), ("${name.length()}", 10), ("${tags.size()}", 2),
    ("${tags.contains('b')}", True), ("${name.toUpperCase()}", " WANG WEI "),
    ("${name.toLowerCase().trim()}", "wang wei"), ("${order.no.equals('A1')}", True),
    ("${blank.isEmpty()}", True), ("${order.no.equalsIgnoreCase('a1')}", True),
    ("${order.no.concat('-').concat(hours)}", "A1-2"), ("${order.no.substring(1)}", "1"),
    ("${order.no.substring(0, 1)}", "A"), ("${order.no.indexOf('1')}", 1), ("${tags.get(0)}", "a"),
    ("${order.containsKey('no')}", True), ("${order.no.replace('A', 'B')}", "B1"),
    ("${hours.toString()}", "2"),
])
def test_each_construct_translates_to_python_the_sandbox_evaluates_as_juel_would(expression, expected):
    assert sandbox(expression) == expected


def test_translations_read_as_python():
    assert to_python("${amount > 100 && vip}") == "((amount > 100) and vip)"
    assert to_python("#{order.no eq 'A1'}") == "(order['no'] == 'A1')"
    assert to_python("${x == null}") == "(x == None)"
    assert to_python("${dueDate}") == "dueDate"
    assert to_python("${金额 > 100}") == "(金额 > 100)"  # Unicode names, as Java and Python allow
    assert to_python("${a ? 1 : 2}") == "(1 if a else 2)"
    assert juel.is_juel("PT${h}H") and juel.is_juel("#{a}") and not juel.is_juel("amount > 100")


def test_a_missing_variable_fails_at_run_time_naming_it():
    with pytest.raises(Exception) as failed:
        sandbox("${amount > 100 && vip}", {"amount": 200})
    assert "name 'vip' is not defined" in str(failed.value)


@pytest.mark.parametrize("expression, column, says", [
    ("${a = 1}", 5, "to compare write `=="),
    ("${a += 'x'}", 5, "a.concat(b)"),
    ("${x -> x > 1}", 5, "lambda"),
    ("${a; b}", 4, "one expression"),
    ("${{1, 2}}", 3, "set and map literals"),
    ("${a instanceof b}", 5, "instanceof"),
    ("${task.getVariable('a')}", 3, "name the variable directly"),
    ("${foo(1)}", 6, "function calls are not supported"),
    ("${fn:length(a)}", 5, "unexpected ':'"),
    ("${name.matches('x')}", 8, "method 'matches' is not supported"),
    ("${name.contains()}", 8, "'contains' takes 1 argument"),
    ("${_secret}", 3, "names starting with '_'"),
    ("${lambda}", 3, "reserved word"),
    ("${a +}", 6, "ends too early"),
    ("${(a}", 5, "expected ')'"),
    ("${a ? b}", 8, "expected ':'"),
    ("${a.}", 5, "property or method name"),
    ("${}", 3, "is empty"),
    ("x ${a", 3, "no closing '}'"),
    ("${a @ b}", 5, "unexpected character '@'"),
    ("${'it' 's'}", 8, "unexpected ''s''"),
])
def test_juel_outside_the_subset_is_refused_with_its_column_and_advice(expression, column, says):
    with pytest.raises(JuelError) as refused:
        to_python(expression)
    assert refused.value.column == column, refused.value.message
    assert says in refused.value.message
    assert refused.value.message.startswith(f"JUEL column {column}: ")


OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt, "<=": operator.le,
       ">=": operator.ge}
WORDS = {"eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">="}
numbers = st.integers(min_value=-1000, max_value=1000)


@settings(max_examples=150, deadline=None)
@given(a=numbers, b=numbers, c=numbers, op1=st.sampled_from(sorted(OPS) + sorted(WORDS)),
       op2=st.sampled_from(sorted(OPS) + sorted(WORDS)), join=st.sampled_from(["&&", "||", "and", "or"]),
       negate=st.booleans())
def test_generated_comparisons_agree_with_a_reference_evaluator(a, b, c, op1, op2, join, negate):
    expression = f"${{{'!' if negate else ''}(x {op1} y) {join} y {op2} z}}"
    first = OPS[WORDS.get(op1, op1)](a, b)
    second = OPS[WORDS.get(op2, op2)](b, c)
    expected = (first and second) if join in ("&&", "and") else (first or second)
    if negate:  # ! binds tighter than && and ||
        expected = (not first and second) if join in ("&&", "and") else (not first or second)
    assert bool(sandbox(expression, {"x": a, "y": b, "z": c})) == expected
