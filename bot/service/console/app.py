"""The console's state on the app, opened and closed with it (its URLs: bot/service/routes.py)."""
from __future__ import annotations

import logging
import weakref
from typing import AsyncIterator

from aiohttp import web

from bot.service.browser import close_sockets
from bot.service.console.live import Feed
from bot.service.console.login_sessions import MemorySessionStore, RedisSessionStore
from bot.service.console.outbox import open_outbox
from bot.service.console.present import decorate
from bot.service.console.throttle import PasswordChecks, open_throttle
from bot.service.console.ticket_webhook import WebhookDelivery
from bot.service.typedefs import (
    CHECKS_KEY, CONFIG_KEY, CONSOLE_KEY, CONSOLE_SOCKETS_KEY, FEED_KEY, SESSIONS_KEY, STORE_KEY, THROTTLE_KEY, WEBHOOK_KEY,
)

log = logging.getLogger(__name__)


def setup_console(app: web.Application) -> None:
    app[CONSOLE_KEY] = app[CONFIG_KEY].console
    app[CONSOLE_SOCKETS_KEY] = weakref.WeakSet()
    app.on_shutdown.append(close_console_sockets)
    app.cleanup_ctx.append(console_ctx)


async def close_console_sockets(app: web.Application) -> None:
    await close_sockets(app[CONSOLE_SOCKETS_KEY])


async def console_ctx(app: web.Application) -> AsyncIterator[None]:
    api_config = app[CONFIG_KEY]
    config = app[CONSOLE_KEY]
    if not config.accounts:
        log.warning("console: no accounts configured (AGENT_ACCOUNTS_FILE / AGENT_ACCOUNTS): nobody can sign in")
    redis_url, prefix = api_config.redis_url, api_config.key_prefix
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

    feed = Feed(store, lambda kind, tickets: decorate(kind, tickets, api_config.catalog()),
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
