"""Pure helpers that turn what a customer typed (or said) into precise key facts.

Each fact has a `read_*` parser returning a Reading (one value, several candidates to
ask about, or none) and a `parse_*` shorthand returning the value or None. Business
forms (currency, number format, phone region, order-number and reference forms, the
products sold) come from the catalog through FactSpec. Parsers never read the clock: `today` is passed in.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Dict, Optional

from actions.parsing.amounts import parse_amount, read_amounts
from actions.parsing.dates import dated_events, day_in_month, month_named, month_with_year, parse_date, read_dates
from actions.parsing.reading import AMBIGUOUS, NONE, ONE, Money, Reading
from actions.parsing.references import (
    other_references, parse_email, parse_order_id, parse_phone, parse_ticket_ref, read_order_ids, ticket_pattern,
)
from actions.parsing.spec import FactSpec
from actions.parsing.text import clean_free_text, describes_problem, ordinal_choice, parse_product

__all__ = [
    "AMBIGUOUS", "NONE", "ONE", "FactSpec", "Money", "Reading", "clean_free_text", "dated_events", "day_in_month",
    "describes_problem", "extract_facts", "month_named", "month_with_year", "ordinal_choice", "other_references", "parse_amount", "parse_date", "parse_email",
    "parse_order_id", "parse_phone", "parse_product", "parse_ticket_ref", "read_amounts", "read_dates", "read_facts",
    "read_order_ids", "ticket_pattern",
]


def read_facts(text: str, catalog, today: date, answering: Optional[str] = None) -> Dict[str, Reading]:
    """A Reading per key fact. `answering` names the fact we just asked for: then a bare
    number may be that fact (the order number, or the amount)."""
    spec = FactSpec.from_catalog(catalog)
    product = parse_product(text, spec)
    return {
        "order_id": read_order_ids(text, spec, answering=answering == "order_id"),
        "purchase_date": read_dates(text, today, spec),
        "amount": read_amounts(text, spec, answering=answering == "amount"),
        "product": Reading.of([product] if product else []),
    }


def extract_facts(text: str, catalog, today: date, answering: bool = False) -> Dict[str, Any]:
    """Every key fact a message states plainly, for 'ask only for what is missing'.
    `answering`: the message answers our question for a fact, so a bare number may be
    the order number. A fact given twice differently is left out (read_facts has the
    candidates to ask about); an amount is its number, with its currency beside it as
    `amount_currency` (the slot of that name)."""
    readings = read_facts(text, catalog, today, answering="order_id" if answering else None)
    facts: Dict[str, Any] = {name: r.value for name, r in readings.items() if r.value is not None}
    if "amount" in facts:
        money = facts.pop("amount")
        facts.update(amount=money.amount, amount_currency=money.currency)
    return facts
