"""URL table (aiohttp-demos style: one place to see the whole API)."""
from __future__ import annotations

from aiohttp import web

from bot.agent_api import search, views


def setup_routes(app: web.Application) -> None:
    # "health" is the only route here the auth middleware lets through (see PUBLIC_ROUTES).
    app.router.add_get("/health", views.health, name="health")
    app.router.add_get("/api/tickets", views.list_tickets, name="tickets")
    # Before /api/tickets/{ticket_id}: the router tries routes in the order they were added.
    app.router.add_get("/api/tickets/search", search.search_tickets, name="ticket_search")
    app.router.add_get("/api/tickets/{ticket_id}", views.get_ticket, name="ticket")
    app.router.add_post("/api/tickets/{ticket_id}/claim", views.claim, name="claim")
    app.router.add_post("/api/tickets/{ticket_id}/resolve", views.resolve, name="resolve")
    app.router.add_post("/api/tickets/{ticket_id}/handback", views.handback, name="handback")
    app.router.add_post("/api/tickets/{ticket_id}/notes", views.add_note, name="notes")
    app.router.add_get("/api/handoffs", views.list_handoffs, name="handoffs")
    app.router.add_get("/api/callbacks", views.list_callbacks, name="callbacks")
    app.router.add_post("/api/callbacks/{ticket_id}/done", views.callback_done, name="callback_done")
