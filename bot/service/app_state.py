"""Shared state opened with the app and closed with it (the ticket store, the web chat's hub)."""
from __future__ import annotations

import logging
from typing import Any, AsyncIterator, Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)


def opened_with_app(key: "web.AppKey[Any]", open_it: Callable[[web.Application], Awaitable[Any]],
                    what: str) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx that puts what `open_it` opens under `key` for the app's lifetime and
    closes it at cleanup (after on_shutdown has closed the sockets that use it). One put there
    beforehand (tests, embedding in another process) is used as is: whoever made it closes it."""
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        if key in app:
            yield
            return
        value = await open_it(app)
        app[key] = value
        log.info("%s: %s", what, type(value).__name__)
        try:
            yield
        finally:
            await value.close()

    return ctx
