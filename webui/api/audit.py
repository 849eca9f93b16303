"""The history's proofs over the API (auditors and admins): ``/audit/verify`` walks the hash chain (all of it,
or the stretch holding one instance's events) and says whether it is intact or names the first event that
does not verify and why; ``/audit/head`` is the chain's head hash and length now (what an auditor writes
down); ``/audit/anchors`` the heads the worker (or ``liucheng audit anchor``) recorded, newest first, each
with the ``HASH:COUNT`` text ``liucheng audit verify --against`` takes.

The verdict is ``engine.chain_verify.as_dict``; an anchor ``engine.anchors.as_dict``.
"""
from __future__ import annotations

from flask import Blueprint
from marshmallow import Schema, fields, validate

from engine import anchors, chain_verify, operation_log
from webui.api.credentials import current_user
from webui.api.openapi import documented
from webui.api.schemas import MAX_PAGE, WholeNumber, id_field, load_query
from webui.db import get_session

bp = Blueprint("audit", __name__, url_prefix="/audit")


class VerifyQuerySchema(Schema):
    instance_id = id_field(metadata={"description": "Only the stretch of the chain that holds this instance's "
                                                    "events (404 when there is no such instance)."})


class AnchorQuerySchema(Schema):
    limit = WholeNumber(load_default=100, validate=validate.Range(min=1, max=MAX_PAGE))


class BrokenSchema(Schema):
    id = fields.Integer(metadata={"description": "The first event that does not verify."})
    reason = fields.String(validate=validate.OneOf(chain_verify.REASONS),
                           metadata={"description": " | ".join(chain_verify.REASONS)})
    detail = fields.String()


class VerdictSchema(Schema):
    intact = fields.Boolean()
    events = fields.Integer(metadata={"description": "Events vouched for (those retention removed under a "
                                                    "signed summary included)."})
    head = fields.String(metadata={"description": "The hash the walk ended on (SHA-256, hex)."})
    removed = fields.Integer(metadata={"description": "Events retention removed (signed summaries)."})
    first_broken = fields.Nested(BrokenSchema, allow_none=True)


class HeadSchema(Schema):
    head = fields.String(metadata={"description": "The last event's hash (SHA-256, hex)."})
    events = fields.Integer(metadata={"description": "How many events were ever chained."})
    against = fields.String(metadata={"description": "HASH:COUNT, for `liucheng audit verify --against`."})


class AnchorSchema(Schema):
    id = fields.Integer()
    at = fields.String(metadata={"format": "date-time"})
    kind = fields.String(metadata={"description": " | ".join(anchors.KINDS)})
    events = fields.Integer()
    head = fields.String()
    against = fields.String(metadata={"description": "HASH:COUNT, for `liucheng audit verify --against`."})
    signature = fields.String(metadata={"description": "HMAC-SHA256 with the audit key."})
    signature_valid = fields.Boolean()


@bp.get("/verify")
@documented("Walk the history's hash chain (or one instance's stretch of it): intact, or the first event that "
            "does not verify and why (changed, missing, inserted, reordered); auditors and admins", "audit",
            query=VerifyQuerySchema, response=VerdictSchema, errors=(400, 401, 403, 404))
def verify():
    operation_log.check_may_audit(current_user())
    query = load_query(VerifyQuerySchema())
    return chain_verify.as_dict(chain_verify.verify(get_session(), query.get("instance_id")))


@bp.get("/head")
@documented("The chain's head hash and event count now (write it down: an anchor); auditors and admins", "audit",
            response=HeadSchema, errors=(401, 403))
def head():
    operation_log.check_may_audit(current_user())
    digest, events = chain_verify.current_head(get_session())
    return {"head": digest, "events": events, "against": anchors.against_text(digest, events)}


@bp.get("/anchors")
@documented("The recorded anchors (heads written down daily by the worker or on request), newest first; "
            "auditors and admins", "audit", query=AnchorQuerySchema, response=AnchorSchema, many=True,
            errors=(400, 401, 403))
def list_anchors():
    operation_log.check_may_audit(current_user())
    query = load_query(AnchorQuerySchema())
    return [anchors.as_dict(anchor) for anchor in anchors.list_anchors(get_session(), query["limit"])]
