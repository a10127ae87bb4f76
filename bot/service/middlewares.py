"""Errors as JSON, and auth for everything but the public routes.

Who may call what:

* public: ``/health``, the customer's web chat under ``/chat``, and the console's sign-in
  page ``/console/login``;
* ``/api/...`` (and any other path): the bearer token (``AGENT_API_TOKEN``) **or** a console
  session; with a session, a state-changing request must carry the session's CSRF token in
  ``X-CSRF-Token`` (403 otherwise), and an ``agent`` named in the body must be the signed-in
  agent (403; left out, it is filled in);
* ``/console/...``: a console session only (pages redirect to the sign-in page, everything
  else is 401), and the CSRF token on every state-changing request.
"""
from __future__ import annotations

import contextvars
import hmac
import logging
from typing import Awaitable, Callable, Optional
from urllib.parse import urlencode

from aiohttp import web

from bot.service.console.auth import csrf_ok, session_of
from bot.service.typedefs import CONFIG_KEY

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Route names that need no token. Everything else is denied by default, so a
# route added later cannot be exposed by forgetting a check.
PUBLIC_ROUTES = frozenset({"health", "console_login", "console_login_post"})
# ... plus the customer's web chat (bot.service.webchat): routes registered under this prefix.
PUBLIC_PREFIX = "/chat"
CONSOLE_PREFIX = "/console"
# Console routes that are not pages: without a session they answer 401, not a redirect.
CONSOLE_NON_PAGES = frozenset({"console_ws", "console_static"})
LOGIN_PATH = "/console/login"
# Methods that change nothing; every other one (not only POST/PUT/PATCH/DELETE: any method a
# client makes up) needs the session's CSRF token.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# The console session of the request being handled (None for bearer-token calls): views read
# it to know who acts. Set and reset around each request by auth_middleware.
CURRENT_SESSION: "contextvars.ContextVar[Optional[object]]" = contextvars.ContextVar("console_session", default=None)

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


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def _bearer_ok(request: web.Request) -> bool:
    expected = (request.app[CONFIG_KEY].token or "").encode()
    given = _bearer(request)
    # An unset token must never match an empty header, hence the explicit check.
    return bool(expected and given and hmac.compare_digest(given, expected))


async def _as_session(session, request: web.Request, handler: Handler) -> web.StreamResponse:
    token = CURRENT_SESSION.set(session)
    try:
        return await handler(request)
    finally:
        CURRENT_SESSION.reset(token)


def _login_redirect(request: web.Request) -> web.Response:
    target = request.rel_url.path_qs if request.method in ("GET", "HEAD") else CONSOLE_PREFIX
    return web.Response(status=303, headers={"Location": f"{LOGIN_PATH}?{urlencode({'next': target})}",
                                             "Cache-Control": "no-store"})


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = request.match_info.route
    resource = getattr(route, "resource", None)
    if resource is not None and resource.name in PUBLIC_ROUTES:
        return await handler(request)
    # Decided by the route that will handle the request (its registered path), not by the
    # raw path; an unmatched /chat/... request only reaches the 404/405 handler.
    path = resource.canonical if resource is not None else request.path
    if _under(path, PUBLIC_PREFIX):
        return await handler(request)
    unsafe = request.method not in SAFE_METHODS
    if _under(path, CONSOLE_PREFIX):
        session = await session_of(request)
        if session is None:
            is_page = resource is None or resource.name not in CONSOLE_NON_PAGES
            if is_page and request.method in ("GET", "HEAD"):
                return _login_redirect(request)
            return error_response(401, "sign in to the console first")
        if unsafe and not await csrf_ok(request, session, allow_form=True):
            return error_response(403, "missing or invalid CSRF token")
        return await _as_session(session, request, handler)
    if _bearer_ok(request):
        return await handler(request)
    session = await session_of(request)
    if session is not None:
        if unsafe and not await csrf_ok(request, session, allow_form=False):
            return error_response(403, "missing or invalid CSRF token")
        return await _as_session(session, request, handler)
    return error_response(401, "missing or invalid bearer token", {"WWW-Authenticate": "Bearer"})
