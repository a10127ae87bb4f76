"""Wiring: routes, and the console's state opened and closed with the app."""
from __future__ import annotations

import logging
import weakref
from typing import AsyncIterator

from aiohttp import web

from bot.agent_api.config import CONFIG_KEY, STORE_KEY
from bot.console import api, views
from bot.console.config import ConsoleConfig
from bot.console.keys import (
    CHECKS_KEY, CONSOLE_KEY, CONSOLE_SOCKETS_KEY, FEED_KEY, SESSIONS_KEY, THROTTLE_KEY, WEBHOOK_KEY,
)
from bot.console.live import Feed
from bot.console.outbox import open_outbox
from bot.console.present import decorate
from bot.console.sessions import MemorySessionStore, RedisSessionStore
from bot.console.throttle import PasswordChecks, open_throttle
from bot.console.webhook import WebhookDelivery

log = logging.getLogger(__name__)


def setup_console(app: web.Application) -> None:
    config = app[CONFIG_KEY].console
    app[CONSOLE_KEY] = config if config is not None else ConsoleConfig.from_env()
    app[CONSOLE_SOCKETS_KEY] = weakref.WeakSet()
    app.on_shutdown.append(views.close_sockets)
    app.cleanup_ctx.append(console_ctx)
    setup_routes(app)


def setup_routes(app: web.Application) -> None:
    r = app.router
    # Public: only the sign-in page (see bot.agent_api.middlewares.PUBLIC_ROUTES).
    r.add_get("/console/login", views.login_page, name="console_login")
    r.add_post("/console/login", views.login_post, name="console_login_post")
    # Session required (pages redirect to sign-in; the socket and static files answer 401).
    r.add_post("/console/logout", views.logout, name="console_logout")
    r.add_get("/console", views.home, name="console_home")
    r.add_get("/console/", views.home_slash, name="console_home_slash")
    r.add_get("/console/tickets", views.tickets_page, name="console_tickets")
    r.add_get("/console/tickets/{ticket_id}", views.ticket_page, name="console_ticket")
    r.add_get("/console/calls/{call_sid}", views.call_page, name="console_call")
    r.add_get("/console/callbacks", views.callbacks_page, name="console_callbacks")
    r.add_get("/console/static/{name}", views.static_file, name="console_static")
    r.add_get("/console/ws", views.live, name="console_ws")
    # API additions (bearer token or session + CSRF, like all of /api).
    r.add_get("/api/tickets/{ticket_id}/conversation", api.conversation, name="ticket_conversation")
    r.add_post("/api/callbacks/{ticket_id}/attempt", api.callback_attempt, name="callback_attempt")
    r.add_post("/api/callbacks/{ticket_id}/call", api.callback_call, name="callback_call")


async def console_ctx(app: web.Application) -> AsyncIterator[None]:
    config: ConsoleConfig = app[CONSOLE_KEY]
    api_config = app[CONFIG_KEY]
    if not config.accounts:
        log.warning("console: no accounts configured (AGENT_ACCOUNTS_FILE / AGENT_ACCOUNTS): nobody can sign in")
    redis_url = api_config.redis_url
    prefix = api_config.redis_key_prefix or "complaints:"
    if redis_url:
        sessions = RedisSessionStore(redis_url, prefix, config.session_ttl, config.session_max_age)
    else:
        sessions = MemorySessionStore(config.session_ttl, config.session_max_age)
    throttle = open_throttle(config, redis_url, prefix)
    app[SESSIONS_KEY] = sessions
    app[THROTTLE_KEY] = throttle
    app[CHECKS_KEY] = PasswordChecks(config.login_hash_concurrency, config.login_hash_queue)

    store = app[STORE_KEY]
    webhook = None
    if config.webhook_url and not config.webhook_secret:
        log.error("TICKETING_WEBHOOK_URL is set but TICKETING_WEBHOOK_SECRET is not: the webhook stays off "
                  "(hand-offs are only sent signed)")
    elif config.webhook_enabled:
        webhook = WebhookDelivery(open_outbox(store), config.webhook_url, config.webhook_secret,
                                  timeout=config.webhook_timeout, retry_base=config.webhook_retry_base,
                                  retry_max=config.webhook_retry_max)
        webhook.start()
        log.info("ticketing webhook: delivering hand-offs to %s", config.webhook_url)
    app[WEBHOOK_KEY] = webhook

    feed = Feed(store, lambda kind, tickets: decorate(kind, tickets, config.catalog_path),
                poll_interval=config.poll_interval, webhook=webhook, catchup_hours=config.webhook_catchup_hours)
    await feed.start()
    app[FEED_KEY] = feed
    try:
        yield
    finally:
        await feed.close()
        if webhook is not None:
            await webhook.close()
        await sessions.close()
        await throttle.close()
