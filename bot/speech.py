"""The phone's forms of key facts, both ways.

Said to the caller: a number in groups of three or four digits with a pause between
groups ("four four seven, zero nine one eight"), never letter by letter; a date in words.
Heard from the caller: digits said one by one or in groups ("five five one two zero nine
three", "C 2026 1201 0015") and digits keyed on the keypad become the one number they
are, in its written form, before the assistant reads the message (`heard_numbers`,
`keyed_number`): a reference in the format of the catalog's ticket ids
(bot/tickets/ids.py). What the recogniser should listen for (`speech_hints`) is the
catalog's words for its categories and remedies.
"""
from __future__ import annotations

import re
from datetime import date
from typing import List, Optional

from bot.catalog import Catalog, load_catalog
from bot.tickets.ids import TicketIdFormat

_DIGITS = "zero one two three four five six seven eight nine".split()
_ORDINALS = [
    "", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
    "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
    "eighteenth", "nineteenth", "twentieth", "twenty-first", "twenty-second", "twenty-third",
    "twenty-fourth", "twenty-fifth", "twenty-sixth", "twenty-seventh", "twenty-eighth",
    "twenty-ninth", "thirtieth", "thirty-first",
]
MAX_GROUP = 4  # a listener holds three or four digits at a time


def speakable_digits(text: str) -> str:
    """Each digit as a word, no grouping: for short things ('9' -> 'nine')."""
    return " ".join(_DIGITS[int(c)] if c.isdigit() else c for c in text if c.isalnum())


def digit_groups(digits: str) -> List[str]:
    """'4470918' -> ['447', '0918']: as few groups as hold at most four digits, as even as
    possible, the shorter first (how people read out phone and card numbers)."""
    if len(digits) <= MAX_GROUP:
        return [digits] if digits else []
    count = -(-len(digits) // MAX_GROUP)
    short, extra = divmod(len(digits), count)
    sizes = [short] * (count - extra) + [short + 1] * extra
    groups, start = [], 0
    for size in sizes:
        groups.append(digits[start:start + size])
        start += size
    return groups


def speakable_number(digits: str) -> str:
    """'4470918' -> 'four four seven, zero nine one eight' (the comma is the TTS's pause)."""
    return ", ".join(speakable_digits(group) for group in digit_groups(re.sub(r"\D", "", digits)))


def speakable_order_id(reference: str) -> str:
    """An order number or ticket reference as it is read out.

    'ORD-4470918' -> 'four four seven, zero nine one eight': a word-like prefix is the
    written form's label, not something to spell ("O R D"); the sentence around it says
    "order". 'C-20261201-0015' -> 'C, two zero two six, one two zero one, zero zero one
    five': a one-letter prefix is part of what the customer quotes back, so it is said.
    Each written block of digits is grouped on its own, so the groups match the written form.
    """
    prefix = re.match(r"^\s*([A-Za-z]+)", reference or "")
    parts = []
    if prefix and len(prefix.group(1)) == 1:
        parts.append(prefix.group(1).upper())
    parts += [speakable_number(block) for block in re.findall(r"\d+", reference or "")]
    return ", ".join(parts)


def speakable_year(year: int) -> str:
    tens = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
    decades = {2: "twenty", 3: "thirty", 4: "forty", 5: "fifty", 6: "sixty", 7: "seventy", 8: "eighty", 9: "ninety"}

    def two(n: int) -> str:
        if n < 20:
            return tens[n]
        return decades[n // 10] + ("" if n % 10 == 0 else "-" + tens[n % 10])

    high, low = divmod(year, 100)
    if high == 20 and low < 10:
        return "two thousand" + (f" and {tens[low]}" if low else "")
    return f"{two(high)} {two(low) if low >= 10 else 'oh ' + tens[low] if low else 'hundred'}"


def speakable_date(iso_day: str) -> str:
    """'2023-01-15' -> 'the fifteenth of January, twenty twenty-three'."""
    day = date.fromisoformat(iso_day)
    return f"the {_ORDINALS[day.day]} of {day:%B}, {speakable_year(day.year)}"


# ---- what the caller says or keys --------------------------------------------------
# Digits as people say them (also the fact parsers' table: actions/parsing/numbers.py).
WORD_DIGITS = {"zero": "0", "nought": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3",
                "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_DIGIT_WORD = r"(?:zero|nought|one|two|three|four|five|six|seven|eight|nine|oh|o)"
_DIGIT_TOKEN = rf"(?:\d+|(?:double|triple)[\s-]+(?:\d|{_DIGIT_WORD}\b)|{_DIGIT_WORD}\b)"
# A run of digits and digit words, apart by spaces, hyphens or a comma the recogniser put
# between groups ("447, 0918"); never across a full stop or a decimal point.
_RUN = re.compile(rf"(?i)(?<![\w.£$€]){_DIGIT_TOKEN}(?:(?:\s*[,\-]\s*|\s+){_DIGIT_TOKEN})+(?![\w£$€]|\.\d)")
_TOKEN = re.compile(rf"(?i){_DIGIT_TOKEN}")
MIN_RUN_DIGITS = 6  # shorter runs are amounts, quantities, dates and times, left as they are
# "15 3 2023", "1 12 2025": a date said as numbers, not an identifier.
_DATE_LIKE = re.compile(r"^\d{1,2} \d{1,2} (?:19|20)\d{2}$")
DATE_DIGITS = 8  # a reference's YYYYMMDD
# The names of letters as a recogniser may write them ("see 2026 1201 0015"), for a
# reference whose prefix is one letter; the letter itself ("c", "c.") is always heard.
_LETTER_NAMES = {
    "a": ("ay",), "b": ("bee", "be"), "c": ("see", "sea"), "d": ("dee",), "f": ("ef", "eff"),
    "g": ("gee",), "h": ("aitch", "haitch"), "i": ("eye",), "j": ("jay",), "k": ("kay",),
    "l": ("el", "elle"), "m": ("em",), "n": ("en",), "p": ("pee", "pea"), "q": ("queue", "cue"),
    "r": ("are", "ar"), "s": ("ess",), "t": ("tee", "tea"), "u": ("you",), "v": ("vee",),
    "w": ("double you",), "x": ("ex",), "y": ("why", "wye"), "z": ("zed", "zee"),
}


def _token_digits(token: str) -> str:
    word = token.lower()
    if word.isdigit():
        return word
    repeat = re.match(r"(double|triple)[\s-]+(\S+)", word)
    if repeat:
        digit = WORD_DIGITS.get(repeat.group(2), repeat.group(2))
        return digit * (2 if repeat.group(1) == "double" else 3)
    return WORD_DIGITS[word]


def _join_run(match: re.Match) -> str:
    tokens = _TOKEN.findall(match.group(0))
    pieces = [_token_digits(t) for t in tokens]
    words = [t for t in tokens if not t.isdigit()]
    joined = "".join(pieces)
    if len(joined) < MIN_RUN_DIGITS or _DATE_LIKE.match(" ".join(pieces)):
        return match.group(0)
    if words and all(w.lower() in ("o", "oh") for w in words) and len(words) == len(tokens):
        return match.group(0)  # "oh oh oh": an exclamation, not a number
    return joined


def _catalog_format(ticket_format: Optional[TicketIdFormat]) -> TicketIdFormat:
    return ticket_format or load_catalog().ticket_ids


def ticket_shaped(digits: str, ticket_format: TicketIdFormat) -> Optional[str]:
    """'202612010015' -> 'C-20261201-0015' when the digits are a reference (a real date,
    then the day's counter of at least the format's digits); None otherwise. No order
    number is that long, and no UK phone number starts with a date."""
    if len(digits) < DATE_DIGITS + ticket_format.counter_digits or not digits.isdigit():
        return None
    try:
        date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None
    if not 1990 <= int(digits[:4]) <= 2099:
        return None
    return f"{ticket_format.prefix}{digits[:DATE_DIGITS]}-{digits[DATE_DIGITS:]}"


def _prefix_sounds(prefix: str) -> List[str]:
    """How a recogniser may write a reference's prefix: its letters, and for a one-letter
    prefix that letter's name; longest first, so the regex takes the whole of one."""
    letters = re.sub(r"[^A-Za-z]", "", prefix).lower()
    sounds = {letters, f"{letters}."} if letters else set()
    if len(letters) == 1:
        sounds.update(_LETTER_NAMES.get(letters, ()))
    return sorted(sounds, key=len, reverse=True)


def heard_numbers(text: str, ticket_format: Optional[TicketIdFormat] = None) -> str:
    """A speech transcript with the numbers read out digit by digit (or in groups) joined
    into one number, and a reference read out as its letter and digits written as a
    reference, so the assistant reads what the caller meant:
    'my order is five five one two zero nine three' -> 'my order is 5512093';
    'cancel my callback see 2026 1201 0015' -> 'cancel my callback C-20261201-0015'.
    Runs of fewer than six digits, and dates said as numbers, are left alone. References
    are in `ticket_format`, by default the catalog's."""
    if not text:
        return ""
    ticket_format = _catalog_format(ticket_format)
    out = _RUN.sub(_join_run, text)
    sounds = "|".join(re.escape(s) for s in _prefix_sounds(ticket_format.prefix))
    said_prefix = rf"(?:({sounds})[\s\-]*)?" if sounds else "()"
    shortest = DATE_DIGITS + ticket_format.counter_digits

    def reference(match: re.Match) -> str:
        shaped = ticket_shaped(match.group(2), ticket_format)
        return shaped if shaped else match.group(0)

    return re.sub(rf"(?i)(?<![\w]){said_prefix}(\d{{{shortest},}})(?!\d)", reference, out)


def keyed_number(digits: str, ticket_format: Optional[TicketIdFormat] = None) -> str:
    """Keypad digits as text for the assistant: a reference keyed without its letter
    ('202612010015') in its written form (`ticket_format`, by default the catalog's); any
    other number as it was keyed."""
    return ticket_shaped(digits, _catalog_format(ticket_format)) or digits


# ---- what the recogniser listens for -----------------------------------------------
# What callers say to the assistant whatever the business sells: asking for a person,
# giving a number, answering yes or no. The business's own words come from its catalog.
CONVERSATION_HINTS = ("agent", "person", "human", "complaint", "order number", "yes", "no")
_ARTICLE = re.compile(r"^(?:a|an|the)\s+", re.IGNORECASE)


def speech_hints(catalog: Catalog) -> str:
    """Twilio's <Gather hints>: the conversation's words, then each category as the
    catalog says it in few words and each remedy as it is said on the phone ("a faulty
    product" -> "faulty product"), once each."""
    phrases = list(CONVERSATION_HINTS)
    said = [category.get("in_few_words") for category in catalog.categories.values()]
    said += [remedy.get("speakable") for remedy in catalog.remedies.values()]
    for text in said:
        phrase = _ARTICLE.sub("", str(text or "")).strip()
        if phrase and phrase not in phrases:
            phrases.append(phrase)
    return ", ".join(phrases)
