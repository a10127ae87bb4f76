"""Amounts of money in what a customer wrote: symbols and currency words (£, pounds,
quid, $, dollars, €, euros), amounts in words (via numbers.normalise_numbers) and
bare numbers where the sentence is about money ("for 899", "a payment of 49.99",
"charged me 1,249.00"). Order and phone numbers, references, dates, percentages,
quantities and model numbers are never amounts. Numbers are read with price-parser
using the catalog locale's decimal point.
"""
from __future__ import annotations

import difflib
import functools
import re
from decimal import Decimal, InvalidOperation
from typing import List, Optional

from price_parser import Price

from actions.parsing.dates import date_spans
from actions.parsing.reading import Money, Reading
from actions.parsing.references import identifier_view
from actions.parsing.spec import FactSpec, current_spec

_SYMBOLS = {"£": "GBP", "$": "USD", "us$": "USD", "€": "EUR", "gbp": "GBP", "usd": "USD", "eur": "EUR"}
_WORDS = {"pound": "GBP", "pounds": "GBP", "quid": "GBP", "sterling": "GBP", "gbp": "GBP", "pence": "GBP", "p": "GBP",
          "dollar": "USD", "dollars": "USD", "bucks": "USD", "buck": "USD", "usd": "USD",
          "euro": "EUR", "euros": "EUR", "eur": "EUR"}
# "in 2024": a year, even in an answer about money.
_YEAR_SAID = re.compile(r"(?i)\b(?:in|since|from|of|year|back\s+in)\s+$")
# Money slang: its value, and its currency where the word has one ("grand" is the catalog's).
_SLANG = {"tenner": (10, "GBP"), "fiver": (5, "GBP"), "grand": (1000, None)}
# Words after a number that make it a count, a size or a share, not money ("in" is inches,
# but not in "350 in the sale" or "300 in total").
_UNIT = (r"\s*(?:%|percent\b|per\s*cent\b|x\b|times\b|days?\b|weeks?\b|months?\b|years?\b|yrs?\b|hours?\b|hrs?\b|mins?\b"
         r"|minutes?\b|seconds?\b|items?\b|units?\b|pieces?\b|parcels?\b|packages?\b|boxes?\b|lots?\b|pairs?\b|inch(?:es)?\b"
         r"|in\b(?!\s+(?:(?:the|your|a|their|our)\s+)?(?:sales?|total)\b)|\"|cm\b|mm\b|m\b|kg\b|g\b|gb\b|tb\b|mb\b|w\b|watts?\b|v\b|volts?\b|l\b|litres?\b|ml\b|stars?\b|calls?\b"
         r"|e-?mails?\b|orders?\b|people\b|of\s+(?:them|these|those|the|my|your)\b|\w+s\b)")
# Words before a bare number that make it money. "for" is weaker: "for 2 kettles" is a
# count, so after it the number must end the phrase.
_STRONG = (r"(?:costs?|costing|cost\s+me|paid|pay|payments?|price[ds]?|priced|charged|charge|charges|refund(?:ed)?|total(?:led)?"
           r"|spent|spend|worth|valued?|deposit|fee|bill(?:ed)?|lots\s+of|amount|sum|balance|owed?|debited|taken|took|withdrawn|withdrew"
           # money spent, as it is said ("dropped 1.2k on a sofa", "forked out 300")
           r"|dropped|blew|splashed(?:\s+out)?|forked\s+out|shelled\s+out|set\s+me\s+back|out\s+of\s+pocket(?:\s+by)?"
           r"|hit\s+(?:my|the)\s+(?:card|account)\s+for"
           # ... and misspelt ("costed", "payed", "chraged")
           r"|costed|payed|chraged|chared|refnd(?:ed)?)")
_FILLER = r"(?:\s+(?:me|us|him|her|them|it|only|just|about|around|roughly|approx(?:imately)?|nearly|almost|over|was|is|of|a|an|the|full|back|at|to|for|me\s+for|total|nearly|like))*"
_ENDS_PHRASE = r"(?=\s*(?:$|[.,;:!?)]|\s(?:and|but|on|in|at|from|which|that|last|this|yesterday|today|with|so|then|only|if|when|because|a|an|ago|each|back|please|thanks|now|total|in\s+total)\b))"


@functools.lru_cache(maxsize=16)
def _patterns(decimal: str, group: str):
    d, g = re.escape(decimal), re.escape(group)
    num = rf"(?P<num>\d{{1,3}}(?:{g}\d{{3}})+(?:{d}\d{{1,2}})?|\d+(?:{d}\d{{1,2}})?)"
    plain = num.replace("(?P<num>", "(?:", 1)
    words = "|".join(sorted((re.escape(w) for w in _WORDS), key=len, reverse=True))
    # Next to a currency sign or word, or after a money word ("it cost 49,99"), "45,50" is
    # 45.50 written with a decimal comma, as much of Europe writes it ("1,299" is still a
    # thousands group: that alternative comes first).
    comma_num = num.replace(rf"|\d+(?:{d}", rf"|\d+{g}\d{{2}}(?![\d{g}])|\d+(?:{d}", 1)
    # Next to a currency sign or word, "£1 200" and "1 200 pounds" are 1200, thousands grouped
    # with a space (read as £1, or as 200, they were wrong); "£10 100 days ago" is not.
    # "1.299,00 EUR": thousands with dots and a decimal comma, as much of Europe writes a price
    european = rf"\d{{1,3}}(?:{d}\d{{3}})+{g}\d{{2}}(?![\d{g}{d}])"
    spaced = rf"\d{{1,3}}(?: \d{{3}})+(?!\d)(?:{d}\d{{1,2}}|{g}\d{{2}}(?!\d))?(?![\d{g}{d}])(?=\s*(?:{words})\b|(?!{_UNIT}))"
    money_num = comma_num.replace("(?P<num>", rf"(?P<num>{european}|{spaced}|", 1)
    lead = r"(?<![A-Za-z\d\-/.,])"
    symbols = "|".join(re.escape(s) for s in sorted(_SYMBOLS, key=len, reverse=True))
    minor = r"(?:\s+(?:and\s+)?(?P<minor>\d{1,2})(?:\s*(?:p|pence|cents?))?(?![\d.,]))?"
    return {
        "before": re.compile(rf"(?i)(?P<sym>{symbols})\s?{money_num}(?P<k>\s?k\b)?(?![\d])"),
        # "30 quid", "30-odd quid", "30ish pounds", "45,50 €"
        "after": re.compile(rf"(?i){lead}{money_num}(?P<k>\s?k)?(?:[\s\-]?(?:odd|ish))?\s?"
                            rf"(?:(?P<word>{words})\b|(?P<sym>[£$€])(?!\s?\d))(?(word){minor}|)"),
        # "2 grand", "a tenner", "2.5 grand", "two and a half grand", "a grand and a half", "half a grand"
        "slang": re.compile(rf"(?i)\b(?:(?P<count>\d+(?:\.\d+)?)(?P<half>\s+and\s+a\s+half)?|(?P<halfa>half\s+)?an?)"
                            rf"\s+(?P<slang>{'|'.join(_SLANG)})s?\b(?P<after_half>\s+and\s+a\s+half\b)?"),
        # "paid 1.2k": thousands said with k count after a money word too
        # "it cost 49,99": after a money word a decimal comma is read as next to a sign
        "context": re.compile(rf"(?i)\b{_STRONG}{_FILLER}\s+{lead}(?:(?P<major>\d{{1,4}})\s(?P<cents>\d{{2}})(?!\d)|{comma_num}(?P<k>k)?)(?![\d{d}A-Za-z])(?!{g}\d)(?!{_UNIT})"),
        # after "for": a price-like number (pence, or 100 and more) or one that ends the phrase
        "for": re.compile(rf"(?i)\bfor{_FILLER}\s+{lead}(?:(?=\d+{d}\d{{2}}\b|[1-9]\d{{2}})|(?={plain}(?![\d{d}{g}A-Za-z]){_ENDS_PHRASE})){num}(?![\d{d}{g}A-Za-z])(?!{_UNIT})"),
        # "it was 350 in the sale", "it was forty nine ninety nine": after "was" only a price-like
        # number (pence, or 100 and more, never a year), and never a time of day ("it was 12 30")
        "was": re.compile(rf"(?i)\b(?:was|were){_FILLER}\s+{lead}(?:(?P<major>\d{{1,4}})\s(?P<cents>\d{{2}})(?!\d)"
                          rf"|(?=\d+{d}\d{{2}}\b|[1-9]\d{{2}}|\d+{d}\dk\b)(?!(?:19|20)\d{{2}}\b){num}(?P<k>(?<={d}\d)k)?)"
                          rf"(?![\d{d}{g}A-Za-z])(?!{_UNIT})"),
        # ... and after "is" only pence ("the care plan is 9.99 a month")
        "is": re.compile(rf"(?i)\b(?:is|are){_FILLER}\s+{lead}(?=\d+{d}\d{{2}}\b){num}(?![\d{d}{g}A-Za-z])(?!{_UNIT})"),
        # "2k on a sofa bed": thousands spent on something ("4k" and "8k" are screens: "the 4k on
        # this telly is blurry")
        "k_on": re.compile(rf"(?i){lead}(?![48]k\b)(?P<num>\d{{1,3}}(?:{d}\d)?)(?P<k>k)\s+on\b"),
        "bare": re.compile(rf"(?i){lead}(?:(?P<major>\d{{1,4}})\s(?P<cents>\d{{2}})(?!\d)|{num})(?![\d{d}{g}A-Za-z])(?!{_UNIT})"),
    }


def _is_year(view: str, match: re.Match) -> bool:
    return bool(re.fullmatch(r"(?:19|20)\d{2}", match.group(0))) and bool(_YEAR_SAID.search(view[:match.start()]))


def _value(raw: str, spec: FactSpec) -> Optional[Decimal]:
    raw = re.sub(r"(?<=\d) (?=\d{3}(?!\d))", "", raw)  # "1 200": a thousands group (see money_num)
    d, g = re.escape(spec.decimal_symbol), re.escape(spec.group_symbol)
    if re.fullmatch(rf"\d{{1,3}}(?:{d}\d{{3}})+{g}\d{{2}}", raw):
        # "1.299,00" (see money_num): the other way round from the catalog's locale
        raw = raw.replace(spec.decimal_symbol, "").replace(spec.group_symbol, spec.decimal_symbol)
    if re.fullmatch(rf"\d+{g}\d{{2}}", raw):
        raw = raw.replace(spec.group_symbol, spec.decimal_symbol)  # a decimal comma (see money_num)
    amount = Price.fromstring(raw, decimal_separator=spec.decimal_symbol).amount
    return Decimal(amount) if amount is not None else None


def _money(match: re.Match, kind: str, spec: FactSpec) -> Optional[Money]:
    groups = match.groupdict()
    currency = spec.currency
    if kind == "slang":
        worth, said_in = _SLANG[groups["slang"].lower()]
        count = Decimal(groups["count"] or 1) + (Decimal("0.5") if groups["half"] or groups["after_half"] else 0)
        value = Decimal(worth) * (Decimal("0.5") if groups["halfa"] else count)
        currency = said_in or spec.currency
    elif groups.get("major"):
        if kind == "was" and int(groups["major"]) <= 24 and int(groups["cents"]) % 5 == 0:
            return None  # "it was 12 30": a time of day as likely as a price
        value = Decimal(f"{groups['major']}.{groups['cents']}")  # "forty nine ninety nine"
    else:
        value = _value(groups["num"], spec)
        if value is None:
            return None
        if groups.get("k"):
            value *= 1000
        word = (groups.get("word") or "").lower()
        if groups.get("sym"):
            currency = _SYMBOLS[groups["sym"].lower()]
        elif word:
            currency = _WORDS[word]
            if word in ("p", "pence") and spec.decimal_symbol not in groups["num"]:
                value /= 100  # "99p"; but "49.99p" is how many write £49.99
            elif groups.get("minor"):
                value += Decimal(groups["minor"]) / 100  # "49 pounds 99"
    try:
        value = value.quantize(Decimal("0.01"))
    except InvalidOperation:
        return None
    if not 0 < value <= 1_000_000:
        return None
    return Money(float(value), currency)


# A currency word as customers misspell it after a number ("35 punds", "89 eruos", "45
# dollers"): the nearest of these (difflib), when it starts with the same letter, is close
# enough and about as long (a slip, not another word); "3 rounds", "10 points", "2 hours" and
# "3 dolls" are not.
_CURRENCY_SPELLINGS = ("pound", "pounds", "quid", "euro", "euros", "dollar", "dollars", "sterling")
_AFTER_A_NUMBER = re.compile(r"(?<=\d)(\s?)([A-Za-z]{4,9})\b")


def _currency_spelt(match: re.Match) -> str:
    word = match.group(2)
    if word.lower() in _WORDS:
        return match.group(0)
    near = [w for w in difflib.get_close_matches(word.lower(), _CURRENCY_SPELLINGS, n=1, cutoff=0.72)
            if w[0] == word[0].lower() and abs(len(w) - len(word)) <= 1]
    return match.group(1) + near[0] if near else match.group(0)


def _view(text: str, spec: FactSpec) -> str:
    """Numbers as digits; order numbers, references, phone numbers and dates blanked;
    misspelt currency words after a number spelt right; "£49 .99" closed up."""
    view, _ = identifier_view(text, spec)
    spans = [m.span() for m in spec.order_pattern.finditer(view)] + date_spans(view)
    chars = list(view)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    view = re.sub(rf"(?<=\d) (?={re.escape(spec.decimal_symbol)}\d{{2}}(?!\d))", "", "".join(chars))
    return _AFTER_A_NUMBER.sub(_currency_spelt, view)


@functools.lru_cache(maxsize=2048)
def read_amounts(text: str, spec: Optional[FactSpec] = None, answering: bool = False) -> Reading:
    """Money in text: ONE Money, AMBIGUOUS between different ones, or NONE. `answering`:
    the message answers our question for the amount, so a lone number counts."""
    spec = current_spec(spec)
    if not text:
        return Reading()
    view = _view(text, spec)
    patterns = _patterns(spec.decimal_symbol, spec.group_symbol)
    found: List[tuple] = []
    taken: List[tuple] = []
    kinds = ("before", "after", "slang", "context", "for", "was", "is", "k_on") + (("bare",) if answering else ())
    for kind in kinds:
        if kind == "bare" and found:
            break  # a lone number counts only when nothing said it was money
        for match in patterns[kind].finditer(view):
            if kind == "bare" and _is_year(view, match):
                continue
            start, end = match.span()
            if any(start < e and s < end for s, e in taken):
                continue  # the same number, already read with its currency
            money = _money(match, kind, spec)
            if money is not None:
                found.append((start, money))
                taken.append((start, end))
    return Reading.of([money for _, money in sorted(found)])


def parse_amount(text: str, require_currency: bool = True, spec: Optional[FactSpec] = None) -> Optional[float]:
    """The amount in text, or None when absent or when two different amounts are given.
    Without a currency or a money word only when we just asked for it (`require_currency`
    False), because bare numbers are usually order numbers."""
    reading = read_amounts(text or "", spec, answering=not require_currency)
    return reading.value.amount if reading.value is not None else None
