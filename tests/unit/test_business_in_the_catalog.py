"""Business specifics live in policy/catalog.yml, not in code (issue 9): another company
edits the catalog and the assistant, the ticket stores and the parsers follow. Each test
changes the shipped catalog and checks what a customer or an operator would see."""
from __future__ import annotations

import copy
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict

import pytest
import pytest_asyncio
import redis
import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions import context
from actions.complaint import ActionStartComplaint
from actions.closure import ActionHandleDisagreement
from actions.handoff import ActionHandOff
from actions.parsing import FactSpec, parse_product, parse_ticket_ref
from actions.questions import ActionAskFactToCorrect
from actions.ticket_requests import ActionCheckStatus
from bot import clock
from bot.catalog import Catalog, CatalogError, load_catalog
from bot.tickets import open_store
from bot.tickets.model import new_ticket
from tests.support.trackers import dispatcher, domain, fixed_clock, make_tracker, responses, slot_events, store  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = yaml.safe_load((ROOT / "policy" / "catalog.yml").read_text())
T0 = datetime(2024, 3, 5, 9, 0, tzinfo=timezone.utc)


def edited(change: Callable[[Dict[str, Any]], None]) -> Dict[str, Any]:
    data = copy.deepcopy(SHIPPED)
    change(data)
    return data


@pytest_asyncio.fixture
async def catalog_in_force(tmp_path, monkeypatch, store):
    """Puts an edited catalog in force (CATALOG_PATH) for the actions, with a fresh ticket store."""
    async def use(change: Callable[[Dict[str, Any]], None]) -> Catalog:
        path = tmp_path / "catalog.yml"
        path.write_text(yaml.safe_dump(edited(change), allow_unicode=True, sort_keys=False))
        monkeypatch.setenv("CATALOG_PATH", str(path))
        await context.reset_ticket_store()  # the store takes the reference format when it opens
        return load_catalog()
    return use


def cx_references(data: Dict[str, Any]) -> None:
    data["business"].update(ticket_id_prefix="CX-", ticket_id_counter_digits=5)


# -- ticket references ---------------------------------------------------------------
async def test_both_stores_number_tickets_in_the_catalogs_format(tmp_path, redis_url, key_prefix):
    ids = Catalog(edited(cx_references)).ticket_ids
    stores = [open_store(sqlite_path=str(tmp_path / "t.db"), id_format=ids),
              open_store(url=redis_url, key_prefix=key_prefix, id_format=ids)]
    try:
        for store in stores:
            assert await store.next_ticket_id(T0) == "CX-20240305-00001"
            assert await store.next_ticket_id(T0) == "CX-20240305-00002"
    finally:
        for store in stores:
            await store.close()
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"{key_prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


async def test_the_assistant_opens_and_finds_tickets_in_the_catalogs_format(catalog_in_force, dispatcher, domain):
    await catalog_in_force(cx_references)
    events = await ActionStartComplaint().run(dispatcher, make_tracker("my parcel never arrived, order ORD-4400918", "complain_delivery"), domain)
    ticket_id = slot_events(events)["ticket_id"]
    assert re.fullmatch(r"CX-\d{8}-00001", ticket_id)
    day = ticket_id[3:11]
    # As customers type and say it: other case, spacing, hyphens.
    assert parse_ticket_ref(f"any news on cx {day[:4]} {day[4:]} 00001?") == ticket_id
    assert parse_ticket_ref(f"C-{day}-0001") is None

    asked = CollectingDispatcher()
    await ActionCheckStatus().run(asked, make_tracker(f"what's happening with CX{day}-00001", "check_status"), domain)
    assert responses(asked) == ["utter_ticket_status"] and asked.messages[0]["ticket_id"] == ticket_id


async def test_asking_for_a_reference_gives_an_example_in_the_catalogs_format(catalog_in_force, dispatcher, domain):
    await catalog_in_force(cx_references)
    await ActionCheckStatus().run(dispatcher, make_tracker("where is my complaint up to", "check_status", sender="new"), domain)
    message = dispatcher.messages[0]
    assert message["response"] == "utter_ask_ticket_ref"
    assert re.fullmatch(r"CX-\d{8}-00007", message["example"]) and message["letters"] == "the letters C X"


# -- what the customer reads --------------------------------------------------------
async def test_the_status_is_put_to_the_customer_in_the_catalogs_words(catalog_in_force, store, dispatcher, domain):
    await catalog_in_force(lambda d: d["statuses"]["open"].update(for_customers="being looked at by our team"))
    ticket = new_ticket("C-20261201-0001", "conv-1", "web")
    await (await context.ticket_store()).save(ticket)
    await ActionCheckStatus().run(dispatcher, make_tracker("status of C-20261201-0001 please", "check_status"), domain)
    assert dispatcher.messages[0]["status"] == "being looked at by our team"


async def test_buttons_are_worded_by_the_catalog(catalog_in_force, dispatcher, domain):
    def reword(data):
        data["buttons"]["decision_stands"] = [{"request_human": "Talk to someone"}, {"goodbye": "Nothing else"}]
        data["facts"]["order_id"]["label"] = "Order no."
        data["read_back"]["topic"]["label"] = "The subject"
    await catalog_in_force(reword)
    ticket = new_ticket("C-20261201-0004", "conv-1", "web")
    ticket["disclosures"] = [{"policy_id": "PQ-EXPIRED.cannot", "text": "We can't repair it free.", "at": "x"}]
    ticket["callback"]["status"] = "opted_out"
    await (await context.ticket_store()).save(ticket)
    await ActionHandleDisagreement().run(dispatcher, make_tracker("not acceptable", "reject_explanation", {"ticket_id": ticket["ticket_id"]}), domain)
    assert dispatcher.messages[-1]["buttons"] == [{"title": "Talk to someone", "payload": "/request_human"},
                                                  {"title": "Nothing else", "payload": "/goodbye"}]
    which = CollectingDispatcher()
    await ActionAskFactToCorrect().run(which, make_tracker("no", "deny", {"order_id": "ORD-4400918"}), domain)
    assert [b["title"] for b in which.messages[0]["buttons"]][:2] == ["Order no.", "The subject"]


async def test_the_opening_hours_the_customer_is_told_follow_the_structured_hours(catalog_in_force, dispatcher, domain):
    await catalog_in_force(lambda d: d["business"].update(business_hours={day: ["08:00", "20:00"] for day in ("mon", "tue", "wed", "thu", "fri")}))
    clock.set_now(datetime(2026, 12, 1, 19, 0, tzinfo=timezone.utc))  # Tuesday 19:00 in London: open until 20:00 now
    await ActionHandOff().run(dispatcher, make_tracker("agent please", "request_human"), domain)
    assert responses(dispatcher) == ["utter_handoff"]
    assert dispatcher.messages[0]["wait"].endswith("during opening hours (Mon-Fri 8:00-20:00).")


def test_a_product_the_shop_sells_is_recognised_once_the_catalog_lists_it():
    catalog = Catalog(edited(lambda d: d["facts"]["product"]["kinds"].append("hedge trimmer")))
    assert parse_product("my Flymo hedge trimmer died", FactSpec.from_catalog(catalog)) == "Flymo hedge trimmer"
    assert parse_product("my Flymo hedge trimmer died", FactSpec.from_catalog(load_catalog())) is None


@pytest.mark.parametrize("text, product", [
    # role-play round 3: each was asked for again
    ("Bought a Samsung Galaxy Tab S9 from you on the 28th of May 2023 for £799", "Samsung galaxy tab"),
    ("my PS5 was charged at the wrong price", "ps5"), ("my Le Creuset dish arrived chipped", "Le Creuset dish"),
    ("the Clarks shoes I returned", "Clarks shoes"),
    # a verb or a desk of people is no product
    ("I had to book a day off for the collection", None), ("your help desk was rude", None),
])
def test_the_products_customers_name(text, product):
    assert parse_product(text) == product


def test_buttons_keep_their_written_order_whatever_rewrites_the_catalog(tmp_path):
    """The first button is the yes: a catalog written back with sorted keys (as yaml.safe_dump
    does by default) shows the same buttons in the same order."""
    path = tmp_path / "catalog.yml"
    path.write_text(yaml.safe_dump(SHIPPED, allow_unicode=True))  # sort_keys=True
    assert Catalog.from_file(path).buttons("callback_offer") == Catalog(SHIPPED).buttons("callback_offer")
    assert Catalog(SHIPPED).buttons("callback_offer")[0]["payload"] == "/request_callback"


def test_every_catalog_button_sends_an_intent_of_the_domain():
    intents = set(yaml.safe_load((ROOT / "domain.yml").read_text())["intents"])
    sent = {intent for answers in SHIPPED["buttons"].values() for answer in answers for intent in answer}
    assert sent and sent <= intents, sorted(sent - intents)


# -- what the catalog must say, and mistakes it reports -----------------------------
@pytest.mark.parametrize("key", ["currency", "locale", "default_phone_region", "ticket_id_prefix"])
def test_the_catalog_must_state_the_businesss_country_forms(key):
    with pytest.raises(CatalogError, match=key):
        Catalog(edited(lambda d: d["business"].pop(key)))


@pytest.mark.parametrize("change,message", [
    (lambda d: d["second_explanation"].update(strong_emotions=["angry", "furious"]), "strong_emotions"),
    (lambda d: d["handoff"].update(auto_handoff_risk_flags=["legal", "lawyer"]), "auto_handoff_risk_flags"),
    (lambda d: d["priority"]["risk"]["per_flag"].update(regulater=0.25), "per_flag"),
    (lambda d: d["priority"]["emotion_urgency"].update(upset=0.1), "emotion_urgency"),
    (lambda d: d["signals"].update(regulater=["ombudsman"]), "signals"),
    (lambda d: d["facts"].pop("amount"), "facts"),
    (lambda d: d["buttons"].pop("callback_offer"), "callback_offer"),
    (lambda d: d["phone"].pop("farewell"), "phone.farewell"),
])
def test_a_label_the_assistant_never_uses_is_reported(change, message):
    # A misspelt emotion or risk flag would silently switch a rule off (no callback offered,
    # no automatic hand-off on a legal threat): the catalog is checked against the contract.
    with pytest.raises(CatalogError, match=message):
        Catalog(edited(change))



@pytest.mark.parametrize("key,value", [("windows_per_day", 0), ("windows_offered", 20), ("window_hours", 1.5)])
def test_callback_window_settings_that_would_offer_no_time_are_reported(key, value):
    # 0 windows a day would offer the customer no time at all; windows are whole hours, and
    # at most 12 buttons are offered.
    with pytest.raises(CatalogError, match=key):
        Catalog(edited(lambda d: d["second_explanation"].update({key: value})))
