"""The agent service follows the catalog, in process: the ticket reference's prefix is the
catalog's (issue 9: it was hard-coded "C-", so another prefix made the agent API refuse every
new ticket), and a specialist's "no answer" counts and moves a callback the same way whether
the console's /attempt or the agent API's /done records it (issue 9: /done neither counted
the attempt nor moved or closed the callback)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.catalog import load_catalog
from bot.service.app import create_app
from bot.service.console.config import ConsoleConfig
from bot.tickets.model import CallbackState, iso, new_ticket, utcnow
from tests.support.console_sign_in import ACCOUNTS, TOKEN
from tests.support.http import json_of
from tests.support.live import ALWAYS_OPEN, catalog_with_hours

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def make_client(aiohttp_client, sqlite_store):
    async def make(catalog_path: str):
        console = ConsoleConfig(accounts=ACCOUNTS, catalog_path=catalog_path, cookie_secure=False)
        return await aiohttp_client(create_app({"token": TOKEN, "store": sqlite_store, "console": console}))

    return make


async def test_a_catalogs_own_ticket_prefix_is_served_and_the_old_one_refused(make_client, sqlite_store, tmp_path):
    client = await make_client(catalog_with_hours(tmp_path, ALWAYS_OPEN, ticket_id_prefix="CX-"))
    await sqlite_store.save(new_ticket("CX-20240305-0001", "conv-1", "web"))

    assert (await json_of(await client.get("/api/tickets/CX-20240305-0001", headers=AUTH), 200))["ticket_id"] == "CX-20240305-0001"
    claimed = await json_of(await client.post("/api/tickets/CX-20240305-0001/claim", json={"agent": "alice"}, headers=AUTH), 200)
    assert claimed["assignee"] == "alice"
    assert (await sqlite_store.get("CX-20240305-0001"))["assignee"] == "alice"
    body = await json_of(await client.get("/api/tickets/C-20240305-0001", headers=AUTH), 400)
    assert "malformed ticket id" in body["error"], "a reference in another business's format is not one of ours"


def opted_in(ticket_id: str, start) -> dict:
    doc = new_ticket(ticket_id, f"conv-{ticket_id}", "web")
    doc["customer"]["phone"] = "+442079460958"
    doc["callback"] = {"status": CallbackState.OPTED_IN, "decided_at": iso(start),
                       "window": {"start": iso(start), "end": iso(start + timedelta(hours=2))}}
    return doc


def comparable(ticket: dict) -> dict:
    """The callback and its history as the specialist and the worklist see them (without
    the seconds at which each request happened to be made)."""
    callback = {k: v for k, v in ticket["callback"].items() if k != "completed_at"}
    callback["attempt_log"] = [{k: v for k, v in entry.items() if k != "at"} for entry in callback.get("attempt_log", [])]
    return {"callback": callback, "history": [(h["by"], h["action"], h["note"]) for h in ticket["history"]]}


async def test_no_answer_through_done_is_counted_and_moved_exactly_as_through_attempt(make_client, sqlite_store, tmp_path):
    catalog_path = catalog_with_hours(tmp_path, ALWAYS_OPEN)
    client = await make_client(catalog_path)
    start = utcnow() - timedelta(hours=1)
    by_route = {"attempt": "C-20240305-0001", "done": "C-20240305-0002"}
    for ticket_id in by_route.values():
        await sqlite_store.save(opted_in(ticket_id, start))

    first = {}
    for route, ticket_id in by_route.items():
        first[route] = await json_of(await client.post(
            f"/api/callbacks/{ticket_id}/{route}", json={"agent": "sam", "outcome": "no_answer", "note": "voicemail"},
            headers=AUTH), 200)
    assert comparable(first["done"]) == comparable(first["attempt"])
    callback = first["done"]["callback"]
    expected = next(w for w in load_catalog(catalog_path).bookable_windows(utcnow()) if w["start"] > utcnow())
    assert callback["attempts"] == 1 and not callback.get("closed"), "the call counts, and the callback stays open"
    assert callback["window"] == {"start": iso(expected["start"]), "end": iso(expected["end"])}, "moved to the next window"
    assert "moved to" in first["done"]["history"][-1]["note"]
    listed = (await json_of(await client.get("/api/callbacks", headers=AUTH), 200))["callbacks"]
    assert sorted(t["ticket_id"] for t in listed) == sorted(by_route.values()), "both still to call"

    # The catalog's last call (max_attempts: 2) unanswered closes it, by either route.
    second = {}
    for route, ticket_id in by_route.items():
        second[route] = await json_of(await client.post(
            f"/api/callbacks/{ticket_id}/{route}", json={"agent": "sam", "outcome": "no_answer"}, headers=AUTH), 200)
    assert comparable(second["done"]) == comparable(second["attempt"])
    assert second["done"]["callback"]["attempts"] == 2 and second["done"]["callback"]["closed"] is True
    assert (await json_of(await client.get("/api/callbacks", headers=AUTH), 200))["callbacks"] == []
