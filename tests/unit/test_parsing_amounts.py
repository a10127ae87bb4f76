"""Amounts as customers write and say them (issue 12, item 4): currency words and symbols,
amounts in words, bare numbers where the sentence is about money; never an order or
phone number, a date, a year, a percentage, a quantity or a model number."""
from __future__ import annotations

import pytest

from actions.parsing import AMBIGUOUS, NONE, ONE, Money, parse_amount, read_amounts


@pytest.mark.parametrize("text,amount,currency", [
    ("it was £499.99", 499.99, "GBP"),
    ("I paid 499 pounds", 499.0, "GBP"),
    ("GBP 1,299", 1299.0, "GBP"),
    ("a hundred quid", 100.0, "GBP"),
    ("three hundred and forty pounds", 340.0, "GBP"),
    ("it cost me one thousand two hundred and forty nine pounds", 1249.0, "GBP"),
    ("one pound fifty", 1.5, "GBP"),
    ("49 pounds 99", 49.99, "GBP"),
    ("99p", 0.99, "GBP"),
    ("it was a tenner", 10.0, "GBP"),
    ("paid £1.5k", 1500.0, "GBP"),
    ("I paid 1.2k for the sofa", 1200.0, "GBP"),  # k without a symbol, after a money word
    # other currencies are read and recorded as such
    ("they took 180 dollars", 180.0, "USD"),
    ("$20 extra", 20.0, "USD"),
    ("charged 45 euros", 45.0, "EUR"),
    ("€45", 45.0, "EUR"),
    # bare numbers where the sentence is about money
    ("bought it for 899", 899.0, "GBP"),
    ("my QE55Q80C tv for 899 died after 3 months", 899.0, "GBP"),
    ("a payment of 49.99 went out", 49.99, "GBP"),
    ("two payments of 29.99 came out", 29.99, "GBP"),  # one charge, taken twice
    ("2 lots of 89.99", 89.99, "GBP"),
    ("they charged me 1,249.00", 1249.0, "GBP"),
    ("it cost 1299.00", 1299.0, "GBP"),
    ("the price was 349", 349.0, "GBP"),
    ("a refund of 120.50", 120.5, "GBP"),
    ("I paid forty nine ninety nine", 49.99, "GBP"),
    ("I bought a 55 inch TV for £649 two weeks ago", 649.0, "GBP"),
    ("card ending 4242 was charged £19.99", 19.99, "GBP"),
    ("ord 77120934, paid £1,299 on 14/02/2024", 1299.0, "GBP"),
    ("charged £499.99 twice", 499.99, "GBP"),
    # pence written after pounds, roughly stated amounts, decimal commas, a sign after the number
    ("it was £49.99p", 49.99, "GBP"),
    ("paid 49.99p for it", 49.99, "GBP"),
    ("charged me like 30 odd quid", 30.0, "GBP"),
    ("a 30-odd quid delivery charge", 30.0, "GBP"),
    ("about 30ish pounds", 30.0, "GBP"),
    ("they charged me £12,50", 12.5, "GBP"),
    ("paid 45,50 € for it", 45.5, "EUR"),
    ("the charger cost 45€", 45.0, "EUR"),
    ("I bought 2 £45 kettles", 45.0, "GBP"),  # the count before a sign is not money
    ("it cost 49,99", 49.99, "GBP"),  # a decimal comma after a money word too
    # thousands grouped with a space (were read as £1, or as 200)
    ("it was £1 200 for the sofa", 1200.0, "GBP"),
    ("paid 1 200 pounds", 1200.0, "GBP"),
    ("1 299,99 € on my card", 1299.99, "EUR"),
    ("£1\u00a0200", 1200.0, "GBP"),  # a no-break space
    ("paid £10 100 days ago", 10.0, "GBP"),  # ... but a count after it is not a group
    # money slang with a half (were read as 2 and 1000)
    ("two and a half grand for a sofa that fell apart", 2500.0, "GBP"),
    ("spent a grand and a half on it", 1500.0, "GBP"),
    ("half a grand down the drain", 500.0, "GBP"),
    ("2.5 grand", 2500.0, "GBP"),
    # after "was", a price-like number; "in the sale" is not inches; spending as it is said;
    # European thousands dots with a decimal comma
    ("The mattress was 350 in the sale and it sags", 350.0, "GBP"),
    ("bought the 65 inch OLED for 899 in your sale", 899.0, "GBP"),
    ("yeah it was forty nine ninety nine and the jug cracked", 49.99, "GBP"),
    ("dropped 1.2k on a sofa bed", 1200.0, "GBP"),
    ("forked out 300 for the care plan", 300.0, "GBP"),
    ("Paid 1.299,00 EUR for the range cooker", 1299.0, "EUR"),
    # currency words misspelt, a space before the pence, misspelt money verbs, "k" spent on
    ("the toaster was 35 punds and it burnt out", 35.0, "GBP"),
    ("I buy the coffee machine for 89 eruos in your shop", 89.0, "EUR"),
    ("paid 45 dollers on ur website", 45.0, "USD"),
    ("spent 60 quids on a blender", 60.0, "GBP"),
    ("the charge was £49 .99 but the speaker arrived cracked", 49.99, "GBP"),
    ("this blender costed me 80 and its rubbish", 80.0, "GBP"),
    ("i payed 49.99 for a hair straightener", 49.99, "GBP"),
    ("they hit my card for 45 for a delivery that never came", 45.0, "GBP"),
    ("i'm out of pocket 35 because the label never came", 35.0, "GBP"),
    ("2k on a sofa bed?? and the mechanism jammed", 2000.0, "GBP"),
    ("the OLED was like 1.8k and its got burn in", 1800.0, "GBP"),
    ("the care plan is 9.99 a month and they wont honour it", 9.99, "GBP"),
    ("the kettle was like forty-nine ninety-nine and it stopped", 49.99, "GBP"),
    ("I paid 45, and it broke the next day", 45.0, "GBP"),  # a comma after the number
])
def test_a_stated_amount_is_read_with_its_currency(text, amount, currency):
    reading = read_amounts(text)
    assert reading.status == ONE
    assert reading.value == Money(amount, currency)
    assert parse_amount(text) == amount


@pytest.mark.parametrize("text", [
    "order 4400918 was late",  # order number
    "order number 55120937 for my kettle",
    "call me on 07700 900123",  # phone number
    "ring 020 7946 0958 for 5 minutes",
    "any news on C-20261201-0015?",  # ticket reference
    "bought it on 14/02/2024",  # date
    "bought it in 2024",  # year
    "I got 20% off",  # percentage
    "a 20 percent discount",
    "I ordered 2 kettles",  # quantity
    "order for 2 kettles",
    "I waited for 3 weeks",
    "I've called 3 times",
    "the WH-1000XM5 headphones",  # model number
    "my 55 inch TV",
    "postcode LS1 4AP",
    "forty nine ninety nine",  # two numbers and nothing to say they are money
    "it was twelve thirty when the driver came",  # a time of day, not £12.30
    "there was 1 in the box",
    "it was 2024 when I bought it",
    "it was 55 in the box",  # not price-like after "was"
    "I asked for 2 in the store",  # a count, as "in" before a place still says
    "there were 150 in the queue",
    "I rang 3 rounds of calls and got nowhere",  # near a currency word, but not one
    "I lost 10 points off my loyalty card",
    "I ordered 3 dolls and one arrived broken",  # close to "dollars", but another word
    "we waited 2 hours in the store",
    "my 4k telly keeps freezing",  # a screen, not money
    "the 4k on this telly is blurry",
    "the sofa is 150 centimetres too long",
    "it is 300 miles to your nearest store",
    "",
])
def test_no_amount_where_none_is_stated(text):
    assert read_amounts(text).status == NONE
    assert parse_amount(text) is None


def test_two_different_amounts_are_ambiguous_with_the_candidates():
    reading = read_amounts("I paid £49.99 and they only refunded £20")
    assert reading.status == AMBIGUOUS and reading.value is None
    assert reading.candidates == (Money(49.99, "GBP"), Money(20.0, "GBP"))
    assert parse_amount("I paid £49.99 and they only refunded £20") is None


def test_one_amount_said_twice_is_one_amount():
    assert read_amounts("£49.99, yes 49.99 pounds").status == ONE


def test_a_lone_number_is_an_amount_only_as_the_answer_to_our_question():
    assert parse_amount("499") is None
    assert parse_amount("499", require_currency=False) == 499.0
    assert parse_amount("it was about 500", require_currency=False) == 500.0
    assert parse_amount("in 2024", require_currency=False) is None
    assert parse_amount("bought 2 for 899", require_currency=False) == 899.0
    assert parse_amount("4400918 or 5512093", require_currency=False) is None
