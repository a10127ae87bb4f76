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
  that several processes can share the file) and runs the same queries as plain SQL: one
  SELECT per retrieve, one executemany INSERT per save. Other databases keep Rasa's code
  for everything but the count.

    tracker_store:
      type: bot.sql_tracker_store.LeanSQLTrackerStore
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

logger = logging.getLogger(__name__)

# How many events of its session were stored when this tracker was read (set by retrieve,
# used and dropped by the next save).
_STORED = "_lean_sql_events_stored"
SQLITE_BUSY_TIMEOUT_MS = 10_000

# The rows SQLTrackerStore._event_query selects: the sender's events from the latest
# `SessionStarted` on (by timestamp), or all of them when no session was started; by id.
_SESSION_FILTER = (
    "FROM events AS e, (SELECT max(timestamp) AS start FROM events "
    "WHERE sender_id = :sender AND type_name = :session_started) AS s "
    "WHERE e.sender_id = :sender AND (s.start IS NULL OR e.timestamp >= s.start)"
)
LATEST_SESSION = f"SELECT e.data {_SESSION_FILTER} ORDER BY e.id"
LATEST_SESSION_COUNT = f"SELECT count(*) {_SESSION_FILTER}"
ALL_SESSIONS = "SELECT data FROM events WHERE sender_id = :sender ORDER BY id"
INSERT = (
    "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
    "VALUES (:sender_id, :type_name, :timestamp, :intent_name, :action_name, :data)"
)


class LeanSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
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
            self._sqlite = db
        return self._sqlite

    def _session_params(self, sender_id: Text) -> dict:
        return {"sender": sender_id, "session_started": SessionStarted.type_name}

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        if self._sqlite_path is None:
            tracker = await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        else:
            sql = ALL_SESSIONS if fetch_events_from_all_sessions else LATEST_SESSION
            events = [json.loads(data) for (data,) in self._db().execute(sql, self._session_params(sender_id))]
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
        return self._db().execute(LATEST_SESSION_COUNT, self._session_params(tracker.sender_id)).fetchone()[0]

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
