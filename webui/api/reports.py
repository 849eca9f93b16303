"""An instance's audit report over the API: ``GET /api/v1/instances/<id>/report.json``.

The content is ``engine.audit_report.build`` (the same as the report page's), times ISO 8601 UTC. It is an
audit document: auditors and admins only (403 for anyone else, before the instance is looked at; 404 for no
such instance). Its verification walks at most ``audit_report.LONGEST_STRETCH`` events of the chain (a
longer stretch: ``"checked": false``, ``"stretch"``, ``"intact": null``; ``liucheng audit verify --instance``
walks any length). The report is built first (every database read happens before the first byte is sent)
and then written out in chunks, so a large instance's report is never held twice in memory as one string.
"""
from __future__ import annotations

import json
from typing import Any, Iterator

from flask import Blueprint, Response

from engine import audit_report
from webui.api.credentials import current_user
from webui.api.openapi import documented
from webui.db import get_session

bp = Blueprint("reports", __name__)
CHUNK = 64 * 1024  # characters written at a time
REPORT_CONTENT = {"application/json": {"schema": {
    "type": "object", "required": ["report", "instance", "path", "tasks", "comments", "attachments", "variables",
                                   "operations", "chain"],
    "description": "report: generated_at, generated_by, the chain's head (hash, events) and the commands that "
                   "check it; path: steps and flows taken; chain: every event with its hash and prev_hash, "
                   "and the instance's verification {intact, events, head, first_broken, checked, stretch}: "
                   "checked is false (intact null) when the stretch of the chain holding the instance is longer "
                   "than the report walks (stretch events); the CLI's verify --instance walks it."}}}


@bp.get("/instances/<int:instance_id>/report.json")
@documented("An instance's audit report: path taken, tasks with their data, comments, attachments with "
            "SHA-256, variable history, operations and the chain proof (auditors and admins)",
            "instances", response_content=REPORT_CONTENT)
def instance_report(instance_id: int):
    report = audit_report.build(get_session(), instance_id, current_user(), audit_report.LONGEST_STRETCH)
    response = Response(chunks(report), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = f'inline; filename="liucheng-instance-{instance_id}-report.json"'
    return response


def chunks(report: dict[str, Any]) -> Iterator[str]:
    """The report as JSON text, in pieces of about ``CHUNK`` characters."""
    pending: list[str] = []
    size = 0
    for piece in json.JSONEncoder(ensure_ascii=False, sort_keys=False).iterencode(report):
        pending.append(piece)
        size += len(piece)
        if size >= CHUNK:
            yield "".join(pending)
            pending, size = [], 0
    if pending:
        yield "".join(pending)
