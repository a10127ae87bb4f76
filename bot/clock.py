"""The product's one clock. Code asks `now()`; nothing else reads the system clock for a
business decision (business hours, warranty ages, callback windows, ticket dates), so a
test can put the whole product at any instant.

- In a test process: `set_now(moment)` fixes it, `reset()` gives the system clock back.
- In processes a test starts (the live stack): `CLOCK_START` (ISO 8601 with an offset)
  starts the clock at that instant when the process starts; it then runs at normal speed,
  so timeouts and ordering behave as in production. Read once, at import (bot/settings.py).
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Optional

from bot import settings

_fixed: Optional[datetime] = None


def _start_offset(start: Optional[datetime]) -> timedelta:
    if start is None:
        return timedelta(0)
    return start - datetime.fromtimestamp(time.time(), timezone.utc)


_offset = _start_offset(settings.current().clock_start)


def now() -> datetime:
    """The current instant, timezone-aware (UTC)."""
    if _fixed is not None:
        return _fixed
    return datetime.fromtimestamp(time.time(), timezone.utc) + _offset


def set_now(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise ValueError("a fixed instant needs a timezone")
    global _fixed
    _fixed = moment.astimezone(timezone.utc)


def reset() -> None:
    global _fixed
    _fixed = None
