"""A complaint that names no category ("I want to make a complaint about my order") is asked
about with the catalog's commonest categories (`understanding.when_unclear`), not with the three
near-random guesses the category classifier ranks for it."""
from __future__ import annotations

import copy

import pytest

from actions.understanding import CategoryDecision, decide_category
from bot.catalog import Catalog, CatalogError, load_catalog


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def parse(categories: dict, unclear: float) -> dict:
    ranking = sorted(({"name": n, "confidence": c} for n, c in categories.items()), key=lambda e: -e["confidence"])
    intent = {"name": "complain_other", "confidence": 0.7}
    return {"intent": intent, "intent_ranking": [intent],
            "complaint_category": {**ranking[0], "ranking": ranking, "unclear": unclear}}


def test_a_message_naming_no_category_is_offered_the_commonest_ones(catalog):
    vague = parse({"invoice": 0.08, "price": 0.07, "staff_conduct": 0.05}, unclear=0.80)
    decision = decide_category(vague, "i want to make a complaint about my order", catalog)
    assert decision == CategoryDecision(None, tuple(catalog.data["understanding"]["when_unclear"]), unclear=True)
    assert "invoice" not in decision.options, "the classifier's guesses for a vague message are not offered"


def test_a_named_category_still_wins_over_a_small_unclear_share(catalog):
    named = parse({"delivery": 0.90, "billing": 0.02, "price": 0.01}, unclear=0.07)
    assert decide_category(named, "my parcel never came", catalog) == CategoryDecision("delivery", ())


def test_the_catalog_refuses_an_unknown_category_in_when_unclear(catalog):
    data = copy.deepcopy(catalog.data)
    data["understanding"]["when_unclear"] = ["delivery", "parcels"]
    with pytest.raises(CatalogError, match="when_unclear"):
        Catalog(data)
