"""Errors as JSON, and bearer-token auth for everything but the public routes."""
from __future__ import annotations

import hmac
import logging
from typing import Awaitable, Callable

from aiohttp import web

from bot.agent_api.config import CONFIG_KEY

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Route names that need no token. Everything else is denied by default, so a
# route added later cannot be exposed by forgetting a check.
PUBLIC_ROUTES = frozenset({"health"})
# ... plus the customer's web chat (bot.webchat): routes registered under this prefix.
PUBLIC_PREFIX = "/chat"

# Headers of an HTTPException worth keeping on the JSON reply (e.g. Allow on 405).
_KEEP_HEADERS = ("Allow", "WWW-Authenticate")


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str, headers=None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects etc. are not errors
        headers = {h: exc.headers[h] for h in _KEEP_HEADERS if h in exc.headers}
        return error_response(exc.status, (exc.reason or "error").lower(), headers)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal error")


def _bearer(request: web.Request) -> bytes:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip().encode() if scheme.lower() == "bearer" else b""


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = request.match_info.route
    resource = getattr(route, "resource", None)
    if resource is not None and resource.name in PUBLIC_ROUTES:
        return await handler(request)
    # Decided by the route that will handle the request (its registered path), not by the
    # raw path; an unmatched /chat/... request only reaches the 404/405 handler.
    path = resource.canonical if resource is not None else request.path
    if path == PUBLIC_PREFIX or path.startswith(PUBLIC_PREFIX + "/"):
        return await handler(request)
    expected = (request.app[CONFIG_KEY].token or "").encode()
    given = _bearer(request)
    # An unset token must never match an empty header, hence the explicit check.
    if not expected or not given or not hmac.compare_digest(given, expected):
        return error_response(401, "missing or invalid bearer token", {"WWW-Authenticate": "Bearer"})
    return await handler(request)
