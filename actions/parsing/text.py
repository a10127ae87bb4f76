"""Free-text helpers: the product named, a storable answer, whether a message says
what went wrong, and a choice made by number or word."""
from __future__ import annotations

import re
from typing import List, Optional

_MONTH = re.compile(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b", re.IGNORECASE)
_TICKET_LIKE = re.compile(r"(?i)\b[a-z]{1,6}[\s\-]*\d{8}[\s\-]*\d{4,}\b")
_PRODUCT_WORDS = (
    "fridge freezer", "american fridge", "washing machine", "washer dryer", "tumble dryer", "dishwasher",
    "fridge", "freezer", "oven", "cooker", "hob", "microwave", "kettle", "toaster", "coffee machine",
    "hoover", "vacuum cleaner", "vacuum", "air fryer", "blender", "food processor", "iron", "hair dryer",
    "tv", "television", "soundbar", "speaker", "headphones", "earbuds", "laptop", "tablet", "ipad",
    "phone", "smartphone", "iphone", "monitor", "printer", "router", "camera", "games console",
    "console", "playstation", "xbox", "smartwatch", "watch", "fan", "heater", "dehumidifier",
    "hairdryer", "hair straighteners", "straighteners", "electric toothbrush", "toothbrush", "shaver",
    "robot vacuum", "stand mixer", "mixer", "juicer", "projector", "e-reader", "kindle", "sat nav",
    "drone", "doorbell", "smart speaker", "hob", "extractor", "range cooker", "chest freezer",
)
_PRODUCT = re.compile(
    r"\b((?:[\w\-']+\s+){0,2})(" + "|".join(re.escape(w) for w in sorted(_PRODUCT_WORDS, key=len, reverse=True)) + r")s?\b",
    re.IGNORECASE,
)
_BRANDS = {
    "bosch", "samsung", "dyson", "lg", "sony", "apple", "hotpoint", "lenovo", "hp", "dell", "beko", "miele",
    "philips", "panasonic", "shark", "ninja", "breville", "tefal", "kenwood", "smeg", "whirlpool", "indesit",
    "aeg", "zanussi", "hoover", "delonghi", "de'longhi", "nespresso", "jbl", "bose", "sonos", "google", "amazon",
    "microsoft", "asus", "acer", "huawei", "xiaomi", "oneplus", "nokia", "motorola", "canon", "nikon", "garmin",
    "fitbit", "logitech", "epson", "brother", "hisense", "tcl", "toshiba", "neff", "siemens", "haier", "russell",
    "hobbs", "morphy", "richards", "kitchenaid", "swan", "remington", "braun", "oral-b", "nintendo", "playstation",
}
_NOT_BRAND = {"my", "the", "a", "an", "new", "our", "this", "that", "your", "his", "her", "i", "brand", "and", "it", "bought"}
_FILLER = {
    "hi", "hello", "hey", "hiya", "good", "morning", "afternoon", "evening", "there", "my", "the", "a", "an",
    "it", "is", "was", "its", "it's", "i", "on", "at", "in", "of", "for", "and", "order", "number", "no",
    "ord", "bought", "purchased", "ordered", "paid", "cost", "from", "ref", "reference", "please", "thanks",
    "yes", "ok", "okay", "date", "amount", "last", "ago", "days", "weeks", "yesterday", "today", "pounds",
}


def parse_product(text: str) -> Optional[str]:
    """A product named in free text ('my Bosch washing machine' -> 'Bosch washing machine')."""
    if not text:
        return None
    match = _PRODUCT.search(text)
    if not match:
        return None
    # A brand is written with a capital ("my Bosch washing machine") or is a known one ("dyson"):
    # "sent the kettle back" or "no refund for the kettle" name no brand.
    before = match.group(1).split()
    brand_words = []
    for word in reversed(before):
        if word.lower() in _NOT_BRAND or not (word[:1].isupper() or word.lower() in _BRANDS):
            break
        brand_words.insert(0, word)
    return " ".join(brand_words + [match.group(2).lower()]).strip()


def clean_free_text(text: str, limit: int = 80) -> Optional[str]:
    """A free-text answer (a product name) trimmed to something storable."""
    words = re.sub(r"\s+", " ", text or "").strip(" .!?,")
    if not re.search(r"[A-Za-z]", words):
        return None
    return words[:limit]


def describes_problem(text: str) -> bool:
    """Whether a message says something beyond facts and greetings ('ORD-4400918, bought
    3 March 2023' does not; 'ORD-4400918 arrived broken' does)."""
    scrubbed = _PRODUCT.sub(" ", _TICKET_LIKE.sub(" ", text or ""))
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
