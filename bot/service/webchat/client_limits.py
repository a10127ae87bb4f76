"""Per-client-address limits of the public web chat: new conversations, hand-offs to a
person, and open WebSockets (issue 11: a new conversation per request bypassed the
per-conversation limits).

The client is `bot.service.client_address.client_key`: the TCP peer, or, when the peer is a trusted
proxy (TRUSTED_PROXIES), the nearest X-Forwarded-For hop that is not a trusted proxy (an IPv6
client by its /64); the same key the console's sign-in throttle uses.

Hand-offs are counted here, in the gateway, by reservation: a customer turn takes a hand-off
token before it is forwarded and gives it back when the reply did not hand off. Counting
only the replies that handed off cannot bound a burst (all 15 requests are in flight before
the first reply), and the alternative (a client key in Rasa metadata for the hand-off action
to count) would put this limit in the action server, which neither sees the client nor
should trust metadata about it. The price: one client address has at most that many turns in
flight at once, and after its hand-offs used the budget its turns wait (429 + Retry-After)
until the window refills.

In memory, per agent-service process (the product runs one).
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Dict, Optional

from aiohttp import web

from bot.service.client_address import client_key
from bot.service.webchat.config import WebchatConfig
from bot.token_buckets import TokenBuckets


class Buckets(TokenBuckets):
    """A token bucket per key: `count` per `seconds`, bursts of `count`."""

    def __init__(self, count: int, seconds: float, max_keys: int = 100_000) -> None:
        super().__init__(count, count / seconds, max_keys)


class TooMany(Exception):
    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = max(1, math.ceil(retry_after))


class ClientLimits:
    def __init__(self, config: WebchatConfig) -> None:
        self.enabled = config.client_limits
        self.conversations = Buckets(*config.conversations)
        self.handoffs = Buckets(*config.handoffs)
        self.max_websockets = config.websockets
        self._sockets: Dict[str, int] = defaultdict(int)

    @staticmethod
    def client(request: web.Request) -> str:
        return client_key(request)

    def new_conversation(self, client: str) -> None:
        if self.enabled:
            wait = self.conversations.take(client)
            if wait:
                raise TooMany("too many new conversations from your address; please try again later", wait)

    def reserve_handoff(self, client: str) -> Optional[str]:
        """Before a turn: the reservation to settle with `settle_handoff`, or TooMany."""
        if not self.enabled:
            return None
        wait = self.handoffs.take(client)
        if wait:
            raise TooMany("too many requests for a person from your address; please try again later", wait)
        return client

    def settle_handoff(self, reservation: Optional[str], handed_off: bool) -> None:
        if reservation is not None and not handed_off:
            self.handoffs.give_back(reservation)

    def open_socket(self, client: str) -> bool:
        if not self.enabled:
            return True
        if self._sockets[client] >= self.max_websockets:
            return False
        self._sockets[client] += 1
        return True

    def close_socket(self, client: str) -> None:
        if not self.enabled:
            return
        self._sockets[client] -= 1
        if self._sockets[client] <= 0:
            del self._sockets[client]

