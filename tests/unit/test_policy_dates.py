"""The purchase date decides the policy (docs/design.md#precise-facts): the boundary days
of the 30-day return and the 2-year warranty, at fixed dates, never the real today."""
from __future__ import annotations

from datetime import date

import pytest

from bot.catalog import load_catalog

BOUGHT = "2024-12-01"


@pytest.mark.parametrize("today, variant", [
    (date(2024, 12, 31), "PQ-30D"),        # day 30: still inside the no-quibble period
    (date(2025, 1, 1), "PQ-WARRANTY"),     # day 31: warranty repair
    (date(2026, 12, 1), "PQ-WARRANTY"),    # day 730: the warranty's last day
    (date(2026, 12, 2), "PQ-EXPIRED"),     # day 731: ended
])
def test_the_product_quality_policy_changes_on_the_right_day(today, variant):
    chosen = load_catalog().select_variant("product_quality", "faulty", {"purchase_date": BOUGHT}, today)
    assert chosen["id"] == variant


def test_the_warranty_deadline_is_stated_as_the_right_day():
    catalog = load_catalog()
    variant = catalog.select_variant("product_quality", "faulty", {"purchase_date": BOUGHT}, date(2025, 6, 1))
    will = next(s.text for s in catalog.statements(variant, {"purchase_date": BOUGHT}, date(2025, 6, 1)) if s.kind == "will")
    assert "until 1 December 2026" in will

