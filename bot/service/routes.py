"""The agent service's whole URL table, in one place (aiohttp-demos style).

Who may call what is the auth middleware's business (bot/service/middlewares.py), decided by
these route names and prefixes: ``health`` and the console's sign-in are public, so is
everything under ``/chat`` (only what a customer's browser needs may go there); the rest of
``/console`` needs a console session; ``/api`` the bearer token or a session.
"""
from __future__ import annotations

from aiohttp import web

from bot.service.api import callbacks, search, views
from bot.service.console import live_socket as console_socket
from bot.service.console import login, pages
from bot.service.webchat import agent_messages, customer_api, page
from bot.service.webchat import live_socket as chat_socket


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/health", views.health, name="health")

    # -- the agent API -------------------------------------------------------------------
    r.add_get("/api/tickets", views.list_tickets, name="tickets")
    # Before /api/tickets/{ticket_id}: the router tries routes in the order they were added.
    r.add_get("/api/tickets/search", search.search_tickets, name="ticket_search")
    r.add_get("/api/tickets/{ticket_id}", views.get_ticket, name="ticket")
    r.add_get("/api/tickets/{ticket_id}/conversation", views.conversation, name="ticket_conversation")
    r.add_post("/api/tickets/{ticket_id}/claim", views.claim, name="claim")
    r.add_post("/api/tickets/{ticket_id}/resolve", views.resolve, name="resolve")
    r.add_post("/api/tickets/{ticket_id}/handback", views.handback, name="handback")
    r.add_post("/api/tickets/{ticket_id}/notes", views.add_note, name="notes")
    r.add_get("/api/handoffs", views.list_handoffs, name="handoffs")
    r.add_get("/api/callbacks", views.list_callbacks, name="callbacks")
    # One result of one callback call, under one set of rules, by either name.
    r.add_post("/api/callbacks/{ticket_id}/attempt", callbacks.callback_outcome, name="callback_attempt")
    r.add_post("/api/callbacks/{ticket_id}/done", callbacks.callback_outcome, name="callback_done")
    r.add_post("/api/callbacks/{ticket_id}/call", callbacks.callback_call, name="callback_call")
    r.add_post("/api/conversations/{conversation_id}/messages", agent_messages.agent_message, name="conversation_messages")

    # -- the console ---------------------------------------------------------------------
    # Public: only the sign-in page (see bot.service.middlewares.PUBLIC_ROUTES).
    r.add_get("/console/login", login.login_page, name="console_login")
    r.add_post("/console/login", login.login_post, name="console_login_post")
    # Session required (pages redirect to sign-in; the socket and static files answer 401).
    r.add_post("/console/logout", login.logout, name="console_logout")
    r.add_get("/console", pages.home, name="console_home")
    r.add_get("/console/", pages.home_slash, name="console_home_slash")
    r.add_get("/console/tickets", pages.tickets_page, name="console_tickets")
    r.add_get("/console/tickets/{ticket_id}", pages.ticket_page, name="console_ticket")
    r.add_get("/console/calls/{call_sid}", pages.call_page, name="console_call")
    r.add_get("/console/callbacks", pages.callbacks_page, name="console_callbacks")
    r.add_get("/console/static/{name}", pages.static_file, name="console_static")
    r.add_get("/console/ws", console_socket.live, name="console_ws")

    # -- the customer's web chat (public) ------------------------------------------------
    r.add_get("/chat", page.chat_page, name="webchat_page")
    r.add_get("/chat/", page.chat_page_slash, name="webchat_page_slash")
    r.add_get("/chat/static/{name}", page.static_file, name="webchat_static")
    r.add_post("/chat/api/conversations", customer_api.new_conversation, name="webchat_conversations")
    r.add_post("/chat/api/messages", customer_api.post_message, name="webchat_messages")
    r.add_get("/chat/api/history", customer_api.history, name="webchat_history")
    r.add_get("/chat/ws", chat_socket.websocket, name="webchat_ws")
