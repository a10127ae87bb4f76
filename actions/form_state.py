"""What the complaint form's actions read from the tracker, in one place: the latest
message, the policy variant the current facts select, and the slots the form owns."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType

from actions import context, ticketing
from bot.catalog_validation import purchase_limit
from bot.tickets.model import FACT_NAMES, FACT_UNAVAILABLE

# Each key fact has the slot of its name (domain.yml).
FACT_SLOTS = FACT_NAMES
# fact_to_correct when what is wrong at the read-back is the topic (the category).
TOPIC = "category"
FORM_SLOTS = FACT_SLOTS + (
    "amount_currency", "purchase_month", "facts_confirmed", "facts_disputed", "fact_to_correct", "remedy_choice", "explanation_response",
    "callback_choice", "callback_window", "callback_phone", "callback_decided_at", "callback_windows_offered",
    "times_asked", "category_options",
)
AFFIRM = {"affirm", "request_callback", "thank"}
DENY = {"deny", "decline_callback"}


def intent_of(tracker: Tracker) -> Optional[str]:
    return tracker.get_intent_of_latest_message(skip_fallback_intent=False)


def text_of(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def words_of(text: str) -> List[str]:
    return re.findall(r"[a-z£]+", (text or "").lower())


def policy_variant(tracker: Tracker) -> Dict[str, Any]:
    """The catalog variant the category, sub-reason and confirmed facts select (a purchase
    month, the day not known, selects one when every day of it would)."""
    cat = context.catalog()
    facts = ticketing.facts_from_slots(tracker)
    if tracker.get_slot("purchase_date") == FACT_UNAVAILABLE:
        by_month = month_decision(tracker)
        if by_month is not None:
            return by_month
    return cat.select_variant(tracker.get_slot("category"), tracker.get_slot("sub_reason"), facts, context.today(cat))


def month_decision(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The variant the purchase month decides, or None (no month, or its days differ)."""
    cat = context.catalog()
    return cat.month_variant(tracker.get_slot("category"), tracker.get_slot("sub_reason"), ticketing.facts_from_slots(tracker),
                             tracker.get_slot("purchase_month"), context.today(cat))


def with_slots(tracker: Tracker, events: List[EventType]) -> Tracker:
    """The tracker as it will be once these SlotSet events apply (for saving the ticket now)."""
    for event in events:
        if event.get("event") == "slot":
            tracker.slots[event["name"]] = event["value"]
    return tracker


def facts_not_yet_given(found: Dict[str, Any], tracker: Tracker, skip: Optional[str] = None) -> Dict[str, Any]:
    """Of the facts a message states (parsing.extract_facts), those whose slot is still
    empty: a message never overwrites a fact already given. An amount's currency goes with
    its amount, never alone."""
    new = {name: value for name, value in found.items()
           if name in FACT_SLOTS and name != skip and tracker.get_slot(name) in (None, "")}
    if "amount" in new:
        new["amount_currency"] = found.get("amount_currency")
    return new


def policy_known(tracker: Tracker) -> bool:
    """Whether the facts decide the policy. A purchase date the customer doesn't have can't
    choose between "inside the 30 days" and "warranty ended": then no policy is stated and
    a colleague checks the date first (docs/design.md#precise-facts)."""
    if tracker.get_slot("purchase_date") != FACT_UNAVAILABLE:
        return True
    if month_decision(tracker) is not None:
        # "March 2025, I don't know the day": every day of March 2025 is inside the warranty.
        return True
    cat = context.catalog()
    category = cat.category(tracker.get_slot("category"))
    sub = category["sub_reasons"].get(tracker.get_slot("sub_reason") or "") or category["sub_reasons"][category["default_sub_reason"]]
    return not any(purchase_limit(v) for v in sub["variants"])


def correctable_details(tracker: Tracker) -> List[str]:
    """What "which detail is wrong?" offers, in its buttons' order: each fact given, then
    what the complaint is about."""
    return [name for name in FACT_SLOTS if tracker.get_slot(name) is not None] + [TOPIC]
