"""Hand-off to a human: persist the ticket first, then tell the customer, then go quiet."""
from __future__ import annotations

import re
import unicodedata
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, EventType, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from bot.catalog import human_date
from bot.speech import speakable_order_id
from bot.tickets.model import iso
from actions import context, ticketing


def wait_text(now=None) -> str:
    cat = context.catalog()
    moment = now or context.now()
    handoff = cat.data.get("handoff", {})
    if cat.is_open(moment):
        return handoff.get("usual_wait", "")
    nxt = cat.next_open(moment)
    when = f"{nxt:%A} {human_date(nxt.date().isoformat())}, {nxt:%H:%M}" if nxt else "when we next open"
    return handoff.get("outside_hours_wait", "").format(next_open=when)


async def hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> List[EventType]:
    ticket = await ticketing.load_or_create(tracker)
    ticketing.sync_ticket(ticket, tracker)
    ticket["status"] = "handed_off"
    ticket["history"].append({"at": iso(), "by": "assistant", "action": "handed_off", "note": reason})
    # The agent must be able to open the ticket before the customer is told they can expect one.
    await ticketing.save(ticket)
    is_open = context.catalog().is_open(context.now())
    dispatcher.utter_message(
        response="utter_handoff" if is_open else "utter_handoff_closed",
        ticket_id=ticket["ticket_id"],
        ticket_spoken=speakable_order_id(ticket["ticket_id"]),
        wait=wait_text(),
        json_message={"handoff": {"ticket_id": ticket["ticket_id"], "reason": reason, "open": is_open, "wait": wait_text()}},
    )
    return [
        SlotSet("ticket_id", ticket["ticket_id"]),
        ActiveLoop(None),
        SlotSet("requested_slot", None),
        ConversationPaused(),
    ]


class ActionHandOff(Action):
    def name(self) -> Text:
        return "action_hand_off"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        return await hand_off(dispatcher, tracker, "customer asked for a person")


def bad_input_kind(text: str) -> str:
    """Why a message could not be understood, so the reply can say something useful."""
    stripped = (text or "").strip()
    if not stripped:
        return "empty"
    if len(stripped) > 4000:
        return "too_long"
    letters = [c for c in stripped if c.isalpha()]
    if not letters:
        symbols = [c for c in stripped if not c.isspace()]
        if symbols and all(unicodedata.category(c) in ("So", "Sk", "Mn", "Cf") or ord(c) > 0x2000 for c in symbols):
            return "emoji"
        return "gibberish"
    latin = sum(1 for c in letters if "LATIN" in unicodedata.name(c, ""))
    if latin / len(letters) < 0.5:
        return "language"
    words = re.findall(r"[a-zA-Z]+", stripped)
    vowelless = [w for w in words if len(w) > 3 and not re.search(r"[aeiouy]", w, re.IGNORECASE)]
    if words and len(vowelless) / len(words) > 0.5:
        return "gibberish"
    return "unclear"


class ActionHandleFallback(Action):
    """Polite, specific replies to what the assistant can't understand; after a few in a
    row it stops guessing and hands off (the customer should never be stuck)."""

    def name(self) -> Text:
        return "action_handle_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        cat = context.catalog()
        count = consecutive_fallbacks(tracker.events) + 1
        limit = cat.data.get("handoff", {}).get("max_consecutive_fallbacks", 3)
        if count > limit:
            dispatcher.utter_message(response="utter_fallback_handing_off")
            return await hand_off(dispatcher, tracker, f"assistant could not understand {count} messages in a row")
        kind = bad_input_kind(tracker.latest_message.get("text") or "")
        dispatcher.utter_message(response=f"utter_fallback_{kind}")
        if tracker.latest_message.get("intent", {}).get("name") != "nlu_fallback":
            # Predicted by the dialogue fallback (an intent no rule expects here): forget
            # the turn for prediction, or the same fallback would be predicted again.
            return [UserUtteranceReverted()]
        return []


def consecutive_fallbacks(events: List[Dict[str, Any]]) -> int:
    """How many customer messages in a row, before the current one, were not understood."""
    count, current_user_seen = 0, False
    answered_by: List[str] = []
    for event in reversed(events):
        if event.get("event") == "action" and event.get("name") not in ("action_listen", None):
            answered_by.append(event["name"])
        elif event.get("event") == "user":
            if not current_user_seen:
                current_user_seen = True
            elif answered_by and answered_by[-1] == "action_handle_fallback":
                count += 1
            else:
                break
            answered_by = []
    return count
