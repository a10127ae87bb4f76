"""Rasa's SQL tracker store, with less work per turn (endpoints.yml; SQLite by default).

Same table, same rows, same session semantics as `rasa.core.tracker_store.SQLTrackerStore`:
a tracker written by one is read by the other. Measured with py-spy under `make bench` load,
the stock store was about a third of the Rasa server's CPU per turn:

- `save` first COUNTs the session's stored events to know which are new (8-9 % of the
  server's CPU). The tracker being saved was almost always read by `retrieve` in the same
  turn, under the conversation's lock, so that count is known: it is remembered on the
  tracker and used once. A tracker this store did not read (a new conversation, a second
  save) still gets Rasa's COUNT.
- `retrieve` built an ORM object per stored event only to read its `data` column, and
  `save` flushed one ORM object per event: both now run the same statements through SQLAlchemy
  Core (a column query, one executemany insert) - about 10 %.
- SQLite: write-ahead log and `synchronous=NORMAL` (a commit no longer waits for an fsync on
  the event loop; a crashed process loses nothing, a power cut can lose the last commits),
  and a busy timeout so that several processes can share the file.

    tracker_store:
      type: bot.sql_tracker_store.LeanSQLTrackerStore
      dialect: "sqlite"
      db: ${RASA_TRACKER_DB}
"""
from __future__ import annotations

import itertools
import json
import logging
from typing import Any, Iterator, Optional, Text

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

logger = logging.getLogger(__name__)

# How many events of its session were stored when this tracker was read (set by retrieve,
# used and dropped by the next save).
_STORED = "_lean_sql_events_stored"
SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


class LeanSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            self.engine.dispose()  # connections opened while creating the table lack them
        self._events = self.SQLEvent.__table__

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions)
            events = [json.loads(data) for (data,) in query.with_entities(self.SQLEvent.data)]
        if not (self.domain and events):
            logger.debug("no stored tracker for sender id %r", sender_id)
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        if not fetch_events_from_all_sessions:
            setattr(tracker, _STORED, len(events))
        return tracker

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        stored = tracker.__dict__.pop(_STORED, None)
        if stored is None:
            return super()._additional_events(session, tracker)
        return itertools.islice(tracker.events, stored, None)

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        with self.session_scope() as session:
            rows = []
            for event in self._additional_events(session, tracker):
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
                session.execute(self._events.insert(), rows)
                session.commit()
        logger.debug("tracker of sender id %r stored (%d new events)", tracker.sender_id, len(rows))
