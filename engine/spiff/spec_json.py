"""A serialized spec (SpiffWorkflow's JSON of a definition version's task specs), read without restoring it:
``spec_dicts`` yields every object in it, depth first. The signal names (``signals``) and correlation
properties (``correlation``) a version declares are read this way, once per version, before any workflow
of it is loaded. Below ``state`` and both readers, so none of them imports another to share it.
"""
from __future__ import annotations

import json
from typing import Iterator


def spec_dicts(spec_json: str) -> Iterator[dict]:
    """Every object of a serialized spec (task specs, event definitions, correlation properties …), depth
    first, with a stack instead of recursion."""
    stack: list = [json.loads(spec_json)]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))
