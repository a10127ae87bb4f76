"""The chat page's WebSocket (/chat/ws, with the conversation cookie): pushes what is
published for its conversation (agent messages, status) to the page."""
from __future__ import annotations

import asyncio

from aiohttp import WSCloseCode, WSMsgType, web

from bot.service.browser import close_sockets
from bot.service.middlewares import ApiError
from bot.service.typedefs import HUB_KEY, LIMITS_KEY, WEBSOCKETS_KEY
from bot.service.webchat.hub import Subscription
from bot.service.webchat.request_checks import check_origin, cookie_conversation, too_many


async def websocket(request: web.Request) -> web.StreamResponse:
    """Pushes what is published for this conversation (agent messages, status) to the page."""
    ws = web.WebSocketResponse(heartbeat=25.0)
    if not ws.can_prepare(request).ok:
        raise ApiError(400, "expected a WebSocket upgrade")
    check_origin(request)
    conversation_id = cookie_conversation(request)
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
    await close_sockets(app[WEBSOCKETS_KEY])
