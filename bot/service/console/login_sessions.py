"""Server-side console sessions (the sign-in throttle is bot.service.console.throttle).

The browser holds only a random session id (cookie ``console_session``: HttpOnly,
SameSite=Strict, Path=/, Secure unless CONSOLE_COOKIE_SECURE=0 on a plain-http local run).
The server keeps ``{name, role, csrf, created}`` under it, in memory or (with REDIS_URL) in
Redis so several agent-service processes share them. Redis keys hold a SHA-256 of the id,
not the id, so reading Redis does not yield a usable cookie. A session ends after
CONSOLE_SESSION_TTL seconds without use, and CONSOLE_SESSION_MAX_AGE seconds after sign-in
however much it is used (a stolen cookie does not live forever by being kept busy).

The CSRF token is a per-session synchronizer token: pages carry it (a hidden form field, a
<meta> tag for fetch(), sent back as ``X-CSRF-Token``), and every state-changing request
made with a session must present it (which requests those are: bot/service/middlewares.py).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Dict, Optional, Tuple

from aiohttp import web

COOKIE = "console_session"
LOGIN_COOKIE = "console_login"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "_csrf"


@dataclass
class Session:
    id: str
    name: str
    role: str
    csrf: str
    created: float

    @property
    def is_specialist(self) -> bool:
        return self.role == "specialist"

    def public(self) -> Dict[str, str]:
        return {"name": self.name, "role": self.role}


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def tokens_equal(given: Optional[str], expected: Optional[str]) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


class SessionStore:
    """Memory or Redis; sliding expiry of `ttl` seconds, never beyond `max_age` after sign-in."""

    def __init__(self, ttl: float, max_age: float = 12 * 3600.0) -> None:
        self.ttl = ttl
        self.max_age = max_age

    async def create(self, name: str, role: str) -> Session:
        session = Session(id=secrets.token_urlsafe(32), name=name, role=role,
                          csrf=secrets.token_urlsafe(32), created=time.time())
        await self._put(session)
        return session

    def _left(self, session: Session) -> float:
        """Seconds until the session's absolute end (<= 0: over)."""
        return session.created + self.max_age - time.time()

    def _expiry(self, session: Session) -> float:
        """How long to keep it now: the idle timeout, cut short by the absolute end."""
        return min(self.ttl, self._left(session))

    async def get(self, session_id: Optional[str]) -> Optional[Session]:
        if not session_id or len(session_id) > 128:
            return None
        session = await self._get(session_id)
        if session is not None and self._left(session) <= 0:
            await self.delete(session_id)
            return None
        return session

    async def alive(self, session_id: str) -> bool:
        """Whether the session still exists (and is within its lifetime), without extending it."""
        raise NotImplementedError

    async def _put(self, session: Session) -> None:
        raise NotImplementedError

    async def _get(self, session_id: str) -> Optional[Session]:
        raise NotImplementedError

    async def delete(self, session_id: str) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        pass


class MemorySessionStore(SessionStore):
    def __init__(self, ttl: float, max_age: float = 12 * 3600.0) -> None:
        super().__init__(ttl, max_age)
        self._data: Dict[str, Tuple[Session, float]] = {}

    async def _put(self, session: Session) -> None:
        self._prune()
        self._data[_digest(session.id)] = (session, time.monotonic() + self._expiry(session))

    async def _get(self, session_id: str) -> Optional[Session]:
        key = _digest(session_id)
        found = self._data.get(key)
        if found is None:
            return None
        session, expires = found
        now = time.monotonic()
        if expires <= now:
            del self._data[key]
            return None
        self._data[key] = (session, now + self._expiry(session))
        return session

    async def delete(self, session_id: str) -> None:
        self._data.pop(_digest(session_id), None)

    async def alive(self, session_id: str) -> bool:
        found = self._data.get(_digest(session_id))
        return found is not None and found[1] > time.monotonic() and self._left(found[0]) > 0

    def _prune(self) -> None:
        now = time.monotonic()
        for key in [k for k, (_, exp) in self._data.items() if exp <= now]:
            del self._data[key]


class RedisSessionStore(SessionStore):
    def __init__(self, url: str, key_prefix: str, ttl: float, max_age: float = 12 * 3600.0) -> None:
        super().__init__(ttl, max_age)
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url, decode_responses=True)
        self._prefix = f"{key_prefix}console:session:"

    async def _put(self, session: Session) -> None:
        data = asdict(session)
        del data["id"]
        await self._redis.set(self._prefix + _digest(session.id), json.dumps(data),
                              px=max(1, int(self._expiry(session) * 1000)))

    async def _get(self, session_id: str) -> Optional[Session]:
        key = self._prefix + _digest(session_id)
        raw = await self._redis.get(key)
        if not raw:
            return None
        session = Session(id=session_id, **json.loads(raw))
        expiry = self._expiry(session)
        if expiry > 0:  # (PEXPIRE never recreates a key deleted meanwhile by a sign-out elsewhere)
            await self._redis.pexpire(key, max(1, int(expiry * 1000)))
        return session

    async def delete(self, session_id: str) -> None:
        await self._redis.delete(self._prefix + _digest(session_id))

    async def alive(self, session_id: str) -> bool:
        raw = await self._redis.get(self._prefix + _digest(session_id))
        return bool(raw) and self._left(Session(id=session_id, **json.loads(raw))) > 0

    async def close(self) -> None:
        await self._redis.close(close_connection_pool=True)


def cookie_secure(request: web.Request, configured: bool) -> bool:
    """Secure by default: behind a TLS-terminating proxy the request reaches us over plain
    http, so `request.secure` alone would leave the flag off. CONSOLE_COOKIE_SECURE=0 (a
    plain-http local run) still sets it when the request did come over https."""
    return bool(configured) or request.secure


def set_session_cookie(response: web.StreamResponse, request: web.Request, session_id: str,
                       secure: bool) -> None:
    response.set_cookie(COOKIE, session_id, path="/", httponly=True, samesite="Strict",
                        secure=cookie_secure(request, secure))


def clear_session_cookie(response: web.StreamResponse, request: web.Request, secure: bool) -> None:
    response.set_cookie(COOKIE, "", path="/", httponly=True, samesite="Strict", max_age=0,
                        expires="Thu, 01 Jan 1970 00:00:00 GMT", secure=cookie_secure(request, secure))
