"""A new Rasa session of a conversation (after an hour's silence, or every SESSION_MAX_TURNS
messages of a long one: bot/rasa_ext/patches/session_expiry.py).

Rasa's own `action_session_start`, plus one thing: the action server only ever sees the
current session, so before a session ends, what the customer said in it since the last
ticket update is written to the complaint's ticket. Later updates keep those lines
(actions/ticketing.py) and every message stays on the ticket, once.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import ticketing
from bot.tickets.model import Status

logger = logging.getLogger(__name__)
FINISHED = (Status.RESOLVED, Status.CLOSED)


def carried_slots(tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
    """Rasa's carry-over: the session's slot events again, in order (domain session_config)."""
    if not (domain.get("session_config") or {}).get("carry_over_slots_to_new_session", True):
        return []
    return [SlotSet(e["name"], e.get("value")) for e in tracker.applied_events() if e.get("event") == "slot"]


class ActionSessionStart(Action):
    def name(self) -> Text:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        await self.keep_transcript(tracker)
        return [SessionStarted(), *carried_slots(tracker, domain), ActionExecuted("action_listen")]

    @staticmethod
    async def keep_transcript(tracker: Tracker) -> None:
        ticket_id = tracker.get_slot("ticket_id")
        if not ticket_id:
            return
        try:
            ticket = await ticketing.owned_ticket(tracker, ticket_id, rewrite=True)
            if ticket is None or ticket.get("status") in FINISHED:
                return
            await ticketing.save(ticketing.sync_ticket(ticket, tracker))
        except Exception:  # the new session must start whatever the ticket store says
            logger.exception("session start: could not update ticket %s", ticket_id)
