"""Two load shapes, both bounded in time and in the number of requests in flight.

open loop:   turns arrive as a Poisson process at a fixed offered rate, whatever the
             latency; each arrival is the next turn of an idle open conversation (picked at
             random from a pool of interleaved conversations), or of a new conversation.
             Latency is not hidden by the client waiting (no coordinated omission).
closed loop: N simulated customers, each playing conversations back to back with no think
             time; throughput is what the system sustains at that concurrency.
"""
from __future__ import annotations

import asyncio
import random
import time
from typing import List, Optional, Set

import aiohttp

from .conversations import Conversation, ConversationFactory
from .stats import RunResult, TurnResult


def client_session(connections: int) -> aiohttp.ClientSession:
    """A new TCP connection per request, as many separate customers (and Twilio's webhook
    requests) make them: with a few pooled keep-alive connections, every turn would stick
    to the Sanic worker that accepted the connection, and SANIC_WORKERS > 1 could not
    spread the load."""
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections, force_close=True)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60))


async def open_loop(factory: ConversationFactory, rate: float, duration: float, seed: int = 1,
                    pool: int = 40, max_in_flight: int = 400, turn_timeout: float = 30.0,
                    session: Optional[aiohttp.ClientSession] = None) -> RunResult:
    """Poisson turn arrivals at `rate`/s for `duration` s. Turns still in flight at the end
    are waited for (at most turn_timeout); arrivals beyond max_in_flight are shed and
    counted as errors ("shed: client limit")."""
    rng = random.Random(seed)
    own = session is None
    session = session or client_session(max_in_flight)
    idle: List[Conversation] = []
    active = 0  # open conversations (idle or with a turn in flight)
    tasks: Set[asyncio.Task] = set()
    results: List[TurnResult] = []
    loop = asyncio.get_running_loop()
    start = time.monotonic()
    scheduled = start
    arrivals = 0
    max_arrivals = int(rate * duration * 3) + 100  # a hard bound whatever the random draw

    async def one_turn(conv: Conversation, due: float) -> None:
        nonlocal active
        lag = time.monotonic() - due
        result = await conv.turn(session, timeout=turn_timeout)
        result.lag = lag
        results.append(result)
        if conv.done:
            active -= 1
            await conv.finish(session)
        else:
            idle.append(conv)

    try:
        while arrivals < max_arrivals:
            scheduled += rng.expovariate(rate)
            if scheduled - start >= duration:
                break
            delay = scheduled - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            arrivals += 1
            if len(tasks) >= max_in_flight:
                results.append(TurnResult("?", "?", "?", time.monotonic(), 0.0, False, "shed: client limit"))
                continue
            if idle and (active >= pool or rng.random() < len(idle) / max(pool, 1)):
                conv = idle.pop(rng.randrange(len(idle)))
            else:
                conv = factory(rng)
                active += 1
            task = loop.create_task(one_turn(conv, scheduled))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        end_of_arrivals = time.monotonic()
        if tasks:
            await asyncio.wait(set(tasks), timeout=turn_timeout + 5)
        for task in list(tasks):
            task.cancel()
        # Open conversations left idle at the end: their calls end too (IVR status callback).
        await asyncio.gather(*(c.finish(session) for c in idle), return_exceptions=True)
    finally:
        if own:
            await session.close()
    # Throughput over the time it took to serve the offered turns (arrivals + draining the
    # backlog), so an overloaded system can't look as if it kept up.
    last_done = max((r.done for r in results if r.ok), default=end_of_arrivals)
    seconds = max(end_of_arrivals, last_done) - start
    lags = sorted(r.lag for r in results)
    return RunResult("open", start, seconds, results, params={"rate": rate, "duration": duration, "pool": pool, "seed": seed},
                     notes={"arrivals": arrivals, "drain_s": round(max(last_done - end_of_arrivals, 0.0), 2), "client_send_lag_p99_ms": round(lags[int(0.99 * (len(lags) - 1))] * 1000, 1) if lags else None})


async def closed_loop(factory: ConversationFactory, concurrency: int, duration: float, warmup: float = 2.0,
                      seed: int = 1, turn_timeout: float = 30.0,
                      session: Optional[aiohttp.ClientSession] = None) -> RunResult:
    """`concurrency` customers, each playing conversations back to back for `duration` s.
    Turns finishing in [warmup, duration] count; throughput is ok turns/s over that window."""
    own = session is None
    session = session or client_session(concurrency + 8)
    results: List[TurnResult] = []
    start = time.monotonic()
    end = start + duration

    async def customer(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        conversations = 0
        while time.monotonic() < end and conversations < 100_000:
            conv = factory(rng)
            conversations += 1
            while not conv.done and time.monotonic() < end:
                results.append(await conv.turn(session, timeout=turn_timeout))
            await conv.finish(session)

    try:
        workers = [asyncio.ensure_future(customer(i)) for i in range(concurrency)]
        done, pending = await asyncio.wait(workers, timeout=duration + turn_timeout + 10)
        for task in pending:
            task.cancel()
    finally:
        if own:
            await session.close()
    window_start = start + warmup
    counted = [r for r in results if window_start <= r.done <= end]
    return RunResult("closed", start, duration - warmup, counted,
                     params={"concurrency": concurrency, "duration": duration, "warmup": warmup},
                     notes={"turns_total": len(results)})
