"""A request for a person in so many words is never lost to a look-alike intent (a
greeting, "are you a bot?", a yes or a no), while complaints that only tell of asking for a
manager, and "don't ring me", keep their own intent (bot/rasa_ext/nlu/person_request.py,
with the patterns config.yml gives it)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pytest
import yaml
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.rasa_ext.nlu.person_request import PersonRequestGuard

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def guard() -> PersonRequestGuard:
    pipeline = yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]
    config = next(c for c in pipeline if c["name"].endswith("PersonRequestGuard"))
    names = [c["name"] for c in pipeline]
    # After the intent classifier (whose look-alike it corrects), before the fallback.
    assert names.index(config["name"]) == names.index("FallbackClassifier") - 1
    return PersonRequestGuard({**PersonRequestGuard.get_default_config(), **config})


def guarded(guard: PersonRequestGuard, text: str, intent: str, confidence: float = 0.98) -> Dict[str, Any]:
    message = Message({TEXT: text, INTENT: {"name": intent, "confidence": confidence},
                       INTENT_RANKING_KEY: [{"name": intent, "confidence": confidence},
                                            {"name": "request_human", "confidence": 0.01}]})
    guard.process([message])
    return message.get(INTENT)


@pytest.mark.parametrize("text, look_alike", [
    ("hiya, gimme a real person", "greet"),
    ("is this a robot? I need a human being", "bot_challenge"),
    ("good morning, can I speak with one of your advisors", "greet"),
    ("yes, put me through to a manager", "affirm"),
    ("no. I want an actual person", "deny"),
    ("ORD-4400918, now can I talk 2 an agent", "inform"),
    ("HUMAN PLEASE", "nlu_fallback"),
    ("is there a real person I can chat with", "bot_challenge"),
])
def test_a_request_for_a_person_wins_over_a_look_alike_intent(guard, text, look_alike):
    assert guarded(guard, text, look_alike) == {"name": "request_human", "confidence": 1.0}


@pytest.mark.parametrize("text, intent, confidence", [
    # A complaint the classifier is sure of tells what happened; it asks for nobody now.
    ("the man on the phone hung up when I asked to speak to a manager", "complain_staff_conduct", 0.9),
    ("I just want someone to actually turn up and repair it", "complain_repair_warranty", 0.8),
    # Not wanting a person is no request for one.
    ("I don't want anyone to ring me", "decline_callback", 0.9),
    # Words that ask for nobody.
    ("hello there", "greet", 0.99),
    ("am I talking to a machine?", "bot_challenge", 0.99),
    # A button's payload is never reread.
    ('/inform{"remedy": "apology_letter"}', "inform", 1.0),
])
def test_what_asks_for_nobody_keeps_its_intent(guard, text, intent, confidence):
    assert guarded(guard, text, intent, confidence)["name"] == intent


def test_an_unsure_complaint_that_asks_for_a_person_is_a_request(guard):
    assert guarded(guard, "my parcel, I want to talk to a real person", "complain_delivery", 0.35)["name"] == "request_human"


def test_a_pattern_that_is_no_regex_fails_at_start_up():
    with pytest.raises(ValueError, match="not a regex"):
        PersonRequestGuard({**PersonRequestGuard.get_default_config(), "patterns": ["(unclosed"]})
