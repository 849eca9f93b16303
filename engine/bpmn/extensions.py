"""The vendor extensions of a BPMN element, read alike whether the model was drawn for Camunda 7
(``camunda:``), Flowable (``flowable:``) or Activiti (``activiti:``): one function per kind of element
(``process``, ``user_task``, ``start_event``, ``service_task``, ``script_task``, ``call_activity``) returning a plain
dict with the same keys for the three dialects, and ``form_fields`` for generated forms
(``camunda:formData/formField``, ``flowable:formProperty``, ``activiti:formProperty``).

Where an element carries the same attribute in several of these namespaces, ``camunda:`` wins, then
``flowable:``, then ``activiti:``, then Liucheng's own ``liucheng:``. ``dialect(node)`` names the prefix
the element uses, so that a problem can name the attribute as the designer wrote it (``flowable:formKey``).
"""
from __future__ import annotations

from typing import Optional

from lxml import etree

NAMESPACES = {
    "camunda": "http://camunda.org/schema/1.0/bpmn",
    "flowable": "http://flowable.org/bpmn",
    "activiti": "http://activiti.org/bpmn",
    "liucheng": "http://liucheng.dev/schema/1.0/bpmn",  # Liucheng's own attributes (historyTimeToLive)
}
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def attribute(node, name: str) -> Optional[str]:
    """``name`` in the first of the three namespaces that the element carries (None if none does)."""
    for uri in NAMESPACES.values():
        value = node.get("{%s}%s" % (uri, name))
        if value is not None:
            return value
    return None


def dialect(node) -> str:
    """The prefix of the first vendor namespace the element (or its extension elements) uses; ``camunda``
    when it uses none."""
    by_uri = {uri: prefix for prefix, uri in NAMESPACES.items()}
    for key in node.keys():
        uri = etree.QName(key).namespace
        if uri in by_uri:
            return by_uri[uri]
    for child in _extensions(node):
        if etree.QName(child).namespace in by_uri:
            return by_uri[etree.QName(child).namespace]
    return "camunda"


def qualified(node, name: str) -> str:
    """How the designer wrote attribute ``name`` on this element, e.g. ``flowable:formKey``."""
    for prefix, uri in NAMESPACES.items():
        if node.get("{%s}%s" % (uri, name)) is not None:
            return f"{prefix}:{name}"
    return f"{dialect(node)}:{name}"


def _extensions(node) -> list:
    found = node.find(BPMN + "extensionElements")
    return [child for child in found if isinstance(child.tag, str)] if found is not None else []


def _children(node, *names: str) -> list:
    """Extension elements of the element named one of ``names``, in any of the three namespaces."""
    return [child for child in _extensions(node)
            if etree.QName(child).namespace in NAMESPACES.values() and etree.QName(child).localname in names]


def _split(value: Optional[str]) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _async(node) -> dict:
    before = attribute(node, "asyncBefore") or attribute(node, "async")
    return {"async_before": (before or "").strip().lower() == "true",
            "async_after": (attribute(node, "asyncAfter") or "").strip().lower() == "true",
            "exclusive": (attribute(node, "exclusive") or "true").strip().lower() == "true"}


def user_task(node) -> dict:
    """Who gets a user task, its form and its dates."""
    return {"assignee": attribute(node, "assignee"),
            "candidate_groups": _split(attribute(node, "candidateGroups")),
            "candidate_users": _split(attribute(node, "candidateUsers")),
            "form_key": attribute(node, "formKey"), "form_ref": attribute(node, "formRef"),
            "form_fields": form_fields(node),
            "due_date": attribute(node, "dueDate"), "follow_up_date": attribute(node, "followUpDate"),
            "priority": attribute(node, "priority"), "category": attribute(node, "category"),
            **_async(node)}


def process(node) -> dict:
    """Who may start the process: ``candidateStarterGroups`` and ``candidateStarterUsers`` (comma lists),
    and Flowable/Activiti's ``potentialStarter`` (``group(x)``, ``user(x)``, a bare name being a group)."""
    groups = _split(attribute(node, "candidateStarterGroups"))
    users = _split(attribute(node, "candidateStarterUsers"))
    for starter in _children(node, "potentialStarter"):
        for expression in starter.iter(BPMN + "formalExpression"):
            for item in _split(expression.text):
                kind, _sep, name = item.partition("(")
                if _sep and kind.strip() in ("user", "group") and name.endswith(")"):
                    (users if kind.strip() == "user" else groups).append(name[:-1].strip())
                else:
                    groups.append(item)
    return {"candidate_starter_groups": list(dict.fromkeys(groups)),
            "candidate_starter_users": list(dict.fromkeys(users))}


def history_time_to_live(node) -> Optional[str]:
    """The process's ``historyTimeToLive`` as written (days: ``180`` or ``P180D``), or None (``engine.retention``
    removes an ended instance's history that many days after it ended)."""
    value = attribute(node, "historyTimeToLive")
    return value.strip() if value is not None and value.strip() else None


def start_event(node) -> dict:
    """A start event's form and the variable that receives the starting user (``initiator``)."""
    return {"form_key": attribute(node, "formKey"), "form_ref": attribute(node, "formRef"),
            "form_fields": form_fields(node), "initiator": attribute(node, "initiator"), **_async(node)}


def service_task(node) -> dict:
    """How a service (or send, business rule) task names its implementation: an external task topic,
    a Java class, a delegate or method expression, or a Flowable/Activiti ``type`` (mail, http, shell…)."""
    return {"type": attribute(node, "type"), "topic": attribute(node, "topic"),
            "class": attribute(node, "class"), "delegate_expression": attribute(node, "delegateExpression"),
            "expression": attribute(node, "expression"), "result_variable": attribute(node, "resultVariable"),
            "decision_ref": attribute(node, "decisionRef"), **_async(node)}


def script_task(node) -> dict:
    """Where a script task's script comes from and where its result goes."""
    return {"resource": attribute(node, "resource"), "result_variable": attribute(node, "resultVariable"),
            "auto_store_variables": attribute(node, "autoStoreVariables"), **_async(node)}


def call_activity(node) -> dict:
    """What a call activity passes to the process it calls (``camunda:in``/``out``, ``flowable:in``/``out``)."""
    def mappings(name: str) -> list[dict]:
        return [{"source": child.get("source"), "source_expression": child.get("sourceExpression"),
                 "target": child.get("target"), "variables": child.get("variables")}
                for child in _children(node, name)]
    return {"binding": attribute(node, "calledElementBinding"), "version": attribute(node, "calledElementVersion"),
            "in": mappings("in"), "out": mappings("out"), **_async(node)}


def form_fields(node) -> list[dict]:
    """The generated form's fields: ``camunda:formData/formField`` or ``flowable:/activiti:formProperty``,
    each as {id, label, type, default, required, readonly, values: [(id, name)], constraints: {name: config}}."""
    fields = []
    for data in _children(node, "formData"):
        for field in data:
            if not isinstance(field.tag, str) or etree.QName(field).localname != "formField":
                continue
            constraints = {c.get("name"): c.get("config") for v in field if isinstance(v.tag, str)
                           and etree.QName(v).localname == "validation" for c in v if isinstance(c.tag, str)}
            fields.append({"id": field.get("id"), "label": field.get("label") or field.get("id"),
                           "type": field.get("type") or "string", "default": field.get("defaultValue"),
                           "required": "required" in constraints, "readonly": "readonly" in constraints,
                           "values": _values(field), "constraints": constraints})
    for prop in _children(node, "formProperty"):
        fields.append({"id": prop.get("id"), "label": prop.get("name") or prop.get("id"),
                       "type": prop.get("type") or "string", "default": prop.get("default"),
                       "required": (prop.get("required") or "").lower() == "true",
                       "readonly": (prop.get("writable") or "true").lower() == "false",
                       "readable": (prop.get("readable") or "true").lower() != "false",
                       "variable": prop.get("variable"), "expression": prop.get("expression"),
                       "values": _values(prop), "constraints": {}})
    return fields


def _values(field) -> list[tuple[str, str]]:
    return [(value.get("id"), value.get("name") or value.get("id")) for value in field
            if isinstance(value.tag, str) and etree.QName(value).localname == "value"]
