"""The console's live socket (/console/ws): the queue, the callback list and, with
?ticket_id=, that ticket and its conversation as it happens (what the customer writes, and
agents' replies)."""
from __future__ import annotations

import asyncio
import time
from typing import Any, Dict, Optional
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, WSMsgType, web

from bot.service import rasa_client
from bot.service.console.login_sessions import Session
from bot.service.middlewares import CURRENT_SESSION, ApiError
from bot.service.request_input import valid_ticket_id
from bot.service.typedefs import CONSOLE_KEY, CONSOLE_SOCKETS_KEY, FEED_KEY, HUB_KEY, SESSIONS_KEY, STORE_KEY
from bot.service.webchat import transcript

SESSION_CHECK = 15.0
SIGNED_OUT = 4401  # close code: the page goes to the sign-in page


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser (browsers always send Origin on WebSocket handshakes)
    return urlsplit(origin).netloc == request.host


async def live(request: web.Request) -> web.StreamResponse:
    """Pushes the queue, the callback list and (with ?ticket_id=) that ticket and its
    conversation's live messages: what the customer writes, and agents' replies."""
    if not _same_origin(request):
        raise ApiError(403, "cross-origin WebSocket refused")
    ticket_id = request.query.get("ticket_id") or None
    if ticket_id is not None:
        ticket_id = valid_ticket_id(request.app, ticket_id)
    ws = web.WebSocketResponse(heartbeat=25.0)
    if not ws.can_prepare(request).ok:
        raise ApiError(400, "expected a WebSocket upgrade")
    session: Session = CURRENT_SESSION.get()  # type: ignore[assignment]
    feed = request.app[FEED_KEY]
    sockets = request.app[CONSOLE_SOCKETS_KEY]
    async with feed.listen(ticket_id) as listener:
        await ws.prepare(request)
        sockets.add(ws)
        tasks = []
        close_code = None
        try:
            await ws.send_json({"type": "hello", "user": session.public(), "poll_interval": feed.poll_interval,
                                "calls_enabled": request.app[CONSOLE_KEY].calls_enabled})
            for message in await feed.current(ticket_id):
                await ws.send_json(message)
            # Whichever ends first ends the socket: the page closing it, the feed ending
            # (shutdown, or this page fell behind: it reconnects and resyncs), the session ending.
            enders = [asyncio.create_task(_read(ws)), asyncio.create_task(_forward(listener, ws)),
                      asyncio.create_task(_end_with_session(request, session))]
            tasks.extend(enders)
            if ticket_id is not None:
                ticket = await request.app[STORE_KEY].get(ticket_id)
                if ticket is not None and ticket.get("conversation_id"):
                    tasks.append(asyncio.create_task(_relay_conversation(request.app, str(ticket["conversation_id"]), ws)))
            done, _ = await asyncio.wait(enders, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if not task.cancelled() and task.exception() is None and task.result() is not None:
                    close_code = task.result()
        finally:
            sockets.discard(ws)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if close_code is not None and not ws.closed:
            await ws.close(code=close_code, message=b"signed out" if close_code == SIGNED_OUT else b"resynchronise")
    return ws


async def _read(ws: web.WebSocketResponse) -> None:
    """Anything from the page but a ping is ignored: actions go through /api."""
    async for msg in ws:
        if msg.type == WSMsgType.TEXT and msg.data == "ping":
            await ws.send_json({"type": "pong"})


async def _end_with_session(request: web.Request, session: Session) -> int:
    """A socket lives no longer than its session (signed out elsewhere, or expired)."""
    sessions = request.app[SESSIONS_KEY]
    while True:
        await asyncio.sleep(SESSION_CHECK)
        if not await sessions.alive(session.id):
            return SIGNED_OUT


async def _forward(listener, ws: web.WebSocketResponse) -> Optional[int]:
    try:
        async for message in listener:
            await ws.send_json(message)
    except (ConnectionResetError, RuntimeError):
        return None
    return WSCloseCode.TRY_AGAIN_LATER


async def _relay_conversation(app: web.Application, conversation_id: str, ws: web.WebSocketResponse) -> None:
    """The conversation as Rasa has it, then its live traffic from the web chat hub: the
    customer's messages (agents' feed) and what the customer's page receives (agent messages,
    status). Messages already in the snapshot are not sent twice."""
    hub = app[HUB_KEY]
    try:
        async with hub.subscribe_agents(conversation_id) as to_agents, hub.subscribe(conversation_id) as to_customer:
            try:
                shown = transcript.for_agents(transcript.from_tracker(await rasa_client.get_tracker(app, conversation_id)))
                snapshot_at = time.time()
                await ws.send_json({"type": "conversation", "conversation_id": conversation_id, **shown})
            except rasa_client.RasaUnavailable:
                shown, snapshot_at = {"messages": []}, 0.0
                await ws.send_json({"type": "conversation", "conversation_id": conversation_id, "messages": [],
                                    "error": "The conversation could not be loaded from the assistant."})
            recent = {(m.get("role"), m.get("text")) for m in shown.get("messages", [])[-20:]}
            queue: "asyncio.Queue[Dict[str, Any]]" = asyncio.Queue()

            async def pump(subscription) -> None:
                async for message in subscription:
                    await queue.put(message)

            pumps = [asyncio.create_task(pump(to_agents)), asyncio.create_task(pump(to_customer))]
            try:
                while True:
                    message = await queue.get()
                    at = message.get("at") if isinstance(message.get("at"), (int, float)) else time.time()
                    if at <= snapshot_at and (message.get("role"), message.get("text")) in recent:
                        continue
                    if message.get("type") in ("message", "status"):
                        await ws.send_json({**message, "live": True})
            finally:
                for task in pumps:
                    task.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
    except (ConnectionResetError, RuntimeError):
        return
