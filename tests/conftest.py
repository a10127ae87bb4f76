"""Shared fixtures (a real redis-server for the session, both ticket stores, the whole product)
and the suite's layout: tests/unit runs in process and may not start the product, tests/live
starts it and carries the `live` marker (`pytest -m "not live"` is the fast part), helpers
live in tests/support.

Async tests run under pytest-asyncio in auto mode (pyproject.toml): every `async def` test
and fixture runs on the event loop without a marker. Auto rather than strict because the
suite is asyncio-only (no trio or curio tests a marker would tell apart), and under strict
mode an async test whose module forgot `pytestmark = pytest.mark.asyncio` is not run at all,
which no one notices. pytest-aiohttp (auto-loaded via its entry point; `aiohttp_client` /
`aiohttp_server`) builds on pytest-asyncio, so the two cooperate without further configuration.
"""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import pytest_asyncio
import redis

from bot.tickets.redis_store import RedisTicketStore
from bot.tickets.sqlite_store import SQLiteTicketStore
from tests.support.cluster import Service
from tests.support.live import LiveStack
from tests.support.redis_server import INSTALL_HINT, RedisServer, redis_binary

TESTS = Path(__file__).resolve().parent
UNIT_DIR, LIVE_DIR = TESTS / "unit", TESTS / "live"


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
    stack = LiveStack(tmp_path_factory.mktemp("stack")).start()
    yield stack
    stack.stop()


def _under(item: pytest.Item, directory: Path) -> bool:
    return directory in Path(str(item.fspath)).resolve().parents


def pytest_collection_modifyitems(items) -> None:
    """Everything under tests/live starts real servers: it carries the `live` marker without
    each module having to say so (`pytest -m "not live"` runs the fast part)."""
    for item in items:
        if _under(item, LIVE_DIR):
            item.add_marker(pytest.mark.live)


def _no_servers_in_unit_tests(*_args, **_kwargs):
    pytest.fail("a test under tests/unit started the product (LiveStack or Cluster): it belongs under tests/live")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    """While a unit test runs (its fixtures included), starting the product fails it: a unit
    test that quietly started servers would make `-m "not live"` slow and the marker a lie.
    The session's redis-server (RedisServer) stays allowed: the stores are tested on it."""
    with pytest.MonkeyPatch.context() as patch:
        if _under(item, UNIT_DIR):
            for starts_servers in (LiveStack, Service):  # Service: every process of a Cluster
                patch.setattr(starts_servers, "start", _no_servers_in_unit_tests)
        yield
