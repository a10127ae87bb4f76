"""The ticketing webhook's durable outbox: one row per hand-off, kept until delivered.

Keyed by an idempotency key (``{ticket_id}@{handed-off time}``): enqueueing the same hand-off
again (the next poll, a restart, a second process) is a no-op. Delivery leases due items for a
while (so two processes don't post the same item at once); a process that dies mid-delivery
leaves its lease to expire and the item is posted again, with the same key. That makes
delivery **at-least-once with a stable idempotency key**; the receiver dedups on it.

SQLite: table ``webhook_outbox`` in the tickets database file. Redis (REDIS_URL): under the
store's key prefix, ``outbox:item:{key}`` (hash), ``outbox:due`` (zset key -> next attempt) and
``outbox:delivered`` (zset key -> delivered at).
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, TypeVar

from bot.sqlite_worker import SQLiteWorker
from bot.tickets.sqlite_store import SQLiteTicketStore

T = TypeVar("T")


@dataclass
class OutboxItem:
    key: str
    ticket_id: str
    payload: bytes
    attempts: int


class Outbox:
    async def enqueue(self, key: str, ticket_id: str, payload: bytes) -> bool:
        """Add unless the key was ever added; True if added now."""
        raise NotImplementedError

    async def lease_due(self, limit: int, lease: float) -> List[OutboxItem]:
        """Up to `limit` undelivered items whose next attempt is due, held for `lease` seconds."""
        raise NotImplementedError

    async def delivered(self, key: str) -> None:
        raise NotImplementedError

    async def failed(self, key: str, attempts: int, retry_at: float, error: str) -> None:
        raise NotImplementedError

    async def next_due(self) -> Optional[float]:
        """Epoch seconds of the earliest pending item (leased ones included), None if empty."""
        raise NotImplementedError

    async def stats(self) -> Dict[str, int]:
        raise NotImplementedError

    async def close(self) -> None:
        pass


SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_outbox (
    idempotency_key TEXT PRIMARY KEY,
    ticket_id       TEXT NOT NULL,
    payload         BLOB NOT NULL,
    created_at      REAL NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    lease_until     REAL,
    delivered_at    REAL,
    last_error      TEXT
);
CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox (delivered_at, next_attempt_at);
"""


def _setup(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA journal_mode = WAL")
    # FULL: a committed enqueue or delivery mark survives even a power cut.
    conn.execute("PRAGMA synchronous = FULL")
    conn.executescript(SCHEMA)


class SQLiteOutbox(Outbox):
    """Own connection to the tickets file, on one worker thread (like SQLiteTicketStore)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._worker = SQLiteWorker(path, _setup, "webhook-outbox")

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._worker.run(fn)

    async def enqueue(self, key: str, ticket_id: str, payload: bytes) -> bool:
        now = time.time()

        def insert(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "INSERT OR IGNORE INTO webhook_outbox (idempotency_key, ticket_id, payload, created_at, next_attempt_at) "
                "VALUES (?, ?, ?, ?, ?)", (key, ticket_id, payload, now, now))
            return cur.rowcount == 1

        return await self._run(insert)

    async def lease_due(self, limit: int, lease: float) -> List[OutboxItem]:
        def take(conn: sqlite3.Connection) -> List[OutboxItem]:
            now = time.time()
            conn.execute("BEGIN IMMEDIATE")
            try:
                rows = conn.execute(
                    "SELECT idempotency_key, ticket_id, payload, attempts FROM webhook_outbox "
                    "WHERE delivered_at IS NULL AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?) "
                    "ORDER BY next_attempt_at, created_at LIMIT ?", (now, now, int(limit))).fetchall()
                conn.executemany("UPDATE webhook_outbox SET lease_until = ? WHERE idempotency_key = ?",
                                 [(now + lease, row[0]) for row in rows])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return [OutboxItem(key=r[0], ticket_id=r[1], payload=bytes(r[2]), attempts=int(r[3])) for r in rows]

        return await self._run(take)

    async def delivered(self, key: str) -> None:
        now = time.time()
        await self._run(lambda conn: conn.execute(
            "UPDATE webhook_outbox SET delivered_at = ?, attempts = attempts + 1, lease_until = NULL, last_error = NULL "
            "WHERE idempotency_key = ? AND delivered_at IS NULL", (now, key)))

    async def failed(self, key: str, attempts: int, retry_at: float, error: str) -> None:
        await self._run(lambda conn: conn.execute(
            "UPDATE webhook_outbox SET attempts = ?, next_attempt_at = ?, lease_until = NULL, last_error = ? "
            "WHERE idempotency_key = ? AND delivered_at IS NULL", (attempts, retry_at, error[:500], key)))

    async def next_due(self) -> Optional[float]:
        def read(conn: sqlite3.Connection) -> Optional[float]:
            row = conn.execute(
                "SELECT MIN(MAX(next_attempt_at, COALESCE(lease_until, 0))) FROM webhook_outbox "
                "WHERE delivered_at IS NULL").fetchone()
            return row[0]

        return await self._run(read)

    async def stats(self) -> Dict[str, int]:
        def read(conn: sqlite3.Connection) -> Dict[str, int]:
            pending, delivered = conn.execute(
                "SELECT COALESCE(SUM(delivered_at IS NULL), 0), COALESCE(SUM(delivered_at IS NOT NULL), 0) "
                "FROM webhook_outbox").fetchone()
            return {"pending": int(pending), "delivered": int(delivered)}

        return await self._run(read)

    async def close(self) -> None:
        await self._worker.close()


# KEYS: item, due; ARGV: ticket_id, payload, now
_ENQUEUE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'ticket_id', ARGV[1], 'payload', ARGV[2], 'created_at', ARGV[3], 'attempts', 0)
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1
"""
# KEYS: due; ARGV: now, lease_until, limit -> the leased keys (their score moves to lease_until)
_LEASE = """
local keys = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, k in ipairs(keys) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], k) end
return keys
"""


class RedisOutbox(Outbox):
    def __init__(self, url: str, key_prefix: str) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url)
        self._p = f"{key_prefix}outbox:"
        self._enqueue = self._redis.register_script(_ENQUEUE)
        self._lease = self._redis.register_script(_LEASE)

    def _item(self, key: str) -> str:
        return f"{self._p}item:{key}"

    async def enqueue(self, key: str, ticket_id: str, payload: bytes) -> bool:
        added = await self._enqueue(keys=[self._item(key), self._p + "due"],
                                    args=[ticket_id, payload, repr(time.time()), key])
        return int(added) == 1

    async def lease_due(self, limit: int, lease: float) -> List[OutboxItem]:
        now = time.time()
        keys = await self._lease(keys=[self._p + "due"], args=[repr(now), repr(now + lease), int(limit)])
        items = []
        for raw_key in keys:
            key = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
            data = await self._redis.hgetall(self._item(key))
            if not data or data.get(b"delivered_at"):
                await self._redis.zrem(self._p + "due", key)
                continue
            items.append(OutboxItem(key=key, ticket_id=data[b"ticket_id"].decode(), payload=bytes(data[b"payload"]),
                                    attempts=int(data.get(b"attempts") or 0)))
        return items

    async def delivered(self, key: str) -> None:
        now = time.time()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._item(key), mapping={"delivered_at": repr(now)})
            pipe.hincrby(self._item(key), "attempts", 1)
            pipe.hdel(self._item(key), "last_error")
            pipe.zrem(self._p + "due", key)
            pipe.zadd(self._p + "delivered", {key: now})
            await pipe.execute()

    async def failed(self, key: str, attempts: int, retry_at: float, error: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._item(key), mapping={"attempts": attempts, "last_error": error[:500]})
            pipe.zadd(self._p + "due", {key: retry_at}, xx=True)
            await pipe.execute()

    async def next_due(self) -> Optional[float]:
        first = await self._redis.zrange(self._p + "due", 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    async def stats(self) -> Dict[str, int]:
        pending = await self._redis.zcard(self._p + "due")
        delivered = await self._redis.zcard(self._p + "delivered")
        return {"pending": int(pending), "delivered": int(delivered)}

    async def close(self) -> None:
        await self._redis.close(close_connection_pool=True)


def open_outbox(store: Any) -> Outbox:
    """The outbox next to the ticket store's data: same SQLite file, or same Redis + prefix."""
    if isinstance(store, SQLiteTicketStore):
        return SQLiteOutbox(store.path)
    # Not a cycle: imported only here so that a SQLite-only deployment never imports redis
    # (as bot.tickets.open_store does).
    from bot.tickets.redis_store import RedisTicketStore

    if isinstance(store, RedisTicketStore):
        return RedisOutbox(store.url, store.key_prefix)
    raise TypeError(f"no outbox for a {type(store).__name__}")
