"""Hand-off to a human: persist the ticket first, then tell the customer, then go quiet
(docs/design.md#handoff). Out of hours, how the team can reach a web customer is asked
first (contact_form). The fallback that hands off after repeated misunderstanding is
actions/fallback.py."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.catalog import human_date
from bot.privacy import mask_secrets
from bot.speech import speakable_order_id
from bot.tickets.model import Actor, CallbackState, Channel, HistoryAction, RiskFlag, Status, iso, record
from actions import context, ticketing
from actions.answers import carries_on, NO, first_words_answer, match_option, yes_or_no
from actions.form_state import facts_not_yet_given, policy_variant, with_slots
from actions.parsing import extract_facts, parse_email, parse_phone
from actions.signals import risk_flags
from actions.understanding import category_told_with_request


def wait_text(moment) -> str:
    """When a person will pick up, said honestly (docs/design.md#empathy): now-ish during
    opening hours, or when the centre next opens."""
    cat = context.catalog()
    handoff = cat.data.get("handoff", {})
    if cat.is_open(moment):
        return handoff.get("usual_wait", "").format(hours=cat.hours_summary())
    nxt = cat.next_open(moment)
    when = f"{nxt:%A} {human_date(nxt.date().isoformat())}, {nxt:%H:%M}" if nxt else "when we next open"
    return handoff.get("outside_hours_wait", "").format(next_open=when)


def _needs_contact(ticket: Dict[str, Any], tracker: Tracker, is_open: bool) -> bool:
    """Out of hours a web customer will have closed the tab by the time we open: ask how to
    reach them, unless the ticket already has a way or they said no already."""
    if is_open or tracker.get_slot("contact_declined"):
        return False
    customer = ticket.get("customer") or {}
    return ticket.get("channel") != Channel.VOICE and not (customer.get("phone") or customer.get("email"))


async def hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> List[EventType]:
    """Persist the ticket first, then tell the customer what happens and when, then go
    quiet (docs/design.md#handoff). One instant for the whole hand-off, so "open" and the
    wait text can't disagree at opening or closing time."""
    moment = context.now()
    cat = context.catalog()
    ticket = await ticketing.load_or_create(tracker)
    ticketing.sync_ticket(ticket, tracker)
    ticket["status"] = Status.HANDED_OFF
    record(ticket, Actor.ASSISTANT, HistoryAction.HANDED_OFF, reason, at=moment)
    # The agent must be able to open the ticket before the customer is told they can expect one.
    await ticketing.save(ticket)
    is_open, wait = cat.is_open(moment), wait_text(moment)
    events: List[EventType] = [SlotSet("ticket_id", ticket["ticket_id"]), ActiveLoop(None), SlotSet("requested_slot", None)]
    if _needs_contact(ticket, tracker, is_open):
        # The contact form asks (ActionAskContactDetails); the hand-off finishes after it.
        return events + [FollowupAction("contact_form")]
    dispatcher.utter_message(
        response="utter_handoff" if is_open else "utter_handoff_closed",
        ticket_id=ticket["ticket_id"],
        ticket_spoken=speakable_order_id(ticket["ticket_id"]),
        wait=wait,
        json_message={"handoff": {"ticket_id": ticket["ticket_id"], "reason": reason, "open": is_open, "wait": wait}},
    )
    return events + [ConversationPaused()]


def urgent_flags(text: str) -> List[str]:
    """The risks in `text` that go to a person at once, whatever was asked (the catalog's
    handoff.auto_handoff_risk_flags: someone's safety, a regulator, the press, a lawyer)."""
    cat = context.catalog()
    urgent = set(cat.data.get("handoff", {}).get("auto_handoff_risk_flags", []))
    return sorted(set(risk_flags([text], cat.data.get("signals", {}))) & urgent)


async def hand_off_urgent(dispatcher: CollectingDispatcher, tracker: Tracker, urgent: List[str]) -> List[EventType]:
    """A risk named at any point of the conversation, the first message or the tenth: what
    to do now when someone's safety is at stake, then a person at once (docs/design.md#handoff)."""
    if RiskFlag.SAFETY in urgent:
        dispatcher.utter_message(response="utter_safety_first")
    return await hand_off(dispatcher, tracker, "high risk: " + ", ".join(urgent))


# "Can someone ring me?" with no callback on offer asks for a person too (issue 12;
# data/rules/handoff.yml): the agent sees that the customer wants to be called.
REQUEST_CALLBACK = "request_callback"
ASKED_FOR_PERSON = "customer asked for a person"


def request_reason(tracker: Tracker) -> str:
    """The true reason for a hand-off the dialogue chose: a request for a person only
    when the customer made one (a button or a message classified as one)."""
    intent = tracker.get_intent_of_latest_message(skip_fallback_intent=False)
    text = tracker.latest_message.get("text") or ""
    if intent == "request_human" or text.startswith("/request_human"):
        return ASKED_FOR_PERSON
    if intent == REQUEST_CALLBACK:
        return f"{ASKED_FOR_PERSON} (to be called)"
    return f"the assistant handed off after a message it had no answer for ({intent or 'unknown'})"


class ActionHandOff(Action):
    def name(self) -> Text:
        return "action_hand_off"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        answer = _remedy_answer(tracker)
        if answer is not None:
            # "an apology letter from the manager please" answers the question asked; the form
            # takes it (and validates it again) instead of handing the customer off.
            return [SlotSet("remedy_choice", answer), FollowupAction("complaint_form")]
        events: List[EventType] = []
        if tracker.get_slot("requested_slot") == "callback_choice" and yes_or_no(_first_clause(tracker)) == NO:
            # "No thanks. I want a human": both a decline of the callback and a request.
            events = [SlotSet("callback_choice", CallbackState.OPTED_OUT), SlotSet("callback_decided_at", iso(context.now()))]
            for event in events:
                tracker.slots[event["name"]] = event["value"]
        told = told_with_the_request(tracker)
        with_slots(tracker, told)
        return events + told + await hand_off(dispatcher, tracker, request_reason(tracker))


def told_with_the_request(tracker: Tracker) -> List[EventType]:
    """What the customer told in the message that asked for a person, before any complaint was
    under way ("ORD-4400918 never came and the driver lied. put me through to a manager"): the
    facts it states and, when confident, its category. The agent's ticket carries them (as
    told, `facts_confirmed` false) and is prioritised as that complaint (docs/design.md#handoff).
    They are slots, not only ticket fields: every later save of the ticket derives its facts
    and category from the slots (ticketing.sync_ticket)."""
    text = tracker.latest_message.get("text") or ""
    if tracker.get_slot("category") or text.startswith("/"):
        return []
    cat = context.catalog()
    category = category_told_with_request(tracker.latest_message, text, cat)
    slots: Dict[str, Any] = facts_not_yet_given(extract_facts(text, cat, context.today(cat)), tracker)
    if category:
        slots.update(category=category, sub_reason=cat.sub_reason_for(category, text), customer_demand=text)
    return [SlotSet(name, value) for name, value in slots.items()]


_PERSON = re.compile(r"\b(?:person|human|agent|someone|somebody|anyone|manager|operator|real|staff|colleague|advisor|adviser"
                     r"|representative|supervisor|people|team|call me|ring me|phone me|speak|talk)\b", re.IGNORECASE)


def _remedy_answer(tracker: Tracker) -> Optional[str]:
    """While the remedies are on screen, a message the classifier took for a request for a
    person may just name a remedy ("voucher please"). It is an answer only when it names
    exactly one offered remedy and asks for nobody beyond what that remedy's own words say
    ("from the manager" is part of the apology letter); anything else stays a request."""
    if tracker.get_slot("requested_slot") != "remedy_choice" or tracker.active_loop.get("name") != "complaint_form":
        return None
    text = tracker.latest_message.get("text") or ""
    if text.startswith("/"):
        return None
    options = context.catalog().remedy_options(policy_variant(tracker))
    chosen = match_option(text, options)
    if chosen is None:
        return None
    label = next(f"{o['label']} {o.get('speakable', '')}" for o in options if o["id"] == chosen).lower()
    beyond = [word for word in _PERSON.findall(text) if word.lower() not in label]
    return None if beyond else chosen


def _first_clause(tracker: Tracker) -> str:
    text = tracker.latest_message.get("text") or ""
    return re.split(r"[.,;!?]|\b(?:but|and|i want|i'd like|just)\b", text, maxsplit=1)[0]


class ValidateContactForm(FormValidationAction):
    """How the team can reach the customer out of hours: optional, validated (phone with
    phonenumbers, e-mail with email-validator), put on the ticket."""

    def name(self) -> Text:
        return "validate_contact_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        text = tracker.latest_message.get("text") or ""
        if tracker.active_loop_name == "contact_form" and tracker.get_slot("requested_slot") == "contact_details" and carries_on(text):
            return await self._stay_with_the_assistant(dispatcher, tracker)
        return await super().run(dispatcher, tracker, domain)

    @staticmethod
    async def _stay_with_the_assistant(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        """"Never mind, let's carry on here" when told a person will pick it up when we open:
        the hand-off is taken back (the ticket open again, its history says so) and the
        complaint goes on where it was (found in the role-play, round 3: the contact question
        was asked again, then silence, and the policy never stated)."""
        ticket = await ticketing.owned_ticket(tracker, tracker.get_slot("ticket_id"), rewrite=True)
        if ticket is not None and ticket.get("status") == Status.HANDED_OFF:
            ticket["status"] = Status.OPEN
            record(ticket, Actor.CUSTOMER, HistoryAction.STAYED_WITH_ASSISTANT, at=context.now())
            await ticketing.save(ticket)
        dispatcher.utter_message(response="utter_carry_on_here")
        events: List[EventType] = [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("contact_details", None)]
        if tracker.get_slot("complaint_recorded"):
            return events + [FollowupAction("action_explain_next_steps")]
        return events + [FollowupAction("complaint_form")]

    async def validate_contact_details(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> Dict[Text, Any]:
        text = (tracker.latest_message.get("text") or "").strip()
        if tracker.get_intent_of_latest_message() == "deny" or yes_or_no(text) == NO:
            return {"contact_details": "declined", "contact_declined": True}
        email = parse_email(text)
        phone = None if email else parse_phone(text, context.catalog().phone_region)
        if not (email or phone) and _declines(text):
            # "no thanks, I'll ring you tomorrow", "I don't want a call": declined, not a bad number.
            return {"contact_details": "declined", "contact_declined": True}
        ticket = await ticketing.owned_ticket(tracker, tracker.get_slot("ticket_id"), rewrite=True)
        if not (email or phone):
            if ticket is not None and len(text.split()) > 3:
                # The complaint itself, typed at the contact question ("ORD-5501298, £249.99,
                # returned on 10 Nov"): kept on the ticket for the colleague, then asked again.
                record(ticket, Actor.CUSTOMER, HistoryAction.ADDED_BY_CUSTOMER, mask_secrets(text)[:ticketing.MAX_TEXT], at=context.now())
                await ticketing.save(ticket)
                dispatcher.utter_message(response="utter_contact_noted", ticket_id=ticket["ticket_id"])
            else:
                dispatcher.utter_message(response="utter_invalid_contact")
            return {"contact_details": None}
        if ticket is not None:
            ticket.setdefault("customer", {})["email" if email else "phone"] = email or phone
            record(ticket, Actor.CUSTOMER, HistoryAction.CONTACT_GIVEN, "e-mail" if email else "phone", at=context.now())
            await ticketing.save(ticket)
        return {"contact_details": email or phone}


_DECLINES = re.compile(r"(?i)^\W*(?:no|nope|nah|no thanks|no thank you|not now|no need|(?:i\s+)?(?:don'?t|do not)\s+(?:want|need))\b")


def _declines(text: str) -> bool:
    """A reply whose first words say no, whatever follows."""
    return bool(_DECLINES.match(text)) or first_words_answer(text) == NO


def _handoff_reason(ticket: Optional[Dict[str, Any]]) -> Optional[str]:
    entries = [h for h in (ticket or {}).get("history") or [] if h.get("action") == HistoryAction.HANDED_OFF]
    return entries[-1].get("note") if entries else None


class ActionAskContactDetails(Action):
    def name(self) -> Text:
        return "action_ask_contact_details"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(response="utter_ask_contact_details", ticket_id=tracker.get_slot("ticket_id"),
                                 wait=wait_text(context.now()), buttons=context.catalog().buttons("contact_details"))
        return []


class ActionFinishHandOff(Action):
    """After the out-of-hours contact question: say how and when the team will be in
    touch, then go quiet like any hand-off."""

    def name(self) -> Text:
        return "action_finish_hand_off"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        moment = context.now()
        ticket = await ticketing.owned_ticket(tracker, tracker.get_slot("ticket_id"))
        ticket_id = ticket["ticket_id"] if ticket else tracker.get_slot("ticket_id")
        contact = tracker.get_slot("contact_details")
        nxt = context.catalog().next_open(moment)
        when = f"{nxt:%A} {human_date(nxt.date().isoformat())}, from {nxt:%H:%M}" if nxt else "when we next open"
        # The page leaves its chat state for the hand-off state on this marker, as after any hand-off.
        marker = {"handoff": {"ticket_id": ticket_id, "reason": _handoff_reason(ticket), "open": False, "wait": wait_text(moment)}}
        if contact and contact != "declined":
            how = "e-mail you at" if "@" in contact else "call you on"
            dispatcher.utter_message(response="utter_handoff_contact_noted", ticket_id=ticket_id, how=how, contact=contact, when=when, json_message=marker)
        else:
            dispatcher.utter_message(response="utter_handoff_no_contact", ticket_id=ticket_id, when=when, json_message=marker)
        return [SlotSet("requested_slot", None), ConversationPaused()]
