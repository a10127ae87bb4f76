"""The complaint itself: intake and the one form whose questions the catalog decides
(facts, read-back and corrections, remedies, the second-explanation choice). The form's
questions are asked in actions/questions.py; the close in actions/closure.py."""
from __future__ import annotations

import copy
import re
from datetime import timedelta
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import context, ticketing
from actions.answers import (
    NO, YES, asks_back, content_words, disagrees, first_words_answer, is_question, just_asking, about_money_taken, leaves, polite_decline, match_option, options_named_by, match_window, ordinal_pick, says_unavailable, undecided,
    yes_or_no, yes_then_more,
)
from actions.form_state import (
    AFFIRM, DENY, FACT_SLOTS, FORM_SLOTS, facts_not_yet_given, intent_of, policy_known, policy_variant, text_of, with_slots, words_of,
)
from actions.fact_answers import MAX_ASKS, FactAnswers
from actions.fallback import bad_input_kind
from actions.handoff import hand_off_urgent, urgent_flags
from actions.retried_turn import ticket_of_failed_turn
from actions.parsing import extract_facts, parse_phone
from actions.policy_answers import answered_instead, only_asks, policy_answer
from actions.signals import message_emotion, overall_emotion, privacy_request
from actions.understanding import FACTS_INTENT, NEW_COMPLAINT, CategoryDecision, category_ranking, complaint_outweighs_intent, decide_category, started_by_rule
from bot.privacy import mask_secrets
from bot.tickets.model import FACT_UNAVAILABLE, Actor, CallbackState, HistoryAction, Status, iso, issue_key, record


def decision_of(tracker: Tracker, cat) -> CategoryDecision:
    """The category decision on the latest message (actions/understanding.py): a category
    only when confident, else the likeliest ones to ask about."""
    return decide_category(tracker.latest_message, text_of(tracker), cat)


def classified_category(parse_data: Dict[str, Any], text: str, cat) -> Optional[str]:
    """A category the classifier is confident of in an answer to another question; None
    when it ranked no category at all (the decision's fallback would say "other")."""
    return decide_category(parse_data, text, cat).category if category_ranking(parse_data) else None


def _complaint_slots(tracker: Tracker, cat, decision: CategoryDecision, text: str) -> Dict[str, Any]:
    facts = extract_facts(text, cat, context.today(cat))
    category = decision.category
    return {
        "category": category,
        "sub_reason": cat.sub_reason_for(category, text) if category else None,
        "category_options": list(decision.options) or None,
        "customer_demand": text,
        **facts_not_yet_given(facts, tracker),
    }


def _empathise(dispatcher: CollectingDispatcher, cat, text: str, category: Optional[str]) -> None:
    """Empathy before apology (docs/design.md#empathy): name the feeling, then the problem
    (in general words while the category isn't settled)."""
    label, _ = message_emotion(text, cat.data.get("signals", {}))
    dispatcher.utter_message(response=f"utter_empathy_{label}", category_label=cat.category(category)["label"] if category else "problem")


def answer_privacy_request(dispatcher: CollectingDispatcher) -> List[EventType]:
    """Where a request about personal data goes; nothing is recorded, the chat goes on."""
    contact = (context.catalog().business.get("privacy_contact") or "").strip()
    dispatcher.utter_message(response="utter_privacy_request", contact=f" at {contact}" if contact else "")
    return [FollowupAction("action_listen")]


async def _open_ticket_for_order(tracker: Tracker, order_id: Optional[str]) -> Optional[str]:
    """A second complaint about the same order in the same conversation joins its open
    ticket instead of opening a duplicate (docs/design.md#tracking)."""
    if not order_id or order_id == FACT_UNAVAILABLE:
        return None
    store = await context.ticket_store()
    for ticket in await store.find(conversation_id=tracker.sender_id, limit=20):
        if ticket["status"] == Status.OPEN and (ticket.get("facts") or {}).get("order_id") == order_id:
            return ticket["ticket_id"]
    return None


class ActionStartComplaint(Action):
    """Opens the ticket from the first message of a complaint. Started by the form's rule
    (a complaint intent, facts) or handed over by the fallback or the disagreement when an
    answer intent opens a complaint (actions/understanding.py, opens_complaint); then no rule
    follows it, so it starts the form itself, as the rule would."""

    def name(self) -> Text:
        return "action_start_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        new_problem = intent_of(tracker) == NEW_COMPLAINT
        if new_problem:
            # "It's a new problem": the message just added to the recorded complaint opens its own.
            tracker = _as_if_said(tracker, tracker.get_slot("added_message"))
        events = None if new_problem else await _add_to_verified_complaint(dispatcher, tracker)
        if events is not None:
            return events
        events = await self._start(dispatcher, tracker)
        # A hand-off (a pause, or its contact form) or the fallback's answer goes first.
        if started_by_rule(tracker.latest_message) or any(e.get("event") in ("followup", "pause") for e in events):
            return events
        return events + [FollowupAction("complaint_form")]

    async def _start(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        cat = context.catalog()
        text = text_of(tracker)
        if privacy_request(text):
            return answer_privacy_request(dispatcher)
        retried = ticket_of_failed_turn(tracker)  # before the reset below clears `ticket_id`
        events: List[EventType] = [SlotSet(name, None) for name in FORM_SLOTS + (
            "ticket_id", "category", "sub_reason", "customer_demand", "complaint_recorded", "added_message")]
        tracker = with_slots(tracker, events)
        if bad_input_kind(text) in ("gibberish", "emoji", "empty", "language"):
            # "asdf qwrtz" may land on a complaint intent: it is still no complaint. The fallback
            # answers it (and counts it, and hands off after too many), as for any message not understood.
            return [FollowupAction("action_handle_fallback")]
        decision = decision_of(tracker, cat)
        # The customer said earlier that nothing had gone wrong: a question is a question.
        information_only = bool(tracker.get_slot("information_only"))
        answer = answered_instead(decision, text, cat, context.today(cat), information_only)
        if answer is not None and not urgent_flags(text):
            # Only a question about the policy: answered, no complaint opened, and nothing of
            # an earlier complaint in this conversation forgotten.
            dispatcher.utter_message(response="utter_policy_answer", answer=answer.text)
            return [FollowupAction("action_listen")]
        described = decision.category is not None or bool(decision.options)
        if not described:
            # Only facts so far ("ORD-4400918"): keep them, and the form asks what went wrong.
            slots = extract_facts(text, cat, context.today(cat), answering=True)
        else:
            slots = _complaint_slots(tracker, cat, decision, text)
        events += [SlotSet(name, value) for name, value in slots.items()]
        existing = await _open_ticket_for_order(tracker, slots.get("order_id"))
        if retried or existing:
            events.append(SlotSet("ticket_id", retried or existing))
        tracker = with_slots(tracker, events)

        # Asked already above when the category wasn't sure (or the customer was only asking).
        asking = (answer if decision.category is None or information_only
                  else only_asks(text, cat, context.today(cat))) if described else None
        if asking is not None and not retried and not existing and not urgent_flags(text):
            # "Can you price match Currys?", taken for a complaint: the policy answers it first,
            # and no complaint is opened until the customer says something went wrong (or just
            # answers the form's question); "only asking" ends it (_no_complaint).
            dispatcher.utter_message(response="utter_policy_answer_first", answer=asking.text)
            return events
        if tracker.get_slot("information_only"):
            events.append(SlotSet("information_only", None))  # a complaint after all
        ticket = await ticketing.load_or_create(tracker)
        if existing and not retried:  # the failed turn noted the join already
            record(ticket, Actor.CUSTOMER, HistoryAction.ADDED_COMPLAINT, at=context.now())
        ticketing.sync_ticket(ticket, tracker)
        await ticketing.save(ticket)
        events.append(SlotSet("ticket_id", ticket["ticket_id"]))
        if not described:
            return events

        _empathise(dispatcher, cat, text, decision.category)
        urgent = urgent_flags(text)
        if urgent:
            return events + await hand_off_urgent(dispatcher, with_slots(tracker, events), urgent)
        return events


async def _add_to_verified_complaint(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[List[EventType]]:
    """A customer who proved in this conversation that an open complaint of another one is
    theirs (its status, asked with its reference) and now tells more about the same thing
    ("I want to add something: the tracking now says delivered to neighbour"): it goes on that
    complaint's history for the colleague, word for word, with "It's a new problem" one click
    away; never a second complaint that asks again for the order number (found in the
    role-play, round 3: a duplicate, and "add it to C-..." not understood). Only a note is
    added: the other conversation's record and contact details stay as they are."""
    verified = ticketing.verified_ids(tracker)
    if not verified or tracker.get_slot("complaint_recorded") or tracker.get_slot("ticket_id") not in (None, verified[-1]):
        return None
    ticket = await ticketing.owned_ticket(tracker, verified[-1])
    if ticket is None or ticket.get("status") not in (Status.OPEN, Status.HANDED_OFF) or ticket.get("conversation_id") == tracker.sender_id:
        return None
    cat = context.catalog()
    text = text_of(tracker)
    if privacy_request(text) or urgent_flags(text):
        return None
    order = extract_facts(text, cat, context.today(cat)).get("order_id")
    if order and order != (ticket.get("facts") or {}).get("order_id"):
        return None  # another order: another complaint
    decision = decision_of(tracker, cat)
    adds = bool(_ADDS.search(text.lower()))
    if decision.category is None and not decision.options and not adds:
        return None  # only facts ("the 15 3 2023"): no news about anything yet
    if decision.category not in (None, "other", ticket.get("category")) and not adds:
        return None  # something else went wrong, said as such
    record(ticket, Actor.CUSTOMER, HistoryAction.ADDED_BY_CUSTOMER, note=mask_secrets(text)[:ticketing.MAX_TEXT], at=context.now())
    await ticketing.save(ticket)
    category = cat.category(ticket.get("category"))
    dispatcher.utter_message(response="utter_added_to_complaint", ticket_id=ticket["ticket_id"],
                             about=category.get("in_plain_words") or category.get("label") or "your complaint",
                             buttons=cat.buttons("added_to_complaint"))
    added = {key: tracker.latest_message.get(key) for key in ("text", "intent", "intent_ranking", "entities", "complaint_category")}
    return [SlotSet("added_message", added), FollowupAction("action_listen")]


# "I want to add something", "also", "one more thing", "update on my complaint": more about the
# complaint already made, whatever category its words suggest.
_ADDS = re.compile(r"\b(?:add|adding|also|one more thing|another thing|update|more information|more info|forgot to (?:say|mention)|further to)\b")


def _as_if_said(tracker: Tracker, message: Optional[Dict[str, Any]]) -> Tracker:
    """The tracker with `message` (text and parse data) as the latest message."""
    if not message:
        return tracker
    again = copy.copy(tracker)
    again.latest_message = {**tracker.latest_message, **message}
    return again


async def callback_eligible(tracker: Tracker) -> bool:
    """docs/design.md#second-explanation: chosen scenarios, after a refusal, strongly
    dissatisfied or high-value customers, never more than the catalog's limit per issue."""
    cat = context.catalog()
    cfg = cat.second_explanation
    if not cat.category(tracker.get_slot("category")).get("second_explanation_eligible"):
        return False
    # A second explanation explains a refusal again: with nothing refused there is
    # nothing to explain, and the offer would only suggest the outcome can change.
    if cfg.get("requires_refusal", True) and not policy_variant(tracker).get("cannot"):
        return False
    signals = cat.data.get("signals", {})
    label = overall_emotion(ticketing.customer_texts(tracker), signals)["label"]
    strong = label in cfg.get("strong_emotions", []) or tracker.get_slot("explanation_response") == "rejected"
    phone = ticketing.caller_phone(tracker)
    if not (strong or cat.is_whitelisted(phone)):
        return False
    key = issue_key({
        "facts": ticketing.facts_from_slots(tracker), "category": tracker.get_slot("category"),
        "customer": {"phone": phone}, "conversation_id": tracker.sender_id,
    })
    store = await context.ticket_store()
    since = context.now() - timedelta(days=cfg.get("within_days", 30))
    return await store.count_callbacks(key, since) < cfg.get("max_per_issue", 2)


# The questions before any policy is stated: leaving there loses no decision.
_LEAVABLE = ("customer_demand", "category_choice", *FACT_SLOTS, "fact_to_correct", "facts_confirmed")


class ValidateComplaintForm(FactAnswers, FormValidationAction):
    def name(self) -> Text:
        return "validate_complaint_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        # A risk said in answer to any question ("yes that's right, and now it's sparking")
        # goes to a person at once, as in a first message (found in the role-play: the form
        # went on to the next question). The hand-off's events end the form.
        in_form = tracker.active_loop_name == "complaint_form"
        urgent = urgent_flags(text_of(tracker)) if in_form else []
        if urgent:
            return await hand_off_urgent(dispatcher, tracker, urgent)
        if (in_form and tracker.get_slot("requested_slot") in _LEAVABLE and just_asking(text_of(tracker))
                and tracker.get_slot("category") != "billing" and not about_money_taken(tracker.get_slot("customer_demand") or "")):
            # ... but "I haven't ordered anything!" about a charge is the complaint itself.
            return await self._no_complaint(dispatcher, tracker)
        if in_form and tracker.get_slot("requested_slot") in _LEAVABLE and leaves(text_of(tracker)):
            # "gotta go, my bus is here. bye", "forget it" while the facts are asked (found in the
            # role-play, round 3: "was that a yes or a no?"): what was said is kept on the ticket,
            # and the customer is told how to carry on. Later questions (a remedy, the callback)
            # read their own answers, so "no thanks, bye" there still counts as the answer.
            ticket = await ticketing.load_or_create(tracker)
            await ticketing.save(ticketing.sync_ticket(ticket, tracker))
            dispatcher.utter_message(response="utter_kept_for_later", ticket_id=ticket["ticket_id"])
            # Listening next: the form's end must not look like a finished complaint to the rules,
            # which would record it with its facts missing.
            return [SlotSet("ticket_id", ticket["ticket_id"]), ActiveLoop(None), SlotSet("requested_slot", None),
                    FollowupAction("action_listen")]
        return await super().run(dispatcher, tracker, domain)

    @staticmethod
    async def _no_complaint(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        """"I haven't bought them, I'm just asking. Do you price match?" while the facts are
        asked: the question is answered from the policy, the complaint opened for the first
        message is closed as withdrawn (on its history, with what the customer wrote), and the
        form ends (found in the role-play, round 3: asked twice for an order number and a
        purchase date, then given a complaint reference). Later policy questions are answered
        without opening one."""
        cat = context.catalog()
        text = text_of(tracker)
        answer = policy_answer(text, cat) or policy_answer(tracker.get_slot("customer_demand") or "", cat)
        if answer is not None:
            dispatcher.utter_message(response="utter_policy_answer_plain", answer=answer.text)
        ticket = await ticketing.owned_ticket(tracker, tracker.get_slot("ticket_id"), rewrite=True)
        if ticket is not None and ticket.get("status") == Status.OPEN:
            ticket["status"] = Status.CLOSED
            record(ticket, Actor.CUSTOMER, HistoryAction.WITHDRAWN, note=mask_secrets(text)[:ticketing.MAX_TEXT], at=context.now())
            await ticketing.save(ticketing.sync_ticket(ticket, tracker))
            dispatcher.utter_message(response="utter_no_complaint_withdrawn", ticket_id=ticket["ticket_id"])
        else:
            dispatcher.utter_message(response="utter_no_complaint_needed")
        resets = [SlotSet(name, None) for name in FORM_SLOTS + ("ticket_id", "category", "sub_reason", "customer_demand")]
        return [ActiveLoop(None), *resets, SlotSet("requested_slot", None), SlotSet("information_only", True),
                FollowupAction("action_listen")]

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Text]:
        cat = context.catalog()
        category = tracker.get_slot("category")
        if category is None:
            # Not confident: ask which category (buttons) rather than state a guessed policy.
            return ["category_choice"] if tracker.get_slot("customer_demand") else ["customer_demand"]
        slots = cat.required_facts(category)
        correcting = tracker.get_slot("fact_to_correct")
        if correcting in FACT_SLOTS and correcting not in slots:
            # A detail the category doesn't need, put up for correction, is asked again too
            # (found in the role-play: "The amount" cleared it and nothing asked for it).
            slots.append(correcting)
        if slots or any(tracker.get_slot(f) for f in FACT_SLOTS):
            if tracker.get_slot("facts_disputed"):
                slots.append("fact_to_correct")
            slots.append("facts_confirmed")
        if any(tracker.get_slot(s) is None for s in slots) or tracker.get_slot("facts_confirmed") is False:
            return slots
        if not policy_known(tracker):
            return slots
        variant = policy_variant(tracker)
        if variant.get("remedies"):
            slots.append("remedy_choice")
        if variant.get("cannot"):
            slots.append("explanation_response")
        if any(tracker.get_slot(s) is None for s in slots):
            return slots
        if tracker.get_slot("callback_choice") or await callback_eligible(tracker):
            slots.append("callback_choice")
            if tracker.get_slot("callback_choice") == CallbackState.OPTED_IN:
                slots.append("callback_window")
                if not ticketing.channel_phone(tracker):
                    slots.append("callback_phone")
        return slots

    async def validate_customer_demand(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        """What went wrong, asked when the first message held only facts."""
        cat = context.catalog()
        text = text_of(tracker)
        decision = decision_of(tracker, cat)
        if decision.category is None and not decision.options:
            dispatcher.utter_message(response="utter_please_describe")
            return {"customer_demand": None}
        _empathise(dispatcher, cat, text, decision.category)
        slots = _complaint_slots(tracker, cat, decision, text)
        ticket = await ticketing.load_or_create(tracker)
        await ticketing.save(ticketing.sync_ticket(ticket, with_slots(tracker, [SlotSet(k, v) for k, v in slots.items()])))
        return slots

    async def validate_category_choice(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        """The customer's answer to "which of these is it about?": a button, the words of one
        of the options ("the charge"), or a new description the classifier is sure of."""
        cat = context.catalog()
        text = text_of(tracker)
        offered = [code for code in tracker.get_slot("category_options") or [] if code in cat.categories] or list(cat.categories)
        chosen = next(tracker.get_latest_entity_values("category"), None)
        if chosen not in cat.categories and not text.startswith("/"):
            chosen = classified_category(tracker.latest_message, text, cat)
            if chosen is None:
                labels = [{"id": code, "label": cat.categories[code]["in_plain_words"]} for code in offered + ["other"]]
                chosen = match_option(text, labels)
        if chosen not in cat.categories:
            asked = dict(tracker.get_slot("times_asked") or {})
            asked["category_choice"] = asked.get("category_choice", 0) + 1
            if asked["category_choice"] < MAX_ASKS:
                dispatcher.utter_message(response="utter_please_choose")
                return {"category_choice": None, "times_asked": asked}
            chosen = "other"  # asked twice: go on as a general complaint, a person can reclassify
        slots = await self._set_category(chosen, "confirmed by the customer", tracker)
        if text.startswith("/"):
            return slots
        # "it's a Ninja air fryer, stopped heating, order ORD-4455667": the facts told with the
        # answer are kept (found live: the order number was asked for next).
        return {**self._other_facts(text, tracker, ""), **slots}

    async def _set_category(self, code: str, how: str, tracker: Tracker) -> Dict[Text, Any]:
        """A category the customer confirmed or corrected: the policy is chosen again, and
        the ticket records the change (docs/design.md#honesty)."""
        cat = context.catalog()
        demand = tracker.get_slot("customer_demand") or text_of(tracker)
        previous = tracker.get_slot("category")
        slots = {"category": code, "sub_reason": cat.sub_reason_for(code, f"{demand} {text_of(tracker)}"),
                 "category_choice": code, "category_options": None}
        ticket = await ticketing.load_or_create(tracker)
        note = f"{previous} -> {code}" if previous and previous != code else code
        action = HistoryAction.CATEGORY_CORRECTED if previous else HistoryAction.CATEGORY_CHOSEN
        record(ticket, Actor.CUSTOMER, action, f"{note} ({how})", at=context.now())
        await ticketing.save(ticketing.sync_ticket(ticket, with_slots(tracker, [SlotSet(k, v) for k, v in slots.items()])))
        return slots

    async def _recategorised(self, tracker: Tracker) -> Optional[Dict[Text, Any]]:
        """A new complaint in the middle of the flow ("actually it's the invoice, it has the
        wrong company name"): re-classify, and the form starts over from the facts that
        category needs, so the right policy is stated. None when the message isn't one."""
        cat = context.catalog()
        decision = decision_of(tracker, cat)
        text = text_of(tracker)
        if intent_of(tracker) in DENY and yes_or_no(text) is None and not text.startswith("/"):
            # "No, it's about the charge": the "no" won the intent, the rest says what it's about.
            confident = classified_category({**tracker.latest_message, "intent": {"name": FACTS_INTENT}}, text, cat)
            decision = CategoryDecision(confident) if confident else decision
        current = tracker.get_slot("category")
        if (decision.category is None and not decision.options) or decision.unclear:
            return None  # no complaint, or one that names no category: not a new complaint
        if not category_ranking(tracker.latest_message) or says_unavailable(text):
            return None  # nothing classified it, or it answers "I don't have it"
        if len(words_of(text)) < 4:
            return None  # "refund please" answers the question; a new complaint says more
        if ordinal_pick(text, 9) is not None:
            # "the second one please" picks from a choice, it never starts a complaint (found in
            # the role-play: at the explanation it was re-classified and the category asked).
            return None
        if intent_of(tracker) == FACTS_INTENT and not complaint_outweighs_intent(tracker.latest_message or {}):
            # An answer that missed ("sometime last year I think"): the facts' intent outweighs
            # all complaint intents together, so it is asked again, not taken for a new complaint.
            return None
        if decision.category == current or (decision.category is None and current in decision.options):
            return None
        if decision.category is None and is_question(text):
            # "Can I just drop it at the store instead of a collection?" at the remedies: a
            # question the classifier can't place is no new complaint (found in the role-play:
            # the category was asked all over again).
            return None
        restart = {"facts_confirmed": None, "facts_disputed": False, "fact_to_correct": None, "remedy_choice": None,
                   "explanation_response": None, "callback_choice": None}
        # The slot being asked holds the raw text of this message until validated: it was no answer.
        asked = tracker.get_slot("requested_slot")
        if asked:
            restart[asked] = None
            tracker = with_slots(tracker, [SlotSet(asked, None)])
        if decision.category is None:
            return {**restart, "category": None, "sub_reason": None, "category_options": list(decision.options), "category_choice": None}
        return {**restart, **await self._set_category(decision.category, "changed mid-conversation", tracker),
                **self._other_facts(text_of(tracker), tracker, "")}

    # ---- honest expectations and remedies -----------------------------------
    async def validate_remedy_choice(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        cat = context.catalog()
        options = cat.remedy_options(policy_variant(tracker))
        none = cat.no_remedy["id"]
        text = text_of(tracker).strip()
        by_button = next(tracker.get_latest_entity_values("remedy"), None)
        chosen = by_button if by_button in {o["id"] for o in options} | {none} else None
        if chosen is None and not text.startswith("/"):
            chosen = match_option(text, options + [cat.no_remedy])
        if chosen and chosen != none:
            if by_button is None and is_question(text):
                # "I take the refund, please. Must I be at home?": the choice, and the question
                # kept for the colleague rather than dropped.
                await self._keep_question(dispatcher, tracker)
            return {"remedy_choice": chosen, "explanation_response": "accepted"}
        resituated = self._sub_reason_corrected(tracker)
        if resituated is not None:
            return resituated
        if chosen == none and not policy_variant(tracker).get("cannot") and not disagrees(text):
            # "None of these" after a decision that refuses nothing declines the extras; it
            # objects to nothing (found in the role-play: an objection was put on record).
            return {"remedy_choice": none}
        if by_button is None and not text.startswith("/") and polite_decline(text):
            # "no thanks", "that's ok" at the offers (found live: recorded as an objection to the
            # decision): none of the extras; whether the decision is acceptable is asked next
            # (or was just said: "that's ok").
            return {"remedy_choice": none, **({"explanation_response": "accepted"} if yes_or_no(text) == YES else {})}
        if (chosen == none or intent_of(tracker) in ({"reject_explanation"} | DENY) or yes_or_no(text) == NO
                or (not text.startswith("/") and (first_words_answer(text) == NO or disagrees(text)))):
            # "sorry but i don't think that's right ...", "no. i disagree with this": an
            # objection to the decision (found in the role-play: it was asked to pick again).
            return {"remedy_choice": none, "explanation_response": "rejected"}
        if not text.startswith("/") and not asks_back(text) and self._asks_for_another_remedy(text, options):
            # "Repairing a kettle seems rather silly. Could I not simply have a new one?": a
            # remedy this policy doesn't offer is asked for instead, which disagrees with the
            # decision (found in the role-play: "Sorry, I didn't catch which one you'd like").
            return {"remedy_choice": none, "explanation_response": "rejected"}
        recategorised = await self._recategorised(tracker)
        if recategorised is not None:
            return recategorised
        dispatcher.utter_message(response="utter_please_choose_remedy",
                                 options=", ".join(o["label"] for o in options))
        return {"remedy_choice": None}

    @staticmethod
    async def _keep_question(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        """A question at the explanation or the remedies: answered from the policy when it is
        about the policy, and kept on the ticket (its transcript) for the colleague either way,
        the customer told so."""
        ticket = await ticketing.load_or_create(tracker)
        await ticketing.save(ticketing.sync_ticket(ticket, tracker))
        answer = policy_answer(text_of(tracker), context.catalog())
        if answer is not None:
            # "How long does a refund take?": the policy answers it (catalog policy_questions).
            dispatcher.utter_message(response="utter_policy_answer_kept", answer=answer.text, ticket_id=ticket["ticket_id"])
            return
        dispatcher.utter_message(response="utter_question_kept", ticket_id=ticket["ticket_id"])

    @staticmethod
    def _asks_for_another_remedy(text: str, offered: List[Dict[str, str]]) -> bool:
        """The reply names the catalog's remedies best (a tie names each) and none of them is
        among those offered ("could I not simply have a new one?" at a repair)."""
        every = [{"id": rid, **spec} for rid, spec in context.catalog().remedies.items()]
        named = options_named_by(content_words(text), every)
        return bool(named) and not named & {o["id"] for o in offered}

    @staticmethod
    def _sub_reason_corrected(tracker: Tracker) -> Optional[Dict[Text, Any]]:
        """"It's not late, it's DAMAGED" after the policy for a late parcel: the situation the
        reply names, within the same category, chooses the policy again (found in the
        role-play: a dented parcel was told "we will chase the carrier"). Only when the reply
        names another sub-reason and not the one stated."""
        text = text_of(tracker)
        code, current = tracker.get_slot("category"), tracker.get_slot("sub_reason")
        if not code or text.startswith("/"):
            return None
        cat = context.catalog()
        named = cat.sub_reason_named(code, text)
        if named is None or named == current:
            return None
        return {"sub_reason": named, "remedy_choice": None, "explanation_response": None}

    async def validate_explanation_response(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        intent, text = intent_of(tracker), text_of(tracker)
        answer = yes_or_no(text, intent if intent in AFFIRM | DENY else None)
        if answer == YES or intent == "thank" or (yes_then_more(text) and not disagrees(text)):
            # "That's OK. Thank you, goodbye." (found in the role-play: "I didn't catch your choice").
            return {"explanation_response": "accepted"}
        resituated = self._sub_reason_corrected(tracker)
        if resituated is not None:
            return resituated
        if answer is None and intent != "reject_explanation" and is_question(text) and not disagrees(text) \
                and first_words_answer(text) is None:
            # "How much am I getting back?", "why only 14 days?": a question, not an objection and
            # not a new complaint (found in the role-play, round 3: "the decision will not
            # change" and a category switched on a keyword). It stays with the complaint for the
            # colleague, and the question is asked again.
            await self._keep_question(dispatcher, tracker)
            return {"explanation_response": None}
        if answer == NO or intent == "reject_explanation" or first_words_answer(text) == NO or disagrees(text):
            # "Not really. It's been three weeks and I fly home on Sunday" restates the problem
            # to disagree: a rejection, never a new category.
            return {"explanation_response": "rejected"}
        recategorised = await self._recategorised(tracker)
        if recategorised is not None:
            return recategorised
        if (intent or "").startswith("complain_"):
            # Repeating the complaint about the same thing is disagreeing with the answer.
            return {"explanation_response": "rejected"}
        dispatcher.utter_message(response="utter_please_choose")
        return {"explanation_response": None}

    # ---- second-explanation callback ----------------------------------------
    async def validate_callback_choice(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        intent, text = intent_of(tracker), text_of(tracker)
        if asks_back(text):
            # "what happens if I say no?": answered, and the offer stands; never taken for a no.
            dispatcher.utter_message(response="utter_callback_explained")
            return {"callback_choice": None}
        if undecided(text) and not text.startswith("/"):
            # "maybe", "not sure, depends when": when the call could be is what they need to
            # decide (found in the role-play: it was "was that a yes or a no?").
            dispatcher.utter_message(response="utter_callback_when", hours=context.catalog().hours_summary())
            return {"callback_choice": None}
        answer = yes_or_no(text, intent if intent in AFFIRM | DENY else None)
        if answer == YES or intent == "thank":
            choice = CallbackState.OPTED_IN
        elif answer == NO or intent == "reject_explanation":
            choice = CallbackState.OPTED_OUT
        else:
            dispatcher.utter_message(response="utter_please_yes_no")
            return {"callback_choice": None}
        return {"callback_choice": choice, "callback_decided_at": iso(context.now())}

    async def validate_callback_window(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        offered = tracker.get_slot("callback_windows_offered") or []
        text = text_of(tracker).strip()
        by_button = next(tracker.get_latest_entity_values("window"), None)
        index = next((i for i, w in enumerate(offered) if w["start"] == by_button), None)
        now = context.now().astimezone(context.catalog().tz)
        if index is None and not text.startswith("/"):
            index = ordinal_pick(text, len(offered))
            if index is None:
                index = match_window(text, offered, now)
            if index is None:
                # "Thursday afternoon" when only Wednesday and Friday were buttons: any window
                # bookable in business hours is as good, if the answer names its day.
                offered = [{"start": w["start"].isoformat(), "end": w["end"].isoformat()}
                           for w in context.catalog().bookable_windows(context.now())]
                index = match_window(text, offered, now, named_day_only=True)
        if index is None:
            dispatcher.utter_message(response="utter_invalid_window")
            return {"callback_window": None}
        window = offered[index]
        return {"callback_window": {"start": window["start"], "end": window["end"]}, "callback_decided_at": iso(context.now())}

    async def validate_callback_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        phone = parse_phone(text_of(tracker), context.catalog().phone_region)
        if not phone:
            dispatcher.utter_message(response="utter_invalid_phone")
        return {"callback_phone": phone}


