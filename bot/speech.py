"""Speakable forms of key facts for the phone: a number read digit by digit and a date
in words are what a caller can check by ear."""
from __future__ import annotations

from datetime import date

_DIGITS = "zero one two three four five six seven eight nine".split()
_ORDINALS = [
    "", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
    "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
    "eighteenth", "nineteenth", "twentieth", "twenty-first", "twenty-second", "twenty-third",
    "twenty-fourth", "twenty-fifth", "twenty-sixth", "twenty-seventh", "twenty-eighth",
    "twenty-ninth", "thirtieth", "thirty-first",
]


def speakable_digits(text: str) -> str:
    return " ".join(_DIGITS[int(c)] if c.isdigit() else c for c in text if c.isalnum())


def speakable_order_id(order_id: str) -> str:
    """'ORD-4400918' -> 'O R D, four four zero zero nine one eight'."""
    letters = " ".join(c for c in order_id if c.isalpha())
    digits = speakable_digits("".join(c for c in order_id if c.isdigit()))
    return f"{letters}, {digits}" if letters else digits


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
