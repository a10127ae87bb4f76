"""Shared resources of the action server, opened on first use (never at import)."""
from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Optional

from bot import clock
from bot.catalog import Catalog, load_catalog
from bot.tickets import open_store
from bot.tickets.store import TicketStore

_store: Optional[TicketStore] = None
_store_lock = asyncio.Lock()


def catalog() -> Catalog:
    return load_catalog()


async def ticket_store() -> TicketStore:
    global _store
    if _store is None:
        async with _store_lock:
            if _store is None:
                # REDIS_URL / TICKETS_DB pick the backend (bot/settings.py); references
                # follow the catalog's format.
                _store = open_store(id_format=catalog().ticket_ids)
    return _store


async def reset_ticket_store() -> None:
    """For tests that switch stores between cases."""
    global _store
    if _store is not None:
        await _store.close()
    _store = None


def now() -> datetime:
    """The product's clock (bot/clock.py): tests put the actions at any instant."""
    return clock.now()


def today(cat: Catalog) -> date:
    """'Yesterday' means yesterday where the business is, not in UTC."""
    return now().astimezone(cat.tz).date()
