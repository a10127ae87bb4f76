"""Ticket storage: pick a backend from configuration.

    store = open_store(id_format=catalog.ticket_ids)   # REDIS_URL set -> Redis, else SQLite
    tid = await store.next_ticket_id(utcnow())
    await store.save(new_ticket(tid, conversation_id, channel))
"""
from __future__ import annotations

from typing import Optional

from bot import settings
from bot.settings import DEFAULT_TICKETS_DB as DEFAULT_SQLITE_PATH
from bot.tickets.ids import TicketIdFormat
from bot.tickets.model import DEFAULT_KEY_PREFIX
from bot.tickets.sqlite_store import SQLiteTicketStore
from bot.tickets.store import TicketStore

__all__ = ["TicketStore", "TicketIdFormat", "open_store", "DEFAULT_SQLITE_PATH", "DEFAULT_KEY_PREFIX"]


def open_store(
    url: Optional[str] = None,
    sqlite_path: Optional[str] = None,
    prefix: Optional[str] = None,
    key_prefix: Optional[str] = None,
    id_format: Optional[TicketIdFormat] = None,
) -> TicketStore:
    """Build (not connect) a store; connections open lazily on first use.

    url / REDIS_URL -> Redis (key prefix: key_prefix / REDIS_KEY_PREFIX / DEFAULT_KEY_PREFIX);
    otherwise SQLite at sqlite_path / TICKETS_DB / var/tickets.db (folder created on first use).
    New references follow `id_format` (the catalog's: `catalog.ticket_ids`);
    `prefix` changes only its prefix (see TicketStore).
    """
    shared = settings.current()
    url = url or shared.redis_url
    if url:
        # Imported here so SQLite-only deployments never import redis (not an import cycle).
        from bot.tickets.redis_store import RedisTicketStore

        return RedisTicketStore(url, id_format=id_format, prefix=prefix, key_prefix=key_prefix or shared.redis_key_prefix)
    return SQLiteTicketStore(sqlite_path or shared.tickets_db, id_format=id_format, prefix=prefix)
