"""Who is asking the public web chat, checked on every customer request: a browser's Origin
must be the service's own or a configured one (403 otherwise), and the HttpOnly conversation
cookie (bot/service/webchat/conversation_cookie.py) names the conversation (401 without it;
ids are never taken from a query string)."""
from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.service.middlewares import ApiError
from bot.service.typedefs import COOKIE_KEY_KEY, WEBCHAT_KEY
from bot.service.webchat import conversation_cookie

MAX_BODY = 16 * 1024  # any web chat request's body, the agents' messages to a customer included
NO_CONVERSATION = "no chat conversation: start one with POST chat/api/conversations"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def chat_conversation_id(value: Any) -> str:
    """The browser makes the id (crypto.randomUUID()); only a UUID is accepted, so the
    public endpoints cannot reach conversations of other channels."""
    if not isinstance(value, str) or not _UUID.fullmatch(value.strip().lower()):
        raise ApiError(400, "'conversation_id' must be a UUID")
    return value.strip().lower()


def origin_allowed(request: web.Request) -> bool:
    """A browser's request (it always sends Origin on WebSockets and POSTs) must come from
    this service's own origin or a configured one. No Origin: not a browser, so no victim's
    cookie rides along; the cookie check still applies. Scheme-blind for the own host: behind
    a TLS-terminating proxy the service itself only sees http."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    origin = origin.strip().rstrip("/").lower()
    if origin in request.app[WEBCHAT_KEY].allowed_origins:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and parts.netloc == (request.host or "").lower()


def check_origin(request: web.Request) -> None:
    if not origin_allowed(request):
        raise ApiError(403, "this origin may not use the chat")


def cookie_conversation(request: web.Request) -> str:
    """The conversation the request's cookie proves (401 without a valid one)."""
    conversation_id = conversation_cookie.verify(request.app[COOKIE_KEY_KEY], request.cookies.get(conversation_cookie.COOKIE))
    if conversation_id is None:
        raise ApiError(401, NO_CONVERSATION)
    return conversation_id


def too_many(message: str, retry_after: float) -> web.Response:
    retry = max(1, math.ceil(retry_after))
    return web.json_response({"error": message, "retry_after": retry}, status=429, headers={"Retry-After": str(retry)})
