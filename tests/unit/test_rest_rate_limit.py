"""The REST channel's per-conversation token bucket (bot/rasa_ext/channels/rest.py), on a
clock the test moves. The limit against the running product: tests/live/test_rest_channel.py."""
from __future__ import annotations

import pytest

from bot.rasa_ext.channels.rest import MemoryRateLimiter


@pytest.mark.asyncio
async def test_token_bucket_allows_the_burst_then_the_rate(monkeypatch):
    # The bucket's clock, moved on by the test: a pause of the machine between two hits
    # must not refill it.
    now = [1000.0]
    monkeypatch.setattr("bot.rasa_ext.channels.rest.time.monotonic", lambda: now[0])
    bucket = MemoryRateLimiter(rate=5, burst=10)
    assert [await bucket.hit("a") for _ in range(10)] == [0.0] * 10
    assert await bucket.hit("a") == pytest.approx(0.2), "one token comes back every 1/5 s"
    assert await bucket.hit("b") == 0.0, "another sender has its own bucket"
    now[0] += 0.1
    assert await bucket.hit("a") == pytest.approx(0.1), "half a token back after 1/10 s"
    now[0] += 0.1
    assert await bucket.hit("a") == 0.0, "after 1/5 s one more message may go"
    assert await bucket.hit("a") == pytest.approx(0.2), "... and only one"
