"""Pure helpers that turn what a customer typed (or said) into precise key facts.

Dates go through dateparser, phone numbers through phonenumbers, amounts through
price-parser: hand-written date regexes are how a 2023 purchase gets recorded as
2024 (seed 003). Every parser returns None rather than a guess.
"""
from __future__ import annotations

import functools
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Dict, List, Optional

import dateparser
import phonenumbers
from dateparser.search import search_dates
from price_parser import Price

TICKET_REF = re.compile(r"\b[Cc]-?(\d{8})-?(\d{4})\b")
# Relative dates that name a day. "last year" or "two months ago" do not, so they
# can't decide a 30-day return or a 2-year warranty and are asked again.
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_RELATIVE = re.compile(
    r"\b(?:today|yesterday|(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?:days?|weeks?)\s+ago"
    r"|(?:last|this|on)?\s*" + _WEEKDAY + r")\b",
    re.IGNORECASE,
)
_MONTH = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b", re.IGNORECASE
)
_CURRENCY = re.compile(r"(£|\$|€|\bgbp\b|\bpounds?\b|\bquid\b|\beur\b|\busd\b|(?<=\d)p\b)", re.IGNORECASE)
# "it cost 1299.00": a price word and pence make a bare number an amount.
_PRICED = re.compile(r"(?i)\b(?:cost|costs|paid|price|priced|charged|refund of|total)\s+(?:was\s+|of\s+)?(\d[\d,]*\.\d{2})\b")
_PRODUCT_WORDS = (
    "fridge freezer", "american fridge", "washing machine", "washer dryer", "tumble dryer", "dishwasher",
    "fridge", "freezer", "oven", "cooker", "hob", "microwave", "kettle", "toaster", "coffee machine",
    "hoover", "vacuum cleaner", "vacuum", "air fryer", "blender", "food processor", "iron", "hair dryer",
    "tv", "television", "soundbar", "speaker", "headphones", "earbuds", "laptop", "tablet", "ipad",
    "phone", "smartphone", "iphone", "monitor", "printer", "router", "camera", "games console",
    "console", "playstation", "xbox", "smartwatch", "watch", "fan", "heater", "dehumidifier",
)
_PRODUCT = re.compile(
    r"\b((?:[A-Z][\w\-]+\s+){0,2})(" + "|".join(re.escape(w) for w in _PRODUCT_WORDS) + r")s?\b",
    re.IGNORECASE,
)
# 0 or + followed by 10+ digits with optional spaces: a phone number, never an order number.
_PHONE_LIKE = re.compile(r"(?:\+|\b0)\d(?:[\s\-]?\d){8,13}\b")
_NOT_BRAND = {"my", "the", "a", "an", "new", "our", "this", "that", "your", "his", "her", "i", "brand", "and", "it", "bought"}


def _date_settings(today: date) -> Dict[str, Any]:
    return {
        "RELATIVE_BASE": datetime(today.year, today.month, today.day, 12, 0),
        "PREFER_DATES_FROM": "past",
        "DATE_ORDER": "DMY",  # UK customers: 03/04/2023 is 3 April
        "PREFER_DAY_OF_MONTH": "first",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }


def _is_precise(fragment: str) -> bool:
    """A date a warranty can rest on: it names a day, or is relative to today.
    'in January' or '2023' alone is not precise enough to record."""
    if _RELATIVE.search(fragment):
        return True
    digits = re.findall(r"\d+", fragment)
    if _MONTH.search(fragment):
        return any(len(d) <= 2 for d in digits)  # a day number next to the month name
    return bool(re.search(r"\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}", fragment))


# A pure function of (text, today), and the slowest parser here (17 % of the action
# server's CPU under make bench): one message is parsed by several actions in one turn.
@functools.lru_cache(maxsize=2048)
def parse_date(text: str, today: date) -> Optional[str]:
    """The purchase date in text as ISO YYYY-MM-DD, or None when absent, vague or in the future."""
    if not text or not text.strip():
        return None
    cleaned = TICKET_REF.sub(" ", text)
    cleaned = re.sub(r"(?i)\bord(?:er)?\b[^0-9]{0,12}\d{5,}", " ", cleaned)  # order numbers are not dates
    cleaned = re.sub(r"[£$€]\s?\d[\d,]*(?:\.\d+)?", " ", cleaned)
    # dateparser's search only finds "yesterday" inside this phrase
    cleaned = re.sub(r"(?i)\b(?:the\s+)?day\s+before\s+yesterday\b", "2 days ago", cleaned)
    settings = _date_settings(today)
    try:
        found = search_dates(cleaned, languages=["en"], settings=settings) or []
    except (ValueError, OverflowError, RecursionError):
        found = []
    if not found:
        # search_dates misses some bare forms that parse does handle ("14/02/2024").
        try:
            parsed = dateparser.parse(cleaned.strip(), languages=["en"], settings=settings)
        except (ValueError, OverflowError, RecursionError):
            parsed = None
        found = [(cleaned.strip(), parsed)] if parsed else []
    for fragment, moment in found:
        if moment is None or not _is_precise(fragment):
            continue
        day = moment.date()
        if day > today or day.year < 1990:
            continue
        return day.isoformat()
    return None


def parse_order_id(text: str, pattern: re.Pattern, prefix: str, bare: Optional[re.Pattern] = None) -> Optional[str]:
    """'ord 4400918', 'order number 77120934', 'ORD-00918273' -> 'ORD-...' (digits kept as typed).
    With `bare`, a lone run of digits counts too: used only when we just asked for the number."""
    if not text:
        return None
    match = pattern.search(text)
    if match:
        return f"{prefix}{match.group(1)}"
    if bare is not None:
        scrubbed = _PHONE_LIKE.sub(" ", TICKET_REF.sub(" ", text))
        candidates = [m.group(1) for m in bare.finditer(scrubbed)]
        # Several numbers is not an answer we can trust.
        if len(candidates) == 1:
            return f"{prefix}{candidates[0]}"
    return None


def parse_amount(text: str, require_currency: bool = True) -> Optional[float]:
    """An amount of money. Without a currency marker only when we just asked for it,
    because bare numbers are usually order numbers."""
    if not text:
        return None
    scrubbed = re.sub(r"(?i)\bord(?:er)?\b[^0-9]{0,12}\d{5,}", " ", TICKET_REF.sub(" ", text))
    if require_currency and not _CURRENCY.search(scrubbed):
        priced = _PRICED.search(scrubbed)
        return float(priced.group(1).replace(",", "")) if priced else None
    # price-parser reads the first number; point it at the one next to the currency sign.
    near = re.search(r"(?:£|\$|€|gbp|eur|usd)\s?(\d[\d,]*(?:\.\d{1,2})?)|(\d[\d,]*(?:\.\d{1,2})?)\s?(?:pounds?|quid|gbp|p\b)", scrubbed, re.IGNORECASE)
    fragment = (near.group(1) or near.group(2)) if near else scrubbed
    price = Price.fromstring(fragment)
    if price.amount is None:
        return None
    try:
        value = float(Decimal(price.amount).quantize(Decimal("0.01")))
    except InvalidOperation:
        return None
    if near and near.group(2) and re.match(r"(?i)\d[\d,]*(?:\.\d{1,2})?\s?p\b", near.group(0)):
        value = round(value / 100, 2)  # "99p"
    if value <= 0 or value > 1_000_000:
        return None
    return value


def parse_product(text: str) -> Optional[str]:
    """A product named in free text ('my Bosch washing machine' -> 'Bosch washing machine')."""
    if not text:
        return None
    match = _PRODUCT.search(text)
    if not match:
        return None
    brand_words = [w for w in match.group(1).split() if w.lower() not in _NOT_BRAND]
    return " ".join(brand_words + [match.group(2).lower()]).strip()


def clean_free_text(text: str, limit: int = 80) -> Optional[str]:
    """A free-text answer (a product name) trimmed to something storable."""
    words = re.sub(r"\s+", " ", text or "").strip(" .!?,")
    if not re.search(r"[A-Za-z]", words):
        return None
    return words[:limit]


def parse_phone(text: str, region: str) -> Optional[str]:
    """The first valid phone number in text, as E.164."""
    if not text:
        return None
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
        number = match.number
        # Ofcom's fictional 07700 900xxx range (used in docs and tests) is possible but not
        # "valid"; a full-length possible number is a number a specialist can dial.
        if phonenumbers.is_valid_number(number) or (
            phonenumbers.is_possible_number(number) and len(str(number.national_number)) >= 10
        ):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def parse_ticket_ref(text: str) -> Optional[str]:
    match = TICKET_REF.search(text or "")
    return f"C-{match.group(1)}-{match.group(2)}" if match else None


def extract_facts(text: str, catalog, today: date, answering: bool = False) -> Dict[str, Any]:
    """Every key fact a message states, for 'ask only for what is missing'. `answering`:
    the message answers our question for a fact, so a bare number may be the order number."""
    bare = catalog.order_bare_pattern if answering else None
    facts = {
        "order_id": parse_order_id(text, catalog.order_pattern, catalog.order_prefix, bare),
        "purchase_date": parse_date(text, today),
        "amount": parse_amount(text),
        "product": parse_product(text),
    }
    return {k: v for k, v in facts.items() if v is not None}


_FILLER = {
    "hi", "hello", "hey", "hiya", "good", "morning", "afternoon", "evening", "there", "my", "the", "a", "an",
    "it", "is", "was", "its", "it's", "i", "on", "at", "in", "of", "for", "and", "order", "number", "no",
    "ord", "bought", "purchased", "ordered", "paid", "cost", "from", "ref", "reference", "please", "thanks",
    "yes", "ok", "okay", "date", "amount", "last", "ago", "days", "weeks", "yesterday", "today", "pounds",
}


def describes_problem(text: str) -> bool:
    """Whether a message says something beyond facts and greetings ('ORD-4400918, bought
    3 March 2023' does not; 'ORD-4400918 arrived broken' does)."""
    scrubbed = _PRODUCT.sub(" ", TICKET_REF.sub(" ", text or ""))
    scrubbed = re.sub(r"[£$€]?\d[\d,./\-]*", " ", scrubbed)
    words = [w for w in re.findall(r"[a-z']+", scrubbed.lower()) if w not in _FILLER and not _MONTH.fullmatch(w)]
    return len(words) >= 1


def ordinal_choice(text: str, options: List[str]) -> Optional[str]:
    """'2', 'the second', 'option 2' -> options[1]."""
    words = {"first": 1, "one": 1, "second": 2, "two": 2, "third": 3, "three": 3, "fourth": 4, "four": 4, "fifth": 5, "five": 5}
    lowered = (text or "").strip().lower()
    match = re.fullmatch(r"(?:option|number|no\.?|press)?\s*(\d)\.?", lowered)
    index = int(match.group(1)) if match else None
    if index is None:
        for word, value in words.items():
            if re.fullmatch(rf"(?:the\s+)?{word}(?:\s+one|\s+option)?", lowered):
                index = value
    if index and 1 <= index <= len(options):
        return options[index - 1]
    return None
