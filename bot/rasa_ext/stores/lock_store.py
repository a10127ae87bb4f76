"""A Redis lock store that is safe with several Rasa processes (endpoints.redis.yml).

Rasa 3.6's `RedisLockStore` keeps each conversation's ticket queue as one JSON value and
changes it by GET ... modify ... SET. Two Rasa servers receiving a message of the same
conversation at the same moment can both read an empty queue, both issue ticket 0 and
both "hold" the lock: their turns then run interleaved and one overwrites the other's
events (Rasa's own review called it "far from atomic"; the fix, a concurrent lock store,
only shipped in Rasa Pro). The same race lets one process delete a queue another has just
joined, which makes the waiting turn fail with LockError.

`AtomicRedisLockStore` keeps Rasa's ticket lock and its JSON format in the same key, but
makes every read-modify-write of a queue one server-side Lua script (EVALSHA): atomic and
a single round trip, which matters because the lock store runs on the synchronous redis
client inside Sanic's event loop, 3-4 times per turn. It also expires idle queues (PX: the
longest ticket + 5 s) and polls a busy lock every 50 ms instead of every second.

Rasa compares a ticket's `expires` with the Rasa process's clock, so the scripts get that
clock (`time.time()`) as an argument and never use Redis's. They never re-encode a number
either: a kept ticket keeps its JSON text byte for byte, a new one is written with the
`expires` text Python's json produced, so no precision is lost to Lua's cjson, and an
emptied queue is deleted rather than written as a (cjson) `{}`.

    lock_store:
      type: bot.rasa_ext.stores.lock_store.AtomicRedisLockStore
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
from typing import Any, AsyncGenerator, Optional, Text

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.05

# KEYS[1]: the queue. ARGV[1]: the client's time.time(); ARGV[2]: the conversation id as a
# JSON string. A ticket is Rasa's `Ticket.dumps()` text inside the lock's "tickets" list.
_QUEUE_LUA = r"""
local key, now, conversation = KEYS[1], tonumber(ARGV[1]), ARGV[2]

-- The unexpired tickets, in order (Rasa: expired when time.time() > expires).
local function live_tickets(raw)
  local kept = {}
  if raw and raw ~= '' then
    local tickets = cjson.decode(raw)['tickets']
    if type(tickets) == 'table' then
      for _, text in ipairs(tickets) do
        local ticket = cjson.decode(text)
        if not (now > ticket['expires']) then
          kept[#kept + 1] = {text = text, number = ticket['number'], expires = ticket['expires']}
        end
      end
    end
  end
  return kept
end

-- Write the queue as TicketLock.dumps() does, living its longest ticket + 5 s; delete it
-- when empty.
local function store(kept)
  if #kept == 0 then
    redis.call('DEL', key)
    return
  end
  local texts, latest = {}, kept[1].expires
  for i, ticket in ipairs(kept) do
    texts[i] = cjson.encode(ticket.text)
    if ticket.expires > latest then latest = ticket.expires end
  end
  local ms = (latest - now) * 1000
  if ms >= 0 then ms = math.floor(ms) else ms = math.ceil(ms) end  -- Python's int()
  ms = math.max(1000, ms + 5000)
  local value = '{"conversation_id": ' .. conversation .. ', "tickets": [' .. table.concat(texts, ', ') .. ']}'
  redis.call('SET', key, value, 'PX', string.format('%d', ms))
end
"""

# ARGV[3]: the new ticket's `expires` as JSON (client time + lifetime). Returns its number:
# the last unexpired ticket's + 1, or 0 (TicketLock.issue_ticket).
_ISSUE_LUA = _QUEUE_LUA + r"""
local kept = live_tickets(redis.call('GET', key))
local number = 0
if #kept > 0 then number = kept[#kept].number + 1 end
local text = '{"number": ' .. string.format('%d', number) .. ', "expires": ' .. ARGV[3] .. '}'
kept[#kept + 1] = {text = text, number = number, expires = tonumber(ARGV[3])}
store(kept)
return number
"""

# ARGV[3]: the ticket number to remove, or '' to only remove expired tickets. A missing
# queue stays missing.
_RELEASE_LUA = _QUEUE_LUA + r"""
local raw = redis.call('GET', key)
if not raw then return 0 end
local kept = live_tickets(raw)
if ARGV[3] ~= '' then
  local number = tonumber(ARGV[3])
  for i, ticket in ipairs(kept) do
    if ticket.number == number then
      table.remove(kept, i)
      break
    end
  end
end
store(kept)
return 1
"""


def _ttl_ms(lock: TicketLock) -> int:
    """Outlives its longest ticket a little, so a crashed process's queue goes away."""
    expires = max(t.expires for t in lock.tickets)
    return max(1000, int((expires - time.time()) * 1000) + 5000)


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
        # EVALSHA; redis-py loads a script by itself the first time a server lacks it.
        self._issue = self.red.register_script(_ISSUE_LUA)
        self._release = self.red.register_script(_RELEASE_LUA)

    def _release_ticket(self, conversation_id: Text, ticket_number: Optional[int]) -> None:
        """Remove expired tickets and `ticket_number` (if given) from an existing queue, in
        one script; an emptied queue is deleted."""
        self._release(
            keys=[self.key_prefix + conversation_id],
            args=[repr(time.time()), json.dumps(conversation_id),
                  "" if ticket_number is None else str(int(ticket_number))],
        )

    # -- the LockStore operations that modify a queue: one round trip each ----------------
    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            now = time.time()
            return int(self._issue(
                keys=[self.key_prefix + conversation_id],
                args=[repr(now), json.dumps(conversation_id), json.dumps(now + lock_lifetime)],
            ))
        except Exception as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: Text) -> None:
        self._release_ticket(conversation_id, None)

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        # Rasa's remove_ticket_for drops expired tickets too.
        self._release_ticket(conversation_id, ticket_number)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        # Removing our ticket deletes the queue only if nobody joined it meanwhile (atomic).
        try:
            self._release_ticket(conversation_id, ticket_number)
        except Exception:  # the ticket expires by itself; never fail the finished turn
            logger.warning("could not release the lock of conversation %r", conversation_id, exc_info=True)

    def save_lock(self, lock: TicketLock) -> None:
        # Replacing the whole queue is one command already (SET, or DEL when empty).
        key = self.key_prefix + lock.conversation_id
        if lock.tickets:
            self.red.set(key, lock.dumps(), px=_ttl_ms(lock))
        else:
            self.red.delete(key)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: Text,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = POLL_SECONDS,
    ) -> AsyncGenerator[TicketLock, None]:
        async with super().lock(conversation_id, lock_lifetime, min(wait_time_in_seconds, POLL_SECONDS)) as lock:
            yield lock
