"""The ticket reference: prefix + YYYYMMDD + "-" + a per-day counter, e.g. C-20261201-0015.

The prefix and the counter's width come from the catalog (business.ticket_id_prefix,
business.ticket_id_counter_digits); this is the one place that knows how a reference is
built and what a well-formed one looks like. How customers type or say one ("c 2026 1201
0015") is actions/parsing/references.py, which builds on this.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

DEFAULT_PREFIX = "C-"
DEFAULT_COUNTER_DIGITS = 4


@dataclass(frozen=True)
class TicketIdFormat:
    prefix: str = DEFAULT_PREFIX
    # The counter is zero-padded to this width and may outgrow it on a busy day.
    counter_digits: int = DEFAULT_COUNTER_DIGITS

    @classmethod
    def from_business(cls, business: Mapping[str, Any]) -> "TicketIdFormat":
        return cls(str(business.get("ticket_id_prefix", DEFAULT_PREFIX)),
                   int(business.get("ticket_id_counter_digits", DEFAULT_COUNTER_DIGITS)))


    def make(self, day: datetime, counter: int) -> str:
        """The reference of the `counter`-th ticket of `day`'s UTC date."""
        return self.compose(utc_day(day), counter)

    def compose(self, yyyymmdd: str, counter: int) -> str:
        """The stored form of a reference from its parts (as a customer gave them)."""
        return f"{self.prefix}{yyyymmdd}-{int(counter):0{self.counter_digits}d}"

    @property
    def pattern(self) -> "re.Pattern[str]":
        return re.compile(rf"{re.escape(self.prefix)}\d{{8}}-\d{{{self.counter_digits},}}")

    def is_valid(self, ticket_id: Any) -> bool:
        """A reference in its stored form (not a customer's spelling of one)."""
        return isinstance(ticket_id, str) and self.pattern.fullmatch(ticket_id) is not None


def utc_day(moment: datetime) -> str:
    """YYYYMMDD of the UTC date: the day in a reference, and the day its counter counts.
    Naive datetimes are taken as UTC, so a server in another zone can't shift the day."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y%m%d")
