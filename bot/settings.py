"""The settings every process of the product shares (Rasa, the action server, the agent
service), read from the environment here and nowhere else.

    from bot import settings
    settings.current().redis_url

`current()` parses the environment once per distinct set of values (a test that changes a
variable with monkeypatch gets new settings; a process that doesn't parses once). The
settings of one part only (the Rasa channels, the agent service) live with that part.
This module imports nothing of the product, so every module may import it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence, Tuple, TypeVar

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CATALOG_PATH = str(ROOT / "policy" / "catalog.yml")
DEFAULT_TICKETS_DB = "var/tickets.db"
# Where every shared Redis key lives (tickets, rate limits, hub channels) unless REDIS_KEY_PREFIX says.
DEFAULT_REDIS_KEY_PREFIX = "complaints:"

# The variables read, in the order `current()` keys its cache on.
T = TypeVar("T")
NAMES = ("CATALOG_PATH", "CLOCK_START", "REDIS_URL", "REDIS_KEY_PREFIX", "TICKETS_DB")


@dataclass(frozen=True)
class Settings:
    catalog_path: str = DEFAULT_CATALOG_PATH            # CATALOG_PATH: the policy catalog (bot/catalog.py)
    # CLOCK_START: the product's clock starts at this instant (bot/clock.py); None: the system clock.
    clock_start: Optional[datetime] = None
    redis_url: Optional[str] = None                     # REDIS_URL: tickets (and shared state) in Redis
    redis_key_prefix: str = DEFAULT_REDIS_KEY_PREFIX    # REDIS_KEY_PREFIX
    tickets_db: str = DEFAULT_TICKETS_DB                # TICKETS_DB: the SQLite ticket file without REDIS_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Settings":
        """Empty values count as unset. ValueError names a variable that can't be used."""
        return cls(
            catalog_path=env.get("CATALOG_PATH") or DEFAULT_CATALOG_PATH,
            clock_start=_instant(env.get("CLOCK_START")),
            redis_url=env.get("REDIS_URL") or None,
            redis_key_prefix=env.get("REDIS_KEY_PREFIX") or DEFAULT_REDIS_KEY_PREFIX,
            tickets_db=env.get("TICKETS_DB") or DEFAULT_TICKETS_DB,
        )


def _instant(text: Optional[str]) -> Optional[datetime]:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"CLOCK_START: {text!r} is not an ISO 8601 instant such as 2026-12-01T17:59:00+00:00") from None
    if moment.tzinfo is None:
        raise ValueError("CLOCK_START needs a UTC offset, e.g. 2026-12-01T17:59:00+00:00")
    return moment


def parsed_once(names: Sequence[str], build: Callable[[Mapping[str, str]], T],
                maxsize: int = 16) -> Callable[[Optional[Mapping[str, str]]], T]:
    """`current(env=None)` for a settings class: `build` runs once per distinct value of
    `names` in the environment (os.environ unless `env` is given), so callers on a hot path
    (every turn) pay a tuple and a dict lookup, and a changed environment (a test's) is seen."""
    @lru_cache(maxsize=maxsize)
    def parse(values: Tuple[Optional[str], ...]) -> T:
        return build({name: value for name, value in zip(names, values) if value is not None})

    def current(env: Optional[Mapping[str, str]] = None) -> T:
        source = os.environ if env is None else env
        return parse(tuple(source.get(name) for name in names))

    return current


# The settings in force (os.environ unless `env` is given).
current = parsed_once(NAMES, Settings.from_env)
