"""The product's one clock. Code asks `now()`; nothing else reads the system clock for a
business decision (business hours, warranty ages, callback windows, ticket dates), so a
test can put the whole product at any instant.

- In a test process: `set_now(moment)` fixes it, `reset()` gives the system clock back.
- In processes a test starts (the live stack): `CLOCK_START` (ISO 8601 with an offset)
  starts the clock at that instant when the process starts; it then runs at normal speed,
  so timeouts and ordering behave as in production. Read once, at import.
"""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone
from typing import Optional

_fixed: Optional[datetime] = None


def _start_offset() -> timedelta:
    start = os.environ.get("CLOCK_START")
    if not start:
        return timedelta(0)
    moment = datetime.fromisoformat(start)
    if moment.tzinfo is None:
        raise ValueError("CLOCK_START needs a UTC offset, e.g. 2026-12-01T17:59:00+00:00")
    return moment - datetime.fromtimestamp(time.time(), timezone.utc)


_offset = _start_offset()


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
