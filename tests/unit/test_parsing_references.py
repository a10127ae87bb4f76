"""Order numbers and ticket references as customers type and say them (issue 12 item 4,
issue 10 item 10), and the business forms taken from the catalog, not from code."""
from __future__ import annotations

import copy
from datetime import date
from pathlib import Path

import pytest
import yaml

from actions.parsing import (
    AMBIGUOUS, NONE, ONE, FactSpec, extract_facts, other_references, parse_order_id, parse_ticket_ref, read_amounts, read_facts, read_order_ids,
)
from bot.catalog import Catalog, CatalogError, load_catalog

TODAY = date(2026, 11, 22)
RAW = yaml.safe_load((Path(__file__).resolve().parents[2] / "policy" / "catalog.yml").read_text())


@pytest.fixture(scope="module")
def spec():
    return FactSpec.from_catalog(load_catalog())


@pytest.mark.parametrize("text,expected", [
    ("order #12093847", "ORD-12093847"),
    ("my order ref 3307715 never came", "ORD-3307715"),
    ("ORD9102837", "ORD-9102837"),
    # typed in a hurry, and the number on the order e-mail
    ("order nr 4402918 still not here", "ORD-4402918"),
    ("ordr 4402918 is late", "ORD-4402918"),
    ("oder numbr 4402918", "ORD-4402918"),
    ("my order, number 4402918, never came", "ORD-4402918"),
    ("it's about my order (ref: 4402918)", "ORD-4402918"),
    ("confirmation number 4402918", "ORD-4402918"),
    ("ORD\u20134402918", "ORD-4402918"),  # an en dash
    ("order no 6620194", "ORD-6620194"),
    ("ord-0091827", "ORD-0091827"),  # leading zeros kept
    ("the order number is 55120937", "ORD-55120937"),
    # on the phone: digits read one at a time, as words, or in groups
    ("my order number is 5 5 1 2 0 9 3", "ORD-5512093"),
    ("order number five five one two oh nine three", "ORD-5512093"),
    ("order number double five one two zero nine three", "ORD-5512093"),
    ("order number 551 2093", "ORD-5512093"),
    ("so the order number is um 5 5 1 2 0 9 3", "ORD-5512093"),
    ("call me on 07700900123, the order is ORD-5512390", "ORD-5512390"),
    # ten digits introduced as the order's, though they could be dialled (01234 509876)
    ("my order number is 1234509876", "ORD-1234509876"),
    ("Order No: 1234509876, still nothing", "ORD-1234509876"),
    ("order no. 12345 09876 still not here", "ORD-1234509876"),
    # in brackets, and after two words that name it
    ("my order (10293847) is late", "ORD-10293847"),
    ("the order reference number is 10293847.", "ORD-10293847"),
    ("order ref no 4400918 came broken", "ORD-4400918"),
    # typed in dash-separated groups
    ("order 1234-509-876 never came", "ORD-1234509876"),
    ("my order number is 4400-918, still waiting", "ORD-4400918"),
])
def test_an_order_number_is_read(text, expected, spec):
    reading = read_order_ids(text, spec)
    assert (reading.status, reading.value) == (ONE, expected)


@pytest.mark.parametrize("text", [
    "you can call me on 07700 900123",  # phone numbers
    "ring me on +44 7700 900123",
    "my number is 0 7 7 0 0 9 0 0 1 2 3",
    "my postcode is LS1 4AP",
    "it cost £1234567",  # a price
    "bought in 2024",  # a year
    "the WH-1000XM5 stopped working",  # model numbers
    "my HX-1234567 shaver",
    "any update on C-20261119-0042?",  # a ticket reference
    "order date 2023-03-03",  # a date
    "order placed 12-11-2026 still not here",  # a day-first date in groups, not an order number
    "order from 3 11 26 never came",
    "my order on 12 11 2026 never came",
    "order 44009 arrived broken",  # too short
    "call me on 01234 509876 about my order",  # a landline, not introduced as the order's
    "my order is late, ring 01234509876",
])
def test_no_order_number_where_none_is_stated(text, spec):
    assert read_order_ids(text, spec, answering=True).status == NONE


def test_a_bare_number_is_an_order_number_only_as_the_answer_to_our_question(spec):
    assert read_order_ids("5 5 1 2 0 9 3", spec).status == NONE
    assert read_order_ids("5 5 1 2 0 9 3", spec, answering=True).value == "ORD-5512093"
    assert read_order_ids("it's 4400918", spec, answering=True).value == "ORD-4400918"


def test_two_different_order_numbers_are_ambiguous_with_the_candidates(spec):
    reading = read_order_ids("it's either order 4400918 or order 5512093", spec)
    assert reading.status == AMBIGUOUS
    assert reading.candidates == ("ORD-4400918", "ORD-5512093")
    assert read_order_ids("order 4400918, yes order 4400918", spec).status == ONE
    assert parse_order_id("order 4400918 and order 5512093", spec.order_pattern, spec.order_prefix) is None


@pytest.mark.parametrize("text", [
    "C-20261201-0015", "c20261201 0015", "C 2026 1201 0015", "c-20261201-0015", "my reference is C2026-12-01-0015",
    "C 2 0 2 6 1 2 0 1 0 0 1 5",  # read out digit by digit
    "c two zero two six one two zero one zero zero one five",  # speech to text
    "c twenty twenty six twelve oh one double oh fifteen",
])
def test_a_ticket_reference_is_read_however_it_is_spaced(text):
    assert parse_ticket_ref(text) == "C-20261201-0015"


def test_a_ticket_counter_may_have_more_than_four_digits():
    assert parse_ticket_ref("any news on C-20261201-10015?") == "C-20261201-10015"


@pytest.mark.parametrize("text", ["C-20261301-0015", "C-2026120-0015", "abc20261201 0015", "order 20261201 0015", "C-20261201-015"])
def test_no_ticket_reference_where_none_is_stated(text):
    assert parse_ticket_ref(text) is None


def _catalog(**business):
    raw = copy.deepcopy(RAW)
    raw["business"].update(business)
    return Catalog(raw)


def test_the_reference_form_and_currency_come_from_the_catalog():
    spec = FactSpec.from_catalog(_catalog(ticket_id_prefix="CMP-", ticket_id_counter_digits=5, currency="EUR", locale="de_DE"))
    assert parse_ticket_ref("CMP 20261201 00015", spec) == "CMP-20261201-00015"
    assert parse_ticket_ref("C-20261201-0015", spec) is None
    assert parse_ticket_ref("CMP-20261201-0015", spec) is None  # fewer counter digits than the catalog's
    # A bare amount is in the catalog's currency, with its locale's decimal comma.
    assert read_amounts("they charged me 1.249,50", spec).value.amount == 1249.5
    assert read_amounts("I paid 49,99 for it", spec).value.currency == "EUR"
    assert read_amounts("I paid 49,99 for it", spec).value.amount == 49.99
    assert read_amounts("I paid £20", spec).value.currency == "GBP"


@pytest.mark.parametrize("business,error", [
    ({"currency": "pounds"}, "currency"),
    ({"locale": "english"}, "locale"),
    ({"ticket_id_prefix": "C-1"}, "ticket_id_prefix"),
    ({"ticket_id_counter_digits": 0}, "ticket_id_counter_digits"),
])
def test_the_catalog_rejects_unusable_fact_formats(business, error):
    with pytest.raises(CatalogError, match=error):
        _catalog(**business)


def test_read_facts_keeps_what_extract_facts_cannot_decide():
    catalog = load_catalog()
    text = "order 4400918, paid 180 dollars and then £20, bought 3rd Nov, returned it on 10th Nov"
    readings = read_facts(text, catalog, TODAY)
    assert readings["order_id"].value == "ORD-4400918"
    assert readings["purchase_date"].value == "2026-11-03"
    assert readings["amount"].status == AMBIGUOUS
    facts = extract_facts(text, catalog, TODAY)
    assert facts == {"order_id": "ORD-4400918", "purchase_date": "2026-11-03"}  # the amount is asked, not guessed
    assert read_facts("it was 180 dollars", catalog, TODAY)["amount"].value.currency == "USD"
    assert read_facts("499", catalog, TODAY, answering="amount")["amount"].value.amount == 499.0


@pytest.mark.parametrize("text, expected", [
    ("its 4471 2093", "ORD-44712093"),
    ("9920 3381", "ORD-99203381"),
    ("ordr num 9087 1123", "ORD-90871123"),
])
def test_an_answer_in_digit_groups_is_the_order_number(text, expected):
    """Found in the role-play: the number as printed in groups, typed right after we asked."""
    assert read_order_ids(text, answering=True).value == expected


@pytest.mark.parametrize("text", ["it was 12 11 2026", "call me on 07700 900123", "i paid 45 99", "12 30"])
def test_dates_phones_prices_and_short_groups_are_not_order_numbers(text):
    assert read_order_ids(text, answering=True).value is None


def test_digit_groups_unasked_are_no_order_number():
    assert read_order_ids("I have 4471 2093 reasons to be cross").value is None


@pytest.mark.parametrize("text, expected", [
    # found in the role-play (round 3): none of these was recorded
    ("my laptop went for repair 3 weeks ago. HP Envy, bought in feb 2025. repair ref R-55821", [("repair", "R-55821")]),
    ("Invoice INV-20261130-118 shows £1,299 but I agreed £1,199", [("invoice", "INV-20261130-118")]),
    ("I have the Royal Mail tracking number if that helps: KN123456789GB", [("tracking", "KN123456789GB")]),
    ("tracking number is 1Z999AA10123456784", [("tracking", "1Z999AA10123456784")]),
    ("my claim number: CLM-2231", [("claim", "CLM-2231")]),
])
def test_the_customers_other_references_are_read(text, expected):
    assert other_references(text) == expected


@pytest.mark.parametrize("text", [
    "order ORD-4400918 and my complaint C-20261201-0015",   # the order number and our reference are facts of their own
    "the invoice for £45 is wrong",
    "I want to return it on 12/11",
    "the repair took 3 weeks",
    "a refund of 49.99 please",
    "returned 2 items last week",
])
def test_no_other_reference_where_there_is_none(text):
    assert other_references(text) == []
