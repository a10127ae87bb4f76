"""Fault test of the ticketing webhook: the agent service (`python -m bot.service`, a real
process) is killed with SIGKILL while hand-offs are being written to the store and while it is
posting them, and while the receiver is down; it is restarted each time.

Guarantee checked: every hand-off reaches the receiver, and — deduplicated by the idempotency
key the receiver gets in X-Idempotency-Key — each is processed exactly once. Raw delivery is
at-least-once: a kill between the receiver's 200 and our "delivered" mark re-sends that one
hand-off with the same key (the test kills while posts are in flight, so it usually happens).
Nothing is lost and nothing is processed twice; after the last restart nothing is re-sent.
"""
from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from bot.service.console.accounts import hash_password
from bot.service.console.outbox import open_outbox
from bot.service.console.ticket_webhook import idempotency_key
from bot.tickets.redis_store import RedisTicketStore
from bot.tickets.sqlite_store import SQLiteTicketStore
from tests.support.live import stop_process_group
from tests.support.redis_server import free_port
from tests.support.console_stand_ins import WEBHOOK_SECRET, WebhookReceiver
from tests.support.console_app import handed_off

ROOT = Path(__file__).resolve().parents[2]
HANDOFFS = 40


class AgentService:
    """The agent service as its own process (as `make run` starts it), killable at will."""

    def __init__(self, env: dict, log: Path) -> None:
        self.env, self.log = env, log
        self.proc = None
        self.starts = 0

    async def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot.service"], cwd=ROOT, env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.starts += 1
        url = f"http://127.0.0.1:{self.env['AGENT_API_PORT']}/health"
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as http:
            while True:
                assert self.proc.poll() is None, self.log.read_text()[-3000:]
                try:
                    async with http.get(url, timeout=aiohttp.ClientTimeout(total=1)) as resp:
                        if resp.status == 200:
                            return
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    pass
                assert time.monotonic() < deadline, self.log.read_text()[-3000:]
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no chance to flush or mark anything."""
        stop_process_group(self.proc, signal.SIGKILL, timeout=10)

    def stop(self) -> None:
        stop_process_group(self.proc, timeout=15)


async def wait_until_stats(outbox, wanted: dict, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while await outbox.stats() != wanted:
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {await outbox.stats()}"
        await asyncio.sleep(0.05)


async def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_killed_and_restarted_agent_service_delivers_every_hand_off_exactly_once(
        backend, request, tmp_path, aiohttp_server):
    receiver = WebhookReceiver()
    receiver.delay = 0.3  # slow receiver: posts are in flight when the service is killed
    server = await aiohttp_server(receiver.app())
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "INFO",
        "AGENT_API_TOKEN": "fault-token", "AGENT_API_PORT": str(free_port()), "AGENT_API_HOST": "127.0.0.1",
        "AGENT_ACCOUNTS": f"ops:{hash_password('ops-password-1')}",
        "TICKETING_WEBHOOK_URL": str(server.make_url("/hooks/tickets")), "TICKETING_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "TICKETING_WEBHOOK_ALLOW_HTTP": "1",  # the receiver is a plain-http server on this host
        "TICKETING_WEBHOOK_TIMEOUT": "1", "TICKETING_WEBHOOK_RETRY_BASE": "0.1", "TICKETING_WEBHOOK_RETRY_MAX": "0.5",
        "CONSOLE_POLL_INTERVAL": "0.1", "RASA_URL": "http://127.0.0.1:9",
    }
    env.pop("AGENT_ACCOUNTS_FILE", None)
    if backend == "sqlite":
        db = tmp_path / "tickets.db"
        env["TICKETS_DB"] = str(db)
        env.pop("REDIS_URL", None)
        writer = SQLiteTicketStore(str(db))  # the action server's writes
    else:
        url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("key_prefix")
        env.update(REDIS_URL=url, REDIS_KEY_PREFIX=prefix)
        writer = RedisTicketStore(url, key_prefix=prefix)
    service = AgentService(env, tmp_path / "agent.log")
    expected = []

    async def write(start: int, count: int, gap: float) -> None:
        for n in range(start, start + count):
            ticket = handed_off(f"C-20240305-{n:04d}", conversation_id=f"conv-{n}", score=n)
            await writer.save(ticket)
            expected.append(idempotency_key(ticket))
            await asyncio.sleep(gap)

    try:
        await service.start()
        # 1. Hand-offs arrive while it runs; killed while posts are in flight, twice.
        writing = asyncio.create_task(write(1, 15, 0.03))
        for _ in range(2):
            await wait_until(lambda: receiver.in_flight > 0, 15, "a post in flight")
            service.kill()
            await service.start()
        await writing

        # 2. Hand-offs written while the service is down are picked up when it is back.
        service.kill()
        await write(16, 10, 0.0)
        await service.start()

        # 3. The receiver goes down: nothing is lost, retried until it is back, across a kill.
        await wait_until(lambda: len(receiver.processed) >= 20, 30, "20 hand-offs processed")
        receiver.down = True
        await write(26, HANDOFFS - 25, 0.02)
        await wait_until(lambda: receiver.refused > 0, 10, "a refused delivery")
        service.kill()
        await service.start()
        refused = receiver.refused
        await wait_until(lambda: receiver.refused > refused, 30, "a refused delivery after the restart")
        receiver.down = False

        await wait_until(lambda: len(receiver.processed) == HANDOFFS, 60, "every hand-off delivered")
        assert sorted(receiver.processed) == sorted(expected), "every hand-off, and nothing else"
        assert receiver.bad_signatures == 0
        for key, event in receiver.processed.items():
            assert event["ticket"]["status"] == "handed_off" and key.startswith(event["ticket_id"] + "@")

        # 4. Once everything is delivered, another restart sends nothing again.
        outbox = open_outbox(writer)
        try:
            await wait_until_stats(outbox, {"pending": 0, "delivered": HANDOFFS}, 30, "the last \"delivered\" marks")
            service.kill()
            await service.start()
            settled = len(receiver.deliveries)
            # One more hand-off after the restart: once it is delivered, the restarted service
            # has done all a restart makes it do (its catch-up scan and first polls came before,
            # and the outbox posts in order of due time), so a re-sent one would be in by now.
            await write(HANDOFFS + 1, 1, 0.0)
            await wait_until_stats(outbox, {"pending": 0, "delivered": HANDOFFS + 1}, 30, "the hand-off after the restart")
        finally:
            await outbox.close()
        assert [d["key"] for d in receiver.deliveries[settled:]] == [expected[-1]], "delivered hand-offs are never re-sent"
        print(f"\n[{backend}] {len(expected)} hand-offs, {service.starts} starts (SIGKILLs in between), "
              f"{len(receiver.deliveries)} posts received, {receiver.duplicates} duplicate(s) deduplicated by key, "
              f"{len(receiver.processed)} processed exactly once")
        if backend == "sqlite":
            with sqlite3.connect(env["TICKETS_DB"]) as conn:
                pending = conn.execute("SELECT COUNT(*) FROM webhook_outbox WHERE delivered_at IS NULL").fetchone()[0]
                total = conn.execute("SELECT COUNT(*) FROM webhook_outbox").fetchone()[0]
            assert (pending, total) == (0, HANDOFFS + 1), "one outbox row per hand-off, all delivered"
    finally:
        service.stop()
        await writer.close()
