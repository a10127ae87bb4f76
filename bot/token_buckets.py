"""A token bucket per key, in this process: `capacity` tokens, refilled at `rate` a second.
Used by the REST channel's per-conversation limit (bot/rasa_ext/channels/rest.py) and the web chat's
per-client limits (bot/service/webchat/client_limits.py); the Redis form of the REST limit is a Lua
script beside it."""
from __future__ import annotations

import time
from typing import Dict, Tuple


class TokenBuckets:
    def __init__(self, capacity: float, rate: float, max_keys: int = 100_000) -> None:
        self.capacity, self.rate, self.max_keys = float(capacity), float(rate), max_keys
        self._state: Dict[str, Tuple[float, float]] = {}  # key -> (tokens, at)
        self._next_prune = 0.0

    def _tokens(self, key: str, now: float) -> float:
        tokens, last = self._state.get(key, (self.capacity, now))
        return min(self.capacity, tokens + (now - last) * self.rate)

    def take(self, key: str) -> float:
        """0 if a token was taken, else the seconds until one is there."""
        now = time.monotonic()
        self._prune(now)
        tokens = self._tokens(key, now)
        if tokens >= 1:
            self._state[key] = (tokens - 1, now)
            return 0.0
        self._state[key] = (tokens, now)
        return (1 - tokens) / self.rate

    def give_back(self, key: str) -> None:
        """A token taken for something that didn't happen after all (a reservation)."""
        now = time.monotonic()
        self._state[key] = (min(self.capacity, self._tokens(key, now) + 1), now)

    def _prune(self, now: float) -> None:
        # Memory stays bounded: a bucket full again is the same as no bucket.
        if now < self._next_prune and len(self._state) < self.max_keys:
            return
        self._next_prune = now + 60
        full = self.capacity / self.rate
        self._state = {k: v for k, v in self._state.items() if now - v[1] < full}
