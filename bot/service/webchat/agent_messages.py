"""The agents' path into a customer's conversation (``POST
/api/conversations/{conversation_id}/messages``, bearer token or console session), and the
one function every colleague's words to a customer go through (`post_agent_message`)."""
from __future__ import annotations

import logging
import re
import time
from typing import Any, Dict

from aiohttp import web

from bot.privacy import mask_secrets
from bot.service import rasa_client
from bot.service.middlewares import CURRENT_SESSION, ApiError
from bot.service.request_input import acting_agent, read_json, shown_name
from bot.service.typedefs import CONSOLE_KEY, HUB_KEY, STORE_KEY
from bot.service.webchat.hub import HubError
from bot.service.webchat.request_checks import MAX_BODY
from bot.tickets.model import Status

log = logging.getLogger(__name__)

MAX_AGENT_TEXT = 4000
# Conversations an agent may write to: any channel's sender id (UUIDs from the web chat,
# "whatsapp:+49...", socket.io session ids), but nothing that could confuse a URL or a log.
_ANY_CONVERSATION = re.compile(r"[\w:+.@=-]{1,200}")


def any_conversation_id(value: str) -> str:
    if not _ANY_CONVERSATION.fullmatch(value or ""):
        raise ApiError(400, f"malformed conversation id: {value!r}")
    return value


async def agent_message(request: web.Request) -> web.Response:
    """POST /api/conversations/{conversation_id}/messages {"agent", "text"}: record it in
    Rasa's tracker (the transcript), then push it to the customer's open chat."""
    conversation_id = any_conversation_id(request.match_info["conversation_id"])
    body = await read_json(request, MAX_BODY)
    agent = acting_agent(body)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "'text' must be a non-empty string")
    if len(text) > MAX_AGENT_TEXT:
        raise ApiError(400, f"'text' is longer than {MAX_AGENT_TEXT} characters")
    await _may_write(request, conversation_id, agent)
    try:
        # The customer sees the agent's display name, not their account name.
        sent = await post_agent_message(request.app, conversation_id, shown_name(request.app, agent), text)
    except (rasa_client.RasaUnavailable, rasa_client.RasaRateLimited) as exc:
        # Not recorded means not sent: the customer must never see what the transcript lacks.
        raise ApiError(502, f"rasa unreachable or refused the message: {exc}") from None
    message = sent["message"]
    return web.json_response(
        {"conversation_id": conversation_id, "message": {**message, "conversation_id": conversation_id},
         "published": sent["published"]},
        status=201,
    )


async def post_agent_message(app: web.Application, conversation_id: str, shown_as: str, text: str) -> Dict[str, Any]:
    """The one path a colleague's words take to a customer (their messages, and the agent
    service's resolution and hand-back notices, bot/service/api/customer_updates.py): masked, recorded in
    Rasa's tracker as a bot message with metadata.agent (the transcript, and what a reload
    shows), then pushed to the open chat page. `shown_as` is the name the customer sees.
    Raises rasa_client.RasaUnavailable / RasaRateLimited when it could not be recorded (then nothing
    was pushed). Returns {"message": the pushed message, "published": pushed live or not}."""
    # Masked like everything stored: the transcript and the live feed say the same.
    text = mask_secrets(text)
    await rasa_client.append_agent_message(app, conversation_id, shown_as, text)
    message = {"type": "message", "role": "agent", "agent": shown_as, "text": text, "at": time.time()}
    published = True
    try:
        await app[HUB_KEY].publish(conversation_id, message)
    except HubError as exc:
        published = False
        log.warning("an agent message was recorded but not pushed live: %s", exc)
    return {"message": message, "published": published}


async def _may_write(request: web.Request, conversation_id: str, agent: str) -> None:
    """Only the colleague who has the conversation writes into it: its latest ticket is
    handed off and claimed by this agent. A bearer-token holder names the agent, who must be
    a real console account (a session is its own agent, see `acting_agent`)."""
    if CURRENT_SESSION.get() is None:
        if agent not in request.app[CONSOLE_KEY].accounts:
            raise ApiError(403, f"'agent' must name an agent account; {agent!r} is none")
    latest = await request.app[STORE_KEY].find(conversation_id=conversation_id, limit=1)
    if not latest or latest[0].get("status") != Status.HANDED_OFF:
        raise ApiError(409, "this conversation is not handed off to a person")
    ticket = latest[0]
    if ticket.get("assignee") != agent:
        raise ApiError(403, f"claim ticket {ticket.get('ticket_id')} before writing to the customer")
