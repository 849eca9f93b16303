"""Multi-instance activities as Camunda 7, Flowable and Activiti models write them, checked and rewritten
before SpiffWorkflow parses the document.

The designer writes ``camunda:collection`` (a process variable's name or a JUEL expression) and
``camunda:elementVariable`` on ``multiInstanceLoopCharacteristics`` (``flowable:``/``activiti:`` alike, or
BPMN's ``loopDataInputRef`` with an ``inputDataItem name`` as Camunda's docs show), ``loopCardinality``
(a number or an expression) and ``completionCondition``, JUEL or Python. ``normalize`` leaves one form for
``engine.spiff.multi_instance`` to run: ``camunda:collection`` as a Python expression,
``camunda:elementVariable`` and ``camunda:elementIndexVariable`` (Flowable's), a ``loopCardinality`` of
``len(collection)`` when the designer gave none, JUEL in ``loopCardinality``/``completionCondition``
translated to Python. ``problems`` locates what cannot
run. The variables the instances see (``loopCounter``, ``nrOfInstances``…) and what goes back to the process
are ``engine.spiff.multi_instance``'s.
"""
from __future__ import annotations

import re

from lxml import etree

from engine import juel
from engine.bpmn import extensions
from engine.bpmn.elements import NS
from engine.bpmn.expression_checks import expression_problem, python_of
from engine.bpmn.problems import Problem

BPMN = "{%s}" % NS["bpmn"]
CAMUNDA = "{%s}" % NS["camunda"]
LOOP = BPMN + "multiInstanceLoopCharacteristics"
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
EXPRESSIONS = ("loopCardinality", "completionCondition")


def problems(name: str, processes: list) -> list[Problem]:
    """What keeps the multi-instance activities of ``processes`` from running, each located."""
    found = []
    for process in processes:
        for loop in process.iter(LOOP):
            found += _loop_problems(name, loop)
    return found


def _loop_problems(name: str, loop) -> list[Problem]:
    activity = loop.getparent()
    where = (name, loop.sourceline, activity.get("id"))
    collection, element = _collection(loop), _element_variable(loop)
    found = []
    if collection is not None and not NAME.match(collection.strip()):
        found += _expression_problems(where, extensions.qualified(loop, "collection"), collection,
                                      "a process variable's name (items) or a JUEL expression (${order.items})")
    for attribute, value in (("elementVariable", element), ("elementIndexVariable", _index_variable(loop))):
        if value is not None and not NAME.match(value.strip()):
            found.append(Problem(*where, f"{extensions.qualified(loop, attribute)}=\"{value}\" is not a variable "
                                 "name: write a name such as item (letters, digits, _)."))
    for tag in EXPRESSIONS:
        node = loop.find(BPMN + tag)
        if node is not None:
            found += _expression_problems(where, tag, (node.text or "").strip(), "a number, a Python expression "
                                          "or a JUEL expression (${nrOfCompletedInstances >= 2})")
    counted = loop.find(BPMN + "loopCardinality") is not None or loop.find(BPMN + "loopDataInputRef") is not None
    if collection is None and not counted:
        found.append(Problem(*where, "This multi-instance activity says neither how many instances nor over what: "
                             "add camunda:collection=\"items\" with camunda:elementVariable=\"item\", or a "
                             "loopCardinality (e.g. 3 or ${reviewers})."))
    return found


def _expression_problems(where, what: str, text: str, expected: str) -> list[Problem]:
    if not text:
        return [Problem(*where, f"{what} is empty: write {expected}.")]
    return expression_problem(where, f"{what} '{text}'", text, "eval", f"Write {expected}.")


def normalize(root) -> None:
    """Rewrite every multi-instance loop of the document into the one form ``engine.spiff`` runs
    (``problems`` has refused what cannot be rewritten, in the processes that run)."""
    for loop in root.iter(LOOP):
        try:
            _normalize_loop(loop)
        except juel.JuelError:
            pass  # in a process that is never run (not executable, not called): left as written


def _normalize_loop(loop) -> None:
    _take_standard_input(loop)
    collection, element = _collection(loop), _element_variable(loop)
    for tag in EXPRESSIONS:
        node = loop.find(BPMN + tag)
        if node is not None and juel.is_juel(node.text or ""):
            node.text = python_of(node.text)
    if _index_variable(loop) is not None:
        loop.set(CAMUNDA + "elementIndexVariable", _index_variable(loop).strip())
    if collection is None:
        return
    loop.set(CAMUNDA + "collection", python_of(collection))
    if element is not None:
        loop.set(CAMUNDA + "elementVariable", element.strip())
    if loop.find(BPMN + "loopCardinality") is None and loop.find(BPMN + "loopDataInputRef") is None:
        cardinality = etree.Element(BPMN + "loopCardinality")
        cardinality.text = f"len({python_of(collection)})"
        loop.insert(0, cardinality)


def _take_standard_input(loop) -> None:
    """Camunda's docs write ``loopDataInputRef`` + ``inputDataItem name="x"`` (no id) for a collection and its
    element variable: the same as ``camunda:collection`` + ``camunda:elementVariable``. With an id (as
    SpiffWorkflow's models write it) or an output collection, SpiffWorkflow's own form is kept."""
    data_input, item = loop.find(BPMN + "loopDataInputRef"), loop.find(BPMN + "inputDataItem")
    if data_input is None or item is None or item.get("id") or loop.find(BPMN + "loopDataOutputRef") is not None:
        return
    if _collection(loop) is None:
        loop.set(CAMUNDA + "collection", (data_input.text or "").strip())
    if _element_variable(loop) is None and item.get("name"):
        loop.set(CAMUNDA + "elementVariable", item.get("name"))
    loop.remove(data_input)
    loop.remove(item)


def _collection(loop):
    return extensions.attribute(loop, "collection")


def _element_variable(loop):
    return extensions.attribute(loop, "elementVariable")


def _index_variable(loop):
    return extensions.attribute(loop, "elementIndexVariable")
