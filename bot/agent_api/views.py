"""Request handlers. Each mutation loads the ticket, checks the state it is in,
changes it and appends a history entry saying who did what and when."""
from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, Dict, Optional
from urllib.parse import quote

import aiohttp
from aiohttp import web

from bot import service_state
from bot.agent_api import customer_texts
from bot.agent_api.config import CONFIG_KEY, HTTP_KEY, STORE_KEY
from bot.agent_api.middlewares import CURRENT_SESSION, ApiError
from bot.tickets.model import CALLBACK_OUTCOMES, STATUSES, iso, utcnow

log = logging.getLogger(__name__)

MAX_AGENT_LEN = 100
MAX_NOTE_LEN = 2000
MAX_LIMIT = 1000
FINAL_OUTCOMES = ("done", "cancelled")


# -- input helpers -------------------------------------------------------------
def _ticket_id(request: web.Request) -> str:
    return valid_ticket_id(request.app, request.match_info["ticket_id"])


def valid_ticket_id(app: web.Application, ticket_id: str) -> str:
    prefix = re.escape(app[CONFIG_KEY].ticket_prefix)
    # 4+ digits: the counter is zero-padded to 4 but may outgrow it on a busy day.
    if not re.fullmatch(rf"{prefix}\d{{8}}-\d{{4,}}", ticket_id or ""):
        raise ApiError(400, f"malformed ticket id: {ticket_id!r}")
    return ticket_id


async def _body(request: web.Request) -> Dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "body must be valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "body must be a JSON object")
    return body


def _agent(body: Dict[str, Any]) -> str:
    """Who acts. With a console session it is the signed-in agent: an 'agent' in the body
    may be left out, and naming anyone else is refused."""
    agent = body.get("agent")
    session = CURRENT_SESSION.get()
    if session is not None:
        if agent is None or agent == session.name:
            return session.name
        raise ApiError(403, "'agent' must be the signed-in agent")
    if not isinstance(agent, str) or not agent.strip():
        raise ApiError(400, "'agent' must be a non-empty string")
    if len(agent) > MAX_AGENT_LEN:
        raise ApiError(400, f"'agent' is longer than {MAX_AGENT_LEN} characters")
    return agent.strip()


def _note(body: Dict[str, Any]) -> Optional[str]:
    note = body.get("note")
    if note is None:
        return None
    if not isinstance(note, str):
        raise ApiError(400, "'note' must be a string")
    if len(note) > MAX_NOTE_LEN:
        raise ApiError(400, f"'note' is longer than {MAX_NOTE_LEN} characters")
    return note


async def _load(request: web.Request, ticket_id: str) -> Dict[str, Any]:
    ticket = await request.app[STORE_KEY].get(ticket_id)
    if ticket is None:
        raise ApiError(404, f"no ticket {ticket_id}")
    return ticket


def shown_name(app: web.Application, agent: str) -> str:
    """The name a customer sees for this agent: the account's display_name (default: the
    account name capitalised)."""
    from bot.console.accounts import display_name_for
    from bot.console.keys import CONSOLE_KEY

    console = app.get(CONSOLE_KEY)
    return display_name_for(console.accounts if console is not None else {}, agent)


def _record(ticket: Dict[str, Any], agent: str, action: str, note: Optional[str] = None) -> None:
    ticket.setdefault("history", []).append({"at": iso(utcnow()), "by": agent, "action": action, "note": note})


async def _before_change(request: web.Request, ticket: Dict[str, Any]) -> None:
    """A hand-off about to end here (resolve, hand-back) is put in the ticketing webhook's
    outbox first, so even one resolved between two polls of the live queue is delivered."""
    from bot.console.keys import FEED_KEY

    feed = request.app.get(FEED_KEY)
    if feed is not None:
        await feed.seen_ticket(ticket)


async def _save(request: web.Request, ticket: Dict[str, Any]) -> web.Response:
    from bot.console.keys import FEED_KEY

    saved = await request.app[STORE_KEY].save(ticket)
    feed = request.app.get(FEED_KEY)
    if feed is not None:
        feed.poke()  # open consoles see the change now rather than at the next poll
    return web.json_response(saved)


# -- read ----------------------------------------------------------------------
async def health(request: web.Request) -> web.Response:
    # Under the launcher: which of the product's services are up (bot/service_state.py).
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
    return web.json_response(await _load(request, _ticket_id(request)))


async def list_handoffs(request: web.Request) -> web.Response:
    return web.json_response({"handoffs": await request.app[STORE_KEY].handoffs()})


async def list_callbacks(request: web.Request) -> web.Response:
    return web.json_response({"callbacks": await request.app[STORE_KEY].callbacks()})


# -- write ---------------------------------------------------------------------
async def claim(request: web.Request) -> web.Response:
    ticket_id = _ticket_id(request)
    body = await _body(request)
    agent, note = _agent(body), _note(body)
    ticket = await _load(request, ticket_id)
    if ticket.get("status") in ("resolved", "closed"):
        raise ApiError(409, f"ticket {ticket_id} is {ticket['status']}")
    previous = ticket.get("assignee")
    if previous and previous != agent:
        # Re-claiming is allowed (shift change), but must not erase who had it.
        note = f"taken over from {previous}" + (f": {note}" if note else "")
    ticket["assignee"] = agent
    _record(ticket, agent, "claimed", note)
    response = await _save(request, ticket)
    if ticket.get("status") == "handed_off":
        await _tell_customer_claimed(request, ticket, agent)
    return response


async def resolve(request: web.Request) -> web.Response:
    ticket_id = _ticket_id(request)
    body = await _body(request)
    agent, note = _agent(body), _note(body)
    ticket = await _load(request, ticket_id)
    if ticket.get("status") in ("resolved", "closed"):
        raise ApiError(409, f"ticket {ticket_id} is already {ticket['status']}")
    await _before_change(request, ticket)
    if ticket.get("status") == "handed_off" and ticket.get("conversation_id"):
        # The assistant answers again after a resolution, as after a hand-back (the customer
        # may follow up). Rasa first: if it cannot take the conversation back, the ticket stays
        # with the humans rather than leave the customer talking to nobody.
        await _resume_in_rasa(request, str(ticket["conversation_id"]))
    ticket["status"] = "resolved"
    _record(ticket, agent, "resolved", note)
    response = await _save(request, ticket)
    await _tell_customer(request, ticket, agent, "resolved", customer_texts.resolved(
        ticket["ticket_id"], shown_name(request.app, agent), note))
    return response


async def _append_events(request: web.Request, conversation_id: str, events: Any, what: str) -> None:
    config = request.app[CONFIG_KEY]
    url = f"{config.rasa_url.rstrip('/')}/conversations/{quote(conversation_id, safe='')}/tracker/events"
    params = {"token": config.rasa_token} if config.rasa_token else None
    try:
        async with request.app[HTTP_KEY].post(
            url, params=params, json=events, timeout=aiohttp.ClientTimeout(total=config.rasa_timeout)
        ) as resp:
            if resp.status >= 300:
                raise ApiError(502, f"rasa refused the {what} (HTTP {resp.status})")
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise ApiError(502, f"rasa unreachable: {type(exc).__name__}") from None


async def _resume_in_rasa(request: web.Request, conversation_id: str) -> None:
    """Give the conversation back to the assistant. The `action_listen` after `resume` ends the
    hand-off turn for Rasa's policies: without it the customer's next message is predicted from
    the state before the pause, where the last intent was the request for a person, and a
    fallback's rewind would hand off again in the customer's name."""
    await _append_events(request, conversation_id, [{"event": "resume"}, {"event": "action", "name": "action_listen"}],
                         "resume event")


async def handback(request: web.Request) -> web.Response:
    ticket_id = _ticket_id(request)
    body = await _body(request)
    agent, note = _agent(body), _note(body)
    ticket = await _load(request, ticket_id)
    if ticket.get("status") != "handed_off":
        raise ApiError(409, f"ticket {ticket_id} is {ticket.get('status')}, not handed_off")
    if not ticket.get("conversation_id"):
        raise ApiError(409, f"ticket {ticket_id} has no conversation to resume")
    await _before_change(request, ticket)
    # Rasa first: if the bot cannot take the conversation back, the ticket must
    # stay with the humans rather than claim a bot is handling it.
    await _resume_in_rasa(request, str(ticket["conversation_id"]))
    ticket["status"] = "open"
    _record(ticket, agent, "handed_back", note)
    response = await _save(request, ticket)
    await _tell_customer(request, ticket, agent, "handed_back",
                         customer_texts.handed_back(ticket["ticket_id"], shown_name(request.app, agent)))
    return response


# -- telling the customer ---------------------------------------------------------
# Best effort, after the ticket is saved: the ticket is what agents rely on, and a customer
# whose page missed a push sees it on the next reload (it is in Rasa's tracker).
async def _tell_customer(request: web.Request, ticket: Dict[str, Any], agent: str, state: str, text: str) -> None:
    """Resolved or handed back: the customer reads it in their conversation (written by the
    same path as an agent's message, bot.webchat.views.post_agent_message, as the agent's
    display name), and their open chat page leaves the hand-off state now."""
    from bot.webchat import rasa  # bot.webchat imports this module
    from bot.webchat.views import post_agent_message

    conversation_id = str(ticket.get("conversation_id") or "")
    if not conversation_id:
        return
    if ticket.get("channel") != "voice":  # a caller has hung up: nobody reads a call's tracker
        try:
            await post_agent_message(request.app, conversation_id, shown_name(request.app, agent), text)
        except (rasa.RasaUnavailable, rasa.RasaRateLimited) as exc:
            log.warning("ticket %s: the customer was not told it was %s: %s", ticket["ticket_id"], state, exc)
    await _push_state(request, ticket, state, {"type": "status", "handed_off": False, "ticket_id": ticket["ticket_id"]},
                      agent=shown_name(request.app, agent))


async def _tell_customer_claimed(request: web.Request, ticket: Dict[str, Any], agent: str) -> None:
    """A colleague has the conversation now: the page's hand-off banner stops saying how long
    the wait is (or "We're closed right now ...") and says who is there. Recorded in the
    tracker as an updated hand-off marker (a bot event with no text, which the transcript
    reads as the hand-off's wait: bot.webchat.transcript.from_tracker), so a reload says the
    same; pushed live as the status the page already applies."""
    if ticket.get("channel") == "voice" or not ticket.get("conversation_id"):
        return
    name = shown_name(request.app, agent)
    handoff = {"ticket_id": ticket["ticket_id"], "wait": customer_texts.with_agent(name), "agent": name}
    try:
        await _append_events(request, str(ticket["conversation_id"]),
                             {"event": "bot", "text": None, "data": {"custom": {"handoff": handoff}},
                              "metadata": {"handoff_update": "claimed"}}, "claim marker")
    except ApiError as exc:
        log.warning("ticket %s: claim not recorded in the conversation: %s", ticket["ticket_id"], exc.message)
    await _push_state(request, ticket, "with_agent",
                      {"type": "status", "handed_off": True, "ticket_id": ticket["ticket_id"], "handoff": handoff},
                      agent=name)


async def _push_state(request: web.Request, ticket: Dict[str, Any], state: str, status: Dict[str, Any],
                      **extra: Any) -> None:
    """The page's live events: the `status` it applies today, then a `state` event naming
    what happened ({"type": "state", "state": "resolved" | "handed_back" | "with_agent", ...})."""
    from bot.webchat.hub import HUB_KEY, HubError  # bot.webchat imports this module

    hub = request.app.get(HUB_KEY)
    if hub is None:
        return
    conversation_id = str(ticket["conversation_id"])
    try:
        await hub.publish(conversation_id, status)
        await hub.publish(conversation_id, {"type": "state", "state": state, "ticket_id": ticket["ticket_id"], **extra})
    except HubError as exc:
        log.warning("ticket %s: %s not pushed to the chat page: %s", ticket["ticket_id"], state, exc)


async def add_note(request: web.Request) -> web.Response:
    ticket_id = _ticket_id(request)
    body = await _body(request)
    agent, note = _agent(body), _note(body)
    if not note or not note.strip():
        raise ApiError(400, "'note' must be a non-empty string")
    ticket = await _load(request, ticket_id)
    _record(ticket, agent, "note", note.strip())
    return await _save(request, ticket)


async def callback_done(request: web.Request) -> web.Response:
    ticket_id = _ticket_id(request)
    body = await _body(request)
    agent, note = _agent(body), _note(body)
    outcome = body.get("outcome")
    if outcome not in CALLBACK_OUTCOMES:
        raise ApiError(400, f"'outcome' must be one of {list(CALLBACK_OUTCOMES)}")
    session = CURRENT_SESSION.get()
    if session is not None and not session.is_specialist:
        raise ApiError(403, "only a specialist can record a callback's result")
    ticket = await _load(request, ticket_id)
    callback = ticket.get("callback") or {}
    if callback.get("status") != "opted_in":
        raise ApiError(409, f"ticket {ticket_id} has no opted-in callback")
    if callback.get("outcome") in FINAL_OUTCOMES or callback.get("closed"):
        raise ApiError(409, f"callback on {ticket_id} is already {callback['outcome']}")
    callback["outcome"] = outcome
    callback["completed_at"] = iso(utcnow())
    ticket["callback"] = callback
    _record(ticket, agent, f"callback_{outcome}", note)
    return await _save(request, ticket)
