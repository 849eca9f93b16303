"""The API's bearer tokens, under ``/api/v1/tokens``.

``POST /tokens`` (Basic only) issues one lasting ``expires_days`` (default 90); ``GET /tokens``
lists the caller's own; ``DELETE /tokens/<id>`` revokes one of the caller's own — an admin may
revoke anyone's; anyone else's is 404. A token becomes JSON through the schemas here (the engine
has no dict of it): the secret only once, when issued.
"""
from __future__ import annotations

from flask import Blueprint, g
from marshmallow import Schema, fields, validate

from engine import users
from engine.errors import AuthenticationError
from engine.models import ApiToken
from webui.api.credentials import current_user
from webui.api.openapi import documented
from webui.api.schemas import UtcDateTime, dump, load_json
from webui.db import get_session

class NewTokenSchema(Schema):
    label = fields.String(load_default="", validate=validate.Length(max=128))
    expires_days = fields.Integer(strict=True, load_default=users.TOKEN_DAYS,
                                  validate=validate.Range(min=1, max=users.MAX_TOKEN_DAYS),
                                  metadata={"description": "Days until the token expires (default 90)."})


class IssuedTokenSchema(Schema):
    token = fields.String(required=True, metadata={"description": "Send as 'Authorization: Bearer <token>'; "
                                                                 "shown only this once."})
    id = fields.Integer()
    label = fields.String()
    expires_at = UtcDateTime()


class TokenInfoSchema(Schema):
    id = fields.Integer()
    label = fields.String()
    created_at = UtcDateTime()
    expires_at = UtcDateTime(allow_none=True)
    last_used_at = UtcDateTime(allow_none=True, metadata={"description": "Within a minute."})
    revoked_at = UtcDateTime(allow_none=True)
    revoked = fields.Function(lambda row: row.revoked_at is not None, metadata={"type": "boolean"})
    expired = fields.Function(users.is_expired, metadata={"type": "boolean"})


bp = Blueprint("tokens", __name__)


@bp.post("/tokens")
@documented("Issue a bearer token for the caller (HTTP Basic only)", "auth", body=NewTokenSchema,
            response=IssuedTokenSchema, status=201, errors=(400, 401))
def issue_token():
    if g.auth_type != "basic":
        raise AuthenticationError("Ask for a token with your username and password (HTTP Basic).")
    body = load_json(NewTokenSchema())
    row, token = users.create_token(get_session(), current_user(), body["label"], body["expires_days"])
    return dump(IssuedTokenSchema(), {"token": token, "id": row.id, "label": row.label,
                                      "expires_at": row.expires_at}), 201


@bp.get("/tokens")
@documented("The caller's tokens (revoked and expired ones too; never the secret)", "auth",
            response=TokenInfoSchema, many=True, errors=(401,))
def list_tokens():
    return dump(TokenInfoSchema(many=True), users.tokens_of(get_session(), current_user()))


@bp.delete("/tokens/<int:token_id>")
@documented("Revoke one of the caller's tokens (an admin: anyone's)", "auth", response=TokenInfoSchema,
            errors=(401, 403, 404))
def revoke_token(token_id: int):
    row: ApiToken = users.revoke_token(get_session(), token_id, current_user())
    return dump(TokenInfoSchema(), row)
