"""The console's sign-in throttle clock, moved on by a test instead of waiting (a slow
password check must not use up a lockout meanwhile)."""
from __future__ import annotations

import time

from bot.service.typedefs import THROTTLE_KEY


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def use_clock(client) -> Clock:
    """Put the throttle of the app behind an aiohttp test `client` on a clock of the test's."""
    clock = Clock()
    client.server.app[THROTTLE_KEY].clock = clock
    return clock
