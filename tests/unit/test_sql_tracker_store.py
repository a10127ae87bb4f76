"""bot.rasa_ext.stores.sql_tracker_store.LeanSQLTrackerStore against Rasa's own SQLTrackerStore, both on real
SQLite files: the same rows, readable by each other, with fewer statements per turn."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import List

import pytest
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered,
)
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_ext.stores.sql_tracker_store import LeanSQLTrackerStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


def lean(domain, path: Path) -> LeanSQLTrackerStore:
    return LeanSQLTrackerStore(domain=domain, dialect="sqlite", db=str(path))


def stock(domain, path: Path) -> SQLTrackerStore:
    return SQLTrackerStore(domain=domain, dialect="sqlite", db=str(path))


def a_turn(n: int, at: float) -> List[Event]:
    return [UserUttered(f"message {n}", {"name": "greet", "confidence": 0.9}, timestamp=at),
            SlotSet("category", f"c{n}", timestamp=at + 0.001),
            ActionExecuted("utter_greet", timestamp=at + 0.002), BotUttered(f"reply {n}", timestamp=at + 0.003),
            ActionExecuted("action_listen", timestamp=at + 0.004)]


def new_session(at: float) -> List[Event]:
    return [ActionExecuted("action_session_start", timestamp=at), SessionStarted(timestamp=at + 0.001),
            ActionExecuted("action_listen", timestamp=at + 0.002)]


async def play(store: TrackerStore, domain: Domain, sender: str, start: float) -> None:
    """Turns as the Rasa server plays them: retrieve, add the turn's events, save; a new
    session starts in the middle of a turn now and then."""
    for n in range(12):
        tracker = await store.get_or_create_tracker(sender, append_action_listen=False)
        at = start + n
        events = (new_session(at) if n in (0, 5, 9) else []) + a_turn(n, at + 0.5)
        for event in events:
            tracker.update(event, domain)
        await store.save(tracker)


def traced(store: LeanSQLTrackerStore) -> List[str]:
    """Every statement the store sends to SQLite from now on."""
    statements: List[str] = []
    store._db().set_trace_callback(statements.append)
    return statements


def rows(path: Path) -> list:
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events ORDER BY id"
        ).fetchall()


async def test_writes_the_same_rows_as_rasas_store(domain, tmp_path):
    start = time.time() - 100
    await play(stock(domain, tmp_path / "stock.db"), domain, "conv", start)
    await play(lean(domain, tmp_path / "lean.db"), domain, "conv", start)
    written = rows(tmp_path / "lean.db")
    assert written == rows(tmp_path / "stock.db")
    assert len(written) == 3 * 3 + 12 * 5, "every event once"


async def test_each_store_reads_what_the_other_wrote(domain, tmp_path):
    start = time.time() - 100
    path = tmp_path / "shared.db"
    await play(lean(domain, path), domain, "by-lean", start)
    await play(stock(domain, path), domain, "by-stock", start)
    for sender in ("by-lean", "by-stock"):
        mine, theirs = lean(domain, path), stock(domain, path)
        for fetch in ("retrieve", "retrieve_full_tracker"):
            a, b = await getattr(mine, fetch)(sender), await getattr(theirs, fetch)(sender)
            assert [e.as_dict() for e in a.events] == [e.as_dict() for e in b.events]
            assert a.current_slot_values() == b.current_slot_values()
    latest = await lean(domain, path).retrieve("by-lean")
    assert [e.text for e in latest.events if isinstance(e, UserUttered)] == ["message 9", "message 10", "message 11"], \
        "retrieve returns the latest session only"


async def test_a_turn_costs_no_count_query(domain, tmp_path):
    store = lean(domain, tmp_path / "t.db")
    await play(store, domain, "conv", time.time() - 100)
    statements = traced(store)
    tracker = await store.retrieve("conv")
    for event in a_turn(99, time.time()):
        tracker.update(event, domain)
    await store.save(tracker)
    assert not [s for s in statements if "count(" in s.lower()], statements
    assert [s.split()[0].upper() for s in statements] == ["SELECT", "SELECT", "BEGIN", "INSERT", "INSERT", "INSERT",
                                                          "INSERT", "INSERT", "COMMIT"], "two reads, one transaction"

    # The same tracker object saved again: falls back to Rasa's count, still no duplicate.
    tracker.update(BotUttered("one more", timestamp=time.time()), domain)
    await store.save(tracker)
    texts = [r[5] for r in rows(tmp_path / "t.db")]
    assert len(texts) == len(set(texts)), "no event stored twice"
    assert sum('"one more"' in t for t in texts) == 1


async def test_sqlite_runs_with_a_write_ahead_log(domain, tmp_path):
    store = lean(domain, tmp_path / "wal.db")
    await play(store, domain, "conv", time.time() - 100)
    db = store._db()
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    with sqlite3.connect(tmp_path / "wal.db") as other:  # the mode belongs to the file
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_rasa_builds_it_from_endpoints_yml(domain, tmp_path):
    """Rasa falls back to an in-memory store, silently, when a custom type can't be loaded."""
    config = EndpointConfig.from_dict({
        "type": "bot.rasa_ext.stores.sql_tracker_store.LeanSQLTrackerStore", "dialect": "sqlite", "db": str(tmp_path / "e.db"),
    })
    store = TrackerStore.create(config, domain)
    inner = getattr(store, "_tracker_store", store)
    assert isinstance(inner, LeanSQLTrackerStore)


async def test_a_new_conversation_costs_no_count_query_either(domain, tmp_path):
    store = lean(domain, tmp_path / "new.db")
    statements = traced(store)
    tracker = await store.get_or_create_tracker("new-conv")
    for event in a_turn(1, time.time()):
        tracker.update(event, domain)
    await store.save(tracker)
    assert not [s for s in statements if "count(" in s.lower()], statements
    assert len(rows(tmp_path / "new.db")) == 1 + 5, "the initial action_listen and the turn, once"


async def test_reading_a_session_never_reads_the_whole_conversation(domain, tmp_path):
    """Both reads are index lookups: the 200th message costs what the 5th did."""
    from bot.rasa_ext.stores.sql_tracker_store import SESSION_START, SINCE

    store = lean(domain, tmp_path / "plan.db")
    await play(store, domain, "conv", time.time() - 100)
    db = store._db()
    for sql, params in ((SESSION_START, ("conv", "session_started")), (SINCE, ("conv", 0.0))):
        plan = " ".join(row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        assert "USING" in plan and "INDEX" in plan and "SCAN events" not in plan.replace("USING", ""), plan
