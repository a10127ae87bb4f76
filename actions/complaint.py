"""The complaint itself: intake, read-back, honest expectations, remedies and the
second-explanation choice, driven by one form whose questions the catalog decides."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Text

import dateparser
from babel.numbers import format_currency
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.catalog import human_date
from bot.tickets.model import iso, issue_key
from actions import context, ticketing
from actions.handoff import hand_off
from actions.parsing import (
    clean_free_text,
    describes_problem,
    extract_facts,
    ordinal_choice,
    parse_amount,
    parse_date,
    parse_order_id,
    parse_phone,
    parse_product,
)
from actions.signals import message_emotion, overall_emotion, risk_flags
from bot.speech import speakable_date, speakable_order_id

FACT_SLOTS = ("order_id", "purchase_date", "amount", "product")
FORM_SLOTS = FACT_SLOTS + (
    "facts_confirmed", "remedy_choice", "explanation_response", "callback_choice",
    "callback_window", "callback_phone", "callback_decided_at", "callback_windows_offered",
)
AFFIRM = {"affirm", "request_callback", "thank"}
DENY = {"deny", "decline_callback"}


def _intent(tracker: Tracker) -> Optional[str]:
    return tracker.get_intent_of_latest_message(skip_fallback_intent=False)


def _text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def _variant(tracker: Tracker) -> Dict[str, Any]:
    cat = context.catalog()
    return cat.select_variant(
        tracker.get_slot("category"), tracker.get_slot("sub_reason"),
        ticketing.facts_from_slots(tracker), context.today(cat),
    )


def _with_slots(tracker: Tracker, events: List[EventType]) -> Tracker:
    """The tracker as it will be once these SlotSet events apply (for saving the ticket now)."""
    for event in events:
        if event.get("event") == "slot":
            tracker.slots[event["name"]] = event["value"]
    return tracker


def category_of(tracker: Tracker, cat) -> Optional[str]:
    """The complaint category of the latest message: its intent, or, when the classifier
    heard mostly facts (`inform`), the best-ranked complaint intent if the message also
    says what went wrong. None when it says nothing but facts."""
    intent = _intent(tracker) or ""
    if intent.startswith("complain_"):
        code = intent[len("complain_"):]
        return code if code in cat.categories else "other"
    if not describes_problem(_text(tracker)):
        return None
    ranking = tracker.latest_message.get("intent_ranking") or []
    best = next((r["name"] for r in ranking if r["name"].startswith("complain_")), "complain_other")
    code = best[len("complain_"):]
    return code if code in cat.categories else "other"


def _complaint_slots(tracker: Tracker, cat, category: str, text: str) -> Dict[str, Any]:
    facts = extract_facts(text, cat, context.today(cat))
    return {
        "category": category,
        "sub_reason": cat.sub_reason_for(category, text),
        "customer_demand": text,
        **{name: value for name, value in facts.items() if tracker.get_slot(name) is None},
    }


class ActionStartComplaint(Action):
    def name(self) -> Text:
        return "action_start_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        cat = context.catalog()
        text = _text(tracker)
        events: List[EventType] = [SlotSet(name, None) for name in FORM_SLOTS + ("ticket_id", "category", "sub_reason", "customer_demand")]
        tracker = _with_slots(tracker, events)
        category = category_of(tracker, cat)
        if category is None:
            # Only facts so far ("ORD-4400918"): keep them, and the form asks what went wrong.
            slots = extract_facts(text, cat, context.today(cat), answering=True)
        else:
            slots = _complaint_slots(tracker, cat, category, text)
        events += [SlotSet(name, value) for name, value in slots.items()]
        tracker = _with_slots(tracker, events)

        ticket = await ticketing.load_or_create(tracker)
        ticketing.sync_ticket(ticket, tracker)
        await ticketing.save(ticket)
        events.append(SlotSet("ticket_id", ticket["ticket_id"]))
        if category is None:
            return events

        label, _ = message_emotion(text, cat.data.get("signals", {}))
        # Empathy before apology (seed 002): name the feeling, then the problem.
        dispatcher.utter_message(response=f"utter_empathy_{label}", category_label=cat.category(category)["label"])

        urgent = set(risk_flags([text], cat.data.get("signals", {}))) & set(cat.data.get("handoff", {}).get("auto_handoff_risk_flags", []))
        if urgent:
            tracker = _with_slots(tracker, events)
            return events + await hand_off(dispatcher, tracker, "high risk: " + ", ".join(sorted(urgent)))
        return events


class ValidateComplaintForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_complaint_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Text]:
        cat = context.catalog()
        category = tracker.get_slot("category")
        if category is None:
            return ["customer_demand"]
        slots = cat.required_facts(category)
        if slots or any(tracker.get_slot(f) for f in FACT_SLOTS):
            slots.append("facts_confirmed")
        if any(tracker.get_slot(s) is None for s in slots) or tracker.get_slot("facts_confirmed") is False:
            return slots
        variant = _variant(tracker)
        if variant.get("remedies"):
            slots.append("remedy_choice")
        if variant.get("cannot"):
            slots.append("explanation_response")
        if any(tracker.get_slot(s) is None for s in slots):
            return slots
        if tracker.get_slot("callback_choice") or await self._callback_eligible(tracker):
            slots.append("callback_choice")
            if tracker.get_slot("callback_choice") == "opted_in":
                slots.append("callback_window")
                if not ticketing.channel_phone(tracker):
                    slots.append("callback_phone")
        return slots

    async def _callback_eligible(self, tracker: Tracker) -> bool:
        """Seed 004: chosen scenarios, strongly dissatisfied or high-value customers, and
        never more than the catalog's limit per issue."""
        cat = context.catalog()
        cfg = cat.second_explanation
        if not cat.category(tracker.get_slot("category")).get("second_explanation_eligible"):
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

    async def validate_customer_demand(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        """What went wrong, asked when the first message held only facts."""
        cat = context.catalog()
        text = _text(tracker)
        category = category_of(tracker, cat)
        if category is None:
            dispatcher.utter_message(response="utter_please_describe")
            return {"customer_demand": None}
        label, _ = message_emotion(text, cat.data.get("signals", {}))
        dispatcher.utter_message(response=f"utter_empathy_{label}", category_label=cat.category(category)["label"])
        slots = _complaint_slots(tracker, cat, category, text)
        ticket = await ticketing.load_or_create(tracker)
        await ticketing.save(ticketing.sync_ticket(ticket, _with_slots(tracker, [SlotSet(k, v) for k, v in slots.items()])))
        return slots

    # ---- key facts --------------------------------------------------------------
    def _other_facts(self, text: str, tracker: Tracker, skip: str) -> Dict[str, Any]:
        """Facts volunteered alongside the one asked for ('ORD-1234567, bought 2 Jan 2023')."""
        cat = context.catalog()
        found = extract_facts(text, cat, context.today(cat))
        return {k: v for k, v in found.items() if k != skip and tracker.get_slot(k) is None}

    async def validate_order_id(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        cat = context.catalog()
        text = _text(tracker)
        order = parse_order_id(text, cat.order_pattern, cat.order_prefix, cat.order_bare_pattern)
        if not order:
            dispatcher.utter_message(response="utter_invalid_order_id", example=cat.business["order_id"].get("example", ""))
            return {"order_id": None}
        return {"order_id": order, **self._other_facts(text, tracker, "order_id")}

    async def validate_purchase_date(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        cat = context.catalog()
        text = _text(tracker)
        day = parse_date(text, context.today(cat))
        if not day:
            dispatcher.utter_message(response="utter_invalid_purchase_date")
            return {"purchase_date": None}
        return {"purchase_date": day, **self._other_facts(text, tracker, "purchase_date")}

    async def validate_amount(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        amount = parse_amount(_text(tracker), require_currency=False)
        if amount is None:
            dispatcher.utter_message(response="utter_invalid_amount")
        return {"amount": amount}

    async def validate_product(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        text = _text(tracker)
        product = parse_product(text) or clean_free_text(text)
        if not product:
            dispatcher.utter_message(response="utter_invalid_product")
        return {"product": product}

    async def validate_facts_confirmed(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        intent, text = _intent(tracker), _text(tracker)
        if intent in AFFIRM:
            return {"facts_confirmed": True}
        cat = context.catalog()
        corrections = extract_facts(text, cat, context.today(cat)) if not text.startswith("/") else {}
        if corrections:
            # A correction in the same breath: take it and read everything back again.
            return {**corrections, "facts_confirmed": None}
        if intent in DENY:
            dispatcher.utter_message(response="utter_facts_retake")
            return {**{name: None for name in FACT_SLOTS}, "facts_confirmed": None}
        dispatcher.utter_message(response="utter_please_yes_no")
        return {"facts_confirmed": None}

    # ---- honest expectations and remedies -----------------------------------
    async def validate_remedy_choice(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        cat = context.catalog()
        options = cat.remedy_options(_variant(tracker))
        text = _text(tracker).strip()
        lowered = text.lower()
        labels = [o["label"] for o in options]
        by_button = next(tracker.get_latest_entity_values("remedy"), None)
        picked = next((o["label"] for o in options if o["id"] == by_button), None)
        if by_button == "none":
            picked = NONE_OF_THESE
        picked = picked or ordinal_choice(text, labels + [NONE_OF_THESE])
        if picked is None:
            picked = next((o["label"] for o in options if o["label"].lower() == lowered or o["id"] == lowered), None)
        if picked is None:
            picked = next((o["label"] for o in options if o["label"].lower() in lowered), None)
        if picked and picked != NONE_OF_THESE:
            chosen = next(o["id"] for o in options if o["label"] == picked)
            return {"remedy_choice": chosen, "explanation_response": "accepted"}
        if picked == NONE_OF_THESE or lowered == NONE_OF_THESE.lower() or _intent(tracker) in ({"reject_explanation"} | DENY):
            return {"remedy_choice": "none", "explanation_response": "rejected"}
        dispatcher.utter_message(response="utter_please_choose")
        return {"remedy_choice": None}

    async def validate_explanation_response(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        intent = _intent(tracker)
        if intent in AFFIRM:
            return {"explanation_response": "accepted"}
        if intent in DENY | {"reject_explanation"} or (intent or "").startswith("complain_"):
            return {"explanation_response": "rejected"}
        dispatcher.utter_message(response="utter_please_choose")
        return {"explanation_response": None}

    # ---- second-explanation callback ----------------------------------------
    async def validate_callback_choice(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        intent = _intent(tracker)
        if intent in AFFIRM:
            choice = "opted_in"
        elif intent in DENY or intent == "reject_explanation":
            choice = "opted_out"
        else:
            dispatcher.utter_message(response="utter_please_yes_no")
            return {"callback_choice": None}
        return {"callback_choice": choice, "callback_decided_at": iso(context.now())}

    async def validate_callback_window(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        offered = tracker.get_slot("callback_windows_offered") or []
        text = _text(tracker).strip()
        titles = [w["title"] for w in offered]
        by_button = next(tracker.get_latest_entity_values("window"), None)
        picked = next((w["title"] for w in offered if w["start"] == by_button), None)
        picked = picked or ordinal_choice(text, titles) or next((t for t in titles if t.lower() == text.lower()), None)
        if picked is None:
            picked = _window_by_time(text, offered)
        if picked is None:
            dispatcher.utter_message(response="utter_invalid_window")
            return {"callback_window": None}
        window = next(w for w in offered if w["title"] == picked)
        return {"callback_window": {"start": window["start"], "end": window["end"]}, "callback_decided_at": iso(context.now())}

    async def validate_callback_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        cat = context.catalog()
        phone = parse_phone(_text(tracker), cat.business.get("default_phone_region", "GB"))
        if not phone:
            dispatcher.utter_message(response="utter_invalid_phone")
        return {"callback_phone": phone}


NONE_OF_THESE = "None of these"


def _window_by_time(text: str, offered: List[Dict[str, Any]]) -> Optional[str]:
    """'monday at 10am' -> the offered window that contains that moment."""
    cat = context.catalog()
    moment = dateparser.parse(text, languages=["en"], settings={"PREFER_DATES_FROM": "future", "TIMEZONE": str(cat.tz), "RETURN_AS_TIMEZONE_AWARE": True})
    if not moment:
        return None
    for window in offered:
        if datetime.fromisoformat(window["start"]) <= moment < datetime.fromisoformat(window["end"]):
            return window["title"]
    return None


# ---- questions the form asks with logic ------------------------------------------
class ActionAskFactsConfirmed(Action):
    """Read key facts back before anything relies on them (seed 003)."""

    def name(self) -> Text:
        return "action_ask_facts_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        facts = ticketing.facts_from_slots(tracker)
        written, spoken = [], []
        currency = context.catalog().business.get("currency", "GBP")
        if facts["order_id"]:
            written.append(f"order {facts['order_id']}")
            spoken.append(f"order {speakable_order_id(facts['order_id'])}")
        if facts["purchase_date"]:
            written.append(f"bought on {human_date(facts['purchase_date'])}")
            spoken.append(f"bought on {speakable_date(facts['purchase_date'])}")
        if facts["amount"] is not None:
            money = format_currency(facts["amount"], currency, locale="en_GB")
            written.append(f"amount {money}")
            spoken.append(f"amount {money}")
        if facts["product"]:
            written.append(f"product: {facts['product']}")
            spoken.append(f"product: {facts['product']}")
        dispatcher.utter_message(
            response="utter_ask_facts_confirmed",
            facts="; ".join(written),
            facts_spoken=", ".join(spoken),
            buttons=[
                {"title": "Yes, that's right", "payload": "/affirm"},
                {"title": "No, let me correct it", "payload": "/deny"},
            ],
        )
        return []


async def state_expectations(dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[str, Any]:
    """Say, once, what we will do and by when, what we can't, why, and the alternative,
    and record each statement on the ticket as a disclosure (seed 004's evidence)."""
    cat = context.catalog()
    variant = _variant(tracker)
    statements = cat.statements(variant, ticketing.facts_from_slots(tracker), context.today(cat))
    ticket = await ticketing.load_or_create(tracker)
    for statement in ticketing.record_disclosures(ticket, statements):
        dispatcher.utter_message(response=f"utter_expectation_{statement.kind}", statement=statement.text)
    ticketing.sync_ticket(ticket, tracker)
    remedies = cat.remedy_options(variant)
    ticket["remedy"]["offered"] = [r["id"] for r in remedies]
    await ticketing.save(ticket)
    return ticket


class ActionAskRemedyChoice(Action):
    def name(self) -> Text:
        return "action_ask_remedy_choice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        await state_expectations(dispatcher, tracker)
        options = context.catalog().remedy_options(_variant(tracker))
        # Payloads carry the remedy id, so no classifier can mistake a choice for a request.
        buttons = [{"title": o["label"], "payload": f'/inform{{"remedy": "{o["id"]}"}}'} for o in options]
        buttons.append({"title": NONE_OF_THESE, "payload": '/inform{"remedy": "none"}'})
        dispatcher.utter_message(response="utter_ask_remedy_choice", buttons=buttons)
        return []


class ActionAskExplanationResponse(Action):
    def name(self) -> Text:
        return "action_ask_explanation_response"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        await state_expectations(dispatcher, tracker)
        dispatcher.utter_message(
            response="utter_ask_explanation_response",
            buttons=[
                {"title": "That's OK", "payload": "/affirm"},
                {"title": "I'm not happy with this", "payload": "/reject_explanation"},
            ],
        )
        return []


class ActionAskCallbackChoice(Action):
    def name(self) -> Text:
        return "action_ask_callback_choice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        ticket = await ticketing.load_or_create(tracker)
        ticketing.sync_ticket(ticket, tracker)
        offer = context.catalog().second_explanation.get("offer_text", "")
        ticket["callback"]["status"] = "offered"
        ticket["disclosures"].append({"policy_id": "SECOND-EXPLANATION.offer", "text": offer, "at": iso()})
        await ticketing.save(ticket)
        dispatcher.utter_message(
            text=offer,
            buttons=[
                {"title": "Yes, please call me back", "payload": "/request_callback"},
                {"title": "No, thanks", "payload": "/decline_callback"},
            ],
        )
        return []


class ActionAskCallbackWindow(Action):
    def name(self) -> Text:
        return "action_ask_callback_window"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        cat = context.catalog()
        offered = [
            {"start": w["start"].isoformat(), "end": w["end"].isoformat(), "title": f"{w['start']:%a} {w['start'].day} {w['start']:%b}, {w['start']:%H:%M}-{w['end']:%H:%M}"}
            for w in cat.callback_windows(context.now())
        ]
        dispatcher.utter_message(
            response="utter_ask_callback_window",
            buttons=[{"title": w["title"], "payload": f'/inform{{"window": "{w["start"]}"}}'} for w in offered],
        )
        return [SlotSet("callback_windows_offered", offered)]


class ActionSubmitComplaint(Action):
    def name(self) -> Text:
        return "action_submit_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        ticket = await state_expectations(dispatcher, tracker)  # no-op if already said
        ticketing.sync_ticket(ticket, tracker)
        await ticketing.save(ticket)
        dispatcher.utter_message(
            response="utter_complaint_logged", ticket_id=ticket["ticket_id"],
            ticket_spoken=speakable_order_id(ticket["ticket_id"]),
        )
        callback = ticket["callback"]
        if callback["status"] == "opted_in" and callback.get("window"):
            start = datetime.fromisoformat(callback["window"]["start"])
            end = datetime.fromisoformat(callback["window"]["end"])
            dispatcher.utter_message(
                response="utter_callback_booked",
                phone=ticket["customer"].get("phone") or "your number",
                window=f"{start:%A} {start.day} {start:%B}, {start:%H:%M}-{end:%H:%M}",
            )
        elif callback["status"] == "opted_out":
            dispatcher.utter_message(response="utter_callback_declined")
        dispatcher.utter_message(response="utter_anything_else")
        return []
