"""Handlers for the customer's web chat (public, under /chat) and the agents' message path
(bearer-protected, under /api).

A customer's conversation is named by the server: ``POST /chat/api/conversations`` issues
the id and sets the HttpOnly conversation cookie (bot/webchat/conversation_cookie.py) that
posting, the history and the WebSocket require (401 without it). Ids are never in a query
string. Browsers' requests must come from the service's own origin or a configured one
(403 otherwise). Per-client-address limits: bot/webchat/client_limits.py."""
from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
import weakref
from pathlib import Path
from typing import Any, Dict

from urllib.parse import urlsplit

from aiohttp import WSCloseCode, WSMsgType, web

from bot.agent_api.config import STORE_KEY
from bot.agent_api.middlewares import CURRENT_SESSION, ApiError
from bot.agent_api.views import _agent, shown_name
from bot.privacy import mask_secrets
from bot.webchat import conversation_cookie, rasa, transcript
from bot.webchat.client_limits import LIMITS_KEY, TooMany
from bot.webchat.config import WebchatConfig
from bot.webchat.hub import HUB_KEY, HubError, Subscription

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"chat.js": "application/javascript", "chat.css": "text/css"}
MAX_BODY = 16 * 1024
MAX_AGENT_TEXT = 4000
# A customer's message: up to MAX_MESSAGE_CHARS characters in a body of at most MAX_BODY (the
# page sends longer pastes in parts, static/chat.js MAX_CHARS / MAX_BYTES; the ticket keeps as
# much, actions/ticketing.py MAX_TEXT).
MAX_MESSAGE_CHARS = 10_000
# What the forward to Rasa's REST channel may spend on the text: that channel refuses bodies
# over 16 KB (REST_MAX_BODY_BYTES, bot/channels/rest.py) and the forward writes non-ASCII
# characters as \uXXXX escapes; 1 KB is left for the sender and the metadata.
FORWARD_TEXT_BYTES = 15 * 1024
UNREACHABLE = "We couldn't reach the assistant, please try again."

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Conversations an agent may write to: any channel's sender id (UUIDs from the web chat,
# "whatsapp:+49...", socket.io session ids), but nothing that could confuse a URL or a log.
_ANY_CONVERSATION = re.compile(r"[\w:+.@=-]{1,200}")

WEBSOCKETS_KEY = web.AppKey("webchat_websockets", weakref.WeakSet)
WEBCHAT_KEY = web.AppKey("webchat_config", WebchatConfig)
SLOW_DOWN = "You're sending messages faster than we can answer. Please wait a moment and try again."
NO_CONVERSATION = "no chat conversation: start one with POST chat/api/conversations"

# The chat page only talks to its own origin.
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' {ws}; base-uri 'none'; form-action 'self'; object-src 'none'; "
    "frame-ancestors {frame_ancestors}"
)
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-:\[\]]{1,255}")


# -- input -----------------------------------------------------------------------
def chat_conversation_id(value: Any) -> str:
    """The browser makes the id (crypto.randomUUID()); only a UUID is accepted, so the
    public endpoints cannot reach conversations of other channels."""
    if not isinstance(value, str) or not _UUID.fullmatch(value.strip().lower()):
        raise ApiError(400, "'conversation_id' must be a UUID")
    return value.strip().lower()


def any_conversation_id(value: str) -> str:
    if not _ANY_CONVERSATION.fullmatch(value or ""):
        raise ApiError(400, f"malformed conversation id: {value!r}")
    return value


async def read_json(request: web.Request, limit: int = MAX_BODY) -> Dict[str, Any]:
    """The body as a JSON object, refusing (413) anything over `limit` bytes, declared or not."""
    too_large = ApiError(413, f"request body is larger than {limit // 1024} KB")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    data = bytearray()
    async for chunk in request.content.iter_chunked(8192):
        data += chunk
        if len(data) > limit:
            raise too_large
    try:
        body = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "body must be valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "body must be a JSON object")
    return body


# -- the page --------------------------------------------------------------------
async def chat_page(request: web.Request) -> web.StreamResponse:
    host = request.host if re.fullmatch(r"[A-Za-z0-9.\-:\[\]]{1,255}", request.host or "") else ""
    ws = f"ws://{host} wss://{host}" if host else ""
    # Nobody may frame the page (clickjacking) unless configured: CHAT_FRAME_ANCESTORS.
    ancestors = [a for a in request.app[WEBCHAT_KEY].frame_ancestors if _ORIGIN.fullmatch(a)]
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-cache",
        "Content-Security-Policy": _CSP.format(ws=ws, frame_ancestors=" ".join(ancestors) or "'none'").replace(" ;", ";"),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if not ancestors:
        # For browsers without CSP frame-ancestors; it cannot express a list of origins.
        headers["X-Frame-Options"] = "DENY"
    return web.FileResponse(STATIC_DIR / "chat.html", headers=headers)


async def chat_page_slash(request: web.Request) -> web.StreamResponse:
    # The page uses relative URLs (so it also works behind a path prefix): one canonical address.
    raise web.HTTPMovedPermanently(location=str(request.rel_url.with_path(request.path.rstrip("/"))))


async def static_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in STATIC_FILES:
        raise ApiError(404, "not found")
    headers = {"Content-Type": f"{STATIC_FILES[name]}; charset=utf-8", "Cache-Control": "no-cache",
               "X-Content-Type-Options": "nosniff"}
    return web.FileResponse(STATIC_DIR / name, headers=headers)


# -- who is asking ------------------------------------------------------------------
def origin_allowed(request: web.Request) -> bool:
    """A browser's request (it always sends Origin on WebSockets and POSTs) must come from
    this service's own origin or a configured one. No Origin: not a browser, so no victim's
    cookie rides along; the cookie check still applies. Scheme-blind for the own host: behind
    a TLS-terminating proxy the service itself only sees http."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    origin = origin.strip().rstrip("/").lower()
    if origin in request.app[WEBCHAT_KEY].allowed_origins:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and parts.netloc == (request.host or "").lower()


def _check_origin(request: web.Request) -> None:
    if not origin_allowed(request):
        raise ApiError(403, "this origin may not use the chat")


def _cookie_conversation(request: web.Request) -> str:
    """The conversation the request's cookie proves (401 without a valid one)."""
    conversation_id = conversation_cookie.verify(_key(request.app), request.cookies.get(conversation_cookie.COOKIE))
    if conversation_id is None:
        raise ApiError(401, NO_CONVERSATION)
    return conversation_id


def _key(app: web.Application) -> bytes:
    return app[KEY_KEY]


KEY_KEY = web.AppKey("webchat_cookie_key", bytes)


def too_many(message: str, retry_after: float) -> web.Response:
    retry = max(1, math.ceil(retry_after))
    return web.json_response({"error": message, "retry_after": retry}, status=429, headers={"Retry-After": str(retry)})


# -- customer API ----------------------------------------------------------------
async def new_conversation(request: web.Request) -> web.Response:
    """POST /chat/api/conversations: a new conversation, its id, and its cookie."""
    _check_origin(request)
    limits = request.app[LIMITS_KEY]
    try:
        limits.new_conversation(limits.client(request))
    except TooMany as exc:
        return too_many(exc.message, exc.retry_after)
    config = request.app[WEBCHAT_KEY]
    conversation_id = conversation_cookie.new_conversation_id()
    response = web.json_response({"conversation_id": conversation_id}, status=201, headers={"Cache-Control": "no-store"})
    conversation_cookie.set_cookie(
        response, conversation_cookie.issue(_key(request.app), conversation_id, config.cookie_max_age),
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
    body = await read_json(request)
    # Optional (the cookie names the conversation), but when given it must be well-formed.
    claimed = chat_conversation_id(body["conversation_id"]) if "conversation_id" in body else None
    text = body.get("text")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise ApiError(400, "'text' must be a string")
    _check_origin(request)
    conversation_id = _cookie_conversation(request)
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
            replies = await rasa.send_turn(app, conversation_id, text)
        except rasa.RasaRateLimited as exc:
            return too_many(SLOW_DOWN, exc.retry_after)
        except rasa.RasaUnavailable:
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
            full = transcript.from_tracker(await rasa.get_tracker(app, conversation_id))
            status = {"ticket_id": full["ticket_id"], "handed_off": full["handed_off"]}
            handoff = full["handoff"] or handoff
        else:
            status = transcript.status_of(await rasa.get_tracker(app, conversation_id, include_events="NONE"))
    except rasa.RasaUnavailable:
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
            paused = transcript.status_of(await rasa.get_tracker(app, conversation_id, include_events="NONE"))["handed_off"]
        except (rasa.RasaUnavailable, rasa.RasaRateLimited):
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
    conversation_id = _cookie_conversation(request)
    try:
        tracker = await rasa.get_tracker(request.app, conversation_id)
    except (rasa.RasaUnavailable, rasa.RasaRateLimited):
        raise ApiError(502, UNREACHABLE) from None
    return web.json_response({"conversation_id": conversation_id, **transcript.from_tracker(tracker)},
                             headers={"Cache-Control": "no-store"})


async def websocket(request: web.Request) -> web.StreamResponse:
    """Pushes what is published for this conversation (agent messages, status) to the page."""
    ws = web.WebSocketResponse(heartbeat=25.0)
    if not ws.can_prepare(request).ok:
        raise ApiError(400, "expected a WebSocket upgrade")
    _check_origin(request)
    conversation_id = _cookie_conversation(request)
    limits = request.app[LIMITS_KEY]
    client = limits.client(request)
    if not limits.open_socket(client):
        return too_many("too many open chat connections from your address", 30)
    try:
        registry = request.app[WEBSOCKETS_KEY]
        # Subscribe before the handshake completes: once the client is connected, nothing
        # published for it can be missed.
        async with request.app[HUB_KEY].subscribe(conversation_id) as subscription:
            await ws.prepare(request)
            registry.add(ws)
            forward = asyncio.create_task(_forward(subscription, ws))
            try:
                async for msg in ws:
                    if msg.type == WSMsgType.TEXT and msg.data == "ping":
                        await ws.send_json({"type": "pong"})
                    # Anything else from the page is ignored: messages go through POST, which
                    # validates them and hands them to Rasa.
            finally:
                registry.discard(ws)
                forward.cancel()
                await asyncio.gather(forward, return_exceptions=True)
    finally:
        limits.close_socket(client)
    return ws


async def _forward(subscription: Subscription, ws: web.WebSocketResponse) -> None:
    try:
        async for message in subscription:
            await ws.send_json(message)
    except (ConnectionResetError, RuntimeError):
        return  # the socket closed under us
    if not ws.closed:
        # Hub closed or we fell behind: the page reconnects and reloads its history.
        code = WSCloseCode.TRY_AGAIN_LATER if subscription.overflowed else WSCloseCode.GOING_AWAY
        await ws.close(code=code, message=b"resynchronise")


async def close_websockets(app: web.Application) -> None:
    """on_shutdown: close every open chat socket so shutdown does not wait on them."""
    for ws in list(app[WEBSOCKETS_KEY]):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


# -- agents ----------------------------------------------------------------------
async def agent_message(request: web.Request) -> web.Response:
    """POST /api/conversations/{conversation_id}/messages {"agent", "text"}: record it in
    Rasa's tracker (the transcript), then push it to the customer's open chat."""
    conversation_id = any_conversation_id(request.match_info["conversation_id"])
    body = await read_json(request)
    agent = _agent(body)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "'text' must be a non-empty string")
    if len(text) > MAX_AGENT_TEXT:
        raise ApiError(400, f"'text' is longer than {MAX_AGENT_TEXT} characters")
    await _may_write(request, conversation_id, agent)
    try:
        # The customer sees the agent's display name, not their account name.
        sent = await post_agent_message(request.app, conversation_id, shown_name(request.app, agent), text)
    except (rasa.RasaUnavailable, rasa.RasaRateLimited) as exc:
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
    service's resolution and hand-back notices, bot/agent_api/views.py): masked, recorded in
    Rasa's tracker as a bot message with metadata.agent (the transcript, and what a reload
    shows), then pushed to the open chat page. `shown_as` is the name the customer sees.
    Raises rasa.RasaUnavailable / RasaRateLimited when it could not be recorded (then nothing
    was pushed). Returns {"message": the pushed message, "published": pushed live or not}."""
    # Masked like everything stored: the transcript and the live feed say the same.
    text = mask_secrets(text)
    await rasa.append_agent_message(app, conversation_id, shown_as, text)
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
    a real console account (a session is its own agent, see `_agent`)."""
    from bot.console.keys import CONSOLE_KEY  # bot.console imports bot.agent_api

    if CURRENT_SESSION.get() is None:
        console = request.app.get(CONSOLE_KEY)
        if console is None or agent not in console.accounts:
            raise ApiError(403, f"'agent' must name an agent account; {agent!r} is none")
    latest = await request.app[STORE_KEY].find(conversation_id=conversation_id, limit=1)
    if not latest or latest[0].get("status") != "handed_off":
        raise ApiError(409, "this conversation is not handed off to a person")
    ticket = latest[0]
    if ticket.get("assignee") != agent:
        raise ApiError(403, f"claim ticket {ticket.get('ticket_id')} before writing to the customer")
