"""What a customer's conversation learns when an agent acts on their ticket through the API:
the conversation given back to the assistant (resolve, hand-back), a notice in the
conversation, and the chat page's live state.

Telling the customer is best effort, after the ticket is saved: the ticket is what agents
rely on, and a customer whose page missed a push sees it on the next reload (it is in Rasa's
tracker)."""
from __future__ import annotations

import logging
from typing import Any, Dict

from aiohttp import web

from bot.service import rasa_client
from bot.service.api import customer_texts
from bot.service.middlewares import ApiError
from bot.service.typedefs import HUB_KEY
from bot.service.webchat.agent_messages import post_agent_message
from bot.service.webchat.hub import HubError
from bot.tickets.model import Channel

log = logging.getLogger(__name__)

VOICE = Channel.VOICE  # a ticket's channel for a phone call: the caller has hung up, nobody reads its tracker


class PageState:
    """What the chat page is told happened (its live `state` event; static/chat.js)."""
    RESOLVED = "resolved"
    HANDED_BACK = "handed_back"
    WITH_AGENT = "with_agent"


async def _append_events(app: web.Application, conversation_id: str, events: Any, what: str) -> None:
    try:
        await rasa_client.append_events(app, conversation_id, events)
    except rasa_client.RasaRateLimited:
        raise ApiError(502, f"rasa refused the {what} (HTTP 429)") from None
    except rasa_client.RasaUnavailable as exc:
        if exc.status is not None:
            raise ApiError(502, f"rasa refused the {what} (HTTP {exc.status})") from None
        raise ApiError(502, f"rasa unreachable: {exc}") from None


async def resume_in_rasa(app: web.Application, conversation_id: str) -> None:
    """Give the conversation back to the assistant. The `action_listen` after `resume` ends the
    hand-off turn for Rasa's policies: without it the customer's next message is predicted from
    the state before the pause, where the last intent was the request for a person, and a
    fallback's rewind would hand off again in the customer's name."""
    await _append_events(app, conversation_id, [{"event": "resume"}, {"event": "action", "name": "action_listen"}],
                         "resume event")


async def tell_customer(app: web.Application, ticket: Dict[str, Any], name: str, state: str, text: str) -> None:
    """Resolved or handed back: the customer reads it in their conversation (written by the
    same path as an agent's message, bot.service.webchat.agent_messages.post_agent_message,
    as the agent's display `name`), and their open chat page leaves the hand-off state now."""
    conversation_id = str(ticket.get("conversation_id") or "")
    if not conversation_id:
        return
    if ticket.get("channel") != VOICE:
        try:
            await post_agent_message(app, conversation_id, name, text)
        except (rasa_client.RasaUnavailable, rasa_client.RasaRateLimited) as exc:
            log.warning("ticket %s: the customer was not told it was %s: %s", ticket["ticket_id"], state, exc)
    await _push_state(app, ticket, state, {"type": "status", "handed_off": False, "ticket_id": ticket["ticket_id"]},
                      agent=name)


async def tell_customer_claimed(app: web.Application, ticket: Dict[str, Any], name: str) -> None:
    """A colleague has the conversation now: the page's hand-off banner stops saying how long
    the wait is (or "We're closed right now ...") and says who is there. Recorded in the
    tracker as an updated hand-off marker (a bot event with no text, which the transcript
    reads as the hand-off's wait: bot.service.webchat.transcript.from_tracker), so a reload says the
    same; pushed live as the status the page already applies."""
    if ticket.get("channel") == VOICE or not ticket.get("conversation_id"):
        return
    handoff = {"ticket_id": ticket["ticket_id"], "wait": customer_texts.with_agent(name), "agent": name}
    try:
        await _append_events(app, str(ticket["conversation_id"]),
                             {"event": "bot", "text": None, "data": {"custom": {"handoff": handoff}},
                              "metadata": {"handoff_update": "claimed"}}, "claim marker")
    except ApiError as exc:
        log.warning("ticket %s: claim not recorded in the conversation: %s", ticket["ticket_id"], exc.message)
    await _push_state(app, ticket, PageState.WITH_AGENT,
                      {"type": "status", "handed_off": True, "ticket_id": ticket["ticket_id"], "handoff": handoff},
                      agent=name)


async def _push_state(app: web.Application, ticket: Dict[str, Any], state: str, status: Dict[str, Any],
                      **extra: Any) -> None:
    """The page's live events: the `status` it applies today, then a `state` event naming
    what happened ({"type": "state", "state": one of PageState, ...})."""
    hub = app.get(HUB_KEY)
    if hub is None:
        return
    conversation_id = str(ticket["conversation_id"])
    try:
        await hub.publish(conversation_id, status)
        await hub.publish(conversation_id, {"type": "state", "state": state, "ticket_id": ticket["ticket_id"], **extra})
    except HubError as exc:
        log.warning("ticket %s: %s not pushed to the chat page: %s", ticket["ticket_id"], state, exc)
