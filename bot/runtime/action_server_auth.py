"""The action server refuses every call without the shared secret (ACTION_SERVER_TOKEN).

Whoever can call `/webhook` runs any action with any slots, and the actions write tickets:
so the Rasa server sends `Authorization: Bearer <token>` with every action call
(`action_endpoint.headers` in endpoints*.yml) and the action server answers 401 to any
request without it. A header, not Rasa's `token:` query parameter, so the secret is never
part of a URL (access logs, proxies). Only `GET /health` stays open, for health checks.
"""
from __future__ import annotations

import hmac
import logging
from typing import Any, Optional

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

PUBLIC_PATHS = frozenset({"/health"})


def authorized(header: Optional[str], token: str) -> bool:
    """Timing-safe check of an `Authorization` header against the token."""
    if not token or not header:
        return False
    return hmac.compare_digest(header.encode(), f"Bearer {token}".encode())


def install(app: Any, token: str) -> None:
    """Adds the check to a Sanic app (rasa_sdk.endpoint.create_app's) as request middleware."""
    if not token:
        raise ValueError("the action server needs a token")

    async def require_token(request: Request) -> Optional[HTTPResponse]:
        if request.path in PUBLIC_PATHS and request.method in ("GET", "HEAD"):
            return None
        if authorized(request.headers.get("Authorization"), token):
            return None
        logger.warning("action server: refused %s %s without a valid token", request.method, request.path)
        return response.json({"error": "missing or wrong bearer token"}, status=401)

    app.register_middleware(require_token, "request")
