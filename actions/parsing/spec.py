"""What the fact parsers need to know about the business, read from the catalog.

Currency, number format, phone region, the order-number form and the ticket-reference
form are business facts (policy/catalog.yml `business:`), never constants here, so
another company changes the catalog and not the parsers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from babel.numbers import get_decimal_symbol, get_group_symbol


@dataclass(frozen=True)
class FactSpec:
    """Hashable, so the parsers' caches can key on it."""

    currency: str
    decimal_symbol: str
    group_symbol: str
    phone_region: str
    order_pattern: re.Pattern
    order_bare: re.Pattern
    order_prefix: str
    ticket_prefix: str
    ticket_counter_digits: int

    @classmethod
    def from_catalog(cls, catalog) -> "FactSpec":
        cached = getattr(catalog, "_fact_spec", None)
        if cached is not None:
            return cached
        business = catalog.business
        locale = business.get("locale", "en_GB")
        spec = cls(
            currency=business.get("currency", "GBP"),
            decimal_symbol=get_decimal_symbol(locale),
            group_symbol=get_group_symbol(locale),
            phone_region=business.get("default_phone_region", "GB"),
            order_pattern=catalog.order_pattern,
            order_bare=catalog.order_bare_pattern,
            order_prefix=catalog.order_prefix,
            ticket_prefix=business.get("ticket_id_prefix", "C-"),
            ticket_counter_digits=int(business.get("ticket_id_counter_digits", 4)),
        )
        catalog._fact_spec = spec  # one per loaded catalog (load_catalog reloads on change)
        return spec


def current_spec(spec: Optional[FactSpec] = None) -> FactSpec:
    """The spec given, or the one of the catalog in force (for callers that pass none)."""
    if spec is not None:
        return spec
    from bot.catalog import load_catalog

    return FactSpec.from_catalog(load_catalog())
