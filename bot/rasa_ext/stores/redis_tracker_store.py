"""A Redis tracker store that appends events instead of rewriting the conversation.

Why: Rasa 3.6's `RedisTrackerStore` keeps a whole conversation as ONE JSON value. Every
turn `retrieve` GETs and deserialises every event of every session (then throws all but
the latest session away), and `save` GETs it again, deserialises it, merges it with the
turn's tracker in `_merge_trackers` (an `as_dict()` comparison of every new event with
every stored one: quadratic once a conversation has several sessions) and SETs the whole
value back. A turn's cost therefore grows with the length of the conversation, and the
synchronous redis client blocks Sanic's event loop while it waits. Starting a new Rasa
session every N idle turns (to keep trackers short) makes that store slower, not faster.
Rasa's `SQLTrackerStore` already loads only the latest session and inserts only new
events; this store does the same on Redis, with `redis.asyncio` (nothing blocks the loop).

Keys (`key_prefix` from the endpoint, a trailing ":" dropped, default "tracker"):

    {key_prefix}:events:{sender_id}         LIST of events, `json.dumps(event.as_dict())`,
                                            oldest first; only ever appended to
    {key_prefix}:session_start:{sender_id}  STRING, index in that list of the latest
                                            `ActionExecuted(action_session_start)` (0 if
                                            none): where the latest session begins

Sessions are split exactly as `rasa.shared.core.trackers.
get_trackers_for_conversation_sessions` (and so `InMemoryTrackerStore` /
`RedisTrackerStore`) splits them: at each `ActionExecuted("action_session_start")`, which
begins the session it opens. (`SQLTrackerStore` splits at the `SessionStarted` timestamp
instead; by index we also never depend on two events' float timestamps.)

- `retrieve`: one Lua call reads the index and LRANGEs the list from it (one round trip,
  a consistent snapshot); only the latest session is deserialised, however many came before.
- `retrieve_full_tracker`: the whole list (every session), for `rasa export`, markers and
  `GET /conversations/<id>/tracker`.
- `save`: under WATCH of both keys, reads LLEN and the index: the latest session holds
  LLEN - index stored events and the tracker passed in starts with that session, so
  `tracker.events[stored:]` are new (as `SQLTrackerStore._additional_events`). One
  MULTI/EXEC appends them (RPUSH), moves the index to the last session start among them
  (a session may start in the middle of a turn) and refreshes the expiry (`record_exp`
  seconds) of both keys. A concurrent write of the same conversation aborts the EXEC and
  the save is recomputed, so events are never appended twice.
- `keys`: sender ids, found by SCAN over `{key_prefix}:events:*`.

Behaviour as `SQLTrackerStore` (not as Rasa's Redis store) where the two differ:
- a conversation with no events does not exist: `retrieve` returns None and `keys` does
  not list it (Rasa's Redis store SETs an empty tracker and returns it);
- a tracker with no more events than are stored (e.g. `PUT /conversations/<id>/tracker/
  events` with fewer events) writes nothing but the expiry: events are never replaced or
  removed (Rasa's Redis store merges the two event lists);
- `max_event_history` is not applied when building trackers: `save` counts the events of
  the tracker it is given, so they must be all of the latest session.

    tracker_store:
      type: bot.rasa_ext.stores.redis_tracker_store.RedisEventTrackerStore
      url: ${REDIS_HOST}          # a host name, or a whole redis:// / rediss:// URL
      port: ${REDIS_PORT}
      db: ${REDIS_DB}
      password: ${REDIS_PASSWORD}  # "" means none
      key_prefix: "complaints"
      record_exp: 2592000         # seconds; every save renews it
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
from typing import Any, Dict, Iterable, List, Optional, Text

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import (
    SerializedTrackerAsText,
    TrackerDeserialisationException,
    TrackerStore,
)
from rasa.shared.core.constants import ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_ext import patches

logger = logging.getLogger(__name__)

DEFAULT_KEY_PREFIX = "tracker"
DEFAULT_PORT = 6379
# A save that keeps losing its WATCH to other writers of the same conversation (Rasa's lock
# store should make that rare) gives up instead of looping for ever.
MAX_SAVE_ATTEMPTS = 20

# KEYS[1] events list, KEYS[2] session start index. Returns {1, latest session's events}
# or, when the index is missing (never written by this store, or removed), {0, all events}.
_RETRIEVE_LATEST_SESSION = """
local start = redis.call('GET', KEYS[2])
if start then
  return {1, redis.call('LRANGE', KEYS[1], tonumber(start), -1)}
end
return {0, redis.call('LRANGE', KEYS[1], 0, -1)}
"""


def _is_session_start(event: Event) -> bool:
    return isinstance(event, ActionExecuted) and event.action_name == ACTION_SESSION_START_NAME


def _is_serialised_session_start(event: Dict[Text, Any]) -> bool:
    return event.get("event") == ActionExecuted.type_name and event.get("name") == ACTION_SESSION_START_NAME


def _latest_session_start(events: List[Dict[Text, Any]]) -> int:
    """Index of the last `action_session_start` in serialised events (0 if none)."""
    for index in range(len(events) - 1, -1, -1):
        if _is_serialised_session_start(events[index]):
            return index
    return 0


# ---- endpoint values: env vars in endpoints.yml arrive as strings ----------------------
def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _as_int(value: Any, default: int, name: str) -> int:
    if _blank(value):
        return default
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValueError(f"RedisEventTrackerStore: {name} must be an integer, got {value!r}") from None


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _as_text(value: Any) -> Optional[str]:
    return None if _blank(value) else str(value)


def _as_seconds(value: Any) -> Optional[float]:
    """`record_exp`: None, "" and 0 mean no expiry (as in Rasa's RedisTrackerStore)."""
    if _blank(value):
        return None
    try:
        seconds = float(str(value).strip())
    except ValueError:
        raise ValueError(f"RedisEventTrackerStore: record_exp must be a number of seconds, got {value!r}") from None
    if seconds < 0:
        raise ValueError(f"RedisEventTrackerStore: record_exp must not be negative, got {value!r}")
    return seconds or None


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "\\*?[]" else c for c in text)


class RedisEventTrackerStore(TrackerStore, SerializedTrackerAsText):
    """Stores each conversation as a Redis list of events; see the module docstring."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[Text] = "localhost",
        port: Any = DEFAULT_PORT,
        db: Any = 0,
        username: Optional[Text] = None,
        password: Optional[Text] = None,
        event_broker: Optional[EventBroker] = None,
        record_exp: Any = None,
        key_prefix: Optional[Text] = None,
        use_ssl: Any = False,
        ssl_keyfile: Optional[Text] = None,
        ssl_certfile: Optional[Text] = None,
        ssl_ca_certs: Optional[Text] = None,
        socket_connect_timeout: Any = 5.0,
        url: Optional[Text] = None,
        **kwargs: Any,
    ) -> None:
        # Built when the model is loaded, before any message: card masking then holds even
        # with none of our channels listed (bot/rasa_ext/patches/__init__.py).
        patches.install()
        # Rasa passes the endpoint's `url` as `host` (_load_from_module_name_in_endpoint_config);
        # `url=` is accepted too for direct construction.
        self.host = _as_text(host) or _as_text(url) or "localhost"
        self.port = _as_int(port, DEFAULT_PORT, "port")
        self.db = _as_int(db, 0, "db")
        self.username = _as_text(username)
        self.password = _as_text(password)
        self.use_ssl = _as_bool(use_ssl)
        self.ssl_keyfile = _as_text(ssl_keyfile)
        self.ssl_certfile = _as_text(ssl_certfile)
        self.ssl_ca_certs = _as_text(ssl_ca_certs)
        self.socket_connect_timeout = None if _blank(socket_connect_timeout) else float(socket_connect_timeout)
        self.record_exp = _as_seconds(record_exp)
        # Unlike Rasa's store, any non-empty prefix is kept (Rasa drops non-alphanumeric ones
        # silently); "complaints" and "complaints:" name the same keys.
        self.key_prefix = (_as_text(key_prefix) or DEFAULT_KEY_PREFIX).rstrip(":") or DEFAULT_KEY_PREFIX
        # The client is created on first use, inside the running loop: Rasa may construct the
        # store before Sanic's loop runs, and redis.asyncio connections belong to one loop.
        self._redis: Optional[aioredis.Redis] = None
        self._redis_loop: Optional[asyncio.AbstractEventLoop] = None
        self._retrieve_script: Any = None
        super().__init__(domain, event_broker, **kwargs)

    # ---- connection ----------------------------------------------------------------------
    def _client(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        if self._redis is None or self._redis_loop is not loop:
            # A Redis restart closes pooled connections: retry a command on a fresh one
            # rather than fail the customer's turn (same policy as bot/tickets/redis_store.py).
            options: Dict[str, Any] = dict(
                username=self.username,
                password=self.password,
                decode_responses=True,
                socket_connect_timeout=self.socket_connect_timeout,
                retry_on_error=[RedisConnectionError, RedisTimeoutError],
                retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),
            )
            if "://" in self.host:
                # A whole URL: its own db / password, when it has them, win.
                client = aioredis.Redis.from_url(self.host, db=self.db, **options)
            else:
                client = aioredis.Redis(
                    host=self.host, port=self.port, db=self.db, ssl=self.use_ssl,
                    ssl_keyfile=self.ssl_keyfile, ssl_certfile=self.ssl_certfile,
                    ssl_ca_certs=self.ssl_ca_certs, **options,
                )
            # A client made in another (finished) loop is dropped, not closed: its
            # connections cannot be used or awaited from this loop.
            self._redis, self._redis_loop = client, loop
            self._retrieve_script = client.register_script(_RETRIEVE_LATEST_SESSION)
        return self._redis

    async def close(self) -> None:
        """Closes the connection pool (tests, scripts); the store reconnects if used again."""
        client, self._redis, self._redis_loop = self._redis, None, None
        if client is not None:
            await client.close(close_connection_pool=True)

    def _events_key(self, sender_id: Text) -> str:
        return f"{self.key_prefix}:events:{sender_id}"

    def _session_start_key(self, sender_id: Text) -> str:
        return f"{self.key_prefix}:session_start:{sender_id}"

    # ---- reading ---------------------------------------------------------------------------
    def _tracker_from(self, sender_id: Text, raw_events: List[str]) -> Optional[DialogueStateTracker]:
        if not raw_events:
            logger.debug("no tracker stored for conversation %r", sender_id)
            return None
        try:
            events = [json.loads(raw) for raw in raw_events]
        except (ValueError, UnicodeDecodeError) as error:
            raise TrackerDeserialisationException(
                f"Tracker of conversation {sender_id!r} cannot be deserialised: its events must be JSON."
            ) from error
        # As SQLTrackerStore._retrieve builds its trackers.
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The tracker of the latest session of `sender_id` (None if it has no events)."""
        self._client()
        indexed, raw_events = await self._retrieve_script(
            keys=[self._events_key(sender_id), self._session_start_key(sender_id)]
        )
        if not indexed and raw_events:
            # No index stored: find the latest session among all events (slow path).
            start = _latest_session_start([json.loads(raw) for raw in raw_events])
            raw_events = raw_events[start:]
        return self._tracker_from(sender_id, raw_events)

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        """The tracker with every session of `conversation_id` (None if it has no events)."""
        raw_events = await self._client().lrange(self._events_key(conversation_id), 0, -1)
        return self._tracker_from(conversation_id, raw_events)

    async def exists(self, conversation_id: Text) -> bool:
        """Whether the conversation has events (as `retrieve(...) is not None`, cheaply)."""
        return bool(await self._client().exists(self._events_key(conversation_id)))

    async def keys(self) -> Iterable[Text]:
        """Sender ids of the stored conversations (what `rasa export` and markers expect).

        SCAN over the events keys rather than a SET of sender ids: a set member cannot expire
        with its conversation (`record_exp`), so the set would keep listing expired ids and
        need pruning, and every save would write one more key. SCAN is incremental (it never
        blocks Redis) and `keys()` is only used by offline tools, never during a turn."""
        marker = f"{self.key_prefix}:events:"
        found: Dict[str, None] = {}  # SCAN may return a key twice; keep first-seen order
        async for key in self._client().scan_iter(match=_glob_escape(marker) + "*", count=1000):
            found.setdefault(key[len(marker):], None)
        return list(found)

    # ---- writing ---------------------------------------------------------------------------
    async def _stored_session_start(self, pipe: Any, events_key: str, raw_start: Optional[str], length: int) -> int:
        if raw_start is None:
            if not length:
                return 0
            # Events without an index (not written by this store): find the latest session.
            return _latest_session_start([json.loads(raw) for raw in await pipe.lrange(events_key, 0, -1)])
        return max(0, min(int(raw_start), length))

    async def save(self, tracker: DialogueStateTracker, timeout: Optional[float] = None) -> None:
        """Appends the events of `tracker` that are not stored yet (see the module docstring).

        `timeout` overrides `record_exp` for this save, as in Rasa's RedisTrackerStore."""
        await self.stream_events(tracker)

        expiry = _as_seconds(timeout) or self.record_exp
        sender_id = tracker.sender_id
        events_key, start_key = self._events_key(sender_id), self._session_start_key(sender_id)
        client = self._client()
        for _ in range(MAX_SAVE_ATTEMPTS):
            async with client.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(events_key, start_key)
                    length = await pipe.llen(events_key)
                    start = await self._stored_session_start(pipe, events_key, await pipe.get(start_key), length)
                    stored = length - start
                    # The tracker holds the latest session (possibly followed by a session
                    # started during this turn): what comes after the stored part is new.
                    # A tracker with fewer events than stored adds nothing (as SQLTrackerStore).
                    new_events = list(itertools.islice(tracker.events, stored, None))
                    if len(tracker.events) < stored:
                        logger.warning(
                            "conversation %r: the tracker to save has %d events, %d are stored for its "
                            "latest session; stored events are never replaced, nothing appended",
                            sender_id, len(tracker.events), stored,
                        )
                    pipe.multi()
                    if new_events:
                        pipe.rpush(events_key, *[json.dumps(event.as_dict()) for event in new_events])
                        starts = [i for i, event in enumerate(new_events) if _is_session_start(event)]
                        pipe.set(start_key, length + starts[-1] if starts else start)
                    if expiry and (new_events or length):
                        milliseconds = max(1, int(expiry * 1000))
                        pipe.pexpire(events_key, milliseconds)
                        pipe.pexpire(start_key, milliseconds)
                    if pipe.command_stack:
                        await pipe.execute()
                    logger.debug("conversation %r: %d events appended", sender_id, len(new_events))
                    return
                except WatchError:
                    continue  # the conversation changed meanwhile: count again
        raise WatchError(
            f"could not save the tracker of conversation {sender_id!r}: "
            f"{MAX_SAVE_ATTEMPTS} attempts lost to concurrent writes"
        )
