"""The web chat's state on the app, opened and closed with it (its URLs: bot/service/routes.py).

Kept out of the package's __init__ so that importing one web chat module (its settings, for
the service's configuration) does not import all of them.
"""
from __future__ import annotations

import logging
import secrets
import weakref

from aiohttp import web

from bot.service.typedefs import CONFIG_KEY, COOKIE_KEY_KEY, LIMITS_KEY, WEBCHAT_KEY, WEBSOCKETS_KEY
from bot.service.webchat.client_limits import ClientLimits
from bot.service.webchat.config import derive_key
from bot.service.webchat.hub import hub_ctx
from bot.service.webchat.live_socket import close_websockets

log = logging.getLogger(__name__)


def setup_webchat(app: web.Application) -> None:
    api_config = app[CONFIG_KEY]
    config = api_config.webchat
    app[WEBCHAT_KEY] = config
    if config.secret:
        app[COOKIE_KEY_KEY] = config.secret
    elif api_config.token:
        app[COOKIE_KEY_KEY] = derive_key(api_config.token)
    else:
        # Chats then last as long as this process (and are not shared with another one).
        log.warning("web chat: neither CHAT_SECRET nor AGENT_API_TOKEN is set; conversation cookies use a random key")
        app[COOKIE_KEY_KEY] = secrets.token_bytes(32)
    app[LIMITS_KEY] = ClientLimits(config)
    if not config.client_limits:
        log.warning("web chat: per-client limits are off (CLIENT_LIMITS=off)")
    app[WEBSOCKETS_KEY] = weakref.WeakSet()
    app.on_shutdown.append(close_websockets)
    app.cleanup_ctx.append(hub_ctx)
