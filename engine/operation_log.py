"""The operation log: the administrative actions (reassign, cancel, incident retry, deploy, a user or role
change, a token issued, a variable edited…) as the auditors read them. They are history events of type
``operation`` (``engine.history.record_operation`` writes them, in the same hash chain as every other event);
this module reads them: ``search`` (the filters of the API, the audit page and the exports), ``as_dict`` (an
operation as JSON: the API and the exports) and ``OPERATIONS`` (the operation names with their Chinese and
English labels, for the page's filter and its rows).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, Optional

from sqlalchemy import Select, select

from engine import timestamps
from engine.errors import PermissionDeniedError
from engine.models import ADMIN, AUDITOR, HistoryEvent, User

__all__ = ["Operation", "OPERATIONS", "ENTITY_TYPES", "AUDIT_READERS", "check_may_audit", "search", "as_dict",
           "label"]

AUDIT_READERS = frozenset({AUDITOR, ADMIN})
"""Who reads the operation log and the chain's proofs (the issue: auditor and admin; not supervisors)."""


class Operation(NamedTuple):
    name: str
    zh: str
    en: str


OPERATIONS: tuple[Operation, ...] = (  # in the order the page's filter lists them; others may appear
    Operation("claim_for", "代为认领", "Claim on behalf"),
    Operation("reassign", "转派", "Reassign"),
    Operation("delegate", "委托", "Delegate"),
    Operation("unclaim", "退回认领", "Unclaim"),
    Operation("cancel", "取消实例", "Cancel instance"),
    Operation("incident_retry", "重试事件", "Incident retry"),
    Operation("incident_resolve", "解决事件", "Incident resolve"),
    Operation("deploy", "部署流程", "Deploy"),
    Operation("user_create", "创建用户", "User created"),
    Operation("user_update", "修改用户", "User updated"),
    Operation("role_change", "角色变更", "Role change"),
    Operation("attribute_change", "属性变更", "Attribute change"),
    Operation("token_issue", "签发令牌", "Token issued"),
    Operation("token_revoke", "吊销令牌", "Token revoked"),
    Operation("login_lockout", "登录锁定", "Login lockout"),
    Operation("variable_edit", "修改变量", "Variable edit"),
    Operation("history_cleanup", "历史清理", "History cleanup"),
)
_BY_NAME = {operation.name: operation for operation in OPERATIONS}

ENTITY_TYPES: tuple[Operation, ...] = (  # what an operation was done to (the filter's suggestions)
    Operation("task", "任务", "Task"),
    Operation("instance", "实例", "Instance"),
    Operation("incident", "事件", "Incident"),
    Operation("definition", "流程定义", "Definition"),
    Operation("user", "用户", "User"),
    Operation("token", "令牌", "Token"),
    Operation("variable", "变量", "Variable"),
    Operation("history", "历史", "History"),
)


def check_may_audit(user: User) -> None:
    """``PermissionDeniedError`` unless ``user`` is an auditor or an admin."""
    if not user.roles & AUDIT_READERS:
        raise PermissionDeniedError("Only auditors and admins may read the operation log and the audit chain.")


def label(name: Optional[str], lang: str = "zh") -> str:
    """The operation's label in ``lang`` (``zh`` or ``en``); an operation not listed shows its name."""
    known = _BY_NAME.get(name or "")
    if known is None:
        return name or ""
    return known.zh if str(lang).lower().startswith("zh") else known.en


def search(actor: Optional[str] = None, operation: Optional[str] = None, entity_type: Optional[str] = None,
           entity_id: Optional[str] = None, since: Optional[datetime] = None, until: Optional[datetime] = None,
           instance_id: Optional[int] = None, oldest_first: bool = False) -> Select:
    """``select(HistoryEvent)`` of the operations matching every filter given, newest first (``oldest_first``
    for exports that read in the chain's order). ``since`` is inclusive, ``until`` exclusive; both naive
    UTC like the stored times (the caller converts)."""
    query = select(HistoryEvent).where(HistoryEvent.operation.is_not(None))
    query = _where_equal(query, HistoryEvent.actor, actor)
    query = _where_equal(query, HistoryEvent.operation, operation)
    query = _where_equal(query, HistoryEvent.entity_type, entity_type)
    query = _where_equal(query, HistoryEvent.entity_id, entity_id)
    if since is not None:
        query = query.where(HistoryEvent.at >= since)
    if until is not None:
        query = query.where(HistoryEvent.at < until)
    if instance_id is not None:
        query = query.where(HistoryEvent.instance_id == instance_id)
    if oldest_first:
        return query.order_by(HistoryEvent.at, HistoryEvent.id)
    return query.order_by(HistoryEvent.at.desc(), HistoryEvent.id.desc())


def _where_equal(query: Select, column: Any, value: Optional[str]) -> Select:
    """Filter on ``column == value`` when a value is given (blank means no filter; spaces around ignored)."""
    if value is None or not str(value).strip():
        return query
    return query.where(column == str(value).strip())


def as_dict(event: HistoryEvent) -> dict[str, Any]:
    """The operation as the API and the exports write it (``at`` ISO 8601 UTC with ``+00:00``); ``old`` and
    ``new`` as recorded (JSON values); details beyond the standard fields under ``details``."""
    data = dict(event.data or {})
    standard = {key: data.pop(key, None) for key in ("property", "old", "new", "reason")}
    return {"id": event.id, "at": timestamps.iso(event.at), "actor": event.actor, "operation": event.operation,
            "entity_type": event.entity_type, "entity_id": event.entity_id, **standard,
            "instance_id": event.instance_id, "details": data}
