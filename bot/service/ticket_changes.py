"""How the service changes a ticket: load it, record who did what in its history, save it,
and let the console's live queue and the ticketing webhook know."""
from __future__ import annotations

from typing import Any, Dict, Optional

from aiohttp import web

from bot.service.middlewares import ApiError
from bot.service.typedefs import FEED_KEY, STORE_KEY
from bot.tickets.model import iso, utcnow


async def load_ticket(request: web.Request, ticket_id: str) -> Dict[str, Any]:
    ticket = await request.app[STORE_KEY].get(ticket_id)
    if ticket is None:
        raise ApiError(404, f"no ticket {ticket_id}")
    return ticket


def record(ticket: Dict[str, Any], agent: str, action: str, note: Optional[str] = None) -> None:
    ticket.setdefault("history", []).append({"at": iso(utcnow()), "by": agent, "action": action, "note": note})


async def before_handoff_ends(app: web.Application, ticket: Dict[str, Any]) -> None:
    """A hand-off about to end here (resolve, hand-back) is put in the ticketing webhook's
    outbox first, so even one resolved between two polls of the live queue is delivered."""
    feed = app.get(FEED_KEY)
    if feed is not None:
        await feed.seen_ticket(ticket)


async def save_ticket(app: web.Application, ticket: Dict[str, Any]) -> Dict[str, Any]:
    saved = await app[STORE_KEY].save(ticket)
    feed = app.get(FEED_KEY)
    if feed is not None:
        feed.poke()  # open consoles see the change now rather than at the next poll
    return saved
