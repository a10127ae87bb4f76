"""Handlers for the customer's web chat (public, under /chat) and the agents' message path
(bearer-protected, under /api)."""
from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import weakref
from pathlib import Path
from typing import Any, Dict

from aiohttp import WSCloseCode, WSMsgType, web

from bot.agent_api.middlewares import ApiError
from bot.agent_api.views import _agent
from bot.webchat import rasa, transcript
from bot.webchat.hub import HUB_KEY, HubError, Subscription

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"chat.js": "application/javascript", "chat.css": "text/css"}
MAX_BODY = 16 * 1024
MAX_AGENT_TEXT = 4000
UNREACHABLE = "We couldn't reach the assistant, please try again."

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Conversations an agent may write to: any channel's sender id (UUIDs from the web chat,
# "whatsapp:+49...", socket.io session ids), but nothing that could confuse a URL or a log.
_ANY_CONVERSATION = re.compile(r"[\w:+.@=-]{1,200}")

WEBSOCKETS_KEY = web.AppKey("webchat_websockets", weakref.WeakSet)

# The chat page only talks to its own origin.
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' {ws}; base-uri 'none'; form-action 'self'; object-src 'none'"
)


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
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-cache",
        "Content-Security-Policy": _CSP.format(ws=ws).replace(" ;", ";"),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
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


# -- customer API ----------------------------------------------------------------
async def post_message(request: web.Request) -> web.Response:
    body = await read_json(request)
    conversation_id = chat_conversation_id(body.get("conversation_id"))
    text = body.get("text")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise ApiError(400, "'text' must be a string")
    app = request.app
    try:
        replies = await rasa.send_turn(app, conversation_id, text)
    except rasa.RasaUnavailable:
        raise ApiError(502, UNREACHABLE) from None

    shown = transcript.from_replies(replies)
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
        log.warning("conversation %s: message delivered but the tracker could not be read", conversation_id)

    # Paused before this message (no reply, and not the message that caused the hand-off):
    # it is for the colleague, so tell whoever is watching this conversation.
    if status["handed_off"] and not replies and text.strip():
        await _publish_agents(app, conversation_id, {"type": "message", "role": "customer", "text": text, "at": time.time()})

    return web.json_response({
        "messages": shown["messages"],
        "ticket_id": status["ticket_id"],
        "handed_off": status["handed_off"],
        "handoff": handoff if status["handed_off"] else None,
    })


async def _publish_agents(app: web.Application, conversation_id: str, message: Dict[str, Any]) -> None:
    try:
        await app[HUB_KEY].publish_agents(conversation_id, message)
    except HubError as exc:
        # It is in Rasa's tracker anyway, which is what the console shows on load.
        log.warning("conversation %s: customer message not published to agents: %s", conversation_id, exc)


async def history(request: web.Request) -> web.Response:
    conversation_id = chat_conversation_id(request.query.get("conversation_id"))
    try:
        tracker = await rasa.get_tracker(request.app, conversation_id)
    except rasa.RasaUnavailable:
        raise ApiError(502, UNREACHABLE) from None
    return web.json_response(transcript.from_tracker(tracker))


async def websocket(request: web.Request) -> web.StreamResponse:
    """Pushes what is published for this conversation (agent messages, status) to the page."""
    conversation_id = chat_conversation_id(request.query.get("conversation_id"))
    ws = web.WebSocketResponse(heartbeat=25.0)
    if not ws.can_prepare(request).ok:
        raise ApiError(400, "expected a WebSocket upgrade")
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
    try:
        await rasa.append_agent_message(request.app, conversation_id, agent, text)
    except rasa.RasaUnavailable as exc:
        # Not recorded means not sent: the customer must never see what the transcript lacks.
        raise ApiError(502, f"rasa unreachable or refused the message: {exc}") from None
    message = {"type": "message", "role": "agent", "agent": agent, "text": text, "at": time.time()}
    published = True
    try:
        await request.app[HUB_KEY].publish(conversation_id, message)
    except HubError as exc:
        published = False
        log.warning("conversation %s: agent message recorded but not pushed live: %s", conversation_id, exc)
    return web.json_response(
        {"conversation_id": conversation_id, "message": {**message, "conversation_id": conversation_id}, "published": published},
        status=201,
    )
