"""A button's words, typed, are the button clicked.

Customers type what a button says instead of clicking it ("That's all", "it's a new problem",
"speak to a person"), often shortened or with a slip. The classifier heard those words out
of their context: the role-play of 2026-12-03 saw a typed "That's all" (the button "No,
that's all" under "the decision stands") read as a rejection and an objection put on record
for a customer who had accepted, and a typed "it's a new problem" loop. Here, when the
assistant's last message offered buttons and the customer's message is one of them in
words, the message is understood as that button's payload (its intent and entities); the
text the customer typed is what the conversation records.

A message is a button when, once lower-cased without punctuation, it is the button's title,
or a run of at least half of its words ("that's all" for "No, that's all"; never a lone
"yes" or "no"), or the title with slips (difflib: the whole >= 0.88, "speak to a persn", or word for word
>= 0.66, "yse thats rihgt"),
and that holds for exactly one of the buttons. Anything longer or different goes to the
classifier as before; the actions read what is typed at their own questions
(actions/answers.py: "the first one", "the voucher i guess").

Replaces (Rasa 3.6.21): `MessageProcessor.parse_message` (public, wrapped: Rasa's parsing is
run, on the payload instead of the words). Tests: tests/unit/test_typed_buttons.py.
"""
from __future__ import annotations

import difflib
import functools
import re
from typing import Any, Callable, Dict, List, Optional, Sequence

from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import BotUttered, UserUttered

from bot.rasa_ext.patches.patching import replace

SLIP_RATIO = 0.88
WORD_SLIP_RATIO = 0.66   # "yse"/"yes", "rihgt"/"right", "dat"/"date"; never "no"/"yes", "wrong"/"right"
MAX_WORDS = 8


def _words(text: str) -> List[str]:
    lowered = (text or "").lower().replace("’", "'")
    return re.sub(r"[^\w' ]+", " ", lowered).split()


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def _slipped(said: List[str], title: List[str]) -> bool:
    """The title typed with slips: the whole within SLIP_RATIO, or word for word, each word
    within WORD_SLIP_RATIO ("yse thats rihgt" for "Yes, that's right")."""
    if _ratio(" ".join(said), " ".join(title)) >= SLIP_RATIO:
        return True
    return len(said) == len(title) and all(_ratio(a, b) >= WORD_SLIP_RATIO for a, b in zip(said, title))


def _run_of(part: List[str], whole: List[str]) -> bool:
    return any(whole[i:i + len(part)] == part for i in range(len(whole) - len(part) + 1))


def typed_button(text: str, buttons: Sequence[Dict[str, Any]]) -> Optional[str]:
    """The payload of the one button the typed text says, or None."""
    said = _words(text)
    if not said or len(said) > MAX_WORDS or (text or "").lstrip().startswith("/"):
        return None
    fits = []
    for button in buttons:
        title, payload = _words(str(button.get("title") or "")), button.get("payload")
        if not title or not isinstance(payload, str) or not payload.startswith("/"):
            continue
        exact = said == title
        shortened = len(said) * 2 >= len(title) and len(said) >= 2 and _run_of(said, title)
        slip = _slipped(said, title)
        if exact:
            return payload
        if shortened or slip:
            fits.append(payload)
    return fits[0] if len(set(fits)) == 1 else None


def offered_buttons(tracker: Any) -> List[Dict[str, Any]]:
    """The buttons of the assistant's messages since the customer last wrote."""
    buttons: List[Dict[str, Any]] = []
    for event in reversed(getattr(tracker, "events", None) or []):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered):
            buttons = list((event.data or {}).get("buttons") or []) + buttons
    return buttons


def _buttons_typed(parse_message: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(parse_message)
    async def parse_typed_buttons(self: Any, message: UserMessage, tracker: Any = None,
                                  only_output_properties: bool = True) -> Dict[str, Any]:
        payload = typed_button(message.text, offered_buttons(tracker)) if tracker is not None else None
        if payload is None:
            return await parse_message(self, message, tracker, only_output_properties)
        clicked = UserMessage(text=payload, output_channel=message.output_channel, sender_id=message.sender_id,
                              input_channel=message.input_channel, message_id=message.message_id,
                              metadata=message.metadata)
        parse_data = await parse_message(self, clicked, tracker, only_output_properties)
        return {**parse_data, "text": message.text}

    return parse_typed_buttons


def install() -> None:
    replace(MessageProcessor, "parse_message", _buttons_typed)
