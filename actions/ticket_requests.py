"""Requests about an existing complaint: its status, and cancelling an opted-in callback."""
from __future__ import annotations

import abc
import re
from datetime import datetime
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.tickets.model import Actor, CallbackState, HistoryAction, iso, record
from actions import context, ticket_proof, ticketing
from actions.parsing import parse_ticket_ref


class TicketRequestAction(Action, abc.ABC):
    """Finds the ticket a request is about: a reference in the message, or this conversation's
    complaint. Only tickets this conversation may act on (ticketing.may_act_on) are ever
    loaded: any other reference first needs the customer's proof (actions/ticket_proof.py)."""

    request: str  # what a proof, once given, resumes (ActionResumeTicketRequest)

    @abc.abstractmethod
    def name(self) -> Text:
        ...

    @abc.abstractmethod
    async def act(self, ticket: Dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        ref = parse_ticket_ref(tracker.latest_message.get("text") or "")
        # A bare reference answering "which complaint?" resumes the request that asked for it.
        held = tracker.get_slot(ticket_proof.PENDING_REQUEST) if ref and not tracker.get_slot(ticket_proof.PENDING_REF) else None
        if held and held != self.request:
            return await REQUESTS[held]().run(dispatcher, _without_pending(tracker), domain)
        events: List[EventType] = [SlotSet(ticket_proof.PENDING_REQUEST, None)] if held else []
        if ref:
            ticket = await ticketing.owned_ticket(tracker, ref)
            if ticket is None:
                granted = await _granted_to_caller(tracker, ref)
                if granted is None:
                    # Someone else's or none at all: the same question either way.
                    return events + ticket_proof.ask_for_proof(dispatcher, tracker, ref, self.request)
                ticket, grant_events = granted
                events += grant_events
        else:
            ticket = await this_conversations_ticket(tracker)
        if ticket is None:
            ids = context.catalog().ticket_ids
            dispatcher.utter_message(response="utter_ask_ticket_ref", example=ids.make(context.now(), 7),
                                     letters=spoken_letters(ids.prefix))
            # Keep what was asked, so the reference that comes next completes it.
            return [SlotSet(ticket_proof.PENDING_REQUEST, self.request)]
        return events + await self.act(ticket, dispatcher, tracker)


def spoken_letters(prefix: str) -> str:
    """How the IVR asks for a reference's letters: "the letter C", "the letters C X"."""
    letters = [c.upper() for c in prefix if c.isalpha()]
    return f"the letter{'s' if len(letters) > 1 else ''} {' '.join(letters)}"


def _without_pending(tracker: Tracker) -> Tracker:
    tracker.slots[ticket_proof.PENDING_REQUEST] = None
    return tracker


async def _granted_to_caller(tracker: Tracker, ref: str):
    """On the phone, the caller's own number (from Twilio's signed request: only the IVR
    channel sets it, bot/rasa_ext/channels/identity.py drops it from every other client) matching
    the number on the ticket is proof enough. Returns (ticket, events) or None."""
    if tracker.get_latest_input_channel() != "twilio_ivr":
        return None
    caller = ticketing.channel_phone(tracker)
    store = await context.ticket_store()
    ticket = await store.get(ref)
    if not caller or ticket is None:
        return None
    region = context.catalog().phone_region
    on_ticket = ticket_proof.normalised_phone((ticket.get("customer") or {}).get("phone"), region)
    if not on_ticket or on_ticket != ticket_proof.normalised_phone(caller, region):
        return None
    events = ticketing.grant(ticket, tracker, "caller's phone number")
    await ticketing.save(ticket)
    return ticket, events


async def this_conversations_ticket(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The complaint of this conversation, else the latest one it proved is the customer's."""
    ticket = await ticketing.owned_ticket(tracker, tracker.get_slot("ticket_id"))
    if ticket is not None:
        return ticket
    store = await context.ticket_store()
    mine = await store.find(conversation_id=tracker.sender_id, limit=1)
    if mine:
        return mine[0]
    for ticket_id in reversed(ticketing.verified_ids(tracker)):
        ticket = await ticketing.owned_ticket(tracker, ticket_id)
        if ticket is not None:
            return ticket
    return None


class ActionCheckStatus(TicketRequestAction):
    request = "status"

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
            status=cat.status_label(ticket["status"], "for_customers"),
            updated=f"{updated:%d %b %Y %H:%M}",
        )
        if callback.get("status") == CallbackState.OPTED_IN and not callback.get("outcome"):
            dispatcher.utter_message(response="utter_callback_pending")
        return []


class ActionCancelCallback(TicketRequestAction):
    request = "cancel"

    def name(self) -> Text:
        return "action_cancel_callback"

    async def act(self, ticket: Dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        callback = ticket.get("callback") or {}
        text = tracker.latest_message.get("text") or ""
        asked = bool(_ASKS_WHETHER.search(text))
        if callback.get("status") != CallbackState.OPTED_IN or callback.get("outcome"):
            cancelled = callback.get("status") == CallbackState.CANCELLED and asked
            dispatcher.utter_message(response="utter_callback_is_cancelled" if cancelled else "utter_no_callback_to_cancel",
                                     ticket_id=ticket["ticket_id"])
            return []
        if asked:
            # "did you cancel it??" asks; cancelling on a question would drop a call the
            # customer still wants. The answer, and the cancel one click away.
            dispatcher.utter_message(response="utter_callback_still_booked", ticket_id=ticket["ticket_id"],
                                     buttons=context.catalog().buttons("callback_still_booked"))
            return []
        if _MOVES.search(text):
            # "change my callback to Thursday morning" is not "cancel it": the call stays booked.
            dispatcher.utter_message(response="utter_callback_not_moved", ticket_id=ticket["ticket_id"],
                                     buttons=context.catalog().buttons("callback_not_moved"))
            return []
        moment = context.now()
        callback.update({"status": CallbackState.CANCELLED, "decided_at": iso(moment)})
        record(ticket, Actor.CUSTOMER, HistoryAction.CALLBACK_CANCELLED, at=moment)
        await ticketing.save(ticket)
        dispatcher.utter_message(response="utter_callback_cancelled", ticket_id=ticket["ticket_id"])
        events: List[EventType] = []
        if tracker.get_slot("ticket_id") == ticket["ticket_id"]:
            events.append(SlotSet("callback_choice", CallbackState.CANCELLED))
        return events


# A question whether it is cancelled ("did you cancel it??", "is my callback cancelled?",
# "has it been cancelled yet"), not a request to cancel ("can you cancel it?").
_ASKS_WHETHER = re.compile(r"(?i)^\W*(?:so|and|but|wait|hang on)?\W*(?:did|have|has|is|was|were|are)\s+(?:you|it|my|the|that|this|they|someone)\b")
_MOVES = re.compile(r"(?i)\b(?:change|changing|move|moving|reschedule|rearrange|another time|different time|a different day|earlier|later|instead)\b")


# What a held request resumes (a reference given after "which complaint is it?", or a proof).
REQUESTS = {action.request: action for action in (ActionCheckStatus, ActionCancelCallback)}


class ActionResumeTicketRequest(Action):
    """After ticket_proof_form: the held request runs on a proven ticket; after too many wrong
    answers, a person is offered. Either way the held request is dropped."""

    def name(self) -> Text:
        return "action_resume_ticket_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        done: List[EventType] = [
            SlotSet(ticket_proof.PROOF_SLOT, None), SlotSet(ticket_proof.PENDING_REF, None),
            SlotSet(ticket_proof.PENDING_REQUEST, None),
        ]
        proof = tracker.get_slot(ticket_proof.PROOF_SLOT)
        action = REQUESTS.get(tracker.get_slot(ticket_proof.PENDING_REQUEST) or "")
        ticket = None
        if proof == ticket_proof.VERIFIED and action is not None:
            ticket = await ticketing.owned_ticket(tracker, tracker.get_slot(ticket_proof.PENDING_REF))
        if ticket is None:
            dispatcher.utter_message(response="utter_ticket_proof_failed")
            return done
        return done + await action().act(ticket, dispatcher, tracker)

