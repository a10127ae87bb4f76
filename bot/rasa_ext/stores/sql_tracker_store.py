"""Rasa's SQL tracker store, with less work per turn (endpoints.yml; SQLite by default).

Same table, same rows, same session semantics as `rasa.core.tracker_store.SQLTrackerStore`:
a tracker written by one is read by the other. Measured with py-spy under `make bench` load,
the stock store was about a third of the Rasa server's CPU per turn:

- `save` first COUNTs the session's stored events to know which are new (8-9 % of the
  server's CPU). The tracker being saved was almost always read by `retrieve` (or created
  by `create_tracker`) in the same turn, under the conversation's lock, so that count is
  known: it is remembered on the tracker and used once. A tracker this store did not read
  still gets the COUNT.
- On a SQLite file (the embedded default) SQLAlchemy opened a new connection for every
  session (NullPool), built an ORM query with a subquery and an ORM object per event, and
  flushed one ORM object per new event. Here one connection stays open (write-ahead log,
  `synchronous=NORMAL`: a commit no longer waits for an fsync on the event loop - a
  crashed process loses nothing, a power cut can lose the last commits; a busy timeout so
  that several processes can share the file) and asks the same questions in plain SQL
  over two more indexes, so that reading a session costs the same in a conversation's
  200th message as in its 5th; one executemany INSERT per save. Other databases keep
  Rasa's code for everything but the count.

    tracker_store:
      type: bot.rasa_ext.stores.sql_tracker_store.LeanSQLTrackerStore
      dialect: "sqlite"
      db: ${RASA_TRACKER_DB}
"""
from __future__ import annotations

import itertools
import json
import logging
import sqlite3
from typing import Any, Iterator, List, Optional, Text

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from bot.rasa_ext import patches

logger = logging.getLogger(__name__)

# How many events of its session were stored when this tracker was read (set by retrieve,
# used and dropped by the next save).
_STORED = "_lean_sql_events_stored"
SQLITE_BUSY_TIMEOUT_MS = 10_000

# The rows SQLTrackerStore._event_query selects: the sender's events from the latest
# `SessionStarted` on (by timestamp), or all of them when no session was started; by id.
# Two indexed statements instead of Rasa's one with an OR, which SQLite can only answer by
# reading every event of the conversation (a turn's cost grew with the conversation).
SESSION_START = "SELECT max(timestamp) FROM events WHERE sender_id = ? AND type_name = ?"
ALL_SESSIONS = "SELECT data FROM events WHERE sender_id = ? ORDER BY id"
SINCE = "SELECT data FROM events WHERE sender_id = ? AND timestamp >= ? ORDER BY id"
ALL_COUNT = "SELECT count(*) FROM events WHERE sender_id = ?"
SINCE_COUNT = "SELECT count(*) FROM events WHERE sender_id = ? AND timestamp >= ?"
# Extra indexes on Rasa's table (Rasa's own store ignores them).
INDEXES = (
    "CREATE INDEX IF NOT EXISTS lean_events_session_start ON events (sender_id, type_name, timestamp)",
    "CREATE INDEX IF NOT EXISTS lean_events_sender_time ON events (sender_id, timestamp)",
)
INSERT = (
    "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
    "VALUES (:sender_id, :type_name, :timestamp, :intent_name, :action_name, :data)"
)


class LeanSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Built when the model is loaded, before any message: card masking then holds even
        # with none of our channels listed (bot/rasa_ext/patches/__init__.py).
        patches.install()
        super().__init__(*args, **kwargs)
        database = self.engine.url.database
        is_file = self.engine.dialect.name == "sqlite" and database not in (None, "", ":memory:")
        self._sqlite_path: Optional[str] = database if is_file else None
        self._sqlite: Optional[sqlite3.Connection] = None

    # ---- SQLite: one connection, plain SQL ----------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        if self._sqlite is None:
            # Used from the event loop's thread only; every call runs to its end without
            # awaiting, so two turns never interleave on it.
            db = sqlite3.connect(self._sqlite_path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            for statement in INDEXES:
                db.execute(statement)
            self._sqlite = db
        return self._sqlite

    def _session_start(self, sender_id: Text) -> Optional[float]:
        return self._db().execute(SESSION_START, (sender_id, SessionStarted.type_name)).fetchone()[0]

    def _latest_session(self, sender_id: Text, everything: str, since: str) -> Any:
        start = self._session_start(sender_id)
        if start is None:
            return self._db().execute(everything, (sender_id,))
        return self._db().execute(since, (sender_id, start))

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        if self._sqlite_path is None:
            tracker = await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        else:
            if fetch_events_from_all_sessions:
                rows = self._db().execute(ALL_SESSIONS, (sender_id,))
            else:
                rows = self._latest_session(sender_id, ALL_SESSIONS, SINCE)
            events = [json.loads(data) for (data,) in rows]
            tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots) if self.domain and events else None
        if tracker is not None and not fetch_events_from_all_sessions:
            setattr(tracker, _STORED, len(tracker.events))
        return tracker

    async def create_tracker(self, sender_id: Text, append_action_listen: bool = True) -> DialogueStateTracker:
        # Called when retrieve found nothing stored for this conversation.
        tracker = self.init_tracker(sender_id)
        if append_action_listen:
            tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        setattr(tracker, _STORED, 0)
        await self.save(tracker)
        setattr(tracker, _STORED, len(tracker.events))
        return tracker

    def _stored_count(self, session: Any, tracker: DialogueStateTracker) -> int:
        stored = tracker.__dict__.pop(_STORED, None)
        if stored is not None:
            return stored
        if self._sqlite_path is None:
            return self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
        return self._latest_session(tracker.sender_id, ALL_COUNT, SINCE_COUNT).fetchone()[0]

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        return itertools.islice(tracker.events, self._stored_count(session, tracker), None)

    async def save(self, tracker: DialogueStateTracker) -> None:
        if self._sqlite_path is None:
            return await super().save(tracker)
        await self.stream_events(tracker)
        rows: List[dict] = []
        for event in self._additional_events(None, tracker):
            data = event.as_dict()
            rows.append({
                "sender_id": tracker.sender_id,
                "type_name": event.type_name,
                "timestamp": data.get("timestamp"),
                "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                "action_name": data.get("name"),
                "data": json.dumps(data),
            })
        if rows:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(INSERT, rows)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        logger.debug("tracker of sender id %r stored (%d new events)", tracker.sender_id, len(rows))
