"""Typed keys under which the console keeps its state on the aiohttp app."""
from __future__ import annotations

from aiohttp import web

from bot.console.config import ConsoleConfig
from bot.console.sessions import SessionStore
from bot.console.throttle import LoginThrottle, PasswordChecks

CONSOLE_KEY = web.AppKey("console_config", ConsoleConfig)
SESSIONS_KEY = web.AppKey("console_sessions", SessionStore)
THROTTLE_KEY = web.AppKey("console_throttle", LoginThrottle)
CHECKS_KEY = web.AppKey("console_password_checks", PasswordChecks)
FEED_KEY = web.AppKey("console_feed", object)        # bot.console.live.Feed
WEBHOOK_KEY = web.AppKey("console_webhook", object)  # bot.console.webhook.WebhookDelivery or None
CONSOLE_SOCKETS_KEY = web.AppKey("console_sockets", object)  # weakref.WeakSet of WebSocketResponse
