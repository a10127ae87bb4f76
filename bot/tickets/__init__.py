"""Ticket storage: pick a backend from configuration.

    store = open_store()                     # REDIS_URL set -> Redis, else SQLite
    tid = await store.next_ticket_id(utcnow())
    await store.save(new_ticket(tid, conversation_id, channel))
"""
from __future__ import annotations

import os
from typing import Optional

from bot.tickets.store import TicketStore

DEFAULT_SQLITE_PATH = "var/tickets.db"
DEFAULT_KEY_PREFIX = "complaints:"

__all__ = ["TicketStore", "open_store", "DEFAULT_SQLITE_PATH", "DEFAULT_KEY_PREFIX"]


def open_store(
    url: Optional[str] = None,
    sqlite_path: Optional[str] = None,
    prefix: str = "C-",
    key_prefix: Optional[str] = None,
) -> TicketStore:
    """Build (not connect) a store; connections open lazily on first use.

    url / REDIS_URL -> Redis (key prefix: key_prefix / REDIS_KEY_PREFIX / "complaints:");
    otherwise SQLite at sqlite_path / TICKETS_DB / var/tickets.db (folder created on first use).
    """
    url = url or os.environ.get("REDIS_URL") or None
    if url:
        # Imported here so SQLite-only deployments never import redis.
        from bot.tickets.redis_store import RedisTicketStore

        key_prefix = key_prefix or os.environ.get("REDIS_KEY_PREFIX") or DEFAULT_KEY_PREFIX
        return RedisTicketStore(url, prefix=prefix, key_prefix=key_prefix)

    from bot.tickets.sqlite_store import SQLiteTicketStore

    path = sqlite_path or os.environ.get("TICKETS_DB") or DEFAULT_SQLITE_PATH
    return SQLiteTicketStore(path, prefix=prefix)
