"""What the assistant says to a message it can't understand: a polite, specific reply
(empty, emoji, another language, too long, gibberish, unclear), and after a few in a row a
hand-off, so the customer is never stuck (docs/design.md#handoff)."""
from __future__ import annotations

import re
import unicodedata
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions import context
from actions.answers import NO, yes_or_no
from actions.fact_answers import fact_corrections
from actions.handoff import hand_off, urgent_flags
from actions.parsing import parse_email
from actions.understanding import opens_complaint


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
        text = tracker.latest_message.get("text") or ""
        if bad_input_kind(text) == "unclear" and opens_here(tracker):
            # A complaint the classifier was unsure of, or one worded as "no, it never came":
            # no question is pending, so it is the complaint itself (docs/design.md#tracking).
            return [FollowupAction("action_start_complaint")]
        if tracker.get_slot("complaint_recorded") and urgent_flags(text):
            # A risk named after the record ("it's smoking now"), in words no intent expected.
            return [FollowupAction("action_add_to_complaint")]
        if tracker.get_slot("complaint_recorded") and parse_email(text):
            # An e-mail address the classifier didn't place ("ok it's dana@example.org" after
            # "we don't have your e-mail address yet"): it goes on the complaint.
            return [FollowupAction("action_add_to_complaint")]
        if tracker.get_slot("complaint_recorded") and fact_corrections(text, tracker):
            # "no, I bought it 5 June 2024, correct the date" after the record: corrected, not
            # a goodbye and not "I didn't understand" (found in the role-play).
            return [FollowupAction("action_add_to_complaint")]
        if _ends_the_chat(tracker, domain):
            # "no thanks, that's all" to "anything else?" asked after any answer (a status, a
            # callback declined, something added), not only after the record: a goodbye.
            dispatcher.utter_message(response="utter_goodbye")
            # Predicted by the dialogue fallback, the turn is forgotten for prediction as below,
            # or the fallback runs again and adds "I didn't understand" to the goodbye (found
            # in the role-play).
            return [] if _not_understood(tracker) else [UserUtteranceReverted()]
        cat = context.catalog()
        count = consecutive_fallbacks(tracker.events) + 1
        limit = cat.data.get("handoff", {}).get("max_consecutive_fallbacks", 3)
        if count > limit:
            dispatcher.utter_message(response="utter_fallback_handing_off")
            return await hand_off(dispatcher, tracker, f"assistant could not understand {count} messages in a row")
        kind = bad_input_kind(text)
        dispatcher.utter_message(response=f"utter_fallback_{kind}")
        if not _not_understood(tracker):
            # Predicted by the dialogue fallback (an intent no rule expects here): forget
            # the turn for prediction, or the same fallback would be predicted again.
            return [UserUtteranceReverted()]
        return []


def _not_understood(tracker: Tracker) -> bool:
    """The NLU's own fallback, not the dialogue's (an intent no rule expects here)."""
    return tracker.latest_message.get("intent", {}).get("name") == "nlu_fallback"


_NOTHING_ELSE = re.compile(r"(?i)\b(?:that'?s (?:all|it|everything)|nothing (?:else|more)|all good|no more|i'?m (?:good|done|fine)"
                           r"|bye|goodbye|cheers|ta)\b")
ANYTHING_ELSE = "utter_anything_else"


def _ends_the_chat(tracker: Tracker, domain: Dict[Text, Any]) -> bool:
    """The assistant's last words asked "anything else?" and the customer says no to it."""
    last = next((e for e in reversed(tracker.events) if e.get("event") == "bot"), None)
    if last is None:
        return False
    asked = {r.get("text") for r in (domain.get("responses") or {}).get(ANYTHING_ELSE, [])}
    if (last.get("metadata") or {}).get("utter_action") != ANYTHING_ELSE and last.get("text") not in asked:
        return False
    text = tracker.latest_message.get("text") or ""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    return (intent in ("deny", "decline_callback", "thank", "goodbye") or yes_or_no(text) == NO
            or bool(_NOTHING_ELSE.search(text)))


def opens_here(tracker: Tracker) -> bool:
    """No complaint is under way (no form, no ticket in this conversation) and the latest
    message opens one (actions/understanding.py, opens_complaint)."""
    if tracker.active_loop.get("name") or tracker.get_slot("ticket_id"):
        return False
    return opens_complaint(tracker.latest_message, tracker.latest_message.get("text") or "")


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
            elif answered_by and answered_by[-1] == "action_handle_fallback" and "action_start_complaint" not in answered_by:
                count += 1
            else:
                break
            answered_by = []
    return count
