"""Per-call state of the Twilio IVR, in memory (one Rasa process) or in Redis (several).

Two things are kept, both with a time to live:
- the call: the buttons offered in the last bot turn (so a keypad digit can pick one),
  the last question (to repeat it after silence) and how many silences in a row;
- each turn's answer, keyed by (CallSid, turn): Twilio retries a slow webhook, and a
  retried (or concurrent) delivery of a turn must get the same TwiML without the
  message reaching Rasa twice.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple

import redis.asyncio as aioredis

logger = logging.getLogger(__name__)

CALL_TTL = 6 * 3600  # longer than any call
TURN_TTL = 15 * 60  # Twilio retries within seconds; keep the answer well past that
PROCESSING_TTL = 60  # a crashed process must not block a turn for longer than this
_PENDING = "\x00pending"


class TurnBusy(Exception):
    """Another delivery of this turn is still being processed."""


class MemoryIVRState:
    def __init__(self, call_ttl: int = CALL_TTL, turn_ttl: int = TURN_TTL) -> None:
        self.call_ttl, self.turn_ttl = call_ttl, turn_ttl
        self._calls: Dict[str, Tuple[float, Dict[str, Any]]] = {}
        self._answers: Dict[str, Tuple[float, str]] = {}
        self._locks: Dict[str, asyncio.Lock] = {}
        self._next_prune = 0.0

    def _prune(self) -> None:
        now = time.monotonic()
        if now < self._next_prune:
            return
        self._next_prune = now + 30
        self._calls = {k: v for k, v in self._calls.items() if v[0] > now}
        self._answers = {k: v for k, v in self._answers.items() if v[0] > now}
        self._locks = {k: lock for k, lock in self._locks.items() if lock.locked() or k in self._answers}

    async def load_call(self, call_sid: str) -> Dict[str, Any]:
        self._prune()
        entry = self._calls.get(call_sid)
        return json.loads(json.dumps(entry[1])) if entry and entry[0] > time.monotonic() else {}

    async def save_call(self, call_sid: str, state: Dict[str, Any]) -> None:
        self._calls[call_sid] = (time.monotonic() + self.call_ttl, json.loads(json.dumps(state)))

    async def drop_call(self, call_sid: str) -> None:
        self._calls.pop(call_sid, None)

    async def once(self, call_sid: str, turn: str, produce: Callable[[], Awaitable[str]], wait: float) -> str:
        key = f"{call_sid}:{turn}"
        self._prune()
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            await asyncio.wait_for(lock.acquire(), timeout=wait)
        except asyncio.TimeoutError:
            raise TurnBusy(key) from None
        try:
            cached = self._answers.get(key)
            if cached and cached[0] > time.monotonic():
                return cached[1]
            answer = await produce()
            self._answers[key] = (time.monotonic() + self.turn_ttl, answer)
            return answer
        finally:
            lock.release()

    async def close(self) -> None:
        return None


class RedisIVRState:
    """Shared by every Rasa process: Twilio may deliver a call's turns (and the retries of
    one turn) to different processes behind the load balancer."""

    def __init__(self, url: str, prefix: str = "twilio_ivr:", call_ttl: int = CALL_TTL, turn_ttl: int = TURN_TTL) -> None:
        self.url, self.prefix = url, prefix
        self.call_ttl, self.turn_ttl = call_ttl, turn_ttl
        self._client = None

    @property
    def client(self):
        # Created on first use, inside the server's event loop.
        if self._client is None:
            self._client = aioredis.from_url(self.url, decode_responses=True)
        return self._client

    async def load_call(self, call_sid: str) -> Dict[str, Any]:
        raw = await self.client.get(f"{self.prefix}call:{call_sid}")
        return json.loads(raw) if raw else {}

    async def save_call(self, call_sid: str, state: Dict[str, Any]) -> None:
        await self.client.set(f"{self.prefix}call:{call_sid}", json.dumps(state), ex=self.call_ttl)

    async def drop_call(self, call_sid: str) -> None:
        await self.client.delete(f"{self.prefix}call:{call_sid}")

    async def once(self, call_sid: str, turn: str, produce: Callable[[], Awaitable[str]], wait: float) -> str:
        key = f"{self.prefix}turn:{call_sid}:{turn}"
        deadline = time.monotonic() + wait
        while True:
            # SET NX: exactly one delivery of the turn gets to process it.
            if await self.client.set(key, _PENDING, nx=True, ex=PROCESSING_TTL):
                try:
                    answer = await produce()
                except BaseException:
                    await self.client.delete(key)  # let a retry process it
                    raise
                await self.client.set(key, answer, ex=self.turn_ttl)
                return answer
            value = await self.client.get(key)
            if value is not None and value != _PENDING:
                return value
            if time.monotonic() >= deadline:
                raise TurnBusy(key)
            await asyncio.sleep(0.05)  # the twin is processing (value None: it failed; retry SET NX)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def create_state(redis_url: Optional[str]):
    return RedisIVRState(redis_url) if redis_url else MemoryIVRState()
