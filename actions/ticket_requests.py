"""Requests about an existing complaint: its status, and cancelling an opted-in callback."""
from __future__ import annotations

import abc
from datetime import datetime
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.tickets.model import iso
from actions import context, ticketing
from actions.parsing import parse_ticket_ref

STATUS_WORDS = {
    "open": "open: the team is working on it",
    "handed_off": "with one of our colleagues",
    "resolved": "resolved",
    "closed": "closed",
}


class TicketRequestAction(Action, abc.ABC):
    """Finds the ticket a request is about: a reference in the message, one asked for
    just before, or the complaint made in this conversation."""

    @abc.abstractmethod
    def name(self) -> Text:
        ...

    @abc.abstractmethod
    async def act(self, ticket: Dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        store = await context.ticket_store()
        ref = parse_ticket_ref(tracker.latest_message.get("text") or "")
        ticket: Optional[Dict[str, Any]] = None
        if ref:
            ticket = await store.get(ref)
            if ticket is None:
                dispatcher.utter_message(response="utter_ticket_not_found", ticket_id=ref)
                return []
        elif tracker.get_slot("ticket_id"):
            ticket = await store.get(tracker.get_slot("ticket_id"))
        else:
            mine = await store.find(conversation_id=tracker.sender_id, limit=1)
            ticket = mine[0] if mine else None
        if ticket is None:
            dispatcher.utter_message(response="utter_ask_ticket_ref")
            return []
        return await self.act(ticket, dispatcher, tracker)


class ActionCheckStatus(TicketRequestAction):
    def name(self) -> Text:
        return "action_check_status"

    async def act(self, ticket: Dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        cat = context.catalog()
        updated = datetime.fromisoformat(ticket["updated_at"]).astimezone(cat.tz)
        callback = ticket.get("callback") or {}
        dispatcher.utter_message(
            response="utter_ticket_status",
            ticket_id=ticket["ticket_id"],
            category_label=cat.category(ticket.get("category"))["label"],
            status=STATUS_WORDS.get(ticket["status"], ticket["status"]),
            updated=f"{updated:%d %b %Y %H:%M}",
        )
        if callback.get("status") == "opted_in" and not callback.get("outcome"):
            dispatcher.utter_message(response="utter_callback_pending")
        return []


class ActionCancelCallback(TicketRequestAction):
    def name(self) -> Text:
        return "action_cancel_callback"

    async def act(self, ticket: Dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        callback = ticket.get("callback") or {}
        if callback.get("status") != "opted_in" or callback.get("outcome"):
            dispatcher.utter_message(response="utter_no_callback_to_cancel", ticket_id=ticket["ticket_id"])
            return []
        stamp = iso(context.now())
        callback.update({"status": "cancelled", "decided_at": stamp})
        ticket["history"].append({"at": stamp, "by": "customer", "action": "callback_cancelled", "note": None})
        await ticketing.save(ticket)
        dispatcher.utter_message(response="utter_callback_cancelled", ticket_id=ticket["ticket_id"])
        events: List[EventType] = []
        if tracker.get_slot("ticket_id") == ticket["ticket_id"]:
            events.append(SlotSet("callback_choice", "cancelled"))
        return events
