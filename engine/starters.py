"""Who may start a process besides admins and integrators (``models.INTEGRATION_ROLES``), decided at
deploy from the version's elements and stored with them as ``starters`` {"groups", "users", "by"}:

1. ``candidateStarterGroups`` / ``candidateStarterUsers`` on the process (``camunda:``, ``flowable:``,
   ``activiti:``) when either is given: those roles and users (``by``: ``CANDIDATE_STARTERS``);
2. otherwise the roles of its lanes named after roles, and who its **first user tasks** go to: their
   groups (the lane's role, candidate groups, or the default role(s) of a task routed to no one else)
   and their candidate users and assignee, as far as they are written literally (an expression or
   ``$INITIATOR`` names no one before the instance exists) (``by``: ``ROUTING``);
3. when that names no one (no lane is a role, the first tasks are routed by expressions only, or the
   process has no user task): the deployment's default role(s) (``by``: ``DEFAULT``).

A first user task is a user or manual task reachable from a start event of the process (not one of a
subprocess) without passing another user task, entering embedded subprocesses through their start
events and following the boundary events of the elements passed.
"""
from __future__ import annotations

from engine import juel

CANDIDATE_STARTERS = "candidate starters"
ROUTING = "lanes and first tasks"
DEFAULT = "default role"
HUMAN_TYPES = ("userTask", "manualTask")
CONTAINERS = ("subProcess", "transaction")


def who_may_start(elements: dict, roles: set[str], defaults: list[str]) -> dict:
    """The ``starters`` of a process whose ``elements`` already carry each user task's ``roles``."""
    given = elements.get("candidate_starters") or {}
    if given.get("groups") or given.get("users"):
        return {"groups": list(given.get("groups") or []), "users": list(given.get("users") or []),
                "by": CANDIDATE_STARTERS}
    nodes = elements.get("nodes", {})
    groups = [n["lane"] for n in nodes.values() if n.get("lane") in roles]
    users: list[str] = []
    for node_id in first_user_tasks(elements):
        node = nodes[node_id]
        groups += [g for g in node.get("roles") or [] if not juel.is_juel(g)]
        users += [u for u in [*node.get("candidate_users", []), node.get("assignee") or ""]
                  if u and not juel.is_juel(u) and not u.startswith("$")]
    groups, users = list(dict.fromkeys(groups)), list(dict.fromkeys(users))
    if not groups and not users:
        return {"groups": list(defaults), "users": [], "by": DEFAULT}
    return {"groups": groups, "users": users, "by": ROUTING}


def first_user_tasks(elements: dict) -> list[str]:
    """Ids of the user tasks an instance reaches first (see the module docstring)."""
    nodes, flows = elements.get("nodes", {}), elements.get("flows", {}).values()
    following: dict[str, list[str]] = {}
    for flow in flows:
        following.setdefault(flow["source"], []).append(flow["target"])
    for node_id, node in nodes.items():
        if node.get("attached_to"):
            following.setdefault(node["attached_to"], []).append(node_id)
        if node.get("type") == "startEvent" and node.get("parent"):
            following.setdefault(node["parent"], []).append(node_id)
    stack = [i for i, n in nodes.items() if n.get("type") == "startEvent" and not n.get("parent")
             and not n.get("in_subprocess")]
    seen, found = set(stack), []
    while stack:
        node_id = stack.pop()
        if nodes.get(node_id, {}).get("type") in HUMAN_TYPES:
            found.append(node_id)
            continue
        for target in following.get(node_id, []):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return sorted(found)


def may_start(starters: dict, roles: set[str], username: str) -> bool:
    """Whether a user with ``roles`` named ``username`` is among ``starters``."""
    return bool(roles & set(starters.get("groups") or ())) or username in (starters.get("users") or ())


def describe(starters: dict) -> str:
    """``roles a, b; users c`` for an error message."""
    parts = []
    if starters.get("groups"):
        parts.append("roles " + ", ".join(starters["groups"]))
    if starters.get("users"):
        parts.append("users " + ", ".join(starters["users"]))
    return "; ".join(parts) or "no one else"
