"""What the fact parsers need to know about the business, read from the catalog.

Currency, number format, phone region, the order-number form, the ticket-reference form
and the products sold are business facts (policy/catalog.yml `business:` and `facts:`),
never constants here, so another company changes the catalog and not the parsers.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import FrozenSet, Optional

from babel.numbers import get_decimal_symbol, get_group_symbol

from bot.catalog import Catalog, load_catalog
from bot.tickets.ids import TicketIdFormat


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
    ticket_ids: TicketIdFormat
    # A product named in free text: group 1 the words before it, group 2 the kind sold.
    product_pattern: re.Pattern
    brands: FrozenSet[str]

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> "FactSpec":
        return _spec_of(catalog)


@functools.lru_cache(maxsize=8)
def _spec_of(catalog: Catalog) -> FactSpec:
    """One spec per loaded catalog (load_catalog loads a new one when the file changes)."""
    product = catalog.facts["product"]
    kinds = sorted((str(k) for k in product["kinds"]), key=len, reverse=True)
    return FactSpec(
        currency=catalog.currency,
        decimal_symbol=get_decimal_symbol(catalog.locale),
        group_symbol=get_group_symbol(catalog.locale),
        phone_region=catalog.phone_region,
        order_pattern=catalog.order_pattern,
        order_bare=catalog.order_bare_pattern,
        order_prefix=catalog.order_prefix,
        ticket_ids=catalog.ticket_ids,
        product_pattern=re.compile(r"\b((?:[\w\-']+\s+){0,2})(" + "|".join(re.escape(k) for k in kinds) + r")s?\b",
                                   re.IGNORECASE),
        brands=frozenset(str(b).lower() for b in product["brands"]),
    )


def current_spec(spec: Optional[FactSpec] = None) -> FactSpec:
    """The spec given, or the one of the catalog in force (for callers that pass none)."""
    return spec if spec is not None else FactSpec.from_catalog(load_catalog())
