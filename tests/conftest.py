"""Shared fixtures: a real redis-server for the session, and both ticket stores.

Async tests run under pytest-asyncio in strict mode: test modules opt in with
`pytestmark = pytest.mark.asyncio`, async fixtures use `pytest_asyncio.fixture`.
pytest-aiohttp (auto-loaded via its entry point; `aiohttp_client` / `aiohttp_server`) builds on
pytest-asyncio, so the two cooperate without further configuration.
"""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import pytest_asyncio
import redis

from bot.tickets.redis_store import RedisTicketStore
from bot.tickets.sqlite_store import SQLiteTicketStore
from tests.redis_server import INSTALL_HINT, RedisServer, redis_binary


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory):
    if redis_binary() is None:
        pytest.fail(INSTALL_HINT)
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def key_prefix() -> str:
    # A fresh namespace per test keeps tests independent without FLUSHDB races.
    return f"test-{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def sqlite_path(tmp_path: Path) -> str:
    return str(tmp_path / "var" / "tickets.db")


@pytest_asyncio.fixture
async def sqlite_store(sqlite_path: str):
    store = SQLiteTicketStore(sqlite_path)
    yield store
    await store.close()


@pytest_asyncio.fixture
async def redis_store(redis_url: str, key_prefix: str):
    store = RedisTicketStore(redis_url, key_prefix=key_prefix)
    yield store
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{key_prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()
    await store.close()


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest):
    """The same test, once per backend."""
    return request.getfixturevalue(f"{request.param}_store")


# ---- the whole product, started for real -----------------------------------------
@pytest.fixture(scope="session")
def live_stack(tmp_path_factory: pytest.TempPathFactory):
    """Rasa + action server + agent API on SQLite, as `make run` starts them."""
    from tests.live import LiveStack

    stack = LiveStack(tmp_path_factory.mktemp("stack")).start()
    yield stack
    stack.stop()
