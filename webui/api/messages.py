"""Messages from integrators (shop platform, couriers) over the API: only ``integrator`` and ``admin``
users may send (403 otherwise); data a catching event does not declare, or a message the instance
cannot catch, is refused with 422 and changes nothing (the rules are ``engine.message_rules``', the
delivery ``engine.runtime.receive_message``). Who may list the messages received is ``engine.access``'s
rule; a message becomes JSON through ``engine.messages.as_dict``.
"""
from __future__ import annotations

from flask import Blueprint

from engine import access, messages, runtime
from engine.models import MessageStatus
from webui.api.credentials import current_user
from webui.api.message_schemas import MessageQuerySchema, MessageReplySchema, MessageSchema, SendMessageSchema
from webui.api.openapi import documented
from webui.api.schemas import dump, load_json, load_query
from webui.db import get_session

bp = Blueprint("messages", __name__)
STATUS_OF_REPLY = {MessageStatus.DUPLICATE: 200, MessageStatus.STARTED: 201, MessageStatus.KEPT: 202}


@bp.post("/messages")
@documented("Deliver a message to the waiting instance(s) it correlates with, start a process with a message "
            "start event, or keep it until an instance waits for it (integrators and admins; 422 when its data "
            "names variables the catching event does not declare, or the instance cannot catch it)", "messages",
            body=SendMessageSchema, response=MessageReplySchema, errors=(400, 401, 403, 409, 422))
def send_message():
    body = load_json(SendMessageSchema())
    reply = runtime.receive_message(get_session(), body["name"], body["correlation"], body["data"], body["message_id"],
                                    current_user(), business_key=body["business_key"], every=body["all"])
    return dump(MessageReplySchema(), reply), STATUS_OF_REPLY.get(reply["status"], 200)


@bp.get("/messages")
@documented("Messages received, newest first (admins, auditors, supervisors, integrators)", "messages",
            query=MessageQuerySchema, response=MessageSchema, many=True, errors=(400, 401, 403))
def list_messages():
    user = current_user()
    access.check_may_list_messages(user)  # before reading the query: a refused caller learns 403, not 400
    query = load_query(MessageQuerySchema())
    rows = access.list_messages(get_session(), user, query.get("name"), query.get("status"), query["limit"],
                                query["offset"])
    return [messages.as_dict(row) for row in rows]
