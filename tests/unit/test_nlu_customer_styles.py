"""The trained model (models/complaints.tar.gz) understands customers the way they really
write (issue 12): typos, text-speak, capitals, phone transcripts, brands, indirect phrasing,
keyword traps, requests for a person in any phrasing, complaints that merely mention staff,
and continued disagreement. None of these sentences is in the training data, and none is
from a held-out set; the check of data/nlu itself (no sentence under two intents) is here too.
"""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from scripts.check_nlu_duplicates import cross_intent_duplicates, examples, normalise

ROOT = Path(__file__).resolve().parents[2]
# NLU_MODEL=/path/to/model.tar.gz checks another model (one trained outside models/).
MODEL = Path(os.environ.get("NLU_MODEL") or ROOT / "models" / "complaints.tar.gz")

CATEGORY_PROBES = [
    # keyword traps: the word points one way, the complaint is another
    ("the van driver who dropped off my tv was foul mouthed and nasty to my son", "complain_staff_conduct"),
    ("my repair invoice shows a VAT number that isn't ours", "complain_invoice"),
    ("you've charged me for a protection plan I never chose", "complain_billing"),
    ("it's been reduced since I bought it, please refund me the price difference", "complain_price"),
    ("sent the blender back a month ago and the refund still hasn't reached my account", "complain_refund_return"),
    ("the mirror arrived shattered, it must have been bashed about in the van", "complain_delivery"),
    ("the kettle was fine for a fortnight of daily use and then it just died", "complain_product_quality"),
    ("my laptop has been away being repaired for seven weeks now", "complain_repair_warranty"),
    # two words, typos, capitals, text-speak
    ("parcle still not come", "complain_delivery"),
    ("STILL NO SIGN OF MY ORDER", "complain_delivery"),
    ("u took the money twice wtf", "complain_billing"),
    ("refnd never came", "complain_refund_return"),
    ("freezer not freezing", "complain_product_quality"),
    # phone transcripts
    ("um yeah so my fridge er it was meant to come on tuesday and it never came", "complain_delivery"),
    ("erm hi so I sent the vacuum back about three weeks ago and um I've had nothing back", "complain_refund_return"),
    ("yeah hello so the engineer er was meant to fix my cooker and it's been a month", "complain_repair_warranty"),
    # brands, indirect phrasing
    ("my new Samsung telly just shows a black screen", "complain_product_quality"),
    ("the Lenovo I was sold last week gets so hot I can't touch it", "complain_product_quality"),
    ("the Hotpoint dryer I paid for on Saturday is now seventy pounds less", "complain_price"),
    ("two identical amounts came off my card for one order", "complain_billing"),
    ("the paperwork for my purchase has my old surname and no VAT", "complain_invoice"),
    ("the lady at the till was sarcastic and made me feel stupid", "complain_staff_conduct"),
    ("the app logs me out every time I try to look at my points", "complain_other"),
    ("I've waited in three Saturdays running and your people never show up with my sofa", "complain_delivery"),
]

CONVERSATION_PROBES = [
    ("i want a real human please not a chatbot", "request_human"),
    ("could you get a person to give me a ring", "request_human"),
    ("just put me through to somebody", "request_human"),
    ("can i have an operator", "request_human"),
    ("gimme an agent pls", "request_human"),
    ("i dunno, can i just speak to a person", "request_human"),
    ("No, I don't find that acceptable", "reject_explanation"),
    ("that's not good enough for me at all", "reject_explanation"),
    ("i'm not accepting that answer", "reject_explanation"),
    # mid-question and in the middle of a complaint (a request for a person must never be lost)
    ("erm so the thing is i dont really know, can i just get someone on the phone", "request_human"),
    ("my order's wrong and honestly i just want to talk to an actual human", "request_human"),
    ("ugh forget this, real person pls", "request_human"),
    # a complaint that merely mentions an agent is not a request for one
    ("the agent i spoke to yesterday was so rude and hung up", "complain_staff_conduct"),
    ("no, you've got the date wrong", "deny"),
    ("nah thats wrong", "deny"),
    ("nope, that's not right", "deny"),
    ("yeah go on then", "affirm"),
    ("yep that's all correct", "affirm"),
]


def test_no_training_sentence_under_two_intents():
    assert cross_intent_duplicates() == {}


def test_probes_are_not_training_sentences():
    trained = {normalise(text) for _, text, _ in examples()}
    assert [p for p, _ in CATEGORY_PROBES + CONVERSATION_PROBES if normalise(p) in trained] == []


@pytest.fixture(scope="module")
def parse():
    from rasa.core.agent import Agent

    agent = Agent.load(str(MODEL))
    loop = asyncio.new_event_loop()
    yield lambda text: loop.run_until_complete(agent.parse_message(text))["intent"]["name"]
    loop.close()


def wrong(parse, probes):
    return [(text, expected, got) for text, expected in probes if (got := parse(text)) != expected]


def test_complaints_in_customers_styles_get_their_category(parse):
    # One miss in twenty-four is allowed: this guards coverage, the held-out set measures it.
    assert len(wrong(parse, CATEGORY_PROBES)) <= 1, wrong(parse, CATEGORY_PROBES)


def test_requests_for_a_person_disagreement_and_yes_no_are_understood(parse):
    assert wrong(parse, CONVERSATION_PROBES) == []
