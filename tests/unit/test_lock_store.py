"""bot.rasa_ext.stores.lock_store.AtomicRedisLockStore against a real redis-server: Rasa's ticket lock (same key,
same JSON, same numbering and expiry), one Lua script per queue change (one round trip each),
no ticket issued twice under concurrency, and Rasa's `lock()` behaviour on top.
(Async tests: pytest-asyncio in auto mode, pyproject.toml.)"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections import deque
from typing import Iterator, List, Optional
from urllib.parse import urlparse

import pytest
import redis
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LockError, RedisLockStore

from bot.rasa_ext.stores.lock_store import AtomicRedisLockStore


@pytest.fixture
def prefix(key_prefix: str) -> str:
    # Rasa accepts only an alphanumeric key prefix (it uses "<prefix>:lock:").
    return "".join(c for c in key_prefix if c.isalnum())


@pytest.fixture
def client(redis_url: str, prefix: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def make_store(redis_url: str, prefix: str, cls=AtomicRedisLockStore):
    url = urlparse(redis_url)
    return cls(host=url.hostname, port=url.port, db=0, key_prefix=prefix)


@pytest.fixture
def lock_store(redis_url: str, prefix: str, client: redis.Redis) -> AtomicRedisLockStore:
    return make_store(redis_url, prefix)


@pytest.fixture
def conversation() -> str:
    return f"conv-{uuid.uuid4().hex}"


def raw(client: redis.Redis, store: AtomicRedisLockStore, conversation: str) -> Optional[bytes]:
    return client.get(store.key_prefix + conversation)


def numbers(store: AtomicRedisLockStore, conversation: str) -> Optional[List[int]]:
    lock = store.get_lock(conversation)
    return None if lock is None else [t.number for t in lock.tickets]


# -- the queue -------------------------------------------------------------------------------
def test_the_key_is_rasas(lock_store, conversation):
    assert lock_store.key_prefix.endswith(":lock:")
    assert lock_store.key_prefix == RedisLockStore(key_prefix=lock_store.key_prefix.split(":")[0]).key_prefix


def test_tickets_are_issued_in_order(lock_store, conversation):
    assert [lock_store.issue_ticket(conversation, 30) for _ in range(3)] == [0, 1, 2]
    lock = lock_store.get_lock(conversation)
    assert [t.number for t in lock.tickets] == [0, 1, 2]
    assert lock.conversation_id == conversation
    assert lock.now_serving == 0
    assert not lock.is_locked(0) and lock.is_locked(1)


def test_numbering_follows_the_last_ticket_like_rasa(lock_store, conversation):
    for _ in range(3):
        lock_store.issue_ticket(conversation, 30)
    lock_store.finish_serving(conversation, 2)  # the last one gone: its number is reused
    assert lock_store.issue_ticket(conversation, 30) == 2
    lock_store.finish_serving(conversation, 0)
    assert lock_store.issue_ticket(conversation, 30) == 3
    assert numbers(lock_store, conversation) == [1, 2, 3]
    reference = TicketLock(conversation)
    for _ in range(3):
        reference.issue_ticket(30)
    reference.remove_ticket_for(2)
    assert reference.issue_ticket(30) == 2
    reference.remove_ticket_for(0)
    assert reference.issue_ticket(30) == 3


def test_the_json_is_what_rasa_writes(lock_store, client, conversation, monkeypatch):
    # A conversation id that needs escaping, and a clock with more digits than cjson keeps.
    conversation = conversation + ' "ü/\\'
    clock = 1712345678.1234567
    monkeypatch.setattr(time, "time", lambda: clock)
    assert lock_store.issue_ticket(conversation, 60) == 0
    assert lock_store.issue_ticket(conversation, 30.5) == 1
    expected = TicketLock(conversation, deque([Ticket(0, clock + 60), Ticket(1, clock + 30.5)]))
    assert raw(client, lock_store, conversation).decode() == expected.dumps()  # byte for byte
    lock = TicketLock.from_dict(json.loads(raw(client, lock_store, conversation)))
    assert [(t.number, t.expires) for t in lock.tickets] == [(0, clock + 60), (1, clock + 30.5)]
    assert lock.conversation_id == conversation
    # Changing the queue keeps the other tickets' text as it was.
    lock_store.finish_serving(conversation, 0)
    expected.remove_ticket_for(0)
    assert raw(client, lock_store, conversation).decode() == expected.dumps()


def test_rasas_redis_lock_store_shares_the_queue(redis_url, prefix, lock_store, client, conversation):
    rasa = make_store(redis_url, prefix, RedisLockStore)
    assert lock_store.issue_ticket(conversation, 30) == 0
    assert lock_store.issue_ticket(conversation, 30) == 1
    assert [t.number for t in rasa.get_lock(conversation).tickets] == [0, 1]
    assert rasa.is_someone_waiting(conversation)
    assert rasa.issue_ticket(conversation, 30) == 2  # Rasa writes the same format back
    assert lock_store.issue_ticket(conversation, 30) == 3
    assert numbers(lock_store, conversation) == [0, 1, 2, 3]
    for ticket in range(4):
        lock_store.cleanup(conversation, ticket)
    assert rasa.get_lock(conversation) is None


def test_expired_tickets_are_removed(lock_store, conversation, monkeypatch):
    # The clients' clock (the one expiry is judged by), moved on by the test: a pause of the
    # machine between two calls must not expire a ticket early.
    now = [time.time()]
    monkeypatch.setattr(time, "time", lambda: now[0])
    assert lock_store.issue_ticket(conversation, 0.2) == 0
    assert lock_store.issue_ticket(conversation, 30) == 1
    now[0] += 0.3
    lock_store.update_lock(conversation)
    assert numbers(lock_store, conversation) == [1]
    # A queue of expired tickets only starts again at 0, like TicketLock.issue_ticket.
    other = conversation + "-b"
    assert [lock_store.issue_ticket(other, 0.2) for _ in range(2)] == [0, 1]
    now[0] += 0.3
    assert lock_store.issue_ticket(other, 30) == 0
    assert numbers(lock_store, other) == [0]


def test_expiry_is_judged_by_the_clients_clock(lock_store, client, conversation, monkeypatch):
    """Rasa compares `expires` with its own time.time(), so the store must too (not Redis's)."""
    lock_store.issue_ticket(conversation, 30)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 29)
    lock_store.update_lock(conversation)
    assert numbers(lock_store, conversation) == [0]
    monkeypatch.setattr(time, "time", lambda: real() + 31)
    lock_store.update_lock(conversation)
    assert raw(client, lock_store, conversation) is None
    # To the microsecond, well below what Lua's cjson would print (14 significant digits).
    expires = 1712345678.1234567 + 30
    monkeypatch.setattr(time, "time", lambda: 1712345678.1234567)
    lock_store.issue_ticket(conversation, 30)
    monkeypatch.setattr(time, "time", lambda: expires - 1e-6)
    lock_store.update_lock(conversation)
    assert numbers(lock_store, conversation) == [0]
    monkeypatch.setattr(time, "time", lambda: expires + 1e-6)
    lock_store.update_lock(conversation)
    assert raw(client, lock_store, conversation) is None


def test_an_emptied_queue_is_deleted_and_other_tickets_stay(lock_store, client, conversation):
    for _ in range(3):
        lock_store.issue_ticket(conversation, 30)
    lock_store.finish_serving(conversation, 1)
    assert numbers(lock_store, conversation) == [0, 2]
    lock_store.finish_serving(conversation, 7)  # unknown ticket: nothing changes
    assert numbers(lock_store, conversation) == [0, 2]
    lock_store.cleanup(conversation, 0)
    assert numbers(lock_store, conversation) == [2]
    lock_store.cleanup(conversation, 2)
    assert raw(client, lock_store, conversation) is None
    # Never an empty queue: finish_serving of the last ticket deletes the key too.
    lock_store.issue_ticket(conversation, 30)
    lock_store.finish_serving(conversation, 0)
    assert raw(client, lock_store, conversation) is None


def test_a_missing_queue_stays_missing(lock_store, client, conversation):
    lock_store.update_lock(conversation)
    lock_store.finish_serving(conversation, 0)
    lock_store.cleanup(conversation, 0)
    assert raw(client, lock_store, conversation) is None
    assert lock_store.get_lock(conversation) is None
    assert not lock_store.is_someone_waiting(conversation)


def test_the_queue_outlives_its_longest_ticket_by_five_seconds(lock_store, client, conversation):
    key = lock_store.key_prefix + conversation
    lock_store.issue_ticket(conversation, 30)
    assert 34_000 < client.pttl(key) <= 35_000
    lock_store.issue_ticket(conversation, 100)
    assert 104_000 < client.pttl(key) <= 105_000
    lock_store.finish_serving(conversation, 1)
    assert 34_000 < client.pttl(key) <= 35_000
    lock_store.update_lock(conversation)
    assert 34_000 < client.pttl(key) <= 35_000
    short = conversation + "-short"
    lock_store.issue_ticket(short, 0.001)  # at least a second
    assert 0 < client.pttl(lock_store.key_prefix + short) <= 5_001


def test_save_lock_replaces_the_tickets(lock_store, client, conversation):
    lock_store.issue_ticket(conversation, 30)
    lock = TicketLock(conversation)
    for _ in range(3):
        lock.issue_ticket(60)
    lock_store.save_lock(lock)
    assert raw(client, lock_store, conversation).decode() == lock.dumps()
    assert 64_000 < client.pttl(lock_store.key_prefix + conversation) <= 65_000
    lock_store.save_lock(TicketLock(conversation))
    assert raw(client, lock_store, conversation) is None


def test_errors_like_before(redis_url, prefix, lock_store, client, conversation, caplog):
    # A queue that is not JSON: issuing fails with Rasa's LockError, cleaning up only logs.
    client.set(lock_store.key_prefix + conversation, b"not json")
    with pytest.raises(LockError):
        lock_store.issue_ticket(conversation, 30)
    with caplog.at_level(logging.WARNING, logger="bot.rasa_ext.stores.lock_store"):
        lock_store.cleanup(conversation, 0)
    assert "could not release the lock" in caplog.text
    with pytest.raises(redis.ResponseError):
        lock_store.update_lock(conversation)
    # Redis gone.
    from tests.support.redis_server import free_port

    down = AtomicRedisLockStore(host="127.0.0.1", port=free_port(), db=0, key_prefix=prefix)
    with pytest.raises(LockError):
        down.issue_ticket(conversation, 30)
    down.cleanup(conversation, 0)  # never raises
    with pytest.raises(redis.ConnectionError):
        down.finish_serving(conversation, 0)


def test_the_scripts_come_back_after_a_script_flush(lock_store, client, conversation):
    assert lock_store.issue_ticket(conversation, 30) == 0
    client.script_flush()  # as after a Redis restart
    assert lock_store.issue_ticket(conversation, 30) == 1
    client.script_flush()
    lock_store.cleanup(conversation, 0)
    assert numbers(lock_store, conversation) == [1]


def test_from_an_endpoint_config(redis_url, prefix, client, conversation):
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    url = urlparse(redis_url)
    store = LockStore.create(EndpointConfig(
        url=url.hostname, type="bot.rasa_ext.stores.lock_store.AtomicRedisLockStore",
        port=str(url.port), db="0", key_prefix=prefix,
    ))
    assert isinstance(store, AtomicRedisLockStore)
    assert store.key_prefix == f"{prefix}:lock:"
    assert store.issue_ticket(conversation, 30) == 0


# -- one round trip per operation --------------------------------------------------------------
def test_every_operation_is_one_command(lock_store, conversation, monkeypatch):
    commands: List[str] = []
    execute = lock_store.red.execute_command

    def counting(*args, **kwargs):
        commands.append(str(args[0]))
        return execute(*args, **kwargs)

    # Loaded once per server (EVALSHA, NOSCRIPT, SCRIPT LOAD, EVALSHA), then EVALSHA only.
    lock_store.issue_ticket(conversation, 30)
    lock_store.cleanup(conversation, 0)
    monkeypatch.setattr(lock_store.red, "execute_command", counting)

    def count(operation) -> List[str]:
        commands.clear()
        operation()
        return list(commands)

    assert count(lambda: lock_store.issue_ticket(conversation, 30)) == ["EVALSHA"]
    assert count(lambda: lock_store.issue_ticket(conversation, 30)) == ["EVALSHA"]
    assert count(lambda: lock_store.update_lock(conversation)) == ["EVALSHA"]
    assert count(lambda: lock_store.finish_serving(conversation, 1)) == ["EVALSHA"]
    assert count(lambda: lock_store.cleanup(conversation, 0)) == ["EVALSHA"]
    assert count(lambda: lock_store.get_lock(conversation)) == ["GET"]
    lock = TicketLock(conversation)
    lock.issue_ticket(30)
    assert count(lambda: lock_store.save_lock(lock)) == ["SET"]
    assert count(lambda: lock_store.save_lock(TicketLock(conversation))) == ["DEL"]


async def test_an_uncontended_turn_takes_three_commands(lock_store, conversation, monkeypatch):
    commands: List[str] = []
    execute = lock_store.red.execute_command

    def counting(*args, **kwargs):
        commands.append(str(args[0]))
        return execute(*args, **kwargs)

    async with lock_store.lock(conversation, 30):  # load the scripts
        pass
    monkeypatch.setattr(lock_store.red, "execute_command", counting)
    async with lock_store.lock(conversation, 30):
        assert commands == ["EVALSHA", "GET"]
    assert commands == ["EVALSHA", "GET", "EVALSHA"]


# -- the race the store exists for -------------------------------------------------------------
def test_concurrent_issues_never_share_a_number(redis_url, prefix, client, conversation):
    stores = [make_store(redis_url, prefix), make_store(redis_url, prefix)]
    issued: List[int] = []
    errors: List[BaseException] = []
    start = threading.Barrier(8)

    def worker(index: int) -> None:
        store = stores[index % 2]
        try:
            start.wait()
            mine = [store.issue_ticket(conversation, 60) for _ in range(50)]
            issued.extend(mine)
            assert mine == sorted(mine)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(issued) == list(range(400))
    assert numbers(stores[0], conversation) == list(range(400))


def test_concurrent_releases_keep_the_queue_consistent(redis_url, prefix, client, conversation):
    """Four threads release tickets while two issue new ones: no lost ticket, none resurrected."""
    store_a, store_b = make_store(redis_url, prefix), make_store(redis_url, prefix)
    for _ in range(201):  # 0-199 to release; 200 stays, so the numbering never restarts
        store_a.issue_ticket(conversation, 60)
    errors: List[BaseException] = []
    start = threading.Barrier(6)

    def run(work) -> None:
        try:
            start.wait()
            work()
        except BaseException as error:  # reported below
            errors.append(error)

    def release(offset: int) -> None:
        store = store_a if offset % 2 else store_b
        for number in range(offset, 200, 4):
            store.cleanup(conversation, number)

    def issue() -> None:
        for _ in range(50):
            store_b.issue_ticket(conversation, 60)

    threads = [threading.Thread(target=run, args=(lambda i=i: release(i),)) for i in range(4)]
    threads += [threading.Thread(target=run, args=(issue,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert numbers(store_a, conversation) == list(range(200, 301))


# -- lock(): Rasa's ticket lock on top ----------------------------------------------------------
async def test_lock_serialises_two_turns_of_one_conversation(lock_store, client, conversation):
    events: List[str] = []
    released_at: List[float] = []
    acquired_at: List[float] = []
    first_in = asyncio.Event()

    async def first() -> None:
        async with lock_store.lock(conversation, 30):
            events.append("first in")
            first_in.set()
            await asyncio.sleep(0.3)
            events.append("first out")
            released_at.append(time.monotonic())

    async def second() -> None:
        await first_in.wait()
        async with lock_store.lock(conversation, 30):
            acquired_at.append(time.monotonic())
            events.append("second in")
        events.append("second out")

    await asyncio.wait_for(asyncio.gather(first(), second()), 10)
    assert events == ["first in", "first out", "second in", "second out"]
    # As soon as the first lets go, not when its 30 s ticket would have expired (how soon
    # exactly is a matter of load, not of correctness).
    assert 0 <= acquired_at[0] - released_at[0] < 10
    assert raw(client, lock_store, conversation) is None


async def test_other_conversations_are_not_blocked(lock_store, conversation):
    async def other() -> str:
        async with lock_store.lock(conversation + "-other", 30):
            return "in"

    async with lock_store.lock(conversation, 30):
        # Blocked, it would wait for this lock's 30 s ticket (this task holds it meanwhile).
        assert await asyncio.wait_for(other(), 10) == "in"


async def test_a_crashed_holders_ticket_expires(lock_store, client, conversation):
    lock_store.issue_ticket(conversation, 0.3)  # held, never released
    started = time.monotonic()
    async with lock_store.lock(conversation, 30) as lock:
        waited = time.monotonic() - started
        assert lock.now_serving == 1
    assert 0.25 < waited < 10, "after the crashed holder's 0.3 s, long before the 30 s asked for"
    assert raw(client, lock_store, conversation) is None


@pytest.mark.parametrize("kind", ["atomic", "rasa"])
async def test_a_waiter_whose_ticket_expired_gets_a_lock_error_like_rasa(kind, redis_url, prefix, client, conversation):
    """Rasa: a waiter whose own ticket expires in the queue raises LockError once the queue
    is gone (here: when the holder releases it); it never gets the lock."""
    store = make_store(redis_url, prefix, AtomicRedisLockStore if kind == "atomic" else RedisLockStore)
    holder_in = asyncio.Event()
    outcome: List[str] = []

    async def holder() -> None:
        async with store.lock(conversation, 3, wait_time_in_seconds=0.05):
            holder_in.set()
            # Held until the waiter's 0.2 s ticket has expired in the queue, however late the
            # waiter came (a fixed hold would let a slow waiter find the lock free).
            deadline = time.monotonic() + 10
            while not (store.get_lock(conversation) and len(store.get_lock(conversation).tickets) > 1):
                assert time.monotonic() < deadline, "the waiter never queued"
                await asyncio.sleep(0.02)
            waiters = max(store.get_lock(conversation).tickets, key=lambda t: t.number)
            await asyncio.sleep(max(0.0, waiters.expires - time.time()) + 0.2)

    async def waiter() -> None:
        await holder_in.wait()
        started = time.monotonic()
        try:
            async with store.lock(conversation, 0.2, wait_time_in_seconds=0.05):
                outcome.append("acquired")
        except LockError:
            outcome.append(f"LockError after {time.monotonic() - started:.1f}s")

    await asyncio.wait_for(asyncio.gather(holder(), waiter()), 10)
    assert len(outcome) == 1 and outcome[0].startswith("LockError"), outcome
    assert store.get_lock(conversation) is None
