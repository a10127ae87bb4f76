"""Application factory for the agent API."""
from __future__ import annotations

import logging
from typing import Any, AsyncIterator, Mapping, Union

import aiohttp
from aiohttp import web

from bot.agent_api.config import CONFIG_KEY, HTTP_KEY, STORE_KEY, AgentApiConfig
from bot.agent_api.middlewares import auth_middleware, error_middleware
from bot.agent_api.routes import setup_routes
from bot.console import setup_console
from bot.tickets import open_store
from bot.webchat import hub_ctx, setup_webchat

log = logging.getLogger(__name__)


async def store_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG_KEY]
    if config.store is not None:
        app[STORE_KEY] = config.store
        yield
        return
    store = open_store(
        url=config.redis_url,
        sqlite_path=config.sqlite_path,
        prefix=config.ticket_prefix,
        key_prefix=config.redis_key_prefix,
    )
    app[STORE_KEY] = store
    log.info("agent API using %s", type(store).__name__)
    try:
        yield
    finally:
        await store.close()


async def http_ctx(app: web.Application) -> AsyncIterator[None]:
    # One session for all calls to Rasa, so connections are pooled.
    async with aiohttp.ClientSession() as session:
        app[HTTP_KEY] = session
        yield


def create_app(config: Union[AgentApiConfig, Mapping[str, Any], None] = None) -> web.Application:
    """Build the app. `config` overrides the environment (see AgentApiConfig)."""
    app = web.Application(middlewares=[error_middleware, auth_middleware])
    app[CONFIG_KEY] = AgentApiConfig.build(config)
    if not app[CONFIG_KEY].token:
        log.warning("AGENT_API_TOKEN is not set: every /api request will be refused")
    app.cleanup_ctx.append(store_ctx)
    app.cleanup_ctx.append(http_ctx)
    app.cleanup_ctx.append(hub_ctx)
    setup_routes(app)
    setup_webchat(app)
    setup_console(app)  # after the store and hub contexts: the console's context uses both
    return app
