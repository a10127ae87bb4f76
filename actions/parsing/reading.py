"""What a fact parser found: one value, several candidates to ask about, or nothing."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Tuple

NONE, ONE, AMBIGUOUS = "none", "one", "ambiguous"


class Money(NamedTuple):
    amount: float
    currency: str  # ISO 4217, as the customer wrote it (the catalog's when unsaid)


@dataclass(frozen=True)
class Reading:
    """`status` is ONE with `value` set, AMBIGUOUS with two or more different
    `candidates` (ask which one), or NONE. `candidates` lists every distinct value
    seen, in the order the message gives them, also when one of them was chosen."""

    status: str = NONE
    value: Any = None
    candidates: Tuple[Any, ...] = ()

    @classmethod
    def of(cls, candidates, chosen: Any = None) -> "Reading":
        distinct = tuple(dict.fromkeys(candidates))
        if chosen is not None:
            return cls(ONE, chosen, distinct)
        if len(distinct) == 1:
            return cls(ONE, distinct[0], distinct)
        if len(distinct) > 1:
            return cls(AMBIGUOUS, None, distinct)
        return cls()

    @property
    def ambiguous(self) -> bool:
        return self.status == AMBIGUOUS
