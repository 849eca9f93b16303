"""What the engine knows of a process's elements without asking SpiffWorkflow: ``describe_elements``
(type, name, lane, form, assignee and candidates, messages, timers, subprocess of each flow node, the
variable a start event stores its starting user in; the sequence flows; the process's candidate starters), each node's lane, who gets a user task (``assignment``), and the processes its call
activities call (``call_of``: process, binding, version, same file or not). Vendor attributes (form key,
assignee) are read through ``engine.bpmn.extensions``: ``camunda:``, ``flowable:`` and ``activiti:`` alike.
"""
from __future__ import annotations

import re
from typing import Any, Optional

from lxml import etree

from engine import message_rules
from engine.bpmn import extensions

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
FLOW_NODE_TAGS = {
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "transaction", "exclusiveGateway",
    "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway",
}


def lane_of_nodes(process) -> dict[str, str]:
    """Lane name of every flow node; nodes inside a subprocess take the subprocess's lane."""
    lanes = {}
    for lane in process.iter("{%s}lane" % NS["bpmn"]):
        for ref in lane.findall("bpmn:flowNodeRef", NS):
            lanes[(ref.text or "").strip()] = lane.get("name") or ""
    for node in process.iter():
        if isinstance(node.tag, str) and node.get("id") not in lanes:
            parent = node.getparent()
            while parent is not None and parent is not process:
                if parent.get("id") in lanes and etree.QName(parent).localname in ("subProcess", "transaction"):
                    lanes[node.get("id")] = lanes[parent.get("id")]
                    break
                parent = parent.getparent()
    return lanes


_LIST_ITEM = re.compile(r"(?:[$#]\{[^}]*\}|[^,])+")
_OWNER = re.compile(r"^\s*(user|group)\s*\(\s*(.*?)\s*\)\s*$")


def split_list(value: Optional[str]) -> list[str]:
    """The items of a comma list; a comma inside ``${…}``/``#{…}`` does not split."""
    return [item.strip() for item in _LIST_ITEM.findall(value or "") if item.strip()]


def _formal_expressions(node, tag: str) -> list[str]:
    return [(expr.text or "").strip() for performer in node.findall(f"bpmn:{tag}", NS)
            for expr in performer.iter("{%s}formalExpression" % NS["bpmn"]) if (expr.text or "").strip()]


def assignment(node) -> dict:
    """Who gets a user task as written on it (lanes aside): ``assignee`` (vendor attribute, else
    ``humanPerformer``; a comma list of users counts as candidate users), ``candidate_users`` and ``candidate_groups`` (vendor attributes, then
    ``potentialOwner``: ``user(x)``, ``group(x)``, a bare name being a group as in Camunda 7), and its
    ``priority`` and ``follow_up`` date as written (``engine.assignment`` evaluates them)."""
    task = extensions.user_task(node)
    users = split_list(extensions.attribute(node, "candidateUsers"))
    groups = split_list(extensions.attribute(node, "candidateGroups"))
    assignee = (task["assignee"] or "").strip() or None
    if assignee and "{" not in assignee and len(split_list(assignee)) > 1:  # a list: its users are candidates
        users, assignee = users + split_list(assignee), None
    for text in _formal_expressions(node, "humanPerformer"):
        match = _OWNER.match(text)
        assignee = assignee or (match.group(2) if match else text)
    for text in _formal_expressions(node, "potentialOwner"):
        for item in split_list(text):
            match = _OWNER.match(item)
            (users if match and match.group(1) == "user" else groups).append(match.group(2) if match else item)
    return {"assignee": assignee, "candidate_users": list(dict.fromkeys(users)),
            "candidate_groups": list(dict.fromkeys(groups)),
            "priority": task["priority"], "follow_up": task["follow_up_date"]}  # evaluated when created


def called_processes(root, processes: list) -> list:
    """The (possibly non-executable) processes that call activities of ``processes`` call, transitively."""
    by_id = {p.get("id"): p for p in root.findall("bpmn:process", NS)}
    seen = {p.get("id") for p in processes}
    found, stack = [], list(processes)
    while stack:
        for call in stack.pop().iter("{%s}callActivity" % NS["bpmn"]):
            target = by_id.get(call.get("calledElement"))
            if target is not None and target.get("id") not in seen:
                seen.add(target.get("id"))
                found.append(target)
                stack.append(target)
    return found


def call_of(node) -> dict:
    """What a call activity calls: ``process_id``, ``binding`` (``latest``, ``deployment``, ``version``,
    ``versionTag``: ``camunda:calledElementBinding``; ``flowable:sameDeployment="true"`` is ``deployment``),
    the ``version`` a ``version`` binding names, and whether the process is in this file (``local``)."""
    process_id = (node.get("calledElement") or "").strip()
    binding = (extensions.attribute(node, "calledElementBinding") or "").strip() or "latest"
    if (extensions.attribute(node, "sameDeployment") or "").strip().lower() == "true":
        binding = "deployment"
    version = (extensions.attribute(node, "calledElementVersion") or "").strip()
    root = node.getroottree().getroot()
    return {"process_id": process_id, "binding": binding, "version": int(version) if version.isdigit() else None,
            "local": any(p.get("id") == process_id for p in root.findall("bpmn:process", NS))}


def _enclosing_subprocess(node, process) -> Optional[str]:
    parent = node.getparent()
    while parent is not None and parent is not process:
        if etree.QName(parent).localname in ("subProcess", "transaction"):
            return parent.get("id")
        parent = parent.getparent()
    return None


def _message_names(node, tag: str, message_names: dict) -> list[str]:
    refs = [d.get("messageRef") for d in node.findall("bpmn:messageEventDefinition", NS)]
    if tag == "receiveTask" and node.get("messageRef"):
        refs.append(node.get("messageRef"))
    return [message_names.get(ref, ref) for ref in refs]


def describe_elements(process) -> dict[str, Any]:
    """What the engine needs to know of each element without asking SpiffWorkflow."""
    lanes = lane_of_nodes(process)
    root = process.getroottree().getroot()
    message_names = {m.get("id"): m.get("name") or m.get("id") for m in root.findall("bpmn:message", NS)}
    nodes, flows = {}, {}
    for node in process.iter():
        if not isinstance(node.tag, str):
            continue
        tag = etree.QName(node).localname
        node_id = node.get("id")
        if tag in FLOW_NODE_TAGS:
            nodes[node_id] = {
                "type": tag, "name": node.get("name") or "", "lane": lanes.get(node_id),
                "form_key": extensions.attribute(node, "formKey"), "assignee": extensions.attribute(node, "assignee"),
                "line": node.sourceline, "attached_to": node.get("attachedToRef"),
                "in_subprocess": etree.QName(node.getparent()).localname in ("subProcess", "transaction"),
                "parent": _enclosing_subprocess(node, process),
                "messages": _message_names(node, tag, message_names),
                "timers": [{"kind": etree.QName(t).localname, "text": (t.text or "").strip()}
                           for d in node.findall("bpmn:timerEventDefinition", NS) for t in d
                           if isinstance(t.tag, str)],
                "interrupting": node.get("cancelActivity", "true") == "true",
            }
            if tag in ("userTask", "manualTask"):
                nodes[node_id].update(assignment(node))
            if tag == "startEvent" and extensions.attribute(node, "initiator"):
                nodes[node_id]["initiator"] = extensions.attribute(node, "initiator").strip()
            if message_rules.catches_messages(node, tag):
                nodes[node_id]["message_variables"] = message_rules.declared(node)
            if tag == "callActivity":
                nodes[node_id]["call"] = call_of(node)
        elif tag == "sequenceFlow":
            flows[node_id] = {"source": node.get("sourceRef"), "target": node.get("targetRef"),
                              "name": node.get("name") or ""}
    starters = extensions.process(process)
    return {"nodes": nodes, "flows": flows,
            "candidate_starters": {"groups": starters["candidate_starter_groups"],
                                   "users": starters["candidate_starter_users"]}}
