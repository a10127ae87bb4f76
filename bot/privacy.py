"""Masks payment card numbers (and catalog-named secrets) before anything is stored."""
from __future__ import annotations

import re
from typing import Iterable, Optional

# 13-19 digits, optionally grouped by single spaces or dashes.
_CARD = re.compile(r"(?<![\d])(?:\d[ \-]?){12,18}\d(?![\d])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _mask_card(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return f"[card ending {digits[-4:]}]"
    return match.group(0)


def mask_secrets(text: Optional[str], extra_patterns: Iterable[str] = ()) -> str:
    if not text:
        return text or ""
    masked = _CARD.sub(_mask_card, text)
    for pattern in extra_patterns:
        masked = re.sub(pattern, "[redacted]", masked)
    return masked
