"""Ticketing webhook: every hand-off POSTed as signed JSON to TICKETING_WEBHOOK_URL.

* **What**: ``{"event": "ticket.handed_off", "idempotency_key", "ticket_id", "handed_off_at",
  "ticket": {...the ticket as it was when first seen handed off...}}``. The body of one
  hand-off is fixed when it is enqueued, so every retry sends the same bytes.
* **Signed**: ``X-Signature: sha256=<hex HMAC-SHA256 of the raw body, key TICKETING_WEBHOOK_SECRET>``;
  ``X-Idempotency-Key`` repeats the key, ``X-Delivery-Attempt`` counts from 1.
* **Retried**: any answer but 2xx, or no answer in TICKETING_WEBHOOK_TIMEOUT seconds, is retried
  after TICKETING_WEBHOOK_RETRY_BASE x 2^(attempt-1) seconds (+-20 % jitter, at most
  TICKETING_WEBHOOK_RETRY_MAX), for as long as it takes.
* **Only where configured**: redirects are not followed (a 3xx is a failed delivery, retried
  like any other), so the signed body never goes anywhere but TICKETING_WEBHOOK_URL; that URL
  must be https unless TICKETING_WEBHOOK_ALLOW_HTTP=1 (a receiver on this host or a test).
* **Durable**: the outbox (bot.service.console.outbox) is written before anything is sent and an item
  is marked delivered only after a 2xx, so neither a receiver outage nor a restart loses one.
  Guarantee: at-least-once, with the idempotency key the receiver dedups on (a crash between
  the receiver's 2xx and our mark re-sends that one hand-off, same key).
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import time
from typing import Any, Dict, Optional
from urllib.parse import urlsplit

import aiohttp

from bot.service.background import WakeableLoop
from bot.service.console.outbox import Outbox, OutboxItem
from bot.tickets.model import HistoryAction

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Signature"
IDEMPOTENCY_HEADER = "X-Idempotency-Key"
BATCH = 20


def check_webhook_url(url: str, *, allow_http: bool) -> None:
    """ValueError unless `url` is an absolute https URL (or http, when allowed)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ValueError("TICKETING_WEBHOOK_URL is not a valid URL") from None
    allowed = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in allowed or not parts.hostname:
        hint = "" if allow_http else " (TICKETING_WEBHOOK_ALLOW_HTTP=1 allows http for a local receiver)"
        raise ValueError(f"TICKETING_WEBHOOK_URL must be an https:// URL{hint}")


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: Optional[str]) -> bool:
    """What a receiver does (and the tests): constant-time check of X-Signature."""
    return bool(header) and hmac.compare_digest(sign(secret, body), header)


def handed_off_at(ticket: Dict[str, Any]) -> str:
    """When this hand-off happened: the latest 'handed_off' history entry (the assistant writes
    one per hand-off), else the ticket's creation time. Stable across saves."""
    for entry in reversed(ticket.get("history") or []):
        if isinstance(entry, dict) and entry.get("action") == HistoryAction.HANDED_OFF and entry.get("at"):
            return str(entry["at"])
    return str(ticket.get("created_at") or "")


def idempotency_key(ticket: Dict[str, Any]) -> str:
    return f"{ticket['ticket_id']}@{handed_off_at(ticket)}"


def handoff_event(ticket: Dict[str, Any]) -> bytes:
    body = {
        "event": "ticket.handed_off",
        "idempotency_key": idempotency_key(ticket),
        "ticket_id": ticket["ticket_id"],
        "handed_off_at": handed_off_at(ticket),
        "ticket": ticket,
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


class WebhookDelivery:
    def __init__(self, outbox: Outbox, url: str, secret: str, *, timeout: float = 10.0,
                 retry_base: float = 2.0, retry_max: float = 600.0) -> None:
        self.outbox = outbox
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.retry_base = retry_base
        self.retry_max = retry_max
        # Held while posting; a process that dies mid-post gives the item back after this.
        self.lease = timeout + max(1.0, timeout / 2)
        self._loop = WakeableLoop("ticketing webhook", self._delivery_round, wait_after_failure=2.0)
        self._session: Optional[aiohttp.ClientSession] = None

    async def enqueue(self, ticket: Dict[str, Any]) -> bool:
        added = await self.outbox.enqueue(idempotency_key(ticket), ticket["ticket_id"], handoff_event(ticket))
        if added:
            log.info("ticketing webhook: queued hand-off %s", idempotency_key(ticket))
            self._loop.poke()
        return added

    def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        self._loop.start()

    async def close(self) -> None:
        await self._loop.close()
        if self._session is not None:
            await self._session.close()
        await self.outbox.close()

    def backoff(self, attempts: int) -> float:
        delay = min(self.retry_base * 2 ** max(0, attempts - 1), self.retry_max)
        return delay * random.uniform(0.8, 1.2)

    async def _delivery_round(self) -> float:
        await self.deliver_due()
        next_due = await self.outbox.next_due()
        return 5.0 if next_due is None else min(5.0, max(0.05, next_due - time.time()))

    async def deliver_due(self) -> int:
        delivered = 0
        while True:
            items = await self.outbox.lease_due(BATCH, self.lease)
            if not items:
                return delivered
            results = await asyncio.gather(*(self._deliver(item) for item in items))
            delivered += sum(results)
            if not all(results):
                return delivered  # the receiver is struggling: leave the rest to their schedule

    async def _deliver(self, item: OutboxItem) -> bool:
        attempt = item.attempts + 1
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self.secret, item.payload),
            IDEMPOTENCY_HEADER: item.key,
            "X-Delivery-Attempt": str(attempt),
            "User-Agent": "northwind-complaints-webhook/1",
        }
        error = None
        try:
            assert self._session is not None
            # No redirects: a 3xx must not carry the signed body elsewhere, nor count as delivered.
            async with self._session.post(self.url, data=item.payload, headers=headers,
                                          allow_redirects=False) as resp:
                await resp.read()
                if 200 <= resp.status < 300:
                    await self.outbox.delivered(item.key)
                    log.info("ticketing webhook: delivered %s (attempt %d)", item.key, attempt)
                    return True
                error = f"HTTP {resp.status}"
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            error = type(exc).__name__
        retry_in = self.backoff(attempt)
        log.warning("ticketing webhook: %s not delivered (%s, attempt %d); retrying in %.1fs",
                    item.key, error, attempt, retry_in)
        await self.outbox.failed(item.key, attempt, time.time() + retry_in, error or "error")
        return False
