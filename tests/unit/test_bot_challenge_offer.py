"""A customer who asks whether this is a bot is offered a person (issue 12, item 5): "is this
a bot? I need a human" is sometimes read as the question alone, and the request must not be
lost. The responses are chosen by Rasa's own response generator from the real domain."""
from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

DOMAIN = Domain.load(str(Path(__file__).resolve().parents[2] / "domain.yml"))


async def _said(channel: str) -> dict:
    nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
    tracker = DialogueStateTracker.from_events("customer", [], slots=DOMAIN.slots)
    return await nlg.generate("utter_iamabot", tracker, channel)


@pytest.mark.parametrize("channel", ["rest", "socketio"])
async def test_in_the_chat_a_person_is_one_click_away(channel):
    said = await _said(channel)
    assert [b["payload"] for b in said["buttons"]] == ["/request_human"]
    assert "request_human" in DOMAIN.intents


async def test_on_the_phone_the_caller_is_told_what_to_say_and_gets_no_menu():
    said = await _said("twilio_ivr")
    assert not said.get("buttons")
    assert "say agent" in said["text"].lower()
