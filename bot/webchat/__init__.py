"""The customer half of web chat, served by the agent service.

Public (no token): ``GET /chat`` (the page and its two static files), ``POST /chat/api/messages``,
``GET /chat/api/history``, ``GET /chat/ws``. Bearer-protected: ``POST
/api/conversations/{conversation_id}/messages`` (an agent writes into a conversation).

``create_app`` calls ``setup_webchat(app)`` and opens the hub with ``hub_ctx`` (in-memory,
or Redis pub/sub when REDIS_URL is set so several agent-service processes can serve chats).
"""
from __future__ import annotations

import weakref

from aiohttp import web

from bot.webchat import views
from bot.webchat.hub import HUB_KEY, Hub, InMemoryHub, RedisHub, hub_ctx, open_hub

__all__ = ["setup_webchat", "hub_ctx", "HUB_KEY", "Hub", "InMemoryHub", "RedisHub", "open_hub"]


def setup_webchat(app: web.Application) -> None:
    app[views.WEBSOCKETS_KEY] = weakref.WeakSet()
    app.on_shutdown.append(views.close_websockets)
    router = app.router
    # Everything under /chat is public (see bot.agent_api.middlewares); keep it that way
    # only for what a customer's browser needs.
    router.add_get("/chat", views.chat_page, name="webchat_page")
    router.add_get("/chat/", views.chat_page_slash, name="webchat_page_slash")
    router.add_get("/chat/static/{name}", views.static_file, name="webchat_static")
    router.add_post("/chat/api/messages", views.post_message, name="webchat_messages")
    router.add_get("/chat/api/history", views.history, name="webchat_history")
    router.add_get("/chat/ws", views.websocket, name="webchat_ws")
    router.add_post("/api/conversations/{conversation_id}/messages", views.agent_message, name="conversation_messages")
