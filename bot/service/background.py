"""A background loop of the agent service: do a round of work, then sleep until poked or until
the round's wait is over; closed with the app.

Used by the console's live queue (console/live.py) and the ticketing webhook's delivery
(console/ticket_webhook.py). Closing sets a flag as well as cancelling: on Python 3.10,
asyncio.wait_for swallows a cancellation that arrives just as its inner wait finishes
(bpo-42130), and a loop that only relied on the cancel would run on while close() waits for it.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, Optional

log = logging.getLogger(__name__)

Round = Callable[[], Awaitable[float]]  # one round of work; returns how long to sleep after it


class WakeableLoop:
    def __init__(self, name: str, round_of_work: Round, wait_after_failure: float) -> None:
        self.name = name
        self._round = round_of_work
        self._wait_after_failure = wait_after_failure
        self._wake = asyncio.Event()
        self._task: Optional[asyncio.Task] = None
        self._closing = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    def poke(self) -> None:
        """Run the next round now instead of at the end of the wait."""
        self._wake.set()

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            self._wake.set()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while not self._closing:
            try:
                wait = await self._round()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: a round failed; retrying", self.name)
                wait = self._wait_after_failure
            if self._closing:
                return
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), wait)
            except asyncio.TimeoutError:
                pass
