"""Handlers of the agent API's ticket routes. Each mutation loads the ticket, checks the state
it is in, changes it and appends a history entry saying who did what and when; the customer's
side of it is bot/service/api/customer_updates.py. Callbacks: bot/service/api/callbacks.py."""
from __future__ import annotations

import re
from typing import Any, Dict

from aiohttp import web

from bot.runtime import service_state
from bot.service import rasa_client
from bot.service.api import customer_texts
from bot.service.api.customer_updates import PageState, resume_in_rasa, tell_customer, tell_customer_claimed
from bot.service.middlewares import ApiError
from bot.service.request_input import TicketRequest, shown_name, ticket_id_param, ticket_request
from bot.service.ticket_changes import before_handoff_ends, load_ticket, record, save_ticket
from bot.service.typedefs import STORE_KEY
from bot.service.webchat import transcript
from bot.tickets.model import STATUSES, HistoryAction, Status

MAX_LIMIT = 1000
ENDED = (Status.RESOLVED, Status.CLOSED)


# -- read ----------------------------------------------------------------------
async def health(request: web.Request) -> web.Response:
    # Under the launcher: which of the product's services are up (bot/runtime/service_state.py).
    # 200 either way: this service answers; "degraded" says another one is being restarted.
    return web.json_response(service_state.health())


async def list_tickets(request: web.Request) -> web.Response:
    status = request.query.get("status") or None
    if status is not None and status not in STATUSES:
        raise ApiError(400, f"unknown status {status!r}; expected one of {list(STATUSES)}")
    conversation_id = request.query.get("conversation_id") or None
    raw_limit = request.query.get("limit") or "100"
    if not re.fullmatch(r"[0-9]{1,7}", raw_limit) or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise ApiError(400, f"'limit' must be an integer from 1 to {MAX_LIMIT}")
    tickets = await request.app[STORE_KEY].find(conversation_id=conversation_id, status=status, limit=int(raw_limit))
    return web.json_response({"tickets": tickets})


async def get_ticket(request: web.Request) -> web.Response:
    return web.json_response(await load_ticket(request, ticket_id_param(request)))


async def list_handoffs(request: web.Request) -> web.Response:
    return web.json_response({"handoffs": await request.app[STORE_KEY].handoffs()})


async def list_callbacks(request: web.Request) -> web.Response:
    return web.json_response({"callbacks": await request.app[STORE_KEY].callbacks()})


async def conversation(request: web.Request) -> web.Response:
    """The conversation as Rasa has it (customer, assistant and agent messages, including what
    the customer wrote after the hand-off), as the console shows it."""
    ticket = await load_ticket(request, ticket_id_param(request))
    conversation_id = ticket.get("conversation_id")
    if not conversation_id:
        raise ApiError(409, f"ticket {ticket['ticket_id']} has no conversation")
    try:
        tracker = await rasa_client.get_tracker(request.app, str(conversation_id))
    except rasa_client.RasaUnavailable as exc:
        raise ApiError(502, f"rasa unreachable: {exc}") from None
    shown = transcript.for_agents(transcript.from_tracker(tracker))
    return web.json_response({**shown, "conversation_id": conversation_id, "channel": ticket.get("channel")})


# -- write ---------------------------------------------------------------------
async def claim(request: web.Request) -> web.Response:
    asked = await ticket_request(request)
    ticket = await load_ticket(request, asked.ticket_id)
    if ticket.get("status") in ENDED:
        raise ApiError(409, f"ticket {asked.ticket_id} is {ticket['status']}")
    note, previous = asked.note, ticket.get("assignee")
    if previous and previous != asked.agent:
        # Re-claiming is allowed (shift change), but must not erase who had it.
        note = f"taken over from {previous}" + (f": {note}" if note else "")
    ticket["assignee"] = asked.agent
    record(ticket, asked.agent, HistoryAction.CLAIMED, note)
    response = web.json_response(await save_ticket(request.app, ticket))
    if ticket.get("status") == Status.HANDED_OFF:
        await tell_customer_claimed(request.app, ticket, shown_name(request.app, asked.agent))
    return response


async def resolve(request: web.Request) -> web.Response:
    asked = await ticket_request(request)
    ticket = await load_ticket(request, asked.ticket_id)
    if ticket.get("status") in ENDED:
        raise ApiError(409, f"ticket {asked.ticket_id} is already {ticket['status']}")
    await before_handoff_ends(request.app, ticket)
    if ticket.get("status") == Status.HANDED_OFF and ticket.get("conversation_id"):
        # The assistant answers again after a resolution, as after a hand-back (the customer
        # may follow up). Rasa first: if it cannot take the conversation back, the ticket stays
        # with the humans rather than leave the customer talking to nobody.
        await resume_in_rasa(request.app, str(ticket["conversation_id"]))
    name = shown_name(request.app, asked.agent)
    return await _saved_and_told(request, ticket, asked, Status.RESOLVED, HistoryAction.RESOLVED, PageState.RESOLVED,
                                 name, customer_texts.resolved(ticket["ticket_id"], name, asked.note))


async def handback(request: web.Request) -> web.Response:
    asked = await ticket_request(request)
    ticket = await load_ticket(request, asked.ticket_id)
    if ticket.get("status") != Status.HANDED_OFF:
        raise ApiError(409, f"ticket {asked.ticket_id} is {ticket.get('status')}, not {Status.HANDED_OFF}")
    if not ticket.get("conversation_id"):
        raise ApiError(409, f"ticket {asked.ticket_id} has no conversation to resume")
    await before_handoff_ends(request.app, ticket)
    # Rasa first: if the bot cannot take the conversation back, the ticket must
    # stay with the humans rather than claim a bot is handling it.
    await resume_in_rasa(request.app, str(ticket["conversation_id"]))
    name = shown_name(request.app, asked.agent)
    return await _saved_and_told(request, ticket, asked, Status.OPEN, HistoryAction.HANDED_BACK, PageState.HANDED_BACK,
                                 name, customer_texts.handed_back(ticket["ticket_id"], name))


async def _saved_and_told(request: web.Request, ticket: Dict[str, Any], asked: TicketRequest, status: str,
                          action: str, page_state: str, name: str, text: str) -> web.Response:
    """The end of a hand-off (resolved, handed back): the ticket saved in its new status, then
    the customer told `text` by the agent's display `name` (best effort, api/customer_updates.py)."""
    ticket["status"] = status
    record(ticket, asked.agent, action, asked.note)
    response = web.json_response(await save_ticket(request.app, ticket))
    await tell_customer(request.app, ticket, name, page_state, text)
    return response


async def add_note(request: web.Request) -> web.Response:
    asked = await ticket_request(request)
    if not asked.note or not asked.note.strip():
        raise ApiError(400, "'note' must be a non-empty string")
    ticket = await load_ticket(request, asked.ticket_id)
    record(ticket, asked.agent, HistoryAction.NOTE, asked.note.strip())
    return web.json_response(await save_ticket(request.app, ticket))
