"""The close of a complaint: the reference, the chosen remedy confirmed with what happens
next and by when, the callback booked or declined; then what a customer asks once the
complaint is recorded ("what happens now?", "how do I send it back?") and continued
disagreement, answered from the ticket and the catalog (docs/design.md#empathy)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import context, ticketing
from actions.answers import YES, asks_back, is_question, yes_or_no
from actions.complaint import answer_privacy_request, callback_eligible, classified_category
from actions.fact_answers import CORRECTABLE, fact_corrections
from actions.fallback import opens_here
from actions.handoff import hand_off_urgent, urgent_flags
from actions.form_state import facts_not_yet_given, policy_known, with_slots
from actions.parsing import extract_facts, parse_email
from actions.policy_answers import policy_answer
from actions.questions import fact_in_words, offer_callback, read_back, state_expectations
from actions.signals import privacy_request
from bot.privacy import mask_secrets
from bot.speech import speakable_order_id
from bot.tickets.model import Actor, CallbackState, Channel, HistoryAction, Status, iso, record


def _remedy(ticket: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    chosen = (ticket.get("remedy") or {}).get("chosen")
    remedies = context.catalog().remedies
    return {"id": chosen, **remedies[chosen]} if chosen in remedies else None


def _confirm_remedy(dispatcher: CollectingDispatcher, ticket: Dict[str, Any]) -> None:
    remedy = _remedy(ticket)
    if remedy:
        dispatcher.utter_message(response="utter_remedy_confirmed", remedy=remedy["speakable"], next_step=remedy["next_step"])


def _ask_email_if_promised(dispatcher: CollectingDispatcher, ticket: Dict[str, Any]) -> None:
    """A promised e-mail with no address to send it to is a promise we can't keep
    (docs/design.md#honesty): ask for it; ActionAddToComplaint puts it on the ticket."""
    remedy = _remedy(ticket)
    if remedy and needs_email(ticket, remedy):
        dispatcher.utter_message(response="utter_ask_email_for_remedy", ticket_id=ticket["ticket_id"])


def needs_email(ticket: Dict[str, Any], remedy: Dict[str, Any]) -> bool:
    """The remedy's next step is an e-mail and a web customer's ticket has no address. On the
    phone the colleague who calls confirms it; asking a caller to spell an address to speech
    recognition would record it wrongly."""
    customer = ticket.get("customer") or {}
    return bool(remedy.get("by_email")) and ticket.get("channel") != Channel.VOICE and not customer.get("email")


class ActionSubmitComplaint(Action):
    def name(self) -> Text:
        return "action_submit_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        ticket = await state_expectations(dispatcher, tracker)  # no-op if already said
        ticketing.sync_ticket(ticket, tracker)
        await ticketing.save(ticket)
        if not policy_known(tracker):
            dispatcher.utter_message(response="utter_policy_needs_date")
        _confirm_remedy(dispatcher, ticket)
        dispatcher.utter_message(
            response="utter_complaint_logged", ticket_id=ticket["ticket_id"],
            ticket_spoken=speakable_order_id(ticket["ticket_id"]),
        )
        _ask_email_if_promised(dispatcher, ticket)
        recorded = [SlotSet("complaint_recorded", True)]
        callback = ticket["callback"]
        if callback["status"] == CallbackState.OPTED_IN and callback.get("window"):
            start = datetime.fromisoformat(callback["window"]["start"]).astimezone(context.catalog().tz)
            end = datetime.fromisoformat(callback["window"]["end"]).astimezone(context.catalog().tz)
            dispatcher.utter_message(
                response="utter_callback_booked",
                phone=ticket["customer"].get("phone") or "your number",
                window=f"{start:%A} {start.day} {start:%B}, {start:%H:%M}-{end:%H:%M}",
            )
        elif callback["status"] == CallbackState.OPTED_OUT:
            dispatcher.utter_message(response="utter_callback_declined")
        if tracker.get_slot("explanation_response") == "rejected" and callback["status"] == CallbackState.NOT_OFFERED:
            # The customer said no to the policy and no callback qualifies: say plainly that the
            # decision stands and put a person one step away, as for a "no" after the record
            # (ActionHandleDisagreement), instead of a bare "anything else?".
            record(ticket, Actor.CUSTOMER, HistoryAction.REJECTED_EXPLANATION, at=context.now())
            await ticketing.save(ticket)
            dispatcher.utter_message(response="utter_decision_stands", ticket_id=ticket["ticket_id"],
                                     buttons=context.catalog().buttons("decision_stands"))
            return recorded
        dispatcher.utter_message(response="utter_anything_else")
        return recorded


async def _own_ticket(tracker: Tracker, rewrite: bool = False) -> Optional[Dict[str, Any]]:
    """This conversation's complaint: the one in the ticket slot if it may act on it (the
    one ownership check, actions/ticketing.py), else the latest it opened."""
    ticket = await ticketing.owned_ticket(tracker, tracker.get_slot("ticket_id"), rewrite=rewrite)
    if ticket is None:
        store = await context.ticket_store()
        mine = await store.find(conversation_id=tracker.sender_id, limit=1)
        ticket = mine[0] if mine else None
    return ticket


async def _open_ticket(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The ticket slot's complaint if this conversation may act on it and it is not settled
    (resolved or closed): the one a customer's later words may add to or correct."""
    ticket = await ticketing.owned_ticket(tracker, tracker.get_slot("ticket_id"), rewrite=True)
    return None if ticket is None or ticket.get("status") in (Status.RESOLVED, Status.CLOSED) else ticket


class ActionAddToComplaint(Action):
    """What a customer writes once the complaint is recorded and that reads like a complaint or
    facts ("found the order number, ORD-2290117", "wait, I want it back on my card", "you
    don't have my e-mail") belongs to that complaint (data/rules/complaint.yml): it goes on the
    ticket, word for word in its history and its transcript, with any fact the ticket still
    lacks, and the customer is told so, with "It's a new problem" one click away. Opening a
    second complaint instead asked again for facts already given, stated a guessed category's
    policy and left the customer with two references for one problem."""

    def name(self) -> Text:
        return "action_add_to_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        ticket = await _open_ticket(tracker)
        if ticket is None:
            # Nothing of this conversation's to add to, or its complaint is settled: what the
            # customer writes now is a complaint like any other.
            return [SlotSet("complaint_recorded", False), FollowupAction("action_start_complaint")]
        cat = context.catalog()
        text = tracker.latest_message.get("text") or ""
        if privacy_request(text):
            return answer_privacy_request(dispatcher)
        urgent = urgent_flags(text)
        if urgent:
            # "it's started smoking now": on the ticket word for word, then a person at once.
            record(ticket, Actor.CUSTOMER, HistoryAction.ADDED_BY_CUSTOMER, note=mask_secrets(text)[:ticketing.MAX_TEXT], at=context.now())
            await ticketing.save(ticketing.sync_ticket(ticket, tracker))
            return await hand_off_urgent(dispatcher, tracker, urgent)
        corrected = fact_corrections(text, tracker)
        if corrected:
            return await _correct_recorded_facts(dispatcher, tracker, ticket, corrected)
        new = extract_facts(text, cat, context.today(cat))
        other = classified_category(tracker.latest_message or {}, text, cat)
        answer = policy_answer(text, cat)
        if (is_question(text) and not facts_not_yet_given(new, tracker) and not parse_email(text)
                and (answer is not None or other in (None, "other", ticket.get("category") or tracker.get_slot("category")))):
            # "will it be a letter in the post?", "so will you pay the £60 or not": a question is
            # answered with what the ticket says, and noted for the colleague, never "I've added
            # that to your complaint" alone (found in the role-play). A question the classifier
            # files under another category is a new complaint and keeps its button ("other" is
            # where questions of every kind land, so it counts as none); a question about the
            # policy is answered whatever category its words suggest ("can I return it?").
            record(ticket, Actor.CUSTOMER, HistoryAction.ADDED_BY_CUSTOMER, note=mask_secrets(text)[:ticketing.MAX_TEXT], at=context.now())
            await ticketing.save(ticketing.sync_ticket(ticket, tracker))
            if answer is not None:
                # "can I return a used vacuum within 30 days?": the policy answers it
                # (found in the role-play: only "I've noted your question").
                dispatcher.utter_message(response="utter_policy_answer_noted", answer=answer.text, ticket_id=ticket["ticket_id"])
            else:
                dispatcher.utter_message(response="utter_question_noted", ticket_id=ticket["ticket_id"])
            return [FollowupAction("action_explain_next_steps")]
        events: List[EventType] = [SlotSet(name, value) for name, value in facts_not_yet_given(new, tracker).items()]
        events.append(SlotSet("added_message", {key: tracker.latest_message.get(key) for key in
                                                ("text", "intent", "intent_ranking", "entities", "complaint_category")}))
        tracker = with_slots(tracker, events)
        record(ticket, Actor.CUSTOMER, HistoryAction.ADDED_BY_CUSTOMER, note=mask_secrets(text)[:ticketing.MAX_TEXT], at=context.now())
        email = _take_email(ticket, text)
        await ticketing.save(ticketing.sync_ticket(ticket, tracker))
        if email:
            dispatcher.utter_message(response="utter_email_added", ticket_id=ticket["ticket_id"],
                                     buttons=cat.buttons("added_to_complaint"))
            return events
        category = cat.category(ticket.get("category") or tracker.get_slot("category"))
        dispatcher.utter_message(response="utter_added_to_complaint", ticket_id=ticket["ticket_id"],
                                 about=category.get("in_plain_words") or category.get("label") or "your complaint",
                                 buttons=cat.buttons("added_to_complaint"))
        return events


def _take_email(ticket: Dict[str, Any], text: str) -> Optional[str]:
    """The address a promised e-mail goes to ("you don't have my e-mail, it's ..."), put on
    the ticket; one already there is never overwritten from chat. The address given when it is
    the ticket's now, else None."""
    email = parse_email(text)
    customer = ticket.setdefault("customer", {})
    if not email or customer.get("email"):
        return email if email and customer.get("email") == email else None
    customer["email"] = email
    record(ticket, Actor.CUSTOMER, HistoryAction.CONTACT_GIVEN, "e-mail", at=context.now())
    return email


async def _correct_recorded_facts(dispatcher: CollectingDispatcher, tracker: Tracker, ticket: Dict[str, Any],
                                  corrected: Dict[str, Any]) -> List[EventType]:
    """A recorded fact corrected after the record (found in the role-play: "wait, 2 days ago?
    no I bought it 5 June 2024" was answered "Goodbye"). The ticket takes the new value and
    says what it was. A corrected date may change the policy that was stated: the customer is
    told plainly that a colleague checks the decision, never that it changed here
    (docs/design.md#precise-facts)."""
    events: List[EventType] = [SlotSet(name, value) for name, value in corrected.items()]
    changes = []
    for name in CORRECTABLE:
        if name in corrected:
            old = tracker.get_slot(name)
            currency = tracker.get_slot("amount_currency")
            changes.append(f"{read_back(name, corrected[name], corrected.get('amount_currency'))} "
                           f"(not {fact_in_words(name, old, currency)})")
            record(ticket, Actor.CUSTOMER, HistoryAction.FACT_CORRECTED, f"{name}: {old} -> {corrected[name]}", at=context.now())
    # "I paid £254, not £245. And my email is ..." (role-play round 3: the address was dropped).
    had = (ticket.get("customer") or {}).get("email")
    email = _take_email(ticket, tracker.latest_message.get("text") or "")
    if email and email != had:
        changes.append(f"e-mail {email} added")
    await ticketing.save(ticketing.sync_ticket(ticket, with_slots(tracker, events)))
    buttons = context.catalog().buttons("fact_corrected")
    if "purchase_date" in corrected:
        # The date chose the policy (a return period, a warranty): the decision is checked.
        dispatcher.utter_message(response="utter_fact_corrected", ticket_id=ticket["ticket_id"], changes="; ".join(changes))
        dispatcher.utter_message(response="utter_decision_rechecked", buttons=buttons)
    else:
        dispatcher.utter_message(response="utter_fact_corrected", ticket_id=ticket["ticket_id"], changes="; ".join(changes),
                                 buttons=buttons)
    return events


class ActionSayGoodbye(Action):
    """"No", "no thanks", "thanks" after the record or the next steps: goodbye, unless the
    message corrects a recorded fact ("no, I bought it 5 June 2024, correct the date"): then
    the correction is made first, and the customer is not cut off."""

    def name(self) -> Text:
        return "action_say_goodbye"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        text = tracker.latest_message.get("text") or ""
        if urgent_flags(text):  # "no thanks, but it's sparking again": a person at once
            return [FollowupAction("action_add_to_complaint")]
        corrected = fact_corrections(text, tracker)
        if corrected:
            ticket = await _open_ticket(tracker)
            if ticket is not None:
                return await _correct_recorded_facts(dispatcher, tracker, ticket, corrected)
        dispatcher.utter_message(response="utter_goodbye")
        return []


class ActionExplainNextSteps(Action):
    """"What happens now?", "how long will it take?", "how do I send it back?": answered
    from the ticket (status, what was promised, the remedy chosen, the callback) and the
    catalog, never with "I can only help with complaints"."""

    def name(self) -> Text:
        return "action_explain_next_steps"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        ticket = await _own_ticket(tracker)
        answer = policy_answer(tracker.latest_message.get("text") or "", context.catalog())
        if ticket is None:
            # "How long does a refund take?" before any complaint: the policy answers it.
            if answer is not None:
                dispatcher.utter_message(response="utter_policy_answer", answer=answer.text)
            else:
                dispatcher.utter_message(response="utter_no_complaint_yet")
            return []
        will = next((d["text"] for d in ticket.get("disclosures") or [] if d["policy_id"].endswith(".will")), None)
        status = context.catalog().status_label(ticket["status"], "for_customers")
        dispatcher.utter_message(response="utter_next_steps_status", ticket_id=ticket["ticket_id"], status=status)
        if will and _decision_being_rechecked(ticket):
            # The promise rested on a purchase date corrected since: it is not repeated as if it
            # still stood (found in the role-play), nor is a new one made here.
            dispatcher.utter_message(response="utter_next_steps_rechecked")
        elif will:
            dispatcher.utter_message(response="utter_next_steps_promise", statement=will)
        _confirm_remedy(dispatcher, ticket)
        _ask_email_if_promised(dispatcher, ticket)
        # What an agent wrote down for the customer (a note, or the hand-back's).
        agreed = [h.get("note") for h in ticket.get("history") or []
                  if h.get("action") in (HistoryAction.NOTE, HistoryAction.HANDED_BACK) and h.get("note")]
        if agreed:
            dispatcher.utter_message(response="utter_next_steps_agreed", note=agreed[-1])
        if _asks_about_returning(tracker):
            dispatcher.utter_message(response="utter_how_to_return")
        elif answer is not None and not _said_this_turn(tracker, answer.text):
            # "how long will the refund take?" with a complaint recorded: the policy's answer too.
            dispatcher.utter_message(response="utter_policy_answer_general", answer=answer.text)
        callback = ticket.get("callback") or {}
        if callback.get("status") == CallbackState.OPTED_IN and not callback.get("outcome"):
            dispatcher.utter_message(response="utter_callback_pending")
        dispatcher.utter_message(response="utter_anything_else")
        return []


def _decision_being_rechecked(ticket: Dict[str, Any]) -> bool:
    """The purchase date was corrected after the record (utter_decision_rechecked), and no
    colleague has written to the customer since."""
    history = ticket.get("history") or []
    corrected = [i for i, h in enumerate(history)
                 if h.get("action") == HistoryAction.FACT_CORRECTED and (h.get("note") or "").startswith("purchase_date:")]
    return bool(corrected) and not any(h.get("action") in (HistoryAction.NOTE, HistoryAction.HANDED_BACK)
                                       for h in history[corrected[-1] + 1:])


def _said_this_turn(tracker: Tracker, text: str) -> bool:
    """The assistant already said this since the customer's latest message (an action
    before this one in the same turn)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot" and text in (event.get("text") or ""):
            return True
    return False


def _asks_about_returning(tracker: Tracker) -> bool:
    text = (tracker.latest_message.get("text") or "").lower()
    return any(word in text for word in ("send it back", "send them back", "return it", "return them", "post it", "collection", "collect", "returning", "send back"))


class ActionHandleDisagreement(Action):
    """A clear "no, that's not acceptable" once the complaint is recorded is a rejection,
    never "I didn't understand" (docs/design.md#second-explanation): the callback is
    offered if the customer qualifies and it wasn't offered yet; otherwise the assistant
    says plainly that the decision stands, what happens next, and offers a person."""

    def name(self) -> Text:
        return "action_handle_disagreement"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        if tracker.get_slot("complaint_recorded") and urgent_flags(tracker.latest_message.get("text") or ""):
            # "no it's not fine, it burnt my hand": the risk before the disagreement.
            return [FollowupAction("action_add_to_complaint")]
        ticket = await _own_ticket(tracker, rewrite=True)
        if ticket is None:
            if opens_here(tracker):  # "not acceptable, nobody has sorted my return" as an opening
                return [FollowupAction("action_start_complaint")]
            dispatcher.utter_message(response="utter_please_describe")
            return []
        offered = (ticket.get("callback") or {}).get("status") != CallbackState.NOT_OFFERED
        refused = any(d["policy_id"].endswith(".cannot") for d in ticket.get("disclosures") or [])
        ticket["exemption_evidence"] = ticket.get("exemption_evidence") or refused
        record(ticket, Actor.CUSTOMER, HistoryAction.REJECTED_EXPLANATION, at=context.now())
        await ticketing.save(ticket)
        rejected = [SlotSet("explanation_response", "rejected")]
        if refused and not offered and tracker.get_slot("ticket_id") == ticket["ticket_id"] \
                and await callback_eligible(with_slots(tracker, rejected)):
            await offer_callback(dispatcher, with_slots(tracker, rejected))
            return rejected
        dispatcher.utter_message(response="utter_decision_stands", ticket_id=ticket["ticket_id"],
                                 buttons=context.catalog().buttons("decision_stands"))
        return []


class ActionRecordCallbackChoice(Action):
    """The answer to a callback offered after the complaint was recorded: yes goes back to
    the form for the time window (and the number, if the channel has none); no is recorded."""

    def name(self) -> Text:
        return "action_record_callback_choice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        intent = tracker.get_intent_of_latest_message(skip_fallback_intent=False)
        answer = yes_or_no(tracker.latest_message.get("text") or "", intent)
        ticket = await _own_ticket(tracker, rewrite=True)
        if ticket is None or (ticket.get("callback") or {}).get("status") != CallbackState.OFFERED:
            # A yes or no after "the decision stands" answers "anything else?", not a callback.
            dispatcher.utter_message(response="utter_how_can_help" if answer == YES else "utter_goodbye")
            return []
        if asks_back(tracker.latest_message.get("text") or ""):
            # "what happens if I say no?" is a question, not a no: answered, and offered again.
            dispatcher.utter_message(response="utter_callback_explained")
            await offer_callback(dispatcher, tracker)
            return []
        decided = SlotSet("callback_decided_at", iso(context.now()))
        if answer == YES:
            return [SlotSet("callback_choice", CallbackState.OPTED_IN), decided, FollowupAction("complaint_form")]
        events = [SlotSet("callback_choice", CallbackState.OPTED_OUT), decided]
        await ticketing.save(ticketing.sync_ticket(ticket, with_slots(tracker, events)))
        dispatcher.utter_message(response="utter_callback_declined")
        dispatcher.utter_message(response="utter_anything_else")
        return events
