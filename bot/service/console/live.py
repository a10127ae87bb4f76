"""The live queue: poll the ticket store, push what changed to every open console.

The action server writes hand-offs straight into the ticket store (SQLite or Redis), so the
agent service learns of them by polling ``store.handoffs()`` and ``store.callbacks()`` every
CONSOLE_POLL_INTERVAL seconds (default 1) — the same code on both backends. A snapshot is
pushed only when it differs from the last one. Tickets someone has open in the console are
polled too. Changes made through this service (claim, resolve, ...) ``poke()`` the poller so
they show at once.

The same poll feeds the ticketing webhook's outbox: the first time a hand-off is seen it is
enqueued under its idempotency key (a no-op if it already was, even by an earlier run).
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections import OrderedDict, defaultdict
from datetime import timedelta
from typing import Any, AsyncIterator, Callable, Dict, List, Optional, Set

from bot.service.background import WakeableLoop
from bot.service.console.ticket_webhook import WebhookDelivery, handed_off_at, idempotency_key
from bot.tickets.model import HistoryAction, Status, utcnow
from bot.tickets.store import TicketStore, to_ts

log = logging.getLogger(__name__)

QUEUE_SIZE = 256
CATCHUP_SCAN = 500


def _digest(value: Any) -> str:
    return hashlib.sha1(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


class Listener:
    """One open console's queue of messages."""

    def __init__(self, ticket_id: Optional[str]) -> None:
        self.ticket_id = ticket_id
        self.queue: "asyncio.Queue[Optional[Dict[str, Any]]]" = asyncio.Queue()
        self.overflowed = False

    def put(self, message: Dict[str, Any]) -> None:
        if self.overflowed:
            return
        if self.queue.qsize() >= QUEUE_SIZE:
            self.overflowed = True
            self.queue.put_nowait(None)  # ends the consumer; the page reconnects and resyncs
            return
        self.queue.put_nowait(message)

    def __aiter__(self) -> "Listener":
        return self

    async def __anext__(self) -> Dict[str, Any]:
        message = await self.queue.get()
        if message is None:
            self.queue.put_nowait(None)
            raise StopAsyncIteration
        return message


class Feed:
    def __init__(self, store: TicketStore, decorate: Callable[[str, List[Dict[str, Any]]], Dict[str, Any]],
                 poll_interval: float = 1.0, webhook: Optional[WebhookDelivery] = None,
                 catchup_hours: float = 24.0) -> None:
        self.store = store
        self.decorate = decorate  # (kind, tickets) -> the message to push
        self.poll_interval = poll_interval
        self.webhook = webhook
        self.catchup_hours = catchup_hours
        self.snapshots: Dict[str, Dict[str, Any]] = {}       # "handoffs"/"callbacks" -> message
        self._digests: Dict[str, str] = {}
        self._tickets: Dict[str, Dict[str, Any]] = {}        # watched ticket id -> message
        self._ticket_digests: Dict[str, str] = {}
        self._listeners: Set[Listener] = set()
        self._watchers: Dict[str, Set[Listener]] = defaultdict(set)
        self._enqueued: "OrderedDict[str, None]" = OrderedDict()  # keys known to be in the outbox
        self._loop = WakeableLoop("console feed", self._poll_round, wait_after_failure=poll_interval)
        self.polls = 0

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        if self.webhook is not None:
            try:
                await self._catch_up()
            except Exception:
                log.exception("ticketing webhook: catch-up scan failed (the live poll still enqueues)")
        self._loop.start()

    async def close(self) -> None:
        await self._loop.close()
        for listener in list(self._listeners):
            listener.queue.put_nowait(None)  # ends every open console's stream

    def poke(self) -> None:
        self._loop.poke()

    # -- listeners ---------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def listen(self, ticket_id: Optional[str] = None) -> AsyncIterator[Listener]:
        listener = Listener(ticket_id)
        self._listeners.add(listener)
        if ticket_id:
            self._watchers[ticket_id].add(listener)
        try:
            yield listener
        finally:
            self._listeners.discard(listener)
            if ticket_id:
                watchers = self._watchers.get(ticket_id)
                if watchers is not None:
                    watchers.discard(listener)
                    if not watchers:
                        del self._watchers[ticket_id]
                        self._tickets.pop(ticket_id, None)
                        self._ticket_digests.pop(ticket_id, None)

    async def current(self, ticket_id: Optional[str] = None) -> List[Dict[str, Any]]:
        """What a newly opened console gets first (polled now if nothing is known yet)."""
        if "handoffs" not in self.snapshots:
            await self.poll_once()
        messages = [self.snapshots[k] for k in ("handoffs", "callbacks") if k in self.snapshots]
        if ticket_id:
            ticket = await self.store.get(ticket_id)
            if ticket is not None:
                message = self.decorate("ticket", [ticket])
                self._tickets[ticket_id] = message
                self._ticket_digests[ticket_id] = _digest(message)
                messages.append(message)
        return messages

    # -- polling -----------------------------------------------------------------------
    async def _poll_round(self) -> float:
        await self.poll_once()
        return self.poll_interval

    async def poll_once(self) -> None:
        self.polls += 1
        handoffs = await self.store.handoffs()
        try:
            for ticket in handoffs:
                await self.seen_ticket(ticket)
        except Exception:
            # The queue still updates; the outbox gets them on the next poll.
            log.exception("ticketing webhook: could not enqueue a hand-off; retrying on the next poll")
        self._publish("handoffs", handoffs)
        self._publish("callbacks", await self.store.callbacks())
        for ticket_id in list(self._watchers):
            ticket = await self.store.get(ticket_id)
            if ticket is None:
                continue
            message = self.decorate("ticket", [ticket])
            digest = _digest(message)
            if self._ticket_digests.get(ticket_id) != digest:
                self._ticket_digests[ticket_id] = digest
                self._tickets[ticket_id] = message
                for listener in list(self._watchers.get(ticket_id, ())):
                    listener.put(message)

    def _publish(self, kind: str, tickets: List[Dict[str, Any]]) -> None:
        # Digest of what the console shows (it also depends on the clock: "open now").
        message = self.decorate(kind, tickets)
        digest = _digest(message)
        if self._digests.get(kind) == digest:
            return
        self._digests[kind] = digest
        self.snapshots[kind] = message
        for listener in list(self._listeners):
            listener.put(message)

    # -- ticketing webhook -------------------------------------------------------------
    async def seen_ticket(self, ticket: Dict[str, Any]) -> None:
        """Enqueue a handed-off ticket's hand-off for the webhook (once per idempotency key)."""
        if self.webhook is None or ticket.get("status") != Status.HANDED_OFF:
            return
        key = idempotency_key(ticket)
        if key in self._enqueued:
            return
        await self.webhook.enqueue(ticket)
        self._enqueued[key] = None
        while len(self._enqueued) > 10_000:
            self._enqueued.popitem(last=False)

    async def _catch_up(self) -> None:
        """At start: hand-offs of the last hours that the outbox may not have (the service was
        down while a ticket was handed off and, by another process, moved on)."""
        since = (utcnow() - timedelta(hours=self.catchup_hours)).timestamp()
        added = 0
        for ticket in await self.store.find(limit=CATCHUP_SCAN):
            if not any(isinstance(h, dict) and h.get("action") == HistoryAction.HANDED_OFF for h in ticket.get("history") or []):
                continue
            at = to_ts(handed_off_at(ticket))
            if at is None or at < since:
                continue
            key = idempotency_key(ticket)
            if key not in self._enqueued and await self.webhook.enqueue(ticket):
                added += 1
            self._enqueued[key] = None
        if added:
            log.info("ticketing webhook: caught up %d hand-off(s) at start", added)

