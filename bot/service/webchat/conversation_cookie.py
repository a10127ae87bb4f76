"""The per-conversation secret: an HttpOnly cookie the server issues with the conversation.

Value ``{conversation_id}.{expires}.{signature}``: HMAC-SHA256 over the id and the expiry
with the web chat key (bot/service/webchat/config.py). Whoever holds the cookie is the customer of
that conversation; the id alone (shown to agents, in ticket data) opens nothing. Nothing is
stored server-side, so every agent-service process accepts every cookie.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
import uuid
from typing import Optional

from aiohttp import web

COOKIE = "chat_conversation"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _signature(key: bytes, conversation_id: str, expires: int) -> str:
    mac = hmac.new(key, f"chat-conversation:{conversation_id}.{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def new_conversation_id() -> str:
    return str(uuid.uuid4())


def issue(key: bytes, conversation_id: str, max_age: int, now: Optional[float] = None) -> str:
    expires = int((now if now is not None else time.time()) + max_age)
    return f"{conversation_id}.{expires}.{_signature(key, conversation_id, expires)}"


def verify(key: bytes, value: Optional[str], now: Optional[float] = None) -> Optional[str]:
    """The conversation id the cookie proves, or None (missing, malformed, forged, expired)."""
    parts = (value or "").split(".")
    if len(parts) != 3 or not _UUID.fullmatch(parts[0]) or not parts[1].isdigit():
        return None
    conversation_id, expires, signature = parts[0], int(parts[1]), parts[2]
    if not hmac.compare_digest(signature.encode(), _signature(key, conversation_id, expires).encode()):
        return None
    if expires < (now if now is not None else time.time()):
        return None
    return conversation_id


def set_cookie(response: web.StreamResponse, value: str, max_age: int, secure: bool) -> None:
    # Path=/: the page works behind a path prefix, so the cookie cannot name the chat's path.
    response.set_cookie(COOKIE, value, path="/", max_age=max_age, httponly=True, samesite="Strict", secure=secure)
