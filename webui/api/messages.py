"""Messages from integrators (shop platform, couriers): only ``integrator`` and ``admin`` users may
send (403 otherwise); data a catching event does not declare, or a message the instance cannot
catch, is refused with 422 and changes nothing (see ``engine.messages``)."""
from __future__ import annotations

from flask import Blueprint
from sqlalchemy import select

from engine import messages
from engine.errors import PermissionDeniedError
from engine.models import Message
from webui.api_openapi import documented
from webui.auth import current_user
from webui.db import get_session
from webui.schemas import (
    MessageQuerySchema, MessageReplySchema, MessageSchema, SendMessageSchema, dump, load_json, load_query,
)

messages_bp = Blueprint("messages", __name__)
SEES_ALL_MESSAGES = {"admin", "auditor", "supervisor", "integrator"}


@messages_bp.post("/messages")
@documented("Deliver a message to the waiting instance(s) it correlates with, start a process with a message "
            "start event, or keep it until an instance waits for it (integrators and admins; 422 when its data "
            "names variables the catching event does not declare, or the instance cannot catch it)", "messages",
            body=SendMessageSchema, response=MessageReplySchema, errors=(400, 401, 403, 422))
def send_message():
    body = load_json(SendMessageSchema())
    reply = messages.receive(get_session(), body["name"], body["correlation"], body["data"], body["message_id"],
                             current_user())
    status = 200 if reply["status"] == "duplicate" else 201 if reply["status"] == "started" else 202 \
        if reply["status"] == "kept" else 200
    return dump(MessageReplySchema(), reply), status


@messages_bp.get("/messages")
@documented("Messages received, newest first (admins, auditors, supervisors, integrators)", "messages",
            query=MessageQuerySchema, response=MessageSchema, many=True, errors=(400, 401, 403))
def list_messages():
    if not current_user().roles & SEES_ALL_MESSAGES:
        raise PermissionDeniedError("Only admins, auditors, supervisors and integrators may list messages.")
    query = load_query(MessageQuerySchema())
    statement = select(Message).order_by(Message.id.desc())
    if query.get("name"):
        statement = statement.where(Message.name == query["name"])
    if query.get("status"):
        statement = statement.where(Message.status == query["status"])
    rows = get_session().scalars(statement.limit(query["limit"]).offset(query["offset"]))
    return dump(MessageSchema(many=True), [messages.as_dict(row) for row in rows])
