"""Priority: risk dominates. A legal or regulator threat is what an agent must see first,
even on a cheap, low-urgency order from a calm customer."""
from __future__ import annotations

import pytest

from actions.priority import assess_priority
from bot.catalog import Catalog, CatalogError, load_catalog


def ticket(category="price", emotion="calm", flags=(), amount=None):
    return {"category": category, "emotion": {"label": emotion}, "risk_flags": list(flags),
            "facts": {"amount": amount}}


@pytest.mark.parametrize("flag, level", [("legal", "P1"), ("regulator", "P1"), ("media", "P2")])
def test_a_threat_sets_the_minimum_level(flag, level):
    got = assess_priority(ticket(flags=[flag]), load_catalog(), whitelisted=False)
    # Without the floor these score 34-36 (P3): the customer reported in issue 10.
    assert got["score"] < 45
    assert got["level"] == level
    assert any(flag in reason for reason in got["reasons"])


def test_the_reported_solicitor_threat_is_p1():
    # A delivery complaint, angry, threatening a solicitor: scored 44 -> P3 before.
    got = assess_priority(ticket("delivery", "angry", ["legal"]), load_catalog(), whitelisted=False)
    assert got["level"] == "P1"


def test_without_risk_the_score_decides():
    catalog = load_catalog()
    assert assess_priority(ticket(), catalog, whitelisted=False)["level"] in ("P3", "P4")
    calm = assess_priority(ticket("delivery"), catalog, whitelisted=False)
    assert calm["level"] != "P1"


def test_a_floor_never_lowers_a_higher_score():
    got = assess_priority(ticket("delivery", "distressed", ["media", "legal"], amount=900), load_catalog(), whitelisted=True)
    assert got["level"] == "P1"


def test_an_unknown_floor_level_is_refused_at_load():
    data = load_catalog().data
    broken = {**data, "priority": {**data["priority"], "risk": {**data["priority"]["risk"], "min_level": {"legal": "P0"}}}}
    with pytest.raises(CatalogError, match="min_level.legal"):
        Catalog(broken)
