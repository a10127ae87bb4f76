"""Ticket store behaviour, run against a real SQLite file and a real redis-server."""
from __future__ import annotations

import asyncio
import re
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import bot
from bot.tickets import open_store
from bot.tickets.model import issue_key, iso
from bot.tickets.redis_store import RedisTicketStore
from bot.tickets.sqlite_store import SQLiteTicketStore
from tests.support.tickets import T0, callback, ticket

PROJECT_ROOT = str(Path(bot.__file__).resolve().parents[1])


def ids(docs):
    return [d["ticket_id"] for d in docs]


# -- ids -------------------------------------------------------------------------
async def test_ticket_id_format_and_daily_counter(store):
    assert await store.next_ticket_id(T0) == "C-20240305-0001"
    assert await store.next_ticket_id(T0) == "C-20240305-0002"
    # 23:30 at UTC+2 is still the 5th in UTC; 22:00 at UTC-5 is already the 6th.
    late_east = datetime(2024, 3, 5, 23, 30, tzinfo=timezone(timedelta(hours=2)))
    assert await store.next_ticket_id(late_east) == "C-20240305-0003"
    late_west = datetime(2024, 3, 5, 22, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert await store.next_ticket_id(late_west) == "C-20240306-0001"


async def test_ticket_ids_unique_under_concurrent_calls(store):
    got = await asyncio.gather(*(store.next_ticket_id(T0) for _ in range(50)))
    assert len(set(got)) == 50
    assert sorted(got) == [f"C-20240305-{n:04d}" for n in range(1, 51)]
    assert all(re.fullmatch(r"C-\d{8}-\d{4}", i) for i in got)


async def test_ticket_ids_unique_across_processes(store, sqlite_path, redis_url, key_prefix):
    # Two other OS processes draw ids from the same file / server while we do.
    if isinstance(store, SQLiteTicketStore):
        opener = f"open_store(sqlite_path={sqlite_path!r})"
    else:
        opener = f"open_store(url={redis_url!r}, key_prefix={key_prefix!r})"
    script = textwrap.dedent(
        f"""
        import asyncio
        from datetime import datetime, timezone
        from bot.tickets import open_store

        async def main():
            store = {opener}
            now = datetime(2024, 3, 5, 9, 0, tzinfo=timezone.utc)
            for _ in range(30):
                print(await store.next_ticket_id(now))
            await store.close()

        asyncio.run(main())
        """
    )
    procs = [
        await asyncio.create_subprocess_exec(sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE, cwd=PROJECT_ROOT)
        for _ in range(2)
    ]
    mine = [await store.next_ticket_id(T0) for _ in range(30)]
    outputs = [await p.communicate() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    theirs = [line for out, _ in outputs for line in out.decode().split()]
    everything = mine + theirs
    assert len(everything) == 90
    assert sorted(everything) == [f"C-20240305-{n:04d}" for n in range(1, 91)]


# -- documents -------------------------------------------------------------------
async def test_save_get_roundtrip(store):
    doc = ticket("C-20240305-0001", transcript=[{"role": "user", "text": "Größe falsch – ärgerlich", "at": iso(T0)}])
    doc["updated_at"] = "2000-01-01T00:00:00+00:00"
    saved = await store.save(doc)
    assert saved["updated_at"] != "2000-01-01T00:00:00+00:00"
    assert datetime.fromisoformat(saved["updated_at"]) > T0
    assert await store.get("C-20240305-0001") == saved
    assert await store.get("C-20240305-9999") is None


async def test_save_is_an_upsert(store):
    doc = await store.save(ticket("C-20240305-0001"))
    doc["category"] = "delivery"
    doc["status"] = "handed_off"
    await store.save(doc)
    got = await store.get("C-20240305-0001")
    assert got["category"] == "delivery" and got["status"] == "handed_off"
    assert ids(await store.find()) == ["C-20240305-0001"]


async def test_save_rejects_document_without_id(store):
    with pytest.raises(ValueError):
        await store.save({"status": "open"})


async def test_find_filters_and_order(store):
    await store.save(ticket("C-20240305-0001", "conv-a", minutes=0, status="open"))
    await store.save(ticket("C-20240305-0002", "conv-b", minutes=1, status="handed_off"))
    await store.save(ticket("C-20240305-0003", "conv-a", minutes=2, status="handed_off"))
    await store.save(ticket("C-20240305-0004", "conv-a", minutes=3, status="resolved"))

    assert ids(await store.find()) == ["C-20240305-0004", "C-20240305-0003", "C-20240305-0002", "C-20240305-0001"]
    assert ids(await store.find(conversation_id="conv-a")) == ["C-20240305-0004", "C-20240305-0003", "C-20240305-0001"]
    assert ids(await store.find(status="handed_off")) == ["C-20240305-0003", "C-20240305-0002"]
    assert ids(await store.find(conversation_id="conv-a", status="handed_off")) == ["C-20240305-0003"]
    assert ids(await store.find(limit=2)) == ["C-20240305-0004", "C-20240305-0003"]
    assert ids(await store.find(conversation_id="conv-a", limit=1)) == ["C-20240305-0004"]
    assert await store.find(conversation_id="nobody") == []
    assert await store.find(status="closed") == []


async def test_handoffs_ordered_by_score_then_oldest(store):
    await store.save(ticket("C-20240305-0001", minutes=5, status="handed_off", score=40))
    await store.save(ticket("C-20240305-0002", minutes=1, status="handed_off", score=90))
    await store.save(ticket("C-20240305-0003", minutes=3, status="handed_off", score=40))
    await store.save(ticket("C-20240305-0004", minutes=0, status="open", score=100))
    await store.save(ticket("C-20240305-0005", minutes=2, status="handed_off", score=40))
    assert ids(await store.handoffs()) == ["C-20240305-0002", "C-20240305-0005", "C-20240305-0003", "C-20240305-0001"]


async def test_callbacks_ordered_by_window_and_exclude_finished(store):
    await store.save(ticket("C-20240305-0001", callback=callback(start_minutes=300)))
    await store.save(ticket("C-20240305-0002", callback=callback(start_minutes=60)))
    await store.save(ticket("C-20240305-0003", callback=callback(start_minutes=30, outcome="done")))
    await store.save(ticket("C-20240305-0004", callback=callback(start_minutes=40, outcome="cancelled")))
    await store.save(ticket("C-20240305-0005", callback=callback(start_minutes=120, outcome="no_answer")))
    await store.save(ticket("C-20240305-0006", callback=callback(status="offered", start_minutes=10)))
    await store.save(ticket("C-20240305-0007", callback=callback(status="opted_out", start_minutes=10)))
    await store.save(ticket("C-20240305-0008", callback=callback(start_minutes=None)))
    assert ids(await store.callbacks()) == [
        "C-20240305-0002", "C-20240305-0005", "C-20240305-0001", "C-20240305-0008",
    ]


async def test_callbacks_order_by_instant_not_text(store):
    # Same instant written two ways must not sort by string: 10:30+02:00 is 08:30Z.
    a = ticket("C-20240305-0001", callback=callback())
    a["callback"]["window"] = {"start": "2024-03-06T10:30:00+02:00", "end": "2024-03-06T11:30:00+02:00"}
    b = ticket("C-20240305-0002", callback=callback())
    b["callback"]["window"] = {"start": "2024-03-06T09:00:00Z", "end": "2024-03-06T10:00:00Z"}
    await store.save(a)
    await store.save(b)
    assert ids(await store.callbacks()) == ["C-20240305-0001", "C-20240305-0002"]


async def test_count_callbacks_window(store):
    facts = {"order_id": "A-1", "purchase_date": None, "amount": None, "product": None}
    other = {"order_id": "B-2", "purchase_date": None, "amount": None, "product": None}
    await store.save(ticket("C-20240305-0001", facts=facts, callback=callback(decided_minutes=-60 * 24 * 10)))
    await store.save(ticket("C-20240305-0002", facts=facts, callback=callback(decided_minutes=-60, outcome="done")))
    await store.save(ticket("C-20240305-0003", facts=facts, callback=callback(decided_minutes=-5, outcome="no_answer")))
    await store.save(ticket("C-20240305-0004", facts=facts, callback=callback(status="opted_out", decided_minutes=-5)))
    await store.save(ticket("C-20240305-0005", facts=other, callback=callback(decided_minutes=-5)))
    key = issue_key(ticket("x", facts=facts))
    assert key == "A-1"
    since = T0 - timedelta(days=7)
    assert await store.count_callbacks(key, since) == 2
    assert await store.count_callbacks(key, T0 - timedelta(days=30)) == 3
    assert await store.count_callbacks(key, T0 - timedelta(minutes=5)) == 1  # inclusive bound
    assert await store.count_callbacks(key, T0) == 0
    assert await store.count_callbacks("nothing", since) == 0


async def test_status_change_keeps_indexes_right(store):
    doc = await store.save(ticket("C-20240305-0001", "conv-a", status="handed_off", score=70,
                                  callback=callback(start_minutes=60)))
    assert ids(await store.handoffs()) == ["C-20240305-0001"]
    assert ids(await store.callbacks()) == ["C-20240305-0001"]

    doc["status"] = "resolved"
    doc["callback"]["outcome"] = "done"
    await store.save(doc)
    assert await store.handoffs() == []
    assert await store.callbacks() == []
    assert await store.find(status="handed_off") == []
    assert ids(await store.find(status="resolved")) == ["C-20240305-0001"]
    assert ids(await store.find(conversation_id="conv-a")) == ["C-20240305-0001"]

    # And back again: the ticket reappears exactly once.
    doc["status"] = "handed_off"
    await store.save(doc)
    assert ids(await store.handoffs()) == ["C-20240305-0001"]
    assert await store.find(status="resolved") == []


async def test_changing_conversation_moves_ticket(store):
    doc = await store.save(ticket("C-20240305-0001", "conv-a"))
    doc["conversation_id"] = "conv-b"
    await store.save(doc)
    assert await store.find(conversation_id="conv-a") == []
    assert ids(await store.find(conversation_id="conv-b")) == ["C-20240305-0001"]


# -- backend specifics -----------------------------------------------------------
async def test_sqlite_survives_reopening(sqlite_path):
    first = SQLiteTicketStore(sqlite_path)
    tid = await first.next_ticket_id(T0)
    await first.next_ticket_id(T0)
    await first.save(ticket(tid, status="handed_off", score=10))
    await first.close()

    second = SQLiteTicketStore(sqlite_path)
    try:
        assert (await second.get(tid))["status"] == "handed_off"
        assert ids(await second.handoffs()) == [tid]
        assert await second.next_ticket_id(T0) == "C-20240305-0003"
    finally:
        await second.close()


async def test_sqlite_uses_wal(sqlite_path, sqlite_store):
    await sqlite_store.next_ticket_id(T0)
    mode = await sqlite_store._run(lambda conn: conn.execute("PRAGMA journal_mode").fetchone()[0])
    assert mode == "wal"


async def test_custom_id_prefix(sqlite_path, redis_url, key_prefix):
    for store in (SQLiteTicketStore(sqlite_path, prefix="T-"), RedisTicketStore(redis_url, prefix="T-", key_prefix=key_prefix)):
        try:
            assert await store.next_ticket_id(T0) == "T-20240305-0001"
        finally:
            await store.close()


async def test_open_store_picks_backend_from_env(tmp_path, monkeypatch, redis_url, key_prefix):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("TICKETS_DB", raising=False)
    monkeypatch.chdir(tmp_path)

    default = open_store()
    assert isinstance(default, SQLiteTicketStore)
    assert not (tmp_path / "var").exists()  # nothing opened until first use
    await default.next_ticket_id(T0)
    assert (tmp_path / "var" / "tickets.db").exists()
    await default.close()

    monkeypatch.setenv("TICKETS_DB", str(tmp_path / "elsewhere" / "t.db"))
    from_env = open_store()
    assert from_env.path == str(tmp_path / "elsewhere" / "t.db")
    await from_env.close()

    monkeypatch.setenv("REDIS_URL", redis_url)
    via_env = open_store(key_prefix=key_prefix)
    assert isinstance(via_env, RedisTicketStore) and via_env.key_prefix == key_prefix
    assert await via_env.next_ticket_id(T0) == "C-20240305-0001"
    await via_env.close()

    monkeypatch.delenv("REDIS_URL")
    explicit = open_store(url=redis_url)
    assert isinstance(explicit, RedisTicketStore) and explicit.key_prefix == "complaints:"
    await explicit.close()
