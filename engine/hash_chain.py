"""How the history is chained and how what the audit keeps is signed (no database here: the rows are
``engine.audit_models``, writing them is ``engine.history``, checking them ``engine.chain_verify``).

An event's hash is ``SHA-256`` of its *canonical content*: the UTF-8 bytes of the JSON object

    {"actor", "at", "data", "element_id", "entity_id", "entity_type", "instance_id", "operation", "prev",
     "task_id", "type"}

with the keys sorted, no whitespace (``","`` and ``":"`` as separators), non-ASCII characters written as
they are, ``at`` as ``YYYY-MM-DDTHH:MM:SS.ffffff`` in UTC (no offset), ``prev`` the hash of the event before
it in the chain (``GENESIS``, 64 zeros, for the first), and absent values as ``null``. The event's ``id`` is
not hashed: the chain's order is its links, so renumbering shows as events out of order.

Anchors and retention summaries are signed with HMAC-SHA256 under the audit key (``LIUCHENG_AUDIT_KEY``):
whoever can change the database but does not hold the key can neither forge an anchor nor pass a deletion
off as retention.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from datetime import datetime
from typing import Any, Mapping, Optional

from engine.audit_models import GENESIS

__all__ = ["GENESIS", "canonical", "event_hash", "sign", "signed", "key_is_default", "HASHED_FIELDS"]

HASHED_FIELDS = ("type", "instance_id", "actor", "at", "element_id", "task_id", "data", "operation",
                 "entity_type", "entity_id")
_DEFAULT_KEY = "liucheng-audit-key-not-set"
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)  # built once: cheaper


def _time(value: Optional[datetime]) -> Optional[str]:
    return None if value is None else value.replace(tzinfo=None).isoformat(timespec="microseconds")


def canonical(event: Mapping[str, Any], prev: str) -> bytes:
    """The bytes an event's hash is taken of (``event`` holds ``HASHED_FIELDS``; missing ones are null)."""
    content = {name: event.get(name) for name in HASHED_FIELDS}
    content["at"] = _time(content["at"])
    content["data"] = content["data"] or {}
    content["prev"] = prev
    return _ENCODER.encode(content).encode("utf-8")


def event_hash(event: Mapping[str, Any], prev: str) -> str:
    return hashlib.sha256(canonical(event, prev)).hexdigest()


def _key() -> bytes:
    return (os.environ.get("LIUCHENG_AUDIT_KEY") or _DEFAULT_KEY).encode("utf-8")


def key_is_default() -> bool:
    """True when ``LIUCHENG_AUDIT_KEY`` is not set (signatures then prove nothing against a database
    administrator: the start-up and ``audit verify`` say so)."""
    return not os.environ.get("LIUCHENG_AUDIT_KEY")


def sign(*parts: Any) -> str:
    """HMAC-SHA256 (hex) of the parts, joined by ``|``, under the audit key."""
    message = "|".join("" if part is None else str(part) for part in parts).encode("utf-8")
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()


def signed(signature: str, *parts: Any) -> bool:
    return hmac.compare_digest(signature or "", sign(*parts))
