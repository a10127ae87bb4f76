"""Issue 11 on the web chat gateway, in process against a stand-in for Rasa: the conversation
cookie (item 5), Origin checks, frame headers, per-client limits (item 6), card numbers
masked on the way to the agents (item 4) and who may write as an agent."""
from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest
import pytest_asyncio

from bot.service.app import create_app
from bot.service.console.config import ConsoleConfig
from bot.tickets.model import new_ticket
from bot.service.webchat import conversation_cookie
from bot.service.webchat.config import WebchatConfig
from tests.support.console_sign_in import ACCOUNTS, signed_in
from tests.support.webchat import COOKIE, json_of, start_conversation
from tests.support.rasa_stand_in import RasaStandIn, serve


TOKEN = "tok"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
CARD = "4111 1111 1111 1111"  # Luhn-valid
HANDOFF_REPLIES = [
    {"text": "Passing you on. Your reference is C-20240305-0001. Back at 9."},
    {"custom": {"handoff": {"ticket_id": "C-20240305-0001", "reason": "asked"}}},
]


@pytest_asyncio.fixture
async def rasa(aiohttp_server):
    """Rasa's REST channel and tracker API (tests/support/rasa_stand_in.py: why a stand-in);
    `gate` (when set) holds every turn until opened."""
    stand_in = RasaStandIn()
    stand_in.replies = [{"text": "Hello"}]
    return await serve(aiohttp_server, stand_in)


@pytest.fixture
def make_client(aiohttp_client, sqlite_store, rasa):
    async def make(api=None, **webchat):
        settings = {"token": TOKEN, "store": sqlite_store, "rasa_url": rasa.url, "rasa_token": "rasa-tok",
                    "console": ConsoleConfig(accounts=ACCOUNTS, poll_interval=0.1, cookie_secure=False),
                    "webchat": WebchatConfig().with_(**webchat), **(api or {})}
        return await aiohttp_client(create_app(settings))

    return make


async def save_ticket(store, conversation_id, status="handed_off", assignee=None, number=1):
    ticket = new_ticket(f"C-20240305-{number:04d}", conversation_id, "web")
    ticket.update(status=status, assignee=assignee)
    await store.save(ticket)


# ==== item 5: the conversation cookie ===================================================
async def test_a_new_conversation_comes_with_an_httponly_strict_secure_cookie(make_client):
    client = await make_client()
    resp = await client.post("/chat/api/conversations")
    body = await json_of(resp, 201)
    morsel = resp.cookies[COOKIE]
    assert morsel.value.startswith(body["conversation_id"] + ".")
    assert morsel["httponly"] and morsel["secure"] and morsel["samesite"] == "Strict" and morsel["path"] == "/"
    assert int(morsel["max-age"]) > 0  # survives a reload and a browser restart
    second = await json_of(await client.post("/chat/api/conversations"), 201)
    assert second["conversation_id"] != body["conversation_id"]

    plain = await make_client(cookie_secure=False)  # CHAT_COOKIE_SECURE=0 for a plain-http local run
    assert not (await plain.post("/chat/api/conversations")).cookies[COOKIE]["secure"]


async def test_without_the_cookie_nothing_of_the_conversation_is_reachable(make_client, rasa):
    client = await make_client()
    cid, cookie = await start_conversation(client)
    rasa.tracker = {"slots": {"ticket_id": "C-20240305-0001"}, "paused": False,
                    "events": [{"event": "user", "text": "my number is +447700900123", "timestamp": 1.0}]}
    assert (await json_of(await client.get("/chat/api/history", headers=cookie), 200))["messages"]

    value = cookie["Cookie"].split("=", 1)[1]
    other_cid = (await start_conversation(client))[0]
    _, expires, signature = value.split(".")
    expired = conversation_cookie.issue(client.app[__import__("bot.service.typedefs", fromlist=["COOKIE_KEY_KEY"]).COOKIE_KEY_KEY], cid,
                                        60, now=time.time() - 3600)
    refused = [
        {},                                                            # the id alone (what leaked before)
        {"Cookie": f"{COOKIE}={cid}"},
        {"Cookie": f"{COOKIE}={other_cid}.{expires}.{signature}"},     # someone else's id, my signature
        {"Cookie": f"{COOKIE}={cid}.{int(expires) + 1}.{signature}"},  # lengthened
        {"Cookie": f"{COOKIE}={expired}"},
    ]
    for headers in refused:
        assert (await client.get("/chat/api/history", headers=headers)).status == 401, headers
        resp = await client.post("/chat/api/messages", json={"conversation_id": cid, "text": "hi"}, headers=headers)
        assert resp.status == 401, headers
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await client.ws_connect("/chat/ws", headers=headers)
        assert err.value.status == 401
    # The old query-string form opens nothing either.
    assert (await client.get("/chat/api/history", params={"conversation_id": cid})).status == 401
    assert rasa.turns == []  # nothing was sent as that customer

    # A tab still showing another conversation than its cookie names: not written into the new one.
    resp = await client.post("/chat/api/messages", json={"conversation_id": other_cid, "text": "hi"}, headers=cookie)
    assert resp.status == 409 and rasa.turns == []


async def test_the_socket_and_posts_refuse_other_origins(make_client):
    client = await make_client(allowed_origins=("https://shop.example",))
    _, cookie = await start_conversation(client)
    own = f"http://{client.server.host}:{client.server.port}"
    for origin in ("https://evil.example", "null", f"http://{client.server.host}:1"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await client.ws_connect("/chat/ws", headers={**cookie, "Origin": origin})
        assert err.value.status == 403, origin
        resp = await client.post("/chat/api/messages", json={"text": "hi"}, headers={**cookie, "Origin": origin})
        assert resp.status == 403, origin
        assert (await client.post("/chat/api/conversations", headers={"Origin": origin})).status == 403
    for origin in (own, "https://shop.example"):
        ws = await client.ws_connect("/chat/ws", headers={**cookie, "Origin": origin})
        await ws.send_str("ping")
        assert await ws.receive_json(timeout=5) == {"type": "pong"}
        await ws.close()


async def test_the_chat_page_may_not_be_framed(make_client):
    resp = await (await make_client()).get("/chat")
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Frame-Options"] == "DENY"
    resp = await (await make_client(frame_ancestors=("https://shop.example",))).get("/chat")
    assert "frame-ancestors https://shop.example" in resp.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in resp.headers  # it cannot name an origin; CSP decides


# ==== item 6: per-client limits ==========================================================
async def test_new_conversations_per_client_address(make_client):
    client = await make_client(conversations=(3, 600.0))
    statuses = [(await client.post("/chat/api/conversations")) for _ in range(10)]
    assert [r.status for r in statuses].count(201) == 3
    refused = [r for r in statuses if r.status == 429]
    assert len(refused) == 7 and all(int(r.headers["Retry-After"]) >= 1 for r in refused)
    # A made-up X-Forwarded-For from an untrusted peer is not a new client.
    resp = await client.post("/chat/api/conversations", headers={"X-Forwarded-For": "203.0.113.9"})
    assert resp.status == 429


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget(make_client):
    client = await make_client(api={"trusted_proxies": "127.0.0.1/32, ::1/128"}, conversations=(2, 600.0))
    for address in ("203.0.113.1", "203.0.113.2"):
        got = [(await client.post("/chat/api/conversations", headers={"X-Forwarded-For": f"198.51.100.7, {address}"})).status
               for _ in range(4)]
        assert got == [201, 201, 429, 429], address


async def test_a_burst_of_hand_off_requests_gets_at_most_the_limit(make_client, rasa):
    limit, sent = 3, 15
    client = await make_client(handoffs=(limit, 600.0), conversations=(100, 600.0))
    chats = [await start_conversation(client) for _ in range(sent)]
    rasa.replies = HANDOFF_REPLIES
    rasa.tracker = {"slots": {"ticket_id": "C-20240305-0001"}, "paused": False, "events": []}
    # Rasa holds every turn until the gateway has answered all the others: every request is
    # in flight at once, as in the 0.1 s burst of the issue.
    rasa.gate = asyncio.Event()
    answered = []

    async def ask(cid, cookie):
        resp = await client.post("/chat/api/messages", json={"conversation_id": cid, "text": "I want to speak to a person"},
                                 headers=cookie)
        answered.append(resp)
        rasa.arrived.set()  # wakes the releaser
        return resp.status, resp.headers.get("Retry-After"), await resp.json()

    async def release_when_all_arrived():
        while len(answered) + len(rasa.turns) < sent:
            rasa.arrived.clear()
            await rasa.arrived.wait()
        rasa.gate.set()

    releaser = asyncio.create_task(release_when_all_arrived())
    results = await asyncio.wait_for(asyncio.gather(*(ask(cid, cookie) for cid, cookie in chats)), 30)
    releaser.cancel()
    handed_off = [r for r in results if r[0] == 200 and r[2]["handed_off"]]
    assert len(handed_off) <= limit  # not "<= sent": a broken limiter hands off all 15
    assert len(rasa.turns) <= limit
    assert len(handed_off) == limit  # and the limit is not zero
    assert all(r[0] == 429 and int(r[1]) >= 1 for r in results if r not in handed_off)


async def test_turns_that_do_not_hand_off_do_not_use_the_hand_off_budget(make_client, rasa):
    client = await make_client(handoffs=(2, 600.0))
    cid, cookie = await start_conversation(client)
    for _ in range(8):
        await json_of(await client.post("/chat/api/messages", json={"text": "hello"}, headers=cookie), 200)
    rasa.replies = HANDOFF_REPLIES
    others = [await start_conversation(client) for _ in range(3)]
    for _, other in others[:2]:
        assert (await json_of(await client.post("/chat/api/messages", json={"text": "a person"}, headers=other), 200))["handed_off"]
    turns = len(rasa.turns)
    assert (await client.post("/chat/api/messages", json={"text": "a person"}, headers=others[2][1])).status == 429
    assert len(rasa.turns) == turns
    # Over budget, a customer already with a colleague can still write to them.
    rasa.replies = []
    await json_of(await client.post("/chat/api/messages", json={"text": "are you there?"}, headers=others[0][1]), 200)


async def test_open_websockets_per_client_address(make_client):
    limit, tried = 10, 300
    client = await make_client(websockets=limit)
    _, cookie = await start_conversation(client)

    async def connect():
        try:
            return await client.ws_connect("/chat/ws", headers=cookie)
        except aiohttp.WSServerHandshakeError as err:
            return err.status

    results = await asyncio.gather(*(connect() for _ in range(tried)))
    opened = [r for r in results if not isinstance(r, int)]
    assert len(opened) <= limit  # not "<= tried"
    assert len(opened) == limit and [r for r in results if isinstance(r, int)] == [429] * (tried - limit)
    await opened[0].close()
    again = await client.ws_connect("/chat/ws", headers=cookie)  # a closed one frees its place
    for ws in opened[1:] + [again]:
        await ws.close()


async def test_client_limits_off_for_load_tests(make_client):
    assert WebchatConfig.from_env({"CLIENT_LIMITS": "off"}).client_limits is False
    assert WebchatConfig.from_env({}).client_limits is True  # on by default
    client = await make_client(client_limits=False, conversations=(1, 600.0), websockets=1)
    assert {(await client.post("/chat/api/conversations")).status for _ in range(5)} == {201}


async def test_rasas_429_reaches_the_page_as_429(make_client, rasa):
    client = await make_client()
    _, cookie = await start_conversation(client)
    rasa.turn_status, rasa.turn_headers = 429, {"Retry-After": "3"}
    resp = await client.post("/chat/api/messages", json={"text": "hi"}, headers=cookie)
    assert resp.status == 429 and resp.headers["Retry-After"] == "3"
    assert "wait" in (await resp.json())["error"]


# ==== item 4: card numbers masked on the way to the agents ===============================
async def test_a_card_number_typed_during_a_hand_off_reaches_the_console_masked(make_client, rasa, sqlite_store):
    client = await make_client()
    cid, cookie = await start_conversation(client)
    await save_ticket(sqlite_store, cid, assignee="alice")
    rasa.replies, rasa.tracker = [], {"slots": {"ticket_id": "C-20240305-0001"}, "paused": True, "events": []}
    await signed_in(client, "alice")
    console = await client.ws_connect("/console/ws?ticket_id=C-20240305-0001")
    try:
        while (await console.receive_json(timeout=5)).get("type") != "conversation":
            pass
        await json_of(await client.post("/chat/api/messages", json={"text": f"my card is {CARD}, charged twice"},
                                        headers=cookie), 200)
        while True:
            message = await console.receive_json(timeout=5)
            if message.get("type") == "message":
                break
    finally:
        await console.close()
    assert message["text"] == "my card is [card ending 1111], charged twice"
    assert "4111" not in json.dumps(message).replace("[card ending 1111]", "")


# ==== agents write only into a conversation they have ====================================
async def test_agent_messages_need_a_claimed_hand_off_and_a_real_agent(make_client, rasa, sqlite_store):
    client = await make_client()
    cid = "whatsapp:+491701234567"

    async def post(agent="alice"):
        return await client.post(f"/api/conversations/{cid}/messages", json={"agent": agent, "text": "hello"}, headers=BEARER)

    # Still with the assistant: no ticket, or not handed off.
    assert (await json_of(await post(), 409))["error"]
    await save_ticket(sqlite_store, cid, status="open")
    await json_of(await post(), 409)
    # Handed off but nobody's, or somebody else's.
    await save_ticket(sqlite_store, cid, number=2)
    await json_of(await post(), 403)
    await save_ticket(sqlite_store, cid, number=2, assignee="sam")
    await json_of(await post(), 403)
    # A token holder naming nobody real, even the name on the claim.
    await save_ticket(sqlite_store, cid, number=2, assignee="mallory")
    await json_of(await post("mallory"), 403)
    assert rasa.events == []  # nothing written into the conversation
    await save_ticket(sqlite_store, cid, number=2, assignee="alice")
    await json_of(await post(), 201)
    assert [e["metadata"]["agent"] for e in rasa.events] == ["Alice"]  # as the customer sees it: the display name


async def test_a_signed_in_agent_writes_only_where_they_hold_the_claim(make_client, rasa, sqlite_store):
    client = await make_client()
    cid = "3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
    csrf = await signed_in(client, "alice")
    await save_ticket(sqlite_store, cid, assignee="sam")
    resp = await client.post(f"/api/conversations/{cid}/messages", json={"text": "hello"}, headers={"X-CSRF-Token": csrf})
    await json_of(resp, 403)
    await save_ticket(sqlite_store, cid, assignee="alice")
    resp = await client.post(f"/api/conversations/{cid}/messages", json={"text": f"card {CARD}?"}, headers={"X-CSRF-Token": csrf})
    sent = await json_of(resp, 201)
    assert sent["message"]["text"] == "card [card ending 1111]?"  # masked before it is stored or pushed
    assert rasa.events[-1]["text"] == "card [card ending 1111]?"
