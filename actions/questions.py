"""The questions the complaint form asks with logic: the read-back, which detail is
wrong, the honest statement of policy with the remedies, the second-explanation offer,
and the callback windows. Buttons carry payloads; typed answers are read by the form."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from babel.numbers import format_currency
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import context, ticketing
from actions.form_state import TOPIC, correctable_details, policy_known, policy_variant
from actions.parsing import month_with_year, read_facts
from bot.catalog import Statement, human_date, human_month
from bot.speech import speakable_date, speakable_order_id
from bot.tickets.model import CallbackState

# The second-explanation offer's disclosure (docs/design.md#second-explanation).
OFFER_POLICY_ID = "SECOND-EXPLANATION.offer"


class ActionAskFactsConfirmed(Action):
    """Read key facts back before anything relies on them (docs/design.md#precise-facts),
    with the category in the customer's words, so a wrong category can be corrected too."""

    def name(self) -> Text:
        return "action_ask_facts_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        cat = context.catalog()
        facts = ticketing.facts_from_slots(tracker)
        missing = set(ticketing.unavailable_facts(tracker))
        about = cat.category(tracker.get_slot("category"))["in_plain_words"]
        written, spoken = [f"about: {about}"], [f"about {about}"]
        if facts["order_id"]:
            written.append(read_back("order_id", facts["order_id"]))
            spoken.append(f"order {speakable_order_id(facts['order_id'])}")
        elif "order_id" in missing:
            written.append("no order number")
            spoken.append("no order number")
        if facts["purchase_date"]:
            written.append(read_back("purchase_date", facts["purchase_date"]))
            spoken.append(f"bought on {speakable_date(facts['purchase_date'])}")
        elif tracker.get_slot("purchase_month"):
            # the month the customer gave, the day not known (a colleague confirms it)
            month = human_month(tracker.get_slot("purchase_month"))
            written.append(f"bought in {month} (day not known)")
            spoken.append(f"bought in {month}")
        if facts["amount"] is not None:
            written.append(read_back("amount", facts["amount"], facts["currency"]))
            spoken.append(read_back("amount", facts["amount"], facts["currency"]))
        if facts["product"]:
            written.append(f"product: {facts['product']}")
            spoken.append(f"product: {facts['product']}")
        dispatcher.utter_message(
            response="utter_ask_facts_confirmed",
            facts="; ".join(written),
            facts_spoken=", ".join(spoken),
            buttons=cat.buttons("facts_confirmed"),
        )
        return []


# How the read-back writes each key fact: "order ORD-4400918", "bought on 3 March 2023", "amount £49.99".
_READ_BACK_AS = {"order_id": "order", "purchase_date": "bought on", "amount": "amount"}


def fact_in_words(name: str, value: Any, currency: Optional[str] = None) -> str:
    """A key fact's value as the read-back writes it (an amount in its currency, the
    catalog's when unsaid)."""
    cat = context.catalog()
    if name == "purchase_date":
        return human_date(value)
    if name == "amount":
        return format_currency(value, currency or cat.currency, locale=cat.locale)
    return str(value)


def read_back(name: str, value: Any, currency: Optional[str] = None) -> str:
    return f"{_READ_BACK_AS[name]} {fact_in_words(name, value, currency)}"


class _AskFact(Action):
    """Asks for a key fact; when the customer's complaint held two different values of it
    ("charged £20 then £35"), asks which one, with a button each, instead of guessing
    (docs/design.md#precise-facts)."""

    fact = ""

    def name(self) -> Text:
        return f"action_ask_{self.fact}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        cat = context.catalog()
        demand = tracker.get_slot("customer_demand") or ""
        reading = read_facts(demand, cat, context.today(cat))[self.fact] if demand else None
        if reading is not None and reading.ambiguous:
            buttons = [{"title": title, "payload": title} for title in map(self._title, reading.candidates)]
            dispatcher.utter_message(response=f"utter_ask_which_{self.fact}", buttons=buttons)
        else:
            dispatcher.utter_message(response=f"utter_ask_{self.fact}")
        return []

    def _title(self, value: Any) -> str:
        return str(value)


class ActionAskOrderId(_AskFact):
    fact = "order_id"


class ActionAskPurchaseDate(_AskFact):
    fact = "purchase_date"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        # "HP Envy, bought in feb 2025": the day in that month is asked for, not the whole date.
        cat = context.catalog()
        today = context.today(cat)
        month = tracker.get_slot("purchase_month") or month_with_year(tracker.get_slot("customer_demand") or "", today)
        if month:
            dispatcher.utter_message(response="utter_ask_day_in_month", month=human_month(month))
            return [SlotSet("purchase_month", month)]
        return await super().run(dispatcher, tracker, domain)

    def _title(self, value: Any) -> str:
        return human_date(value)


class ActionAskAmount(_AskFact):
    fact = "amount"

    def _title(self, value: Any) -> str:
        cat = context.catalog()
        return format_currency(value.amount, value.currency, locale=cat.locale)


class ActionAskFactToCorrect(Action):
    """After a bare "no" at the read-back: which detail is wrong (a button per fact given,
    and the topic), so one wrong fact doesn't cost the customer the others."""

    def name(self) -> Text:
        return "action_ask_fact_to_correct"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        cat = context.catalog()
        buttons = [{"title": (cat.topic if name == TOPIC else cat.facts[name])["label"],
                    "payload": f'/inform{{"fact": "{name}"}}'} for name in correctable_details(tracker)]
        buttons += cat.buttons("nothing_to_correct")  # a way back out (found in the role-play: none)
        dispatcher.utter_message(response="utter_ask_fact_to_correct", buttons=buttons)
        return []


def _sentence_case(words: str) -> str:
    """A label as a button title: the first letter up, the rest as written ("... after I
    bought"; str.capitalize() lowered the "I")."""
    return words[:1].upper() + words[1:]


class ActionAskCategoryChoice(Action):
    """When the assistant isn't sure what the complaint is about, it asks rather than state
    the policy of a category it guessed (docs/design.md#honesty): the likeliest 2-3, in the
    customer's words, plus "Something else"."""

    def name(self) -> Text:
        return "action_ask_category_choice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        cat = context.catalog()
        options = [code for code in (tracker.get_slot("category_options") or []) if code in cat.categories and code != "other"]
        if not options:
            options = [code for code in cat.categories if code != "other"]
        # The phone reads buttons out as a menu: a few words each, and at most three choices.
        phone = tracker.get_latest_input_channel() == "twilio_ivr"
        words = "in_few_words" if phone else "in_plain_words"
        options = options[:2] if phone else options
        buttons = [{"title": _sentence_case(cat.categories[code][words]), "payload": f'/inform{{"category": "{code}"}}'} for code in options]
        buttons.append({"title": _sentence_case(cat.categories["other"][words]), "payload": '/inform{"category": "other"}'})
        dispatcher.utter_message(response="utter_ask_category_choice", buttons=buttons)
        return []


async def state_expectations(dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[str, Any]:
    """Say, once, what we will do and by when, what we can't, why, and the alternative,
    and record each statement on the ticket as a disclosure (the exemption evidence of docs/design.md#second-explanation)."""
    cat = context.catalog()
    ticket = await ticketing.load_or_create(tracker)
    if not policy_known(tracker):
        return ticket
    variant = policy_variant(tracker)
    statements = cat.statements(variant, ticketing.facts_from_slots(tracker), context.today(cat), month=tracker.get_slot("purchase_month"))
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
        cat = context.catalog()
        # Payloads carry the remedy id, so no classifier can mistake a choice for a request.
        options = cat.remedy_options(policy_variant(tracker)) + [cat.no_remedy]
        buttons = [{"title": o["label"], "payload": f'/inform{{"remedy": "{o["id"]}"}}'} for o in options]
        dispatcher.utter_message(response="utter_ask_remedy_choice", buttons=buttons)
        return []


class ActionAskExplanationResponse(Action):
    def name(self) -> Text:
        return "action_ask_explanation_response"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        await state_expectations(dispatcher, tracker)
        dispatcher.utter_message(response="utter_ask_explanation_response",
                                 buttons=context.catalog().buttons("explanation_response"))
        return []


async def offer_callback(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """The second-explanation offer, word for word from the catalog (it says the decision
    will not change), recorded on the ticket once (docs/design.md#second-explanation)."""
    cat = context.catalog()
    ticket = await ticketing.load_or_create(tracker)
    ticketing.sync_ticket(ticket, tracker)
    offer = cat.second_explanation.get("offer_text", "")
    ticket["callback"]["status"] = CallbackState.OFFERED
    # Once per ticket, however often the question is asked again (record_disclosures dedupes).
    ticketing.record_disclosures(ticket, [Statement(OFFER_POLICY_ID, "offer", offer)])
    await ticketing.save(ticket)
    dispatcher.utter_message(text=offer, buttons=cat.buttons("callback_offer"))


class ActionAskCallbackChoice(Action):
    def name(self) -> Text:
        return "action_ask_callback_choice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        await offer_callback(dispatcher, tracker)
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


