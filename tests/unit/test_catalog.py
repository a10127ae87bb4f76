"""The policy catalog: the shipped one is valid, and editing mistakes are caught."""
from __future__ import annotations

import copy
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import yaml

from bot.catalog import Catalog, CatalogError, load_catalog

ROOT = Path(__file__).resolve().parents[2]
CATEGORIES = {"delivery", "product_quality", "repair_warranty", "price", "billing", "refund_return", "invoice", "staff_conduct", "other"}


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load((ROOT / "policy" / "catalog.yml").read_text())


def test_shipped_catalog_covers_every_category_and_intent(raw):
    catalog = Catalog(raw)
    assert set(catalog.categories) == CATEGORIES
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    assert {f"complain_{c}" for c in CATEGORIES} <= set(domain["intents"])


def test_every_variant_is_honest_and_complete(raw):
    catalog = Catalog(raw)
    for cat in catalog.categories.values():
        for spec in cat["sub_reasons"].values():
            for variant in spec["variants"]:
                assert variant.get("will") or variant.get("cannot"), variant["id"]
                if variant.get("cannot"):
                    # an exclusion is never stated without its reason and what to do instead (docs/design.md#honesty)
                    assert variant.get("why"), variant["id"]
                    assert variant.get("alternative") or variant.get("will"), variant["id"]


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d["categories"]["delivery"].update(default_sub_reason="nope"), "default_sub_reason"),
    (lambda d: d["categories"]["delivery"]["sub_reasons"]["late"]["variants"][0].update(remedies=["teleport"]), "unknown remedies"),
    (lambda d: d["categories"]["price"].update(required_facts=["order_id"]), "purchase_date"),
    (lambda d: d["categories"]["delivery"]["sub_reasons"]["late"]["variants"][0].update(remedies=["voucher_10"]), "2-4"),
    (lambda d: d["business"]["business_hours"].update(funday=["09:00", "17:00"]), "unknown day"),
    (lambda d: d["categories"]["price"]["sub_reasons"]["too_expensive"]["variants"][0].update(id="DEL-LATE"), "unique id"),
    # an e-mail promised without the flag that asks a web customer for the address
    (lambda d: d["remedies"]["voucher_10"].pop("by_email"), "promises an e-mail"),
    (lambda d: d["remedies"]["repair"].update(by_email="yes"), "true or false"),
])
def test_editing_mistakes_are_reported(raw, mutate, message):
    data = copy.deepcopy(raw)
    mutate(data)
    with pytest.raises(CatalogError, match=message):
        Catalog(data)


def test_variant_depends_on_days_since_purchase():
    catalog = load_catalog()
    def pick(day):
        return catalog.select_variant("refund_return", "return_refused", {"purchase_date": day}, date(2026, 11, 22))["id"]
    assert pick("2026-11-01") == "RET-IN-PERIOD"
    assert pick("2026-10-23") == "RET-IN-PERIOD"  # day 30
    assert pick("2026-10-22") == "RET-OUT-OF-PERIOD"  # day 31


def test_sub_reason_from_keywords():
    catalog = load_catalog()
    assert catalog.sub_reason_for("delivery", "the box arrived smashed") == "damaged"
    assert catalog.sub_reason_for("delivery", "tracking says delivered but I never received it") == "missing"
    assert catalog.sub_reason_for("delivery", "hmm") == "late"
    # Part of a parcel missing or the wrong item is no lost parcel; chipped is damaged (role-play round 3).
    assert catalog.sub_reason_for("delivery", "the hoodie came but the jeans are missing from the parcel") == "item_missing"
    assert catalog.sub_reason_for("delivery", "they sent me the wrong part entirely") == "item_missing"
    assert catalog.sub_reason_for("delivery", "parcel marked as delivered but missing") == "missing"
    assert catalog.sub_reason_for("delivery", "the dish arrived chipped") == "damaged"
    # A return not made yet is decided by the return period, a refund owed by where it is.
    for wants_to_return in ("I want to return the jacket, how do I send it back?", "can i get a return label",
                            "I want to return it and get a refund", "they wont let me return it and I want my money back"):
        assert catalog.sub_reason_for("refund_return", wants_to_return) == "return_refused", wants_to_return
    for owed in ("I sent it back 3 weeks ago and still no refund", "I returned it on the 3rd, no money yet",
                 "my return is taking ages"):
        assert catalog.sub_reason_for("refund_return", owed) == "refund_delay", owed


def test_callback_windows_are_inside_business_hours():
    catalog = load_catalog()
    saturday_evening = datetime(2026, 11, 21, 19, 0, tzinfo=timezone.utc)
    windows = catalog.callback_windows(saturday_evening)
    assert len(windows) == catalog.second_explanation["windows_offered"]
    for window in windows:
        opening = catalog.opening(window["start"].date())
        assert opening and opening[0] <= window["start"] and window["end"] <= opening[1]
    assert windows[0]["start"].date() == date(2026, 11, 23)  # Sunday is closed
    # No more than windows_per_day on a day: the offer reaches past the first open day.
    days = [w["start"].date() for w in windows]
    assert max(days.count(d) for d in days) <= catalog.second_explanation["windows_per_day"] < len(windows)
    assert all(w in catalog.bookable_windows(saturday_evening) for w in windows)


def test_opening_hours():
    catalog = load_catalog()
    assert catalog.is_open(datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc))
    assert not catalog.is_open(datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc))  # Sunday
    assert catalog.next_open(datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)).hour == 9
