"""Sign-in throttling and the bound on concurrent password checks.

Failures are counted on two keys: the **(name, address)** pair and the **address** alone.
Once a key has had its free failures (CONSOLE_LOGIN_MAX_FAILURES for a pair,
CONSOLE_LOGIN_ADDRESS_MAX_FAILURES for an address), every further failure makes the next
attempt wait CONSOLE_LOGIN_LOCKOUT x 2^k seconds (k = failures past the free ones), at most
CONSOLE_LOGIN_MAX_DELAY; an attempt during a wait is answered 429 with Retry-After and checks
no password. A key is forgotten 2 x CONSOLE_LOGIN_MAX_DELAY after its last failure.

Why not per name: failures on a name from one address must not lock the real owner out from
another (someone guessing "admin" would otherwise keep the admin out). An address guessing
many names, or one name many times, slows down all the same. A right password clears its
pair, not its address.

State is in memory, or with REDIS_URL in Redis (shared by every agent-service process); the
decisions use this process's clock, Redis only keeps the numbers. Names and addresses are
stored as hashes.

`PasswordChecks` lets CONSOLE_LOGIN_HASH_CONCURRENCY scrypt runs (about 16 MB and 50 ms of a
core each) go at once per process, with up to CONSOLE_LOGIN_HASH_QUEUE more waiting; beyond
that an attempt is refused at once (429), so a flood of sign-ins cannot exhaust memory or CPU.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from typing import AsyncIterator, Callable, Dict, List, Tuple

PAIR, ADDRESS = "pair", "addr"
MAX_EXPONENT = 40  # 2^40 x any sane first delay is far past any cap; keeps the float finite


class LoginThrottle:
    def __init__(self, *, max_failures: int, address_max_failures: int, first_delay: float,
                 max_delay: float, clock: Callable[[], float] = time.time) -> None:
        self.free = {PAIR: max(1, int(max_failures)), ADDRESS: max(1, int(address_max_failures))}
        self.first_delay = first_delay
        self.max_delay = max(max_delay, first_delay)
        self.forget = 2 * self.max_delay
        self.clock = clock  # tests move time on by replacing it

    def delay(self, kind: str, failures: int) -> float:
        """The wait after `failures` failures on a key of this kind (0: none yet)."""
        past = failures - self.free[kind]
        if past < 0:
            return 0.0
        return min(self.first_delay * 2 ** min(past, MAX_EXPONENT), self.max_delay)

    @staticmethod
    def keys(name: str, address: str) -> List[Tuple[str, str]]:
        name = name.strip().casefold()
        return [(PAIR, hashlib.sha256(f"{name}\0{address}".encode()).hexdigest()[:32]),
                (ADDRESS, hashlib.sha256(address.encode()).hexdigest()[:32])]

    async def wait(self, name: str, address: str) -> float:
        """Seconds this attempt must still wait (0: it may check the password)."""
        untils = await self._untils(self.keys(name, address))
        return _settled(max(untils) - self.clock())

    async def failed(self, name: str, address: str) -> float:
        """Record a failure; the wait it imposes on the next attempt (0 if none)."""
        now = self.clock()
        untils = await self._fail(self.keys(name, address), now)
        return _settled(max(untils) - now)

    async def succeeded(self, name: str, address: str) -> None:
        await self._forget(self.keys(name, address)[0])

    async def _untils(self, keys: List[Tuple[str, str]]) -> List[float]:
        raise NotImplementedError

    async def _fail(self, keys: List[Tuple[str, str]], now: float) -> List[float]:
        raise NotImplementedError

    async def _forget(self, key: Tuple[str, str]) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        pass


def _settled(wait: float) -> float:
    """A wait to the millisecond: Redis keeps the wait-until to the microsecond, so a 1 s wait
    reads 1.0000004 s, and a client that waited its Retry-After must not be refused for the
    rest of it."""
    return max(0.0, round(wait, 3))


class MemoryLoginThrottle(LoginThrottle):
    MAX_KEYS = 20_000  # beyond this, expired keys go, then the oldest (memory stays bounded)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._state: Dict[Tuple[str, str], Tuple[int, float, float]] = {}  # key -> (failures, until, last)

    async def _untils(self, keys: List[Tuple[str, str]]) -> List[float]:
        now = self.clock()
        untils = []
        for key in keys:
            failures, until, last = self._state.get(key, (0, 0.0, now))
            untils.append(until if last + self.forget > now else 0.0)
        return untils

    async def _fail(self, keys: List[Tuple[str, str]], now: float) -> List[float]:
        self._prune(now)
        untils = []
        for key in keys:
            failures, until, last = self._state.pop(key, (0, 0.0, now))
            if last + self.forget <= now:
                failures, until = 0, 0.0
            failures += 1
            until = max(until, now + self.delay(key[0], failures))
            self._state[key] = (failures, until, now)  # re-inserted: dict order is age order
            untils.append(until)
        return untils

    async def _forget(self, key: Tuple[str, str]) -> None:
        self._state.pop(key, None)

    def _prune(self, now: float) -> None:
        if len(self._state) < self.MAX_KEYS:
            return
        self._state = {k: v for k, v in self._state.items() if v[2] + self.forget > now}
        while len(self._state) >= self.MAX_KEYS:
            del self._state[next(iter(self._state))]


# KEYS[1]: the key's hash; ARGV: now, free failures, first delay, max delay, forget (ms).
# One failure, atomically across processes; returns the key's wait-until (a string: Lua
# numbers become integers in a Redis reply).
_FAIL = """
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local untl = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
local past = n - tonumber(ARGV[2])
if past >= 0 then
  local d = math.min(tonumber(ARGV[3]) * 2 ^ math.min(past, 40), tonumber(ARGV[4]))
  local u = tonumber(ARGV[1]) + d
  if u > untl then
    untl = u
    redis.call('HSET', KEYS[1], 'until', string.format('%.6f', u))
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return string.format('%.6f', untl)
"""


class RedisLoginThrottle(LoginThrottle):
    def __init__(self, url: str, key_prefix: str, **kwargs) -> None:
        super().__init__(**kwargs)
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url, decode_responses=True)
        self._prefix = f"{key_prefix}console:login:"
        self._fail_script = self._redis.register_script(_FAIL)

    def _name(self, key: Tuple[str, str]) -> str:
        return f"{self._prefix}{key[0]}:{key[1]}"

    async def _untils(self, keys: List[Tuple[str, str]]) -> List[float]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hget(self._name(key), "until")
            values = await pipe.execute()
        return [float(v) if v else 0.0 for v in values]

    async def _fail(self, keys: List[Tuple[str, str]], now: float) -> List[float]:
        untils = []
        for key in keys:
            value = await self._fail_script(keys=[self._name(key)], args=[
                repr(now), self.free[key[0]], repr(self.first_delay), repr(self.max_delay),
                max(1, int(self.forget * 1000))])
            untils.append(float(value))
        return untils

    async def _forget(self, key: Tuple[str, str]) -> None:
        await self._redis.delete(self._name(key))

    async def close(self) -> None:
        await self._redis.close(close_connection_pool=True)


class ChecksBusy(Exception):
    """Too many password checks are running and waiting: try again shortly."""


class PasswordChecks:
    """At most `concurrency` password checks at once in this process, `queue` more waiting."""

    def __init__(self, concurrency: int, queue: int) -> None:
        self._slots = asyncio.Semaphore(max(1, int(concurrency)))
        self.queue = max(0, int(queue))
        self._waiting = 0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._slots.locked() and self._waiting >= self.queue:
            raise ChecksBusy()
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._slots.release()


def open_throttle(config, redis_url, key_prefix: str) -> LoginThrottle:
    """The throttle for a ConsoleConfig: in Redis when the service has one, else in memory."""
    kwargs = dict(max_failures=config.login_max_failures, address_max_failures=config.login_address_max_failures,
                  first_delay=config.login_lockout, max_delay=config.login_max_delay)
    if redis_url:
        return RedisLoginThrottle(redis_url, key_prefix, **kwargs)
    return MemoryLoginThrottle(**kwargs)
