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
    (date(2026, 12, 1), "PQ-WARRANTY"),    # two years on: the warranty's last day
    (date(2026, 12, 2), "PQ-EXPIRED"),     # the day after: ended
])
def test_the_product_quality_policy_changes_on_the_right_day(today, variant):
    chosen = load_catalog().select_variant("product_quality", "faulty", {"purchase_date": BOUGHT}, today)
    assert chosen["id"] == variant


def test_the_warranty_deadline_is_stated_as_the_right_day():
    catalog = load_catalog()
    variant = catalog.select_variant("product_quality", "faulty", {"purchase_date": BOUGHT}, date(2025, 6, 1))
    will = next(s.text for s in catalog.statements(variant, {"purchase_date": BOUGHT}, date(2025, 6, 1)) if s.kind == "will")
    assert "until 1 December 2026" in will



@pytest.mark.parametrize("bought, last_day", [
    ("2023-08-30", date(2025, 8, 30)),   # 29 Feb 2024 inside: 730 days ended it on 29 Aug
    ("2026-10-01", date(2028, 10, 1)),   # 29 Feb 2028 inside
    ("2024-02-29", date(2026, 2, 28)),   # no 29 Feb two years on: the month's last day
    ("2022-01-10", date(2024, 1, 10)),
])
def test_a_two_year_warranty_ends_on_the_same_date_two_years_on(bought, last_day):
    """Seed 003: a wrong date decides a warranty wrongly. The customer hears the same last day
    that the decision uses, and it is the date two years on, leap years or not."""
    catalog = load_catalog()
    facts = {"purchase_date": bought}
    inside = catalog.select_variant("product_quality", "faulty", facts, last_day)
    assert inside["id"] == "PQ-WARRANTY"
    will = next(s.text for s in catalog.statements(inside, facts, last_day) if s.kind == "will")
    assert f"until {last_day.day} {last_day:%B %Y}" in will
    after = date.fromordinal(last_day.toordinal() + 1)
    expired = catalog.select_variant("product_quality", "faulty", facts, after)
    assert expired["id"] == "PQ-EXPIRED"
    why = next(s.text for s in catalog.statements(expired, facts, after) if s.kind == "why")
    assert f"ended on {last_day.day} {last_day:%B %Y}" in why


@pytest.mark.parametrize("when", [{"max_days_since_purchase": 0}, {"max_years_since_purchase": 2},
                                  {"max_days_since_purchase": 30, "max_months_since_purchase": 1},
                                  {"max_months_since_purchase": "24"}])
def test_a_purchase_limit_the_catalog_cannot_mean_is_refused_at_load(when):
    import copy

    from bot.catalog import Catalog, CatalogError

    data = copy.deepcopy(load_catalog().data)
    data["categories"]["product_quality"]["sub_reasons"]["faulty"]["variants"][1]["when"] = when
    with pytest.raises(CatalogError, match="when"):
        Catalog(data)
