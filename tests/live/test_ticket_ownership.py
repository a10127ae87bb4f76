"""Issue 11, items 1 and 2: a conversation acts only on its own tickets, or on one the
customer proved is theirs; a reference from elsewhere gets the same replies whether or not
it exists; a forged `ticket_id` slot never overwrites another conversation's ticket.

The actions run against a real SQLite ticket store; `Conversation` plays Rasa's part
(the rules in data/rules/tickets.yml and ticket_proof_form's loop) between them.
"""
from __future__ import annotations

import re
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
import pytest_asyncio
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import context
from actions.handoff import ActionHandOff
from actions.session_start import ActionSessionStart
from actions.ticket_proof import ActionAskTicketProof, ValidateTicketProofForm
from actions.ticket_requests import ActionCancelCallback, ActionCheckStatus, ActionResumeTicketRequest
from bot.tickets.model import iso, new_ticket
from tests.support.live import buttons, texts
from tests.support.trackers import domain, fixed_clock, store  # noqa: F401 (fixtures)

TICKET = re.compile(r"C-\d{8}-\d{4}")
ROOT = Path(__file__).resolve().parents[2]
MISSING_REF = "C-20261130-0077"
ORDER = "ORD-4400918"
PHONE = "+442079460958"




@pytest.fixture
def victim_ref(victim) -> str:
    return victim["ticket_id"]


@pytest_asyncio.fixture
async def victim(store) -> Dict[str, Any]:
    """A phone customer's complaint with a callback still to come."""
    ticket = new_ticket(await store.next_ticket_id(context.now()), "phone-call-1", "voice")
    ticket.update(category="delivery", sub_reason="late")
    ticket["facts"]["order_id"] = ORDER
    ticket["customer"]["phone"] = PHONE
    start = context.now() + timedelta(days=1)
    ticket["callback"] = {"status": "opted_in", "decided_at": iso(),
                          "window": {"start": iso(start), "end": iso(start + timedelta(hours=2))}}
    ticket["transcript"] = [{"role": "customer", "text": "my fridge never came", "at": iso(), "ts": time.time()}]
    return await store.save(ticket)


def tracker(sender: str, text: str, intent: str, slots: Dict[str, Any], since_user: Optional[List[Dict[str, Any]]] = None,
            form_active: bool = False) -> Tracker:
    """`since_user`: the events after the customer's message (what the form validates)."""
    user = {"event": "user", "text": text, "timestamp": time.time(), "metadata": {}, "input_channel": "rest",
            "parse_data": {"intent": {"name": intent, "confidence": 0.9}}}
    since_user = since_user or []
    slots = {**slots, **{e["name"]: e["value"] for e in since_user if e.get("event") == "slot"}}
    return Tracker(
        sender_id=sender, slots=slots, latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []},
        events=[user, *since_user], paused=False, followup_action=None,
        active_loop={"name": "ticket_proof_form"} if form_active else {}, latest_action_name="action_listen",
    )


class Conversation:
    """One customer conversation, run the way the trained rules run it."""

    def __init__(self, sender: str, domain: Dict[str, Any], slots: Optional[Dict[str, Any]] = None) -> None:
        self.sender, self.domain = sender, domain
        self.slots: Dict[str, Any] = {"requested_slot": None, **(slots or {})}
        self.form_active = False

    async def _run(self, action, text: str, intent: str, since_user=None, form_active: bool = False):
        dispatcher = CollectingDispatcher()
        events = await action.run(dispatcher, tracker(self.sender, text, intent, self.slots, since_user, form_active), self.domain)
        self.slots.update({e["name"]: e["value"] for e in events if e.get("event") == "slot"})
        return dispatcher.messages, events

    async def say(self, text: str, intent: str) -> List[Tuple[Optional[str], Any]]:
        """The customer's turn; what they are shown (response names and the reference in them)."""
        messages: List[Dict[str, Any]] = []
        if self.form_active:
            # What Rasa's from_text mapping sets before it calls the form's validation.
            answer = [{"event": "slot", "name": "ticket_proof", "value": text, "timestamp": time.time()}]
            said, _ = await self._run(ValidateTicketProofForm(), text, intent, answer, form_active=True)
            messages += said
        else:
            action = {"check_status": ActionCheckStatus, "cancel_callback": ActionCancelCallback}[intent]()
            said, events = await self._run(action, text, intent)
            messages += said
            if not any(e.get("event") == "followup" and e.get("name") == "ticket_proof_form" for e in events):
                return [(m.get("response"), m.get("ticket_id")) for m in messages]
            # The form's activation validates what was set since the customer's message.
            self.form_active = True
            said, _ = await self._run(ValidateTicketProofForm(), text, intent, [e for e in events if e.get("event") == "slot"])
            messages += said
        if self.slots.get("ticket_proof") is None:
            said, _ = await self._run(ActionAskTicketProof(), text, intent)
        else:
            self.form_active = False
            said, _ = await self._run(ActionResumeTicketRequest(), text, intent)
        messages += said
        return [(m.get("response"), m.get("ticket_id")) for m in messages]


def names(shown: List[Tuple[Optional[str], Any]]) -> List[Optional[str]]:
    return [name for name, _ in shown]


@pytest.mark.asyncio
async def test_another_conversations_reference_says_nothing_and_changes_nothing(store, victim_ref, domain):
    attacker = Conversation("web-attacker", domain)
    before = await store.get(victim_ref)

    asked_status = await attacker.say(f"what's the status of {victim_ref}?", "check_status")
    assert "utter_ticket_status" not in names(asked_status) and "utter_callback_pending" not in names(asked_status)
    asked_cancel = await Conversation("web-attacker-2", domain).say(f"please cancel my callback for {victim_ref}", "cancel_callback")
    assert "utter_callback_cancelled" not in names(asked_cancel)

    after = await store.get(victim_ref)
    assert after == before, "neither question changed the other customer's ticket"
    assert after["callback"]["status"] == "opted_in"
    assert [t["ticket_id"] for t in await store.callbacks()] == [victim_ref], "the specialist still calls"


@pytest.mark.asyncio
async def test_someone_elses_reference_and_a_missing_one_get_the_same_replies(store, victim_ref, domain):
    """An attacker can't tell from the answers which references exist."""
    def anonymised(shown):
        return [(name, "<ref>" if ref in (victim_ref, MISSING_REF) else ref) for name, ref in shown]

    for intent, text in (("check_status", "what's the status of {}?"), ("cancel_callback", "cancel my callback for {}")):
        existing, missing = Conversation("attacker-a", domain), Conversation("attacker-b", domain)
        for turn in (text, "ORD-1234567", "07700 900999"):
            seen = [anonymised(await conv.say(turn.format(ref), intent)) for conv, ref in ((existing, victim_ref), (missing, MISSING_REF))]
            assert seen[0] == seen[1], turn
            assert seen[0], "the customer gets a reply"
    assert (await store.get(victim_ref))["callback"]["status"] == "opted_in"


@pytest.mark.asyncio
async def test_status_shown_after_the_order_number_on_the_ticket(store, victim_ref, domain):
    customer = Conversation("web-chat-7", domain)
    assert names(await customer.say(f"any update on {victim_ref}? I phoned last week", "check_status")) == ["utter_ask_ticket_proof"]
    shown = await customer.say("the order number is ord 4400918", "inform")
    assert names(shown) == ["utter_ticket_status", "utter_callback_pending"]
    assert shown[0][1] == victim_ref
    # Proven once: the next question about it is answered straight away.
    assert names(await customer.say(f"and the status of {victim_ref} now?", "check_status")) == ["utter_ticket_status", "utter_callback_pending"]


@pytest.mark.asyncio
async def test_callback_cancelled_after_the_phone_number_on_the_ticket(store, victim_ref, domain):
    customer = Conversation("web-chat-8", domain)
    assert names(await customer.say(f"please cancel my callback for {victim_ref}", "cancel_callback")) == ["utter_ask_ticket_proof"]
    shown = await customer.say("it's 020 7946 0958", "inform")  # as typed, normalised to E.164 like the ticket's
    assert names(shown) == ["utter_callback_cancelled"]
    saved = await store.get(victim_ref)
    assert saved["callback"]["status"] == "cancelled"
    assert await store.callbacks() == []
    assert saved["history"][-2]["action"] == "ownership_confirmed" and "phone number" in saved["history"][-2]["note"]


@pytest.mark.asyncio
async def test_two_wrong_proofs_offer_a_person_and_change_nothing(store, victim_ref, domain):
    attacker = Conversation("web-attacker-3", domain)
    before = await store.get(victim_ref)
    assert names(await attacker.say(f"cancel my callback for {victim_ref}", "cancel_callback")) == ["utter_ask_ticket_proof"]
    assert names(await attacker.say("ORD-4400917", "inform")) == ["utter_ticket_private"]
    assert names(await attacker.say("07700 900123", "inform")) == ["utter_ticket_proof_failed"]
    offer = next(r for r in domain["responses"]["utter_ticket_proof_failed"] if "buttons" in r)
    assert offer["buttons"][0]["payload"] == "/request_human", "a person is offered"
    # It stops asking: a third try, even the right one, is not taken from this conversation.
    assert names(await attacker.say(f"cancel my callback for {victim_ref}", "cancel_callback")) == ["utter_ticket_proof_failed"]
    assert not attacker.form_active
    assert await store.get(victim_ref) == before


@pytest.mark.asyncio
async def test_forged_slots_on_hand_off_leave_the_other_ticket_alone(store, victim_ref, domain):
    """A caller of the action server sets ticket_id (and a grant it never earned) to another
    conversation's ticket: a new ticket is made, the other one keeps its transcript and phone."""
    before = await store.get(victim_ref)
    slots = {"ticket_id": victim_ref, "verified_tickets": [victim_ref], "callback_phone": "+447700900666",
             "callback_choice": "opted_in", "requested_slot": None}
    dispatcher = CollectingDispatcher()
    events = await ActionHandOff().run(dispatcher, tracker("forger", "agent: I changed my number", "request_human", slots), domain)

    new_id = next(e["value"] for e in events if e.get("event") == "slot" and e["name"] == "ticket_id")
    assert new_id != victim_ref and dispatcher.messages[0]["ticket_id"] == new_id
    assert (await store.get(new_id))["conversation_id"] == "forger"
    after = await store.get(victim_ref)
    assert after == before
    assert after["customer"]["phone"] == PHONE and after["transcript"][0]["text"] == "my fridge never came"


@pytest.mark.asyncio
async def test_forged_slots_on_status_and_session_start_reveal_and_rewrite_nothing(store, victim_ref, domain):
    before = await store.get(victim_ref)
    slots = {"ticket_id": victim_ref, "verified_tickets": [victim_ref], "requested_slot": None}
    dispatcher = CollectingDispatcher()
    await ActionCheckStatus().run(dispatcher, tracker("forger", "any news on my complaint?", "check_status", slots), domain)
    assert [m.get("response") for m in dispatcher.messages] == ["utter_ask_ticket_ref"]
    await ActionCancelCallback().run(CollectingDispatcher(), tracker("forger", "cancel my callback", "cancel_callback", slots), domain)
    await ActionSessionStart().run(CollectingDispatcher(), tracker("forger", "hi", "greet", slots), domain)
    assert await store.get(victim_ref) == before


# ---- through the running product: Rasa's rules and ticket_proof_form, for real ----------------
def test_live_a_guessed_reference_gets_no_answer_and_then_a_person(live_stack):
    owner = f"test-{uuid.uuid4()}"
    ref = TICKET.search(texts(live_stack.say(owner, "I want to speak to a real person"))).group(0)
    before = live_stack.agent(f"/api/tickets/{ref}")
    missing = f"C-20200101-{int(ref[-4:]) % 9000 + 1000:04d}"

    seen = {}
    for name, asked in (("existing", ref), ("missing", missing)):
        sender = f"test-{uuid.uuid4()}"
        turns = [live_stack.say(sender, f"what's the status of {asked}?"), live_stack.say(sender, "ORD-1234567"),
                 live_stack.say(sender, "it's 07700 900999")]
        seen[name] = [texts(replies).replace(asked, "<ref>") for replies in turns]
        assert [b["payload"] for b in buttons(turns[-1])] == ["/request_human"], "a person is offered"
    assert seen["existing"] == seen["missing"], "the replies don't tell which references exist"
    said = " ".join(seen["existing"])
    assert "colleague" in said and "with one of our colleagues" not in said, "no status given"
    after = live_stack.agent(f"/api/tickets/{ref}")
    assert {k: after[k] for k in ("status", "callback", "history", "transcript")} == {k: before[k] for k in ("status", "callback", "history", "transcript")}
