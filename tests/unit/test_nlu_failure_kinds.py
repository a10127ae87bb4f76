"""The trained model on the kinds of failure issue 12 still named after the first pass: a vague
opening filed under a guessed category, keyword traps, continued disagreement ("so you're
refusing?") heard as something else, a "no" that starts with a yes-word, and a request for a
person that names the topic. Every sentence is new (not in data/nlu, not from a held-out set).

    NLU_MODEL=/path/to/model.tar.gz pytest tests/unit/test_nlu_failure_kinds.py   # another model
"""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from actions.understanding import decide_category
from bot.catalog import load_catalog
from scripts.check_nlu_duplicates import examples, normalise

ROOT = Path(__file__).resolve().parents[2]
MODEL = Path(os.environ.get("NLU_MODEL") or ROOT / "models" / "complaints.tar.gz")

# The assistant must ask which category, never state a policy for a guess (docs/design.md#honesty).
VAGUE = [
    "hi, I'd like to make a complaint please",
    "there's something wrong with what I ordered",
    "I've got a problem with an order I placed",
    "good afternoon, I need to make a complaint",
    "um hi there's an issue with my order",
]
# Keyword traps ("arrived" for a faulty product, "rude" for a driver, "repair" for an invoice)
# and openings followed by the real complaint: right at the first guess.
CATEGORIES = [
    ("the washer arrived fine but it won't drain", "product_quality"),
    ("dead on arrival, the box was perfect", "product_quality"),
    ("the courier was really rude and swore at my wife", "staff_conduct"),
    ("the VAT number printed on my repair bill is wrong", "invoice"),
    ("there's a warranty fee on my card I didn't agree to", "billing"),
    ("it's cheaper now, refund me the difference please", "price"),
    ("I have a complaint, my parcel never arrived", "delivery"),
    ("something's wrong with my order, you charged me twice", "billing"),
]
# Continued disagreement ("so you're refusing?") is a rejection, never "I didn't understand".
CONVERSATION = [
    ("you're refusing me?", "reject_explanation"),
    ("so you are refusing then", "reject_explanation"),
    ("you're refusing to fix it?", "reject_explanation"),
    ("wow, so that's it then?", "reject_explanation"),
    ("that just isn't good enough", "reject_explanation"),
    ("nah, that's not right at all", "deny"),
    ("absolutely not, that isn't my order", "deny"),
    ("could I talk to an actual person about my refund", "request_human"),
    ("please get a human to call me", "request_human"),
    # Look-alikes (a greeting, a bot question, a yes) never swallow the request.
    ("good evening! gimme a real person please", "request_human"),
    ("is this a bot? I need a human being", "request_human"),
    ("yes ok, now transfer me to a manager", "request_human"),
]


def test_probes_are_not_training_sentences():
    trained = {normalise(text) for _, text, _ in examples()}
    probes = VAGUE + [t for t, _ in CATEGORIES + CONVERSATION]
    assert [p for p in probes if normalise(p) in trained] == []


@pytest.fixture(scope="module")
def parse():
    from rasa.core.agent import Agent

    agent = Agent.load(str(MODEL))
    loop = asyncio.new_event_loop()
    yield lambda text: loop.run_until_complete(agent.parse_message(text))
    loop.close()


def test_a_vague_opening_is_a_complaint_whose_category_is_asked(parse):
    catalog = load_catalog()
    filed = {}
    for text in VAGUE:
        parsed = parse(text)
        decision = decide_category(parsed, text, catalog)
        if decision.category is not None or len(decision.options) < 2:
            filed[text] = (parsed["intent"]["name"], decision)
    assert filed == {}


def test_keyword_traps_get_the_category_the_complaint_is_about(parse):
    catalog = load_catalog()
    wrong = [(text, expected, got) for text, expected in CATEGORIES
             if (got := decide_category(parse(text), text, catalog).category) != expected]
    assert wrong == []


def test_disagreement_a_no_and_a_request_for_a_person_are_heard(parse):
    wrong = [(text, expected, got) for text, expected in CONVERSATION
             if (got := parse(text)["intent"]["name"]) != expected]
    assert wrong == []
