"""Shared fixtures: a real redis-server for the session, and both ticket stores.

Async tests run under pytest-asyncio in strict mode: test modules opt in with
`pytestmark = pytest.mark.asyncio`, async fixtures use `pytest_asyncio.fixture`.
pytest-aiohttp (auto-loaded via its entry point; `aiohttp_client` / `aiohttp_server`) builds on
pytest-asyncio, so the two cooperate without further configuration.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import pytest_asyncio
import redis

from bot.tickets.redis_store import RedisTicketStore
from bot.tickets.sqlite_store import SQLiteTicketStore

INSTALL_HINT = "redis-server not found: run scripts/install_system_deps.sh (as root)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_redis(binary: str, workdir: Path) -> tuple[subprocess.Popen, int]:
    # Output goes to a file, not a pipe nobody reads (a full pipe would stall redis).
    log_path = workdir / "redis.log"
    # A port picked here can be taken before redis binds it; retry a few times.
    for _ in range(5):
        port = free_port()
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(workdir), "--daemonize", "no"],
                stdout=log, stderr=subprocess.STDOUT,
            )
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    if client.ping():
                        return proc, port
                except redis.exceptions.ConnectionError:
                    time.sleep(0.05)
        finally:
            client.close()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    raise RuntimeError(f"redis-server did not start:\n{log_path.read_text(errors='replace')[-2000:]}")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory):
    binary = shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if Path(p).exists()), None
    )
    if binary is None:
        pytest.fail(INSTALL_HINT)
    proc, port = _start_redis(binary, tmp_path_factory.mktemp("redis"))
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
