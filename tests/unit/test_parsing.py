"""Key facts, precisely (docs/design.md#precise-facts): the held-out fact set and the traps around it."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from actions.parsing import extract_facts, ordinal_choice, parse_amount, parse_date, parse_phone, parse_ticket_ref
from actions.signals import message_emotion, risk_flags, style_hint
from bot.catalog import load_catalog
from bot.privacy import mask_secrets
from bot.speech import speakable_date

HELDOUT = yaml.safe_load((Path(__file__).resolve().parents[1] / "data" / "facts_heldout.yml").read_text())
TODAY = date(2026, 11, 22)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.mark.parametrize("case", HELDOUT, ids=[c["text"][:40] for c in HELDOUT])
def test_heldout_fact_extraction_when_answering_a_question(case, catalog):
    got = extract_facts(case["text"], catalog, date.fromisoformat(str(case["today"])), answering=True)
    for fact, expected in case["expected"].items():
        assert got.get(fact) == expected, f"{fact} of {case['text']!r}"


def test_a_bare_number_in_a_complaint_is_not_taken_as_an_order_number(catalog):
    assert "order_id" not in extract_facts("I've called 3 times about 4400918", catalog, TODAY)
    assert extract_facts("I've called 3 times about 4400918", catalog, TODAY, answering=True)["order_id"] == "ORD-4400918"


@pytest.mark.parametrize("text,expected", [
    ("bought it on 3rd of March 2023", "2023-03-03"),
    ("03/04/2023", "2023-04-03"),  # UK: day first
    ("yesterday", "2026-11-21"),
    ("two weeks ago", "2026-11-08"),
    ("tomorrow", None),  # a purchase can't be in the future
    ("in 2023", None),  # no day: not precise enough to decide a warranty
    ("sometime last year", None),
    ("two months ago", None),
    ("last tuesday", "2026-11-17"),
    ("", None),
])
def test_dates(text, expected):
    assert parse_date(text, TODAY) == expected


def test_amounts_need_a_currency_unless_asked():
    assert parse_amount("order 4400918 was late") is None
    assert parse_amount("it was £1,299.99") == 1299.99
    assert parse_amount("499", require_currency=False) == 499.0
    assert parse_amount("99p") == 0.99


def test_phone_numbers_and_ticket_refs():
    assert parse_phone("ring me on 020 7946 0958 please", "GB") == "+442079460958"
    assert parse_phone("4400918", "GB") is None
    assert parse_ticket_ref("any news on c-20261122-0007?") == "C-20261122-0007"
    # more forms: tests/unit/test_parsing_references.py; dates and amounts: tests/unit/test_parsing_dates.py, _amounts.py


def test_button_choice_by_number_or_word():
    options = ["Full refund", "Send a replacement", "None of these"]
    assert ordinal_choice("2", options) == "Send a replacement"
    assert ordinal_choice("the first one", options) == "Full refund"
    assert ordinal_choice("7", options) is None


@pytest.mark.parametrize("text,label", [
    ("Hello, my parcel hasn't arrived yet.", "calm"),
    ("I'm really disappointed, still waiting for my refund", "frustrated"),
    ("THIS IS A JOKE. WORST SERVICE EVER!!!", "angry"),
    ("please help, my elderly mother has no heating and the heater you sent is broken", "distressed"),
])
def test_emotion(text, label, catalog):
    assert message_emotion(text, catalog.data["signals"])[0] == label


def test_risk_flags_and_style(catalog):
    signals = catalog.data["signals"]
    flags = risk_flags(["I'll go to the ombudsman and post it on twitter, my solicitor agrees, third time I've called, idiots"], signals)
    assert flags == ["regulator", "media", "legal", "repeat_complaint", "abusive_language"]
    assert style_hint(["I want this fixed immediately, right now"], signals["style"]) == "assertive"
    assert risk_flags(["the charger caught fire and my son burned his hand"], signals) == ["safety"]
    assert risk_flags(["my laptop keeps overheating and shuts down"], signals) == []  # a fault, not a danger
    # found in role-play round 2: no safety advice was given for these
    for danger in ("it smells of burning every time I use it and the plug got hot", "the oven door glass shattered, glass everywhere",
                   "is it safe to keep using it?"):
        assert risk_flags([danger], signals) == ["safety"], danger
    assert risk_flags(["my phone screen cracked when I dropped it"], signals) == []
    assert risk_flags(["the kettle burnt my hand"], signals) == ["safety"]  # the British past tense
    assert risk_flags(["the toaster burnt the toast every time"], signals) == []  # a fault, nobody hurt
    # Words that name a button, a product, a person or a feeling are no threat and no danger: each
    # of these was once handed off at once as "high risk" (found 2026-12-07).
    for ordinary in ("when I press the power button nothing happens", "bought it on facebook marketplace",
                     "the youtube app crashes on the new TV", "I tried to put it on charge", "my wife Sue ordered it",
                     "the court shoes fell apart", "the smoke alarm I bought does not work", "the price shocked me",
                     "the flames on the gas hob are uneven", "the toaster burned the toast", "is it safe to pay by card?",
                     "the ice cream had melted when it arrived"):
        assert risk_flags([ordinary], signals) == [], ordinary
    for threat, flag in (("I will go to the press", "media"), ("I'll put it all over social media", "media"),
                         ("I am going to sue", "legal"), ("see you in court", "legal"),
                         ("smoke came out of the back", "safety"), ("it started smoking", "safety")):
        assert risk_flags([threat], signals) == [flag], threat
    assert style_hint(["sorry to bother you, if possible could you check my order"], signals["style"]) == "reserved"


def test_card_numbers_are_masked_but_order_numbers_kept():
    text = "card 4111-1111-1111-1111, order ORD-4400918, not a card 1234 5678 9012 3456"
    masked = mask_secrets(text)
    assert "[card ending 1111]" in masked and "ORD-4400918" in masked
    assert "1234 5678 9012 3456" in masked  # not Luhn-valid


def test_speakable_facts():
    # How an order number is said is the phone's (bot/speech.py, tests/live/test_twilio_ivr.py).
    assert speakable_date("2023-01-15") == "the fifteenth of January, twenty twenty-three"


@pytest.mark.parametrize("text,problem", [
    ("ORD-4400918", False), ("hi, order 4400918 bought 3 march 2023", False), ("it was £499.99", False),
    ("the Bosch washing machine", False), ("my kettle is broken", True),
    ("Hi, my washing machine arrived damaged, order number 4400918", True),
])
def test_whether_a_message_says_what_went_wrong(text, problem):
    from actions.parsing import describes_problem

    assert describes_problem(text) is problem
