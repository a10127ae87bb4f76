"""A small pub/sub hub for live chat messages.

Two kinds of channel, both keyed by conversation id:

* ``publish(conversation_id, message)`` / ``subscribe(conversation_id)``: messages *to the
  customer* (agent messages, status changes). The web chat WebSocket subscribes.
* ``publish_agents(conversation_id, message)`` / ``subscribe_agents(conversation_id=None)``:
  messages *to the agents* (what the customer types while handed off). Subscribing with a
  conversation id gives that conversation only; without one, the all-conversations feed.

``InMemoryHub`` serves one process. ``RedisHub`` (used when REDIS_URL is set) lets several
agent-service processes share the traffic: every process holds one pattern subscription to
``{prefix}chat:*`` and fans messages out to its local subscribers. Chat traffic is small (agent
replies and customer messages during a hand-off), so each process seeing all of it is cheaper
and simpler than a Redis subscription per WebSocket, and it makes ``subscribe()`` take effect
immediately (no subscribe round-trip to wait for).

A subscription is registered the moment ``subscribe()`` returns; use it as an async context
manager so it is always released::

    async with hub.subscribe(conversation_id) as messages:
        async for message in messages:
            ...

Every published message's ``text`` is masked (card numbers, the catalog's sensitive
patterns) before it leaves the publisher.

Iteration ends when the hub closes or the subscriber falls too far behind (``overflowed``);
a consumer that ends that way should resynchronise (the web chat reloads its history).
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import defaultdict
from typing import Any, Dict, Optional, Set, Tuple

from aiohttp import web

from bot.privacy import mask_secrets
from bot.service.app_state import opened_with_app
from bot.service.typedefs import CONFIG_KEY, HUB_KEY
from bot.tickets.model import DEFAULT_KEY_PREFIX

log = logging.getLogger(__name__)

TO_CUSTOMER = "conv"
TO_AGENTS = "agents"
ALL = None  # the key of the all-conversations agent feed
QUEUE_SIZE = 256

Message = Dict[str, Any]
Key = Tuple[str, Optional[str]]


class HubError(Exception):
    """A message could not be published (e.g. Redis unreachable)."""


class Subscription:
    """One subscriber's queue; an async iterator and an async context manager."""

    _END = object()

    def __init__(self, hub: "_Fanout", key: Key, size: int = QUEUE_SIZE) -> None:
        self._hub = hub
        self.key = key
        self._queue: "asyncio.Queue[Any]" = asyncio.Queue(maxsize=size + 1)
        self._size = size
        self.closed = False
        self.overflowed = False

    def _put(self, message: Message) -> None:
        if self.closed:
            return
        if self._queue.qsize() >= self._size:
            # A stuck consumer must not grow memory without bound: drop it, and let it
            # resynchronise from the source of truth (Rasa's tracker).
            log.warning("subscriber to %s fell behind; dropping it", self.key)
            self.overflowed = True
            self._end()
            return
        self._queue.put_nowait(message)

    def _end(self) -> None:
        if not self.closed:
            self.closed = True
            self._hub._remove(self)
            self._queue.put_nowait(self._END)

    def close(self) -> None:
        self._end()

    def __aiter__(self) -> "Subscription":
        return self

    async def __anext__(self) -> Message:
        item = await self._queue.get()
        if item is self._END:
            self._queue.put_nowait(self._END)  # keep ending for repeated calls
            raise StopAsyncIteration
        return item

    async def __aenter__(self) -> "Subscription":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()


class _Fanout:
    """Local delivery to this process's subscribers."""

    def __init__(self) -> None:
        self._subs: Dict[Key, Set[Subscription]] = defaultdict(set)
        self._closed = False

    def _add(self, key: Key) -> Subscription:
        sub = Subscription(self, key)
        if self._closed:
            sub._end()
        else:
            self._subs[key].add(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.key)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.key]

    def _deliver(self, kind: str, conversation_id: str, message: Message) -> None:
        keys = [(kind, conversation_id)]
        if kind == TO_AGENTS:
            keys.append((kind, ALL))
        for key in keys:
            for sub in list(self._subs.get(key, ())):
                sub._put(message)

    def _end_all(self) -> None:
        self._closed = True
        for subs in list(self._subs.values()):
            for sub in list(subs):
                sub._end()

    def subscriber_count(self, conversation_id: Optional[str] = None) -> int:
        if conversation_id is None:
            return sum(len(s) for s in self._subs.values())
        return len(self._subs.get((TO_CUSTOMER, conversation_id), ()))


def _stamp(conversation_id: str, message: Message) -> Message:
    """The message as it leaves this process: with its conversation, and its text masked with
    the function that masks storage (bot/privacy.py). Masking here covers every publish path
    (a customer's card number typed during a hand-off, an agent pasting one) in one place."""
    if not isinstance(message, dict):
        raise TypeError("a hub message must be a dict")
    stamped = {**message, "conversation_id": conversation_id}
    if isinstance(stamped.get("text"), str):
        stamped["text"] = mask_secrets(stamped["text"])
    return stamped


class Hub(_Fanout):
    """The interface; InMemoryHub and RedisHub implement ``_send``."""

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        self._end_all()

    async def _send(self, kind: str, conversation_id: str, message: Message) -> None:
        raise NotImplementedError

    async def publish(self, conversation_id: str, message: Message) -> None:
        """To the customer's open chat windows for this conversation."""
        await self._send(TO_CUSTOMER, conversation_id, _stamp(conversation_id, message))

    def subscribe(self, conversation_id: str) -> Subscription:
        return self._add((TO_CUSTOMER, conversation_id))

    async def publish_agents(self, conversation_id: str, message: Message) -> None:
        """To agents: this conversation's channel and the all-conversations feed."""
        await self._send(TO_AGENTS, conversation_id, _stamp(conversation_id, message))

    def subscribe_agents(self, conversation_id: Optional[str] = None) -> Subscription:
        return self._add((TO_AGENTS, conversation_id))


class InMemoryHub(Hub):
    async def _send(self, kind: str, conversation_id: str, message: Message) -> None:
        # Round-trip through JSON so subscribers get what Redis would give them (and
        # cannot share mutable state with the publisher).
        self._deliver(kind, conversation_id, json.loads(json.dumps(message)))


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


class RedisHub(Hub):
    def __init__(self, url: str, key_prefix: str = DEFAULT_KEY_PREFIX, *, ready_timeout: float = 5.0) -> None:
        super().__init__()
        import redis.asyncio as aioredis  # imported here so the in-memory hub needs no redis

        self._redis = aioredis.from_url(url, health_check_interval=30, socket_keepalive=True)
        self._channel_prefix = f"{key_prefix}chat:"
        self._pattern = _glob_escape(self._channel_prefix) + "*"
        self._ready = asyncio.Event()
        self._ready_timeout = ready_timeout
        self._task: Optional[asyncio.Task] = None

    def _channel(self, kind: str, conversation_id: str) -> str:
        return f"{self._channel_prefix}{kind}:{conversation_id}"

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="webchat-redis-hub")
        try:
            await asyncio.wait_for(self._ready.wait(), self._ready_timeout)
        except asyncio.TimeoutError:
            log.error("web chat hub: Redis pub/sub not ready after %.0fs; retrying in the background", self._ready_timeout)

    async def _listen(self) -> None:
        import redis.exceptions

        backoff = 0.5
        pubsub = self._redis.pubsub()
        try:
            while True:
                try:
                    if not pubsub.subscribed:
                        await pubsub.psubscribe(self._pattern)
                    message = await pubsub.get_message(timeout=5.0)
                    backoff = 0.5
                    if message is None:
                        continue
                    if message["type"] == "psubscribe":
                        self._ready.set()
                        log.info("web chat hub listening on Redis %s", self._pattern)
                    elif message["type"] == "pmessage":
                        self._dispatch(message["channel"], message["data"])
                except asyncio.CancelledError:
                    raise
                except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
                    # Messages published while we are disconnected are lost (Redis pub/sub
                    # does not store them); the page reloads its history when it reconnects.
                    log.warning("web chat hub lost Redis (%s); reconnecting in %.1fs", exc, backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 10.0)
                except Exception:
                    log.exception("web chat hub: unexpected error reading Redis")
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 10.0)
        finally:
            try:
                await pubsub.reset()
            except Exception:  # pragma: no cover - best effort on shutdown
                pass

    def _dispatch(self, channel: bytes, data: bytes) -> None:
        try:
            name = channel.decode()
            kind, _, conversation_id = name[len(self._channel_prefix):].partition(":")
            message = json.loads(data)
        except (UnicodeDecodeError, ValueError):
            log.warning("web chat hub: ignoring malformed message on %r", channel)
            return
        if kind in (TO_CUSTOMER, TO_AGENTS) and conversation_id and isinstance(message, dict):
            self._deliver(kind, conversation_id, message)

    async def _send(self, kind: str, conversation_id: str, message: Message) -> None:
        import redis.exceptions

        # Delivered to local subscribers too via our own pattern subscription (no double send).
        try:
            await self._redis.publish(self._channel(kind, conversation_id), json.dumps(message))
        except (redis.exceptions.RedisError, OSError) as exc:
            raise HubError(f"could not publish to Redis: {type(exc).__name__}") from exc

    async def close(self) -> None:
        await super().close()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        await self._redis.close()
        await self._redis.connection_pool.disconnect()


def open_hub(redis_url: Optional[str], key_prefix: str = DEFAULT_KEY_PREFIX) -> Hub:
    if redis_url:
        return RedisHub(redis_url, key_prefix)
    return InMemoryHub()


async def _open_app_hub(app: web.Application) -> Hub:
    config = app[CONFIG_KEY]
    hub = open_hub(config.redis_url, config.key_prefix)
    await hub.start()
    return hub


hub_ctx = opened_with_app(HUB_KEY, _open_app_hub, "web chat hub")
