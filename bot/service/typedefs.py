"""Every typed key under which the agent service keeps state on its aiohttp app, in one place
(the aiohttp-demos layout).

At run time this module imports nothing but aiohttp: the value types are only for the type
checker, so any part of the service (API, console, web chat, middleware) can import its keys
without importing, or cycling through, the modules that fill them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from aiohttp import web

if TYPE_CHECKING:
    import weakref

    import aiohttp

    from bot.service.config import AgentApiConfig
    from bot.service.console.config import ConsoleConfig
    from bot.service.console.live import Feed
    from bot.service.console.login_sessions import SessionStore
    from bot.service.console.throttle import LoginThrottle, PasswordChecks
    from bot.service.console.ticket_webhook import WebhookDelivery
    from bot.service.webchat.client_limits import ClientLimits
    from bot.service.webchat.config import WebchatConfig
    from bot.service.webchat.hub import Hub
    from bot.tickets import TicketStore

# -- the service ----------------------------------------------------------------------------
CONFIG_KEY: "web.AppKey[AgentApiConfig]" = web.AppKey("config")
STORE_KEY: "web.AppKey[TicketStore]" = web.AppKey("store")
HTTP_KEY: "web.AppKey[aiohttp.ClientSession]" = web.AppKey("http")  # one pooled session for Rasa

# -- the console ----------------------------------------------------------------------------
CONSOLE_KEY: "web.AppKey[ConsoleConfig]" = web.AppKey("console_config")
SESSIONS_KEY: "web.AppKey[SessionStore]" = web.AppKey("console_sessions")
THROTTLE_KEY: "web.AppKey[LoginThrottle]" = web.AppKey("console_throttle")
CHECKS_KEY: "web.AppKey[PasswordChecks]" = web.AppKey("console_password_checks")
FEED_KEY: "web.AppKey[Feed]" = web.AppKey("console_feed")
WEBHOOK_KEY: "web.AppKey[Optional[WebhookDelivery]]" = web.AppKey("console_webhook")  # None: not configured
CONSOLE_SOCKETS_KEY: "web.AppKey[weakref.WeakSet[web.WebSocketResponse]]" = web.AppKey("console_sockets")

# -- the web chat ---------------------------------------------------------------------------
WEBCHAT_KEY: "web.AppKey[WebchatConfig]" = web.AppKey("webchat_config")
COOKIE_KEY_KEY: "web.AppKey[bytes]" = web.AppKey("webchat_cookie_key")  # signs conversation cookies
LIMITS_KEY: "web.AppKey[ClientLimits]" = web.AppKey("webchat_client_limits")
HUB_KEY: "web.AppKey[Hub]" = web.AppKey("webchat_hub")
WEBSOCKETS_KEY: "web.AppKey[weakref.WeakSet[web.WebSocketResponse]]" = web.AppKey("webchat_websockets")
