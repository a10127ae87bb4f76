"""A button's words, typed, are understood as the button clicked (bot/rasa_ext/patches/typed_buttons.py):
the customer who types "That's all" under "the decision stands" has said goodbye, not
rejected the decision; the words they typed are what the conversation records."""
from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_ext import patches
from bot.rasa_ext.patches.typed_buttons import offered_buttons, typed_button

ROOT = Path(__file__).resolve().parents[2]
DECISION_STANDS = [{"title": "Speak to a person", "payload": "/request_human"},
                   {"title": "No, that's all", "payload": "/goodbye"}]
ADDED = [{"title": "It's a new problem", "payload": "/new_complaint"}, {"title": "That's all", "payload": "/goodbye"}]
READ_BACK = [{"title": "Yes, that's right", "payload": "/affirm"}, {"title": "No, let me correct it", "payload": "/deny"}]
CATEGORIES = [{"title": "A late or missing delivery", "payload": '/inform{"category": "delivery"}'},
              {"title": "A charge on my card", "payload": '/inform{"category": "billing"}'},
              {"title": "Something else", "payload": '/inform{"category": "other"}'}]


@pytest.mark.parametrize("typed, buttons, payload", [
    ("That's all", DECISION_STANDS, "/goodbye"),
    ("no thats all.", DECISION_STANDS, "/goodbye"),
    ("speak to a persn", DECISION_STANDS, "/request_human"),
    ("it's a new problem", ADDED, "/new_complaint"),
    ("Its a new problem", ADDED, "/new_complaint"),
    ("that's right", READ_BACK, "/affirm"),
    ("yse thats rihgt", READ_BACK, "/affirm"),
    ("the dat", [{"title": "The order number", "payload": "/o"}, {"title": "The date", "payload": "/d"}], "/d"),
    ("a charge on my card", CATEGORIES, '/inform{"category": "billing"}'),
    ("something else", CATEGORIES, '/inform{"category": "other"}'),
])
def test_a_buttons_words_typed_are_the_button(typed, buttons, payload):
    assert typed_button(typed, buttons) == payload


@pytest.mark.parametrize("typed, buttons", [
    ("yes", READ_BACK),                                   # a lone word of a title: the classifier's
    ("no", READ_BACK),
    ("no that's right", READ_BACK),                       # "no" is not a slip of "yes"
    ("yes that's wrong", READ_BACK),
    ("yes that's right but the date is wrong, it was the 5th", READ_BACK),  # more than the button
    ("it's a new problem, the invoice was wrong too and I was charged for a third item", ADDED),
    ("my card was charged twice for a late delivery", CATEGORIES),
    ("That's all", []),                                   # nothing offered
    ("/affirm", READ_BACK),                               # a click already
])
def test_anything_else_goes_to_the_classifier(typed, buttons):
    assert typed_button(typed, buttons) is None


def test_only_the_buttons_offered_since_the_customer_last_wrote_count():
    tracker = DialogueStateTracker.from_events("c", [
        UserUttered("my parcel is late"), BotUttered("Is that right?", {"buttons": READ_BACK}),
        UserUttered("yes"), ActionExecuted("action_listen"),
        BotUttered("Anything else?", {"buttons": DECISION_STANDS}), BotUttered("Thanks."),
    ])
    assert offered_buttons(tracker) == DECISION_STANDS


@pytest.mark.asyncio
async def test_the_assistant_understands_the_typed_button_and_records_the_typed_words():
    patches.install()
    agent = Agent.load(str(ROOT / "models" / "complaints.tar.gz"))
    tracker = DialogueStateTracker.from_events("c", [
        UserUttered("hello"), BotUttered("Anything else?", {"buttons": DECISION_STANDS})], slots=agent.domain.slots)
    parse = await agent.processor.parse_message(UserMessage("That's all", sender_id="c"), tracker)
    assert parse["intent"]["name"] == "goodbye"
    assert parse["text"] == "That's all"
    plain = await agent.processor.parse_message(UserMessage("That's all", sender_id="c"), None)
    assert plain["text"] == "That's all"  # without a conversation, the classifier as before
