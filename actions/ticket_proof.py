"""A reference from another conversation: the customer proves it is theirs first.

References count up and are easy to guess, so a reference typed in a conversation that
did not open it is acted on only after the customer gives the order number, phone number
or e-mail address on the ticket (ticket_proof_form). Until then nothing about it is said,
and a reference that does not exist gets exactly the same replies as someone else's, so
nobody can tell which references exist. After MAX_FAILED_PROOFS wrong answers in a
conversation the assistant stops asking and offers a person.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

import phonenumbers
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import context, ticketing
from actions.parsing import parse_email, parse_order_id, parse_phone

FORM = "ticket_proof_form"
PROOF_SLOT = "ticket_proof"
PENDING_REF = "pending_ticket_ref"
PENDING_REQUEST = "pending_ticket_request"
FAILURES = "ticket_proof_failures"
MAX_FAILED_PROOFS = 2
VERIFIED, FAILED = "verified", "failed"


def failures(tracker: Tracker) -> int:
    try:
        return int(tracker.get_slot(FAILURES) or 0)
    except (TypeError, ValueError):
        return 0


def ask_for_proof(dispatcher: CollectingDispatcher, tracker: Tracker, ref: str, request: str) -> List[EventType]:
    """Hold `request` ("status", "cancel") on `ref` until the customer proves the ticket is theirs.
    Called alike whether `ref` is someone else's or doesn't exist."""
    if failures(tracker) >= MAX_FAILED_PROOFS:
        # This conversation has had its tries: no more guessing here, a person can help.
        dispatcher.utter_message(response="utter_ticket_proof_failed")
        return [SlotSet(PENDING_REF, None), SlotSet(PENDING_REQUEST, None)]
    # ticket_proof is always empty here (action_resume_ticket_request empties it): setting it
    # would have the form validate that None as a first wrong answer.
    return [SlotSet(PENDING_REF, ref), SlotSet(PENDING_REQUEST, request), FollowupAction(FORM)]


def normalised_phone(value: Optional[str], region: str) -> Optional[str]:
    """A phone number as E.164, for comparing what a customer says with the ticket."""
    if not value:
        return None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def matching_proof(text: str, ticket: Dict[str, Any]) -> Optional[str]:
    """Which detail on the ticket the customer's answer gives ("order number", ...), if any.
    Both sides are normalised the way the complaint form stores them."""
    cat = context.catalog()
    region = cat.phone_region
    on_order = (ticket.get("facts") or {}).get("order_id")
    customer = ticket.get("customer") or {}

    given = parse_order_id(text, cat.order_pattern, cat.order_prefix, cat.order_bare_pattern)
    if given and on_order:
        stored = parse_order_id(on_order, cat.order_pattern, cat.order_prefix, cat.order_bare_pattern) or on_order
        if given == stored:
            return "order number"
    phone, stored_phone = parse_phone(text, region), normalised_phone(customer.get("phone"), region)
    if phone and stored_phone and phone == stored_phone:
        return "phone number"
    email = parse_email(text)
    if email and customer.get("email") and email.casefold() == str(customer["email"]).strip().casefold():
        return "e-mail address"
    return None


class ActionAskTicketProof(Action):
    """The form's question; after a wrong answer, the privacy reply (which invites one more try)."""

    def name(self) -> Text:
        return "action_ask_ticket_proof"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        if failures(tracker):
            dispatcher.utter_message(response="utter_ticket_private")
        else:
            dispatcher.utter_message(response="utter_ask_ticket_proof", ticket_id=tracker.get_slot(PENDING_REF))
        return []


class ValidateTicketProofForm(FormValidationAction):
    def name(self) -> Text:
        return f"validate_{FORM}"

    async def validate_ticket_proof(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if not str(value or "").strip():
            # Not an answer (the form validates at activation too): ask, don't count it.
            return {PROOF_SLOT: None}
        ref = tracker.get_slot(PENDING_REF)
        store = await context.ticket_store()
        ticket = await store.get(ref) if ref else None
        proof = matching_proof(str(value or ""), ticket) if ticket else None
        if proof:
            events = ticketing.grant(ticket, tracker, proof)
            await ticketing.save(ticket)
            return {PROOF_SLOT: VERIFIED, FAILURES: 0, **{e["name"]: e["value"] for e in events}}
        # A wrong answer and a reference that doesn't exist are the same to the customer.
        count = failures(tracker) + 1
        return {PROOF_SLOT: FAILED if count >= MAX_FAILED_PROOFS else None, FAILURES: count}
