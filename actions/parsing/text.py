"""Free-text helpers: the product named, a storable answer, whether a message says
what went wrong, and a choice made by number or word. The products sold (kinds and
brands) and the reference form come from the catalog (FactSpec)."""
from __future__ import annotations

import re
from typing import List, Optional

from actions.parsing.references import ticket_pattern
from actions.parsing.spec import FactSpec, current_spec

_MONTH = re.compile(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b", re.IGNORECASE)
_NOT_BRAND = {"my", "the", "a", "an", "new", "our", "this", "that", "your", "his", "her", "i", "brand", "and", "it", "bought"}
_FILLER = {
    "hi", "hello", "hey", "hiya", "good", "morning", "afternoon", "evening", "there", "my", "the", "a", "an",
    "it", "is", "was", "its", "it's", "i", "on", "at", "in", "of", "for", "and", "order", "number", "no",
    "ord", "bought", "purchased", "ordered", "paid", "cost", "from", "ref", "reference", "please", "thanks",
    "yes", "ok", "okay", "date", "amount", "last", "ago", "days", "weeks", "yesterday", "today", "pounds",
}


def parse_product(text: str, spec: Optional[FactSpec] = None) -> Optional[str]:
    """A product named in free text ('my Bosch washing machine' -> 'Bosch washing machine')."""
    if not text:
        return None
    spec = current_spec(spec)
    match = spec.product_pattern.search(text)
    if not match:
        return None
    # A brand is written with a capital ("my Bosch washing machine") or is a known one ("dyson"):
    # "sent the kettle back" or "no refund for the kettle" name no brand.
    before = match.group(1).split()
    brand_words = []
    for word in reversed(before):
        if word.lower() in _NOT_BRAND or not (word[:1].isupper() or word.lower() in spec.brands):
            break
        brand_words.insert(0, word)
    return " ".join(brand_words + [match.group(2).lower()]).strip()


def clean_free_text(text: str, limit: int = 80) -> Optional[str]:
    """A free-text answer (a product name) trimmed to something storable."""
    words = re.sub(r"\s+", " ", text or "").strip(" .!?,")
    if not re.search(r"[A-Za-z]", words):
        return None
    return words[:limit]


def describes_problem(text: str, spec: Optional[FactSpec] = None) -> bool:
    """Whether a message says something beyond facts and greetings ('ORD-4400918, bought
    3 March 2023' does not; 'ORD-4400918 arrived broken' does)."""
    spec = current_spec(spec)
    scrubbed = spec.product_pattern.sub(" ", ticket_pattern(spec.ticket_ids).sub(" ", text or ""))
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
