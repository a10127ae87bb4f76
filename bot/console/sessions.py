"""Server-side console sessions and the per-name sign-in throttle.

The browser holds only a random session id (cookie ``console_session``: HttpOnly,
SameSite=Strict, Path=/, Secure over https). The server keeps ``{name, role, csrf}`` under
it, in memory or (with REDIS_URL) in Redis so several agent-service processes share them.
Redis keys hold a SHA-256 of the id, not the id, so reading Redis does not yield a usable
cookie. Sessions expire after CONSOLE_SESSION_TTL seconds without use.

The CSRF token is a per-session synchronizer token: pages carry it (a hidden form field, a
<meta> tag for fetch(), sent back as ``X-CSRF-Token``), and every state-changing request
made with a session must present it.
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
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


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
    """Memory or Redis; sliding expiry of `ttl` seconds."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl

    async def create(self, name: str, role: str) -> Session:
        session = Session(id=secrets.token_urlsafe(32), name=name, role=role,
                          csrf=secrets.token_urlsafe(32), created=time.time())
        await self._put(session)
        return session

    async def get(self, session_id: Optional[str]) -> Optional[Session]:
        if not session_id or len(session_id) > 128:
            return None
        return await self._get(session_id)

    async def alive(self, session_id: str) -> bool:
        """Whether the session still exists, without extending it."""
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
    def __init__(self, ttl: float) -> None:
        super().__init__(ttl)
        self._data: Dict[str, Tuple[Session, float]] = {}

    async def _put(self, session: Session) -> None:
        self._prune()
        self._data[_digest(session.id)] = (session, time.monotonic() + self.ttl)

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
        self._data[key] = (session, now + self.ttl)
        return session

    async def delete(self, session_id: str) -> None:
        self._data.pop(_digest(session_id), None)

    async def alive(self, session_id: str) -> bool:
        found = self._data.get(_digest(session_id))
        return found is not None and found[1] > time.monotonic()

    def _prune(self) -> None:
        now = time.monotonic()
        for key in [k for k, (_, exp) in self._data.items() if exp <= now]:
            del self._data[key]


class RedisSessionStore(SessionStore):
    def __init__(self, url: str, key_prefix: str, ttl: float) -> None:
        super().__init__(ttl)
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url, decode_responses=True)
        self._prefix = f"{key_prefix}console:session:"

    async def _put(self, session: Session) -> None:
        data = asdict(session)
        del data["id"]
        await self._redis.set(self._prefix + _digest(session.id), json.dumps(data), px=int(self.ttl * 1000))

    async def _get(self, session_id: str) -> Optional[Session]:
        key = self._prefix + _digest(session_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(key)
            pipe.pexpire(key, int(self.ttl * 1000))
            raw, _ = await pipe.execute()
        if not raw:
            return None
        data = json.loads(raw)
        return Session(id=session_id, **data)

    async def delete(self, session_id: str) -> None:
        await self._redis.delete(self._prefix + _digest(session_id))

    async def alive(self, session_id: str) -> bool:
        return bool(await self._redis.exists(self._prefix + _digest(session_id)))

    async def close(self) -> None:
        await self._redis.close(close_connection_pool=True)


class LoginThrottle:
    """After `max_failures` wrong passwords for a name, that name is locked for `lockout`
    seconds (even with the right password). Failures older than the lockout are forgotten.
    Unknown names are throttled the same way, so the throttle does not reveal which exist."""

    def __init__(self, max_failures: int, lockout: float) -> None:
        self.max_failures = max(1, int(max_failures))
        self.lockout = lockout

    async def locked_for(self, name: str) -> float:
        """Seconds left on a lockout, 0 if none."""
        raise NotImplementedError

    async def failed(self, name: str) -> float:
        """Record a failure; the lockout it caused (seconds), 0 if none yet."""
        raise NotImplementedError

    async def succeeded(self, name: str) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        pass

    @staticmethod
    def key(name: str) -> str:
        return hashlib.sha256(name.strip().casefold().encode()).hexdigest()[:32]


class MemoryLoginThrottle(LoginThrottle):
    MAX_NAMES = 10_000

    def __init__(self, max_failures: int, lockout: float) -> None:
        super().__init__(max_failures, lockout)
        self._failures: Dict[str, Tuple[int, float]] = {}   # key -> (count, last failure)
        self._locked: Dict[str, float] = {}                 # key -> locked until

    def _prune(self, now: float) -> None:
        if len(self._failures) + len(self._locked) < self.MAX_NAMES:
            return
        self._failures = {k: v for k, v in self._failures.items() if v[1] + self.lockout > now}
        self._locked = {k: v for k, v in self._locked.items() if v > now}

    async def locked_for(self, name: str) -> float:
        until = self._locked.get(self.key(name), 0.0)
        return max(0.0, until - time.monotonic())

    async def failed(self, name: str) -> float:
        now = time.monotonic()
        self._prune(now)
        key = self.key(name)
        count, last = self._failures.get(key, (0, now))
        count = count + 1 if last + self.lockout > now else 1
        if count >= self.max_failures:
            self._failures.pop(key, None)
            self._locked[key] = now + self.lockout
            return self.lockout
        self._failures[key] = (count, now)
        return 0.0

    async def succeeded(self, name: str) -> None:
        key = self.key(name)
        self._failures.pop(key, None)
        self._locked.pop(key, None)


class RedisLoginThrottle(LoginThrottle):
    def __init__(self, url: str, key_prefix: str, max_failures: int, lockout: float) -> None:
        super().__init__(max_failures, lockout)
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url, decode_responses=True)
        self._prefix = f"{key_prefix}console:login:"

    async def locked_for(self, name: str) -> float:
        ms = await self._redis.pttl(self._prefix + "lock:" + self.key(name))
        return max(0.0, ms / 1000) if ms and ms > 0 else 0.0

    async def failed(self, name: str) -> float:
        key = self.key(name)
        fails = self._prefix + "fail:" + key
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(fails)
            pipe.pexpire(fails, int(self.lockout * 1000))
            count, _ = await pipe.execute()
        if int(count) >= self.max_failures:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(self._prefix + "lock:" + key, "1", px=int(self.lockout * 1000))
                pipe.delete(fails)
                await pipe.execute()
            return self.lockout
        return 0.0

    async def succeeded(self, name: str) -> None:
        key = self.key(name)
        await self._redis.delete(self._prefix + "fail:" + key, self._prefix + "lock:" + key)

    async def close(self) -> None:
        await self._redis.close(close_connection_pool=True)


def cookie_secure(request: web.Request, configured: Optional[bool]) -> bool:
    return configured if configured is not None else request.secure


def set_session_cookie(response: web.StreamResponse, request: web.Request, session_id: str,
                       secure: Optional[bool]) -> None:
    response.set_cookie(COOKIE, session_id, path="/", httponly=True, samesite="Strict",
                        secure=cookie_secure(request, secure))


def clear_session_cookie(response: web.StreamResponse, request: web.Request, secure: Optional[bool]) -> None:
    response.set_cookie(COOKIE, "", path="/", httponly=True, samesite="Strict", max_age=0,
                        expires="Thu, 01 Jan 1970 00:00:00 GMT", secure=cookie_secure(request, secure))
