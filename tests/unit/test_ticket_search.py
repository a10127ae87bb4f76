"""The agents' ticket list: GET /api/tickets/search over both stores (SQLite and a real Redis),
as an agent uses it to find the ticket a customer quotes or one that never reached a person."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import pytest_asyncio

from bot.service.app import create_app
from bot.service.console.config import ConsoleConfig
from bot.tickets.model import HistoryAction, Status, new_ticket
from bot.tickets.store import MAX_SEARCH_PAGE
from tests.support.console_sign_in import ACCOUNTS, signed_in
from tests.support.live import ALWAYS_OPEN, catalog_with_hours
from tests.support.tickets import ticket_id

TOKEN = "search-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Europe/London in November is UTC+0; 23:30 UTC on the 21st is still the 21st there.
DAY = datetime(2026, 11, 21, 23, 30, tzinfo=timezone.utc)


def ticket(number: int, *, days: int = 0, status: str = Status.OPEN, category: str = "delivery", channel: str = "web",
           order_id=None, phone=None, email=None, demand=None, transcript=(), note=None):
    doc = new_ticket(ticket_id(number, DAY + timedelta(days=days)), f"conv-{number}", channel,
                     now=DAY + timedelta(days=days, minutes=number))
    doc.update(status=status, category=category, customer_demand=demand)
    doc["facts"]["order_id"] = order_id
    doc["customer"] = {"phone": phone, "email": email}
    doc["transcript"] = [{"role": "customer", "text": t, "at": doc["created_at"]} for t in transcript]
    if note:
        doc["history"] = [{"at": doc["created_at"], "by": "assistant", "action": HistoryAction.HANDED_OFF, "note": note}]
    return doc


TICKETS = [
    ticket(1, days=-1, status=Status.RESOLVED, category="delivery", order_id="ORD-4400918", demand="where is my parcel"),
    ticket(2, days=0, status=Status.HANDED_OFF, category="billing", channel="voice", phone="+447700900123",
           demand="charged twice", note="customer asked for a person"),
    ticket(3, days=0, status=Status.OPEN, category="product_quality", email="Jo.Bloggs@example.org",
           transcript=["the fridge arrived broken, door hanging off"]),
    ticket(4, days=1, status=Status.OPEN, category="delivery", order_id="ORD-5512093", demand="parcel late again"),
]


@pytest_asyncio.fixture
async def client(aiohttp_client, store, tmp_path):
    for doc in TICKETS:
        await store.save(doc)
    console = ConsoleConfig(catalog_path=catalog_with_hours(tmp_path, ALWAYS_OPEN), cookie_secure=False)
    return await aiohttp_client(create_app({"token": TOKEN, "store": store, "console": console,
                                            "rasa_url": "http://127.0.0.1:9"}))


async def ids(client, **query) -> list:
    resp = await client.get("/api/tickets/search", params=query, headers=AUTH)
    assert resp.status == 200, await resp.text()
    return [t["ticket_id"] for t in (await resp.json())["tickets"]]


async def test_everything_newest_first(client):
    assert await ids(client) == ["C-20261122-0004", "C-20261121-0003", "C-20261121-0002", "C-20261120-0001"]


@pytest.mark.parametrize("quoted, expected", [
    ("C-20261121-0003", ["C-20261121-0003"]),          # the reference, as printed
    ("c 2026 1121 0003", ["C-20261121-0003"]),         # ... as read out over the phone
    ("ORD-4400918", ["C-20261120-0001"]),              # the order number
    ("ord 4400918", ["C-20261120-0001"]),
    ("4400918", ["C-20261120-0001"]),
    ("07700 900123", ["C-20261121-0002"]),             # a national phone number for +44...
    ("+44 7700 900123", ["C-20261121-0002"]),
    ("jo.bloggs@example.org", ["C-20261121-0003"]),    # e-mail, any case
    ("fridge broken", ["C-20261121-0003"]),            # words from the transcript
    ("parcel", ["C-20261122-0004", "C-20261120-0001"]),  # ... or the demand
    ("asked for a person", ["C-20261121-0002"]),       # ... or the history's notes
    ("nothing like this", []),
])
async def test_search_finds_what_a_customer_quotes(client, quoted, expected):
    assert await ids(client, q=quoted) == expected


async def test_filters_combine(client):
    assert await ids(client, status="open") == ["C-20261122-0004", "C-20261121-0003"]
    assert await ids(client, category="delivery") == ["C-20261122-0004", "C-20261120-0001"]
    assert await ids(client, channel="voice") == ["C-20261121-0002"]
    # Created days are the business's (Europe/London), both ends inclusive.
    assert await ids(client, **{"from": "2026-11-21", "to": "2026-11-21"}) == ["C-20261121-0003", "C-20261121-0002"]
    assert await ids(client, **{"from": "2026-11-22"}) == ["C-20261122-0004"]
    assert await ids(client, **{"to": "2026-11-20"}) == ["C-20261120-0001"]
    assert await ids(client, q="parcel", status="open", category="delivery") == ["C-20261122-0004"]


async def test_pages(client):
    resp = await client.get("/api/tickets/search", params={"per_page": "3", "page": "2"}, headers=AUTH)
    body = await resp.json()
    assert [t["ticket_id"] for t in body["tickets"]] == ["C-20261120-0001"]
    assert body["total"] == 4 and body["pages"] == 2 and body["page"] == 2 and body["per_page"] == 3
    assert await ids(client, per_page="3", page="3") == []


@pytest.mark.parametrize("query, named", [
    ({"status": "lost"}, "status"), ({"status": "handed off"}, "status"), ({"from": "2026-13-01"}, "from"),
    ({"from": "21/11/2026"}, "from"), ({"to": "yesterday"}, "to"), ({"from": "2026-11-22", "to": "2026-11-21"}, "from"),
    ({"category": "weather"}, "category"), ({"channel": "<script>"}, "channel"),
    ({"per_page": str(MAX_SEARCH_PAGE + 1)}, "per_page"), ({"per_page": "0"}, "per_page"), ({"page": "-1"}, "page"),
    ({"q": "x" * 201}, "q"),
])
async def test_bad_input_is_400_naming_it(client, query, named):
    resp = await client.get("/api/tickets/search", params=query, headers=AUTH)
    assert resp.status == 400, await resp.text()
    assert named in (await resp.json())["error"]


async def test_needs_the_token_or_a_session(aiohttp_client, store, tmp_path):
    await store.save(TICKETS[0])
    console = ConsoleConfig(accounts=ACCOUNTS, catalog_path=catalog_with_hours(tmp_path, ALWAYS_OPEN), cookie_secure=False)
    client = await aiohttp_client(create_app({"token": TOKEN, "store": store, "console": console,
                                              "rasa_url": "http://127.0.0.1:9"}))
    assert (await client.get("/api/tickets/search")).status == 401
    await signed_in(client)  # the console's own page calls it with the session cookie, no token
    resp = await client.get("/api/tickets/search", params={"q": "parcel"})
    assert resp.status == 200 and [t["ticket_id"] for t in (await resp.json())["tickets"]] == ["C-20261120-0001"]
