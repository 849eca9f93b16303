"""Signals from integrators over the API (``POST /api/v1/signals``, Camunda 7's ``POST /signal``): a
broadcast to every waiting signal catch event of every running instance, and a start of every
process with a signal start event of that name. Same authorization as messages (integrators and
admins, 403 otherwise); the command is ``engine.runtime.deliveries.broadcast_signal``.
"""
from __future__ import annotations

from flask import Blueprint

from engine import message_rules
from engine.runtime.deliveries import broadcast_signal
from webui.api.credentials import current_user
from webui.api.message_schemas import SendSignalSchema, SignalReplySchema
from webui.api.openapi import documented
from webui.api.schemas import dump, load_json
from webui.db import get_session

bp = Blueprint("signals", __name__)


@bp.post("/signals")
@documented("Broadcast a signal: every instance waiting for it takes it (its variables join their data), every "
            "process with a signal start event of that name starts (integrators and admins); a signal nobody "
            "waits for is not kept", "signals", body=SendSignalSchema, response=SignalReplySchema,
            errors=(400, 401, 403))
def send_signal():
    message_rules.check_may_send(current_user())  # before reading the body: a refused caller learns 403, not 400
    body = load_json(SendSignalSchema())
    reply = broadcast_signal(get_session(), body["name"], body["variables"], current_user())
    return dump(SignalReplySchema(), reply), 200
