"""AtomicRedisLockStore (bot/rasa_ext/stores/lock_store.py) under contention, as the Rasa
servers of a scaled-out deployment (tests/live/test_scale_out.py) use it: several lock stores,
each on its own event loop, against one real redis-server."""
from __future__ import annotations

import asyncio
import threading
import uuid
from typing import List
from urllib.parse import urlparse

import redis

from bot.rasa_ext.stores.lock_store import AtomicRedisLockStore


def test_the_lock_store_is_mutually_exclusive_across_processes(redis_url):
    """Eight 'processes' (threads with their own event loop and their own lock store) take the
    same conversation's lock 10 times each and do a non-atomic read-modify-write inside it:
    no update may be lost. (Rasa's own RedisLockStore issues tickets by GET-modify-SET: run
    the same way it lost 36 of 80 updates and three workers failed with LockError.)"""
    url = urlparse(redis_url)
    conversation = f"lock-test-{uuid.uuid4().hex}"
    counter_key = f"counter:{conversation}"
    errors: List[BaseException] = []

    def worker() -> None:
        store = AtomicRedisLockStore(host=url.hostname, port=url.port, db=0, key_prefix="locktest")
        counter = redis.Redis(host=url.hostname, port=url.port)

        async def run() -> None:
            for _ in range(10):
                async with store.lock(conversation, lock_lifetime=30):
                    value = int(counter.get(counter_key) or 0)
                    await asyncio.sleep(0.001)
                    counter.set(counter_key, value + 1)

        try:
            asyncio.run(run())
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    client = redis.Redis(host=url.hostname, port=url.port)
    try:
        assert not errors, errors
        assert int(client.get(counter_key)) == 8 * 10
        assert client.get(f"locktest:lock:{conversation}") is None, "an idle lock is removed"
    finally:
        client.delete(counter_key)
        client.close()
