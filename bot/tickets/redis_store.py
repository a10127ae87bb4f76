"""Redis ticket store: JSON documents plus sorted-set indexes.

Keys (all under the configurable key prefix, default bot.tickets.model.DEFAULT_KEY_PREFIX):
  ticket:{id}          JSON document
  all                  zset id -> created_at            (find without filters)
  conv:{conversation}  zset id -> created_at
  status:{status}      zset id -> created_at
  handoffs             zset id -> priority.score        (status == handed_off)
  callbacks            zset id -> window start          (opted in, not done/cancelled)
  issue:{issue_key}    zset id -> callback.decided_at   (opted in, for count_callbacks)
  seq:{YYYYMMDD}       INCR counter for ticket ids

A save reads the previous document under WATCH and rewrites the document and
every index in one MULTI, so a status change can never leave a stale index entry
even when the action server and the agent API write the same ticket.
"""
from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any, Dict, List, Optional

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from bot.tickets.ids import TicketIdFormat
from bot.tickets.model import DEFAULT_KEY_PREFIX, CallbackState, Status, check, iso, utcnow
from bot.tickets.store import (
    SearchCollector, TicketSearch, TicketStore, callback_sort_key, day_of, handoff_sort_key, index_fields, to_ts,
)

# A ticket with no window still belongs on the callback list, after dated ones.
NO_WINDOW_SCORE = math.inf


class RedisTicketStore(TicketStore):
    def __init__(self, url: str, *, id_format: Optional[TicketIdFormat] = None, prefix: Optional[str] = None,
                 key_prefix: str = DEFAULT_KEY_PREFIX) -> None:
        super().__init__(id_format, prefix)
        self.url = url
        self.key_prefix = key_prefix
        self._redis = None

    def _client(self):
        # Created on first use so that constructing the store opens nothing, and
        # the pool binds to the event loop that actually uses it.
        if self._redis is None:
            # A Redis restart closes pooled connections; retry once on a fresh one rather
            # than fail the customer's turn or an agent's request.
            self._redis = aioredis.from_url(
                self.url, decode_responses=True,
                retry_on_error=[RedisConnectionError, RedisTimeoutError],
                retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),
            )
        return self._redis

    def _k(self, *parts: str) -> str:
        return self.key_prefix + ":".join(parts)

    def _memberships(self, ticket: Dict[str, Any]) -> Dict[str, float]:
        """Every index key this document belongs to, with its score there."""
        f = index_fields(ticket)
        created = f["created_at"] or 0.0
        keys = {self._k("all"): created}
        if f["conversation_id"] is not None:
            keys[self._k("conv", str(f["conversation_id"]))] = created
        if f["status"] is not None:
            keys[self._k("status", str(f["status"]))] = created
        if f["status"] == Status.HANDED_OFF:
            keys[self._k("handoffs")] = f["priority_score"]
        if f["callback_pending"]:
            start = f["callback_window_start"]
            keys[self._k("callbacks")] = NO_WINDOW_SCORE if start is None else start
        if f["callback_status"] == CallbackState.OPTED_IN and f["callback_decided_at"] is not None:
            keys[self._k("issue", f["issue_key"])] = f["callback_decided_at"]
        return keys

    async def _load(self, ids: List[str]) -> List[Dict[str, Any]]:
        if not ids:
            return []
        raw = await self._client().mget([self._k("ticket", i) for i in ids])
        return [json.loads(r) for r in raw if r is not None]

    # -- interface ------------------------------------------------------------
    async def next_ticket_id(self, now: datetime) -> str:
        number = await self._client().incr(self._k("seq", day_of(now)))
        return self.format_id(now, int(number))

    async def save(self, ticket: Dict[str, Any]) -> Dict[str, Any]:
        ticket_id = ticket.get("ticket_id")
        if not isinstance(ticket_id, str) or not ticket_id:
            raise ValueError("ticket needs a ticket_id")
        check(ticket)
        doc_key = self._k("ticket", ticket_id)
        while True:
            async with self._client().pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(doc_key)
                    old_raw = await pipe.get(doc_key)
                    ticket["updated_at"] = iso(utcnow())
                    old = self._memberships(json.loads(old_raw)) if old_raw else {}
                    new = self._memberships(ticket)
                    pipe.multi()
                    for key in old.keys() - new.keys():
                        pipe.zrem(key, ticket_id)
                    for key, score in new.items():
                        pipe.zadd(key, {ticket_id: score})
                    pipe.set(doc_key, json.dumps(ticket, ensure_ascii=False))
                    await pipe.execute()
                    return ticket
                except WatchError:
                    continue  # someone else wrote this ticket meanwhile: recompute from theirs

    async def get(self, ticket_id: str) -> Optional[Dict[str, Any]]:
        raw = await self._client().get(self._k("ticket", ticket_id))
        return json.loads(raw) if raw else None

    async def find(
        self, conversation_id: Optional[str] = None, status: Optional[str] = None, limit: int = 100
    ) -> List[Dict[str, Any]]:
        limit = int(limit)
        if limit <= 0:
            return []
        if conversation_id is not None:
            # A conversation has few tickets: read them all, filter status here.
            ids = await self._client().zrevrange(self._k("conv", conversation_id), 0, -1)
            docs = [d for d in await self._load(ids) if status is None or d.get("status") == status]
            return docs[:limit]
        key = self._k("status", status) if status is not None else self._k("all")
        ids = await self._client().zrevrange(key, 0, limit - 1)
        return await self._load(ids)

    async def search(self, search: TicketSearch) -> Dict[str, Any]:
        # A scan over the ticket documents, newest first, in batches: the created-at index
        # (`all`, or `status:{status}`) bounds it by status and date, and each document is
        # matched by bot.tickets.store.search_matches. Acceptable at a contact centre's scale
        # (thousands of tickets; MAX_SEARCH_SCAN caps one search); beyond that, RediSearch.
        key = self._k("status", search.status) if search.status is not None else self._k("all")
        high = "+inf" if search.created_to is None else f"({search.created_to}"
        low = "-inf" if search.created_from is None else search.created_from
        collector = SearchCollector(search)
        start, batch = 0, 500
        while True:
            ids = await self._client().zrevrangebyscore(key, high, low, start=start, num=batch)
            if not ids or not collector.add(await self._load(ids)) or len(ids) < batch:
                break
            start += batch
        return collector.result()

    async def handoffs(self) -> List[Dict[str, Any]]:
        ids = await self._client().zrevrange(self._k("handoffs"), 0, -1)
        # The zset orders by score only; ties are broken by creation time here.
        return sorted(await self._load(ids), key=handoff_sort_key)

    async def callbacks(self) -> List[Dict[str, Any]]:
        ids = await self._client().zrange(self._k("callbacks"), 0, -1)
        return sorted(await self._load(ids), key=callback_sort_key)

    async def count_callbacks(self, issue_key: str, since: datetime) -> int:
        return int(await self._client().zcount(self._k("issue", issue_key), to_ts(since), "+inf"))

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.close(close_connection_pool=True)
            self._redis = None
