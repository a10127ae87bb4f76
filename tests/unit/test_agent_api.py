"""Agent API over a real store (both backends) and the stand-in for Rasa's HTTP API
(tests/support/rasa_stand_in.py says why one, and where the real Rasa is used instead)."""
from __future__ import annotations

from datetime import datetime

import pytest
import pytest_asyncio

from bot.service.app import create_app
from bot.tickets.model import utcnow
from bot.tickets.sqlite_store import SQLiteTicketStore
from tests.support.http import json_of
from tests.support.rasa_stand_in import rasa  # noqa: F401 (fixture)
from tests.support.tickets import callback, ticket

TOKEN = "agent-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def make_client(aiohttp_client, store, rasa):
    async def make(**config):
        settings = {"token": TOKEN, "store": store, "rasa_url": rasa.url, "rasa_token": "rasa-tok"}
        settings.update(config)
        return await aiohttp_client(create_app(settings))

    return make


@pytest_asyncio.fixture
async def client(make_client):
    return await make_client()


# -- auth ------------------------------------------------------------------------
async def test_health_needs_no_auth(client):
    assert await json_of(await client.get("/health"), 200) == {"status": "ok"}


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer wrong"},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": "Bearer "},
    {"Authorization": TOKEN},
])
async def test_api_needs_the_bearer_token(client, headers):
    for path in ("/api/tickets", "/api/handoffs", "/api/callbacks", "/api/tickets/C-20240305-0001", "/api/nope"):
        body = await json_of(await client.get(path, headers=headers), 401)
        assert "error" in body
    resp = await client.post("/api/tickets/C-20240305-0001/claim", json={"agent": "ann"}, headers=headers)
    await json_of(resp, 401)


async def test_unset_token_refuses_everything(make_client):
    client = await make_client(token=None)
    await json_of(await client.get("/api/tickets", headers={"Authorization": "Bearer "}), 401)
    await json_of(await client.get("/api/tickets", headers={"Authorization": "Bearer None"}), 401)
    await json_of(await client.get("/health"), 200)


# -- reading ---------------------------------------------------------------------
async def test_list_and_filter(client, store):
    await store.save(ticket("C-20240305-0001", "conv-a", minutes=0))
    await store.save(ticket("C-20240305-0002", "conv-b", minutes=1, status="handed_off", score=50))
    await store.save(ticket("C-20240305-0003", "conv-a", minutes=2, status="handed_off", score=80))

    body = await json_of(await client.get("/api/tickets", headers=AUTH), 200)
    assert [t["ticket_id"] for t in body["tickets"]] == ["C-20240305-0003", "C-20240305-0002", "C-20240305-0001"]

    body = await json_of(await client.get("/api/tickets?status=handed_off&conversation_id=conv-a", headers=AUTH), 200)
    assert [t["ticket_id"] for t in body["tickets"]] == ["C-20240305-0003"]

    body = await json_of(await client.get("/api/tickets?conversation_id=conv-a&status=", headers=AUTH), 200)
    assert [t["ticket_id"] for t in body["tickets"]] == ["C-20240305-0003", "C-20240305-0001"]

    body = await json_of(await client.get("/api/handoffs", headers=AUTH), 200)
    assert [t["ticket_id"] for t in body["handoffs"]] == ["C-20240305-0003", "C-20240305-0002"]


@pytest.mark.parametrize("query", ["status=bogus", "status=HANDED_OFF", "limit=abc", "limit=0", "limit=%C2%B2"])
async def test_bad_query_is_400(client, query):
    body = await json_of(await client.get(f"/api/tickets?{query}", headers=AUTH), 400)
    assert body["error"]


async def test_get_ticket(client, store):
    saved = await store.save(ticket("C-20240305-0001"))
    assert await json_of(await client.get("/api/tickets/C-20240305-0001", headers=AUTH), 200) == saved
    body = await json_of(await client.get("/api/tickets/C-20240305-0099", headers=AUTH), 404)
    assert "C-20240305-0099" in body["error"]


@pytest.mark.parametrize("bad_id", ["nope", "C-2024035-0001", "C-20240305-01", "X-20240305-0001", "C-20240305-0001x"])
async def test_malformed_ticket_id_is_400(client, bad_id):
    await json_of(await client.get(f"/api/tickets/{bad_id}", headers=AUTH), 400)
    await json_of(await client.post(f"/api/tickets/{bad_id}/claim", json={"agent": "ann"}, headers=AUTH), 400)
    await json_of(await client.post(f"/api/callbacks/{bad_id}/done", json={"agent": "a", "outcome": "done"}, headers=AUTH), 400)


async def test_unknown_route_and_method_are_json(client):
    await json_of(await client.get("/api/nothing-here", headers=AUTH), 404)
    resp = await client.delete("/api/tickets", headers=AUTH)
    await json_of(resp, 405)
    assert "GET" in resp.headers["Allow"]


# -- claim / resolve -------------------------------------------------------------
async def test_claim_records_who_and_when(client, store):
    await store.save(ticket("C-20240305-0001", status="handed_off"))
    before = utcnow().replace(microsecond=0)
    body = await json_of(await client.post("/api/tickets/C-20240305-0001/claim", json={"agent": "ann"}, headers=AUTH), 200)
    assert body["assignee"] == "ann"
    entry = body["history"][-1]
    assert entry["by"] == "ann" and entry["action"] == "claimed"
    assert datetime.fromisoformat(entry["at"]) >= before
    stored = await store.get("C-20240305-0001")
    assert stored["assignee"] == "ann" and stored["history"] == body["history"]

    body = await json_of(await client.post("/api/tickets/C-20240305-0001/claim", json={"agent": "bob"}, headers=AUTH), 200)
    assert body["assignee"] == "bob"
    assert [h["by"] for h in body["history"]] == ["ann", "bob"]
    assert "ann" in body["history"][-1]["note"]


async def test_resolve_records_note_and_leaves_queue(client, store):
    await store.save(ticket("C-20240305-0001", status="handed_off", score=60))
    resp = await client.post("/api/tickets/C-20240305-0001/resolve", json={"agent": "ann", "note": "refund sent"}, headers=AUTH)
    body = await json_of(resp, 200)
    assert body["status"] == "resolved"
    assert body["history"][-1] | {"at": None} == {"at": None, "by": "ann", "action": "resolved", "note": "refund sent"}
    assert (await json_of(await client.get("/api/handoffs", headers=AUTH), 200))["handoffs"] == []
    again = await client.post("/api/tickets/C-20240305-0001/resolve", json={"agent": "ann"}, headers=AUTH)
    await json_of(again, 409)
    await json_of(await client.post("/api/tickets/C-20240305-0001/claim", json={"agent": "bob"}, headers=AUTH), 409)


@pytest.mark.parametrize("payload", [
    b"{not json",
    b"",
    b"[1, 2]",
    b'"agent"',
    b'{"agent": 42}',
    b'{"agent": "   "}',
    b'{"agent": null}',
    b'{"agent": "ann", "note": ["x"]}',
    b"\xff\xfe",
])
async def test_bad_bodies_are_400(client, store, payload):
    await store.save(ticket("C-20240305-0001", status="handed_off"))
    before = await store.get("C-20240305-0001")
    for action in ("claim", "resolve", "handback"):
        resp = await client.post(f"/api/tickets/C-20240305-0001/{action}", data=payload,
                                 headers={**AUTH, "Content-Type": "application/json"})
        assert (await json_of(resp, 400))["error"]
    assert await store.get("C-20240305-0001") == before


async def test_actions_on_unknown_ticket_are_404(client):
    for action in ("claim", "resolve", "handback"):
        resp = await client.post(f"/api/tickets/C-20240305-0042/{action}", json={"agent": "ann"}, headers=AUTH)
        await json_of(resp, 404)
    resp = await client.post("/api/callbacks/C-20240305-0042/done", json={"agent": "ann", "outcome": "done"}, headers=AUTH)
    await json_of(resp, 404)


# -- callbacks -------------------------------------------------------------------
async def test_callback_done(client, store):
    await store.save(ticket("C-20240305-0001", callback=callback(start_minutes=120)))
    await store.save(ticket("C-20240305-0002", callback=callback(start_minutes=30)))
    body = await json_of(await client.get("/api/callbacks", headers=AUTH), 200)
    assert [t["ticket_id"] for t in body["callbacks"]] == ["C-20240305-0002", "C-20240305-0001"]

    resp = await client.post("/api/callbacks/C-20240305-0002/done",
                             json={"agent": "cem", "outcome": "no_answer", "note": "voicemail"}, headers=AUTH)
    body = await json_of(resp, 200)
    assert body["callback"]["outcome"] == "no_answer" and body["callback"]["status"] == "opted_in"
    # The same rule as the console's /attempt: the call is counted and moved to a later window.
    assert body["callback"]["attempts"] == 1
    note = body["history"][-1]["note"]
    assert body["history"][-1]["by"] == "cem" and "voicemail" in note and "moved to" in note
    # No answer: still to be called, so still listed.
    listed = (await json_of(await client.get("/api/callbacks", headers=AUTH), 200))["callbacks"]
    assert {t["ticket_id"] for t in listed} == {"C-20240305-0002", "C-20240305-0001"}

    resp = await client.post("/api/callbacks/C-20240305-0002/done", json={"agent": "cem", "outcome": "done"}, headers=AUTH)
    body = await json_of(resp, 200)
    assert body["callback"]["outcome"] == "done"
    assert datetime.fromisoformat(body["callback"]["completed_at"]) <= utcnow()
    listed = (await json_of(await client.get("/api/callbacks", headers=AUTH), 200))["callbacks"]
    assert [t["ticket_id"] for t in listed] == ["C-20240305-0001"]

    again = await client.post("/api/callbacks/C-20240305-0002/done", json={"agent": "cem", "outcome": "done"}, headers=AUTH)
    await json_of(again, 409)


async def test_callback_done_needs_opted_in_callback(client, store):
    await store.save(ticket("C-20240305-0001"))  # callback not_offered
    before = await store.get("C-20240305-0001")
    resp = await client.post("/api/callbacks/C-20240305-0001/done", json={"agent": "cem", "outcome": "done"}, headers=AUTH)
    await json_of(resp, 409)
    assert await store.get("C-20240305-0001") == before


@pytest.mark.parametrize("outcome", [None, "finished", 1, ["done"]])
async def test_callback_done_bad_outcome_is_400(client, store, outcome):
    await store.save(ticket("C-20240305-0001", callback=callback(start_minutes=60)))
    resp = await client.post("/api/callbacks/C-20240305-0001/done", json={"agent": "cem", "outcome": outcome}, headers=AUTH)
    await json_of(resp, 400)


# -- handback --------------------------------------------------------------------
async def test_handback_resumes_conversation_in_rasa(client, store, rasa):
    conversation = "whatsapp:+491701234567"
    await store.save(ticket("C-20240305-0001", conversation, status="handed_off", score=50))
    resp = await client.post("/api/tickets/C-20240305-0001/handback", json={"agent": "ann"}, headers=AUTH)
    body = await json_of(resp, 200)
    assert body["status"] == "open"
    assert body["history"][-1]["by"] == "ann" and body["history"][-1]["action"] == "handed_back"
    resume = rasa.posts[0]
    assert (resume["conversation_id"], resume["query"]) == (conversation, {"token": "rasa-tok"})
    assert (resume["json"] if isinstance(resume["json"], list) else [resume["json"]])[0] == {"event": "resume"}
    # Then the customer is told, in their conversation, by the agent's display name.
    told = rasa.posts[1]["json"]
    assert told["event"] == "bot" and told["metadata"] == {"agent": "Ann"}
    assert "Ann has passed you back to our assistant" in told["text"] and "C-20240305-0001" in told["text"]
    assert (await store.get("C-20240305-0001"))["status"] == "open"
    assert await store.handoffs() == []


async def test_handback_when_rasa_unreachable_is_502_and_changes_nothing(make_client, store, unused_tcp_port):
    client = await make_client(rasa_url=f"http://127.0.0.1:{unused_tcp_port}", rasa_timeout=2)
    await store.save(ticket("C-20240305-0001", status="handed_off", score=50))
    before = await store.get("C-20240305-0001")
    resp = await client.post("/api/tickets/C-20240305-0001/handback", json={"agent": "ann"}, headers=AUTH)
    assert "rasa" in (await json_of(resp, 502))["error"]
    assert await store.get("C-20240305-0001") == before


async def test_handback_when_rasa_refuses_is_502_and_changes_nothing(client, store, rasa):
    rasa.events_status = 401
    await store.save(ticket("C-20240305-0001", status="handed_off"))
    before = await store.get("C-20240305-0001")
    resp = await client.post("/api/tickets/C-20240305-0001/handback", json={"agent": "ann"}, headers=AUTH)
    await json_of(resp, 502)
    assert len(rasa.posts) == 1
    assert await store.get("C-20240305-0001") == before


async def test_handback_only_from_handed_off(client, store, rasa):
    await store.save(ticket("C-20240305-0001", status="open"))
    resp = await client.post("/api/tickets/C-20240305-0001/handback", json={"agent": "ann"}, headers=AUTH)
    await json_of(resp, 409)
    assert rasa.posts == []


# -- lifecycle -------------------------------------------------------------------
async def test_app_opens_its_own_sqlite_store(aiohttp_client, sqlite_path, monkeypatch):
    # The action server writes, the API (its own store object on the same file) reads.
    monkeypatch.delenv("REDIS_URL", raising=False)
    writer = SQLiteTicketStore(sqlite_path)
    try:
        await writer.save(ticket("C-20240305-0001", status="handed_off", score=30))
        client = await aiohttp_client(create_app({"token": TOKEN, "sqlite_path": sqlite_path}))
        body = await json_of(await client.get("/api/handoffs", headers=AUTH), 200)
        assert [t["ticket_id"] for t in body["handoffs"]] == ["C-20240305-0001"]
        await json_of(await client.post("/api/tickets/C-20240305-0001/claim", json={"agent": "ann"}, headers=AUTH), 200)
        assert (await writer.get("C-20240305-0001"))["assignee"] == "ann"
    finally:
        await writer.close()


async def test_config_from_env(monkeypatch, aiohttp_client, sqlite_path):
    monkeypatch.setenv("AGENT_API_TOKEN", "from-env")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("TICKETS_DB", sqlite_path)
    client = await aiohttp_client(create_app())
    await json_of(await client.get("/api/tickets", headers={"Authorization": "Bearer from-env"}), 200)
    await json_of(await client.get("/api/tickets", headers=AUTH), 401)


async def test_unknown_config_key_is_rejected():
    with pytest.raises(TypeError):
        create_app({"tokn": "typo"})
