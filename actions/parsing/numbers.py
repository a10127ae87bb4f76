"""Numbers as customers write and say them, turned into digits before any fact is read.
Typographic dashes and spaces are read as "-" and " " first.

Number words go through text2num ("three hundred and forty" -> 340, "the third of
October" -> "the 3rd of October"); digits read out one by one on the phone
("5 5 1 2 0 9 3", "five five one two oh nine three", "double five") are joined into
one number. The result is only ever parsed, never shown or stored.
"""
from __future__ import annotations

import functools
import re

from text_to_num import alpha2digit

from bot.speech import WORD_DIGITS

# Phones and word processors type these for "-" and " " ("2026–11–02", "ORD‑4092217", "£1 200").
_LOOK_ALIKES = str.maketrans({**{c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"},
                              **{c: " " for c in "\u00a0\u2007\u2009\u202f"}})
_NUMBER_WORD = re.compile(
    r"(?i)\b(?:zero|nought|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen"
    r"|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fourty|fifty|sixty|seventy|eighty|ninety"
    r"|hundred|thousand|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth"
    r"|\w+teenth|\w+tieth)\b"
)
_DIGIT_WORD = r"(?:\d|zero|nought|oh|o|one|two|three|four|five|six|seven|eight|nine)"
# "double five" / "triple 0": phone-style repeats.
_REPEAT = re.compile(rf"(?i)\b(double|triple)[\s\-]+({_DIGIT_WORD})\b")
# Spoken fillers between words and digits ("the order number is um 5 5 1 2").
_FILLERS = re.compile(r"(?i)\b(?:u+m+|u+h+|e+r+m+|u+h+m+|hmm+)\b[,.]?\s*")
# "no one" is not the number 1.
_NOT_NUMBERS = re.compile(r"(?i)\b(no|any|some|every)[\s\-]one\b")
# "oh"/"o" read out between digits is a zero ("5 5 1 2 oh 9 3").
_OH = re.compile(r"(?i)(?<=\d )o(?:h)?(?= \d)")
# Four or more groups of one or two digits, separated by single spaces or hyphens: digits
# read out one (or two) at a time. Two groups ("49 99") stay apart: that is a price.
_SPACED = re.compile(r"(?<![\d.,])\d{1,2}(?:[ \-]\d{1,2}){3,}(?![\d.,])")
# Four or more digit words in a row are digits read out one by one, not one number
# ("two zero two six" is 2026, which text2num would read as "2 0 2 6" or "20 26").
_DIGIT_RUN = re.compile(rf"(?i)\b{_DIGIT_WORD}(?:[\s,\-]+{_DIGIT_WORD}){{3,}}\b")


def _repeat(match: re.Match) -> str:
    word = match.group(2).lower()
    digit = WORD_DIGITS.get(word, word)
    return " ".join([digit] * (2 if match.group(1).lower() == "double" else 3))


def _digits(match: re.Match) -> str:
    """A run of digit words as digits, unless it is part of a longer spoken number
    ("twenty twenty six twelve oh one double oh fifteen"), which text2num reads whole."""
    text = match.string
    before = re.findall(r"\w+", text[:match.start()])[-1:]
    after = re.findall(r"\w+", text[match.end():])[:1]
    if any(_NUMBER_WORD.fullmatch(w) for w in before + after):
        return match.group(0)
    return "".join(WORD_DIGITS.get(w.lower(), w) for w in re.findall(r"\w+", match.group(0)))


@functools.lru_cache(maxsize=2048)
def normalise_numbers(text: str) -> str:
    """text with spelled and spaced-out numbers as digits (same meaning, for parsing only)."""
    if not text:
        return ""
    out = _NOT_NUMBERS.sub(lambda m: m.group(1) + "body", text.translate(_LOOK_ALIKES))
    out = _FILLERS.sub("", out)
    out = _REPEAT.sub(_repeat, out)
    out = _DIGIT_RUN.sub(_digits, out)
    if _NUMBER_WORD.search(out):
        # threshold=0: "one pound fifty" is 1 pound 50 (the default leaves a lone "one" as a word)
        out = alpha2digit(out, "en", threshold=0)
    out = _OH.sub("0", out)
    return _SPACED.sub(lambda m: re.sub(r"[ \-]", "", m.group(0)), out)
