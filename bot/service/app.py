"""The agent service as one aiohttp application: the agent API, the console and the web chat.

`create_app(config)` puts the settings on the app, opens the shared state with the app
(ticket store, the HTTP session for Rasa; the web chat's hub and the console's feed in their
own setup) and adds the whole URL table (bot/service/routes.py).
"""
from __future__ import annotations

import logging
from typing import Any, AsyncIterator, Mapping, Union

import aiohttp
from aiohttp import web

from bot.service.app_state import opened_with_app
from bot.service.config import AgentApiConfig
from bot.service.console.app import setup_console
from bot.service.middlewares import auth_middleware, error_middleware
from bot.service.routes import setup_routes
from bot.service.typedefs import CONFIG_KEY, HTTP_KEY, STORE_KEY
from bot.service.webchat.app import setup_webchat
from bot.tickets import TicketStore, open_store

log = logging.getLogger(__name__)


async def _open_store(app: web.Application) -> TicketStore:
    config = app[CONFIG_KEY]
    return open_store(url=config.redis_url, sqlite_path=config.sqlite_path, prefix=config.ticket_ids.prefix,
                      key_prefix=config.redis_key_prefix)


store_ctx = opened_with_app(STORE_KEY, _open_store, "agent API store")


async def http_ctx(app: web.Application) -> AsyncIterator[None]:
    # One session for all calls to Rasa, so connections are pooled.
    async with aiohttp.ClientSession() as session:
        app[HTTP_KEY] = session
        yield


def create_app(config: Union[AgentApiConfig, Mapping[str, Any], None] = None) -> web.Application:
    """Build the app. `config`: the settings, or a mapping overriding the environment's (see AgentApiConfig)."""
    app = web.Application(middlewares=[error_middleware, auth_middleware])
    app[CONFIG_KEY] = AgentApiConfig.build(config)
    if app[CONFIG_KEY].store is not None:
        app[STORE_KEY] = app[CONFIG_KEY].store  # already open: the app neither opens nor closes it
    if not app[CONFIG_KEY].token:
        log.warning("AGENT_API_TOKEN is not set: every /api request will be refused")
    app.cleanup_ctx.append(store_ctx)
    app.cleanup_ctx.append(http_ctx)
    setup_webchat(app)
    setup_console(app)  # after the store and the web chat's hub: the console's context uses both
    setup_routes(app)
    return app
