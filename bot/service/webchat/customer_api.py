"""The customer's web chat API (public, under /chat): a new conversation with its cookie, a
message to the assistant (and its replies), and the conversation so far. Per-client-address
limits: bot/service/webchat/client_limits.py."""
from __future__ import annotations

import json
import logging
import time
from typing import Any, Dict

from aiohttp import web

from bot.service import rasa_client
from bot.service.middlewares import ApiError
from bot.service.request_input import read_json
from bot.service.typedefs import COOKIE_KEY_KEY, HUB_KEY, LIMITS_KEY, WEBCHAT_KEY
from bot.service.webchat import conversation_cookie, transcript
from bot.service.webchat.client_limits import TooMany
from bot.service.webchat.hub import HubError
from bot.service.webchat.request_checks import MAX_BODY, check_origin, chat_conversation_id, cookie_conversation, too_many

log = logging.getLogger(__name__)

# A customer's message: up to MAX_MESSAGE_CHARS characters in a body of at most MAX_BODY (the
# page sends longer pastes in parts, static/chat.js MAX_CHARS / MAX_BYTES; the ticket keeps as
# much, actions/ticketing.py MAX_TEXT).
MAX_MESSAGE_CHARS = 10_000
# What the forward to Rasa's REST channel may spend on the text: that channel refuses bodies
# over 16 KB (REST_MAX_BODY_BYTES, bot/rasa_ext/channels/rest.py) and the forward writes non-ASCII
# characters as \uXXXX escapes; 1 KB is left for the sender and the metadata.
FORWARD_TEXT_BYTES = 15 * 1024
UNREACHABLE = "We couldn't reach the assistant, please try again."
SLOW_DOWN = "You're sending messages faster than we can answer. Please wait a moment and try again."


async def new_conversation(request: web.Request) -> web.Response:
    """POST /chat/api/conversations: a new conversation, its id, and its cookie."""
    check_origin(request)
    limits = request.app[LIMITS_KEY]
    try:
        limits.new_conversation(limits.client(request))
    except TooMany as exc:
        return too_many(exc.message, exc.retry_after)
    config = request.app[WEBCHAT_KEY]
    conversation_id = conversation_cookie.new_conversation_id()
    response = web.json_response({"conversation_id": conversation_id}, status=201, headers={"Cache-Control": "no-store"})
    conversation_cookie.set_cookie(
        response, conversation_cookie.issue(request.app[COOKIE_KEY_KEY], conversation_id, config.cookie_max_age),
        config.cookie_max_age, config.cookie_secure,
    )
    return response


def fit_message(text: str) -> str:
    """The longest start of `text` that the assistant can read in one turn: at most
    MAX_MESSAGE_CHARS characters and FORWARD_TEXT_BYTES bytes as the forward encodes them."""
    budget, end = FORWARD_TEXT_BYTES, 0
    for end, char in enumerate(text[:MAX_MESSAGE_CHARS]):
        budget -= len(json.dumps(char)) - 2
        if budget < 0:
            return text[:end]
    return text[:MAX_MESSAGE_CHARS]


def cut_notice(kept: int, total: int) -> str:
    return (f"Your message was too long for one message: I could only read the first {kept:,} of its "
            f"{total:,} characters. Please send the rest in another message.")


async def post_message(request: web.Request) -> web.Response:
    body = await read_json(request, MAX_BODY)
    # Optional (the cookie names the conversation), but when given it must be well-formed.
    claimed = chat_conversation_id(body["conversation_id"]) if "conversation_id" in body else None
    text = body.get("text")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise ApiError(400, "'text' must be a string")
    check_origin(request)
    conversation_id = cookie_conversation(request)
    # Too long for one turn (a client other than the page, or mostly non-Latin text): the
    # assistant reads the start, and the reply says that the rest was not read.
    whole, text = text, fit_message(text)
    if claimed is not None and claimed != conversation_id:
        # This tab shows another conversation than the browser's cookie now names (one
        # started in another tab): don't put the message into the wrong one.
        raise ApiError(409, "this page shows another conversation; reload it")
    app = request.app
    limits = app[LIMITS_KEY]
    try:
        reservation = await _reserve_handoff(app, limits, limits.client(request), conversation_id)
    except TooMany as exc:
        return too_many(exc.message, exc.retry_after)
    handed_off_now = False
    try:
        try:
            replies = await rasa_client.send_turn(app, conversation_id, text)
        except rasa_client.RasaRateLimited as exc:
            return too_many(SLOW_DOWN, exc.retry_after)
        except rasa_client.RasaUnavailable:
            raise ApiError(502, UNREACHABLE) from None
        shown = transcript.from_replies(replies)
        handed_off_now = shown["handoff"] is not None
    finally:
        limits.settle_handoff(reservation, handed_off_now)

    handoff = shown["handoff"]
    status: Dict[str, Any] = {
        "ticket_id": handoff["ticket_id"] if handoff else None,
        "handed_off": handoff is not None,
    }
    try:
        if handoff is not None:
            # The tracker has the hand-off's wait text as it was filled in.
            full = transcript.from_tracker(await rasa_client.get_tracker(app, conversation_id))
            status = {"ticket_id": full["ticket_id"], "handed_off": full["handed_off"]}
            handoff = full["handoff"] or handoff
        else:
            status = transcript.status_of(await rasa_client.get_tracker(app, conversation_id, include_events="NONE"))
    except rasa_client.RasaUnavailable:
        # The message got through; only the status is unknown. Don't make the customer resend.
        log.warning("a chat message was delivered but the tracker could not be read")

    # Paused before this message (no reply, and not the message that caused the hand-off):
    # it is for the colleague, so tell whoever is watching this conversation.
    if status["handed_off"] and not replies and text.strip():
        await _publish_agents(app, conversation_id, {"type": "message", "role": "customer", "text": text, "at": time.time()})

    messages = shown["messages"]
    if len(text) < len(whole):
        messages = [{"role": "bot", "text": cut_notice(len(text), len(whole)), "cut": True}] + messages
    return web.json_response({
        "messages": messages,
        "ticket_id": status["ticket_id"],
        "handed_off": status["handed_off"],
        "handoff": handoff if status["handed_off"] else None,
    })


async def _reserve_handoff(app: web.Application, limits, client: str, conversation_id: str):
    """A hand-off reservation for this turn (see client_limits). Over budget, a conversation
    already with a person still gets through: the bot is silent there, it cannot hand off
    again, and the customer must be able to talk to their colleague."""
    try:
        return limits.reserve_handoff(client)
    except TooMany:
        try:
            paused = transcript.status_of(await rasa_client.get_tracker(app, conversation_id, include_events="NONE"))["handed_off"]
        except (rasa_client.RasaUnavailable, rasa_client.RasaRateLimited):
            paused = False
        if paused:
            return None
        raise


async def _publish_agents(app: web.Application, conversation_id: str, message: Dict[str, Any]) -> None:
    try:
        await app[HUB_KEY].publish_agents(conversation_id, message)
    except HubError as exc:
        # It is in Rasa's tracker anyway, which is what the console shows on load.
        log.warning("conversation %s: customer message not published to agents: %s", conversation_id, exc)


async def history(request: web.Request) -> web.Response:
    conversation_id = cookie_conversation(request)
    try:
        tracker = await rasa_client.get_tracker(request.app, conversation_id)
    except (rasa_client.RasaUnavailable, rasa_client.RasaRateLimited):
        raise ApiError(502, UNREACHABLE) from None
    return web.json_response({"conversation_id": conversation_id, **transcript.from_tracker(tracker)},
                             headers={"Cache-Control": "no-store"})
