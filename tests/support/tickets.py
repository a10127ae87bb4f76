"""Ticket documents for tests, built on the contract (bot/tickets/model.py) and the catalog's
reference format (bot/tickets/ids.py), so a test states only what it is about."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Optional

from bot.catalog import load_catalog
from bot.tickets.model import CallbackState, Status, iso, new_ticket

# The day the store and API tests' tickets are created on (a Tuesday morning, UTC).
T0 = datetime(2024, 3, 5, 9, 0, tzinfo=timezone.utc)
TICKET_IDS = load_catalog().ticket_ids
# A reference as it appears in what the assistant says ("Your reference is C-20261201-0015").
TICKET_ID = TICKET_IDS.pattern


def ticket_id(number: int, day: datetime = T0) -> str:
    return TICKET_IDS.make(day, number)


def ticket(ticket_id: str, conversation_id: str = "conv-1", *, minutes: int = 0, status: str = Status.OPEN,
           score: int = 0, **extra: Any) -> Dict[str, Any]:
    """A web ticket created `minutes` after T0, with a priority `score`; `extra` sets any field."""
    doc = new_ticket(ticket_id, conversation_id, "web", now=T0 + timedelta(minutes=minutes))
    doc["status"] = status
    doc["priority"] = {"score": score, "level": "P4", "reasons": []}
    doc.update(extra)
    return doc


def callback(status: str = CallbackState.OPTED_IN, start_minutes: Optional[int] = None, decided_minutes: int = 0,
             outcome: Optional[str] = None) -> Dict[str, Any]:
    """ticket["callback"]: decided `decided_minutes` after T0, with a one-hour window starting
    `start_minutes` after T0 (none when not given)."""
    cb: Dict[str, Any] = {"status": status, "window": None, "decided_at": iso(T0 + timedelta(minutes=decided_minutes))}
    if start_minutes is not None:
        start = T0 + timedelta(minutes=start_minutes)
        cb["window"] = {"start": iso(start), "end": iso(start + timedelta(hours=1))}
    if outcome is not None:
        cb["outcome"] = outcome
    return cb


async def save_hand_off(store, conversation_id: str, *, assignee: Optional[str] = None, status: str = Status.HANDED_OFF,
                        number: int = 1) -> Dict[str, Any]:
    """The conversation's latest ticket, handed off (and claimed by `assignee`, if given): only
    the colleague who claimed a hand-off writes into the conversation."""
    doc = new_ticket(ticket_id(number), conversation_id, "web")
    doc.update(status=status, assignee=assignee)
    return await store.save(doc)
