"""The customer half of web chat, served by the agent service.

Public (no token): ``GET /chat`` (the page and its two static files), ``POST
/chat/api/conversations`` (issues a conversation and its cookie), and, with that cookie,
``POST /chat/api/messages``, ``GET /chat/api/history``, ``GET /chat/ws``. Bearer-protected: ``POST
/api/conversations/{conversation_id}/messages`` (an agent writes into a conversation).

``create_app`` calls ``setup_webchat(app)`` and opens the hub with ``hub_ctx`` (in-memory,
or Redis pub/sub when REDIS_URL is set so several agent-service processes can serve chats).
"""
from __future__ import annotations

import logging
import secrets
import weakref

from aiohttp import web

from bot.webchat import views
from bot.webchat.client_limits import LIMITS_KEY, ClientLimits
from bot.webchat.config import WebchatConfig, derive_key
from bot.webchat.hub import HUB_KEY, Hub, InMemoryHub, RedisHub, hub_ctx, open_hub

__all__ = ["setup_webchat", "hub_ctx", "HUB_KEY", "Hub", "InMemoryHub", "RedisHub", "open_hub"]


log = logging.getLogger(__name__)


def setup_webchat(app: web.Application) -> None:
    from bot.agent_api.config import CONFIG_KEY

    api_config = app[CONFIG_KEY]
    config = api_config.webchat if api_config.webchat is not None else WebchatConfig.from_env()
    app[views.WEBCHAT_KEY] = config
    if config.secret:
        app[views.KEY_KEY] = config.secret
    elif api_config.token:
        app[views.KEY_KEY] = derive_key(api_config.token)
    else:
        # Chats then last as long as this process (and are not shared with another one).
        log.warning("web chat: neither CHAT_SECRET nor AGENT_API_TOKEN is set; conversation cookies use a random key")
        app[views.KEY_KEY] = secrets.token_bytes(32)
    app[LIMITS_KEY] = ClientLimits(config)
    if not config.client_limits:
        log.warning("web chat: per-client limits are off (CLIENT_LIMITS=off)")
    app[views.WEBSOCKETS_KEY] = weakref.WeakSet()
    app.on_shutdown.append(views.close_websockets)
    router = app.router
    # Everything under /chat is public (see bot.agent_api.middlewares); keep it that way
    # only for what a customer's browser needs.
    router.add_get("/chat", views.chat_page, name="webchat_page")
    router.add_get("/chat/", views.chat_page_slash, name="webchat_page_slash")
    router.add_get("/chat/static/{name}", views.static_file, name="webchat_static")
    router.add_post("/chat/api/conversations", views.new_conversation, name="webchat_conversations")
    router.add_post("/chat/api/messages", views.post_message, name="webchat_messages")
    router.add_get("/chat/api/history", views.history, name="webchat_history")
    router.add_get("/chat/ws", views.websocket, name="webchat_ws")
    router.add_post("/api/conversations/{conversation_id}/messages", views.agent_message, name="conversation_messages")
