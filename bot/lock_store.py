"""A Redis lock store that is safe with several Rasa processes (endpoints.redis.yml).

Rasa 3.6's `RedisLockStore` keeps each conversation's ticket queue as one JSON value and
changes it by GET ... modify ... SET. Two Rasa servers receiving a message of the same
conversation at the same moment can both read an empty queue, both issue ticket 0 and
both "hold" the lock: their turns then run interleaved and one overwrites the other's
events (Rasa's own review called it "far from atomic"; the fix, a concurrent lock store,
only shipped in Rasa Pro). The same race lets one process delete a queue another has just
joined, which makes the waiting turn fail with LockError.

`AtomicRedisLockStore` keeps Rasa's ticket lock and its JSON format but makes every
read-modify-write of a queue one optimistic transaction (WATCH / MULTI / EXEC, retried on
conflict), expires idle queues, and polls a busy lock every 50 ms instead of every second.

    lock_store:
      type: bot.lock_store.AtomicRedisLockStore
      url: ${REDIS_HOST}
      port: ${REDIS_PORT}
      db: ${REDIS_DB}
      key_prefix: "complaints"
"""
from __future__ import annotations

import json
import logging
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Callable, Optional, Text

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.05
_MISSING = object()


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any) -> None:
        if endpoint_config is not None:
            settings = dict(endpoint_config.kwargs)
            settings.setdefault("host", endpoint_config.url or "localhost")
            kwargs = {**settings, **kwargs}
        for key in ("port", "db"):
            if key in kwargs and kwargs[key] not in (None, ""):
                kwargs[key] = int(kwargs[key])
        super().__init__(**kwargs)

    # -- one queue, changed atomically ---------------------------------------------------
    def _change(self, conversation_id: Text, change: Callable[[TicketLock], Any], create: bool) -> Any:
        """Apply `change` to the conversation's queue inside WATCH/MULTI (retried on conflict).
        An emptied queue is deleted; `create=False` leaves a missing queue missing."""
        key = self.key_prefix + conversation_id
        result: Any = _MISSING

        def transaction(pipe: Any) -> None:
            nonlocal result
            raw = pipe.get(key)
            if raw is None and not create:
                result = None
                return
            lock = TicketLock.from_dict(json.loads(raw)) if raw else self.create_lock(conversation_id)
            result = change(lock)
            pipe.multi()
            if lock.tickets:
                # Outlives its longest ticket a little, so a crashed process's queue goes away.
                expires = max(t.expires for t in lock.tickets)
                ttl_ms = max(1000, int((expires - time.time()) * 1000) + 5000)
                pipe.set(key, lock.dumps(), px=ttl_ms)
            else:
                pipe.delete(key)

        self.red.transaction(transaction, key)
        return result

    # -- the LockStore operations that modify a queue -------------------------------------
    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            return self._change(conversation_id, lambda lock: lock.issue_ticket(lock_lifetime), create=True)
        except Exception as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}")

    def update_lock(self, conversation_id: Text) -> None:
        self._change(conversation_id, lambda lock: lock.remove_expired_tickets(), create=False)

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        self._change(conversation_id, lambda lock: lock.remove_ticket_for(ticket_number), create=False)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        # Removing our ticket deletes the queue only if nobody joined it meanwhile (atomic).
        def done(lock: TicketLock) -> None:
            lock.remove_ticket_for(ticket_number)
            lock.remove_expired_tickets()

        try:
            self._change(conversation_id, done, create=False)
        except Exception:  # the ticket expires by itself; never fail the finished turn
            logger.warning("could not release the lock of conversation %r", conversation_id, exc_info=True)

    def save_lock(self, lock: TicketLock) -> None:
        def replace(stored: TicketLock) -> None:
            stored.tickets = lock.tickets

        self._change(lock.conversation_id, replace, create=True)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: Text,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = POLL_SECONDS,
    ) -> AsyncGenerator[TicketLock, None]:
        async with super().lock(conversation_id, lock_lifetime, min(wait_time_in_seconds, POLL_SECONDS)) as lock:
            yield lock
