"""Web chat gateway (bot/webchat): against the whole product (live_stack), plus the parts a
running Rasa can't show (Rasa down, shutdown, the agents' feed) against a stand-in, and the
pub/sub hub on its own (in memory and over a real Redis)."""
from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import WSMsgType

from bot.agent_api import create_app
from bot.console.accounts import Account
from bot.console.config import ConsoleConfig
from bot.tickets.model import new_ticket
from bot.webchat.hub import HUB_KEY, InMemoryHub, RedisHub
from tests.support.domain import domain_text
from tests.live import LIVE_AGENT_HASH
from tests.support.rasa_stand_in import rasa  # noqa: F401 (fixture)

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "test-agent-token"  # what tests/live.py gives the agent API
MAX_BODY = 16 * 1024
WAIT = 30  # seconds: one Rasa turn can run several custom actions


def new_id() -> str:
    return str(uuid.uuid4())


async def json_of(resp: aiohttp.ClientResponse, status: int):
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    return await resp.json()


@pytest_asyncio.fixture
async def http():
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


COOKIE = "chat_conversation"


async def start_conversation(http, base: str = ""):
    """What the page does first: the server names the conversation and sets its cookie.
    (Sent by hand: the cookie is Secure, and a client jar keeps it off plain http.)"""
    resp = await http.post(f"{base}/chat/api/conversations")
    body = await json_of(resp, 201)
    return body["conversation_id"], {"Cookie": f"{COOKIE}={resp.cookies[COOKIE].value}"}


class Chat:
    """The calls the chat page makes, for one conversation."""

    def __init__(self, http: aiohttp.ClientSession, base: str, conversation_id: str, cookie: dict) -> None:
        self.http, self.base, self.id, self.cookie = http, base, conversation_id, cookie

    @classmethod
    async def start(cls, http, base: str) -> "Chat":
        return cls(http, base, *(await start_conversation(http, base)))

    async def say(self, text: str, status: int = 200):
        resp = await self.http.post(f"{self.base}/chat/api/messages", json={"conversation_id": self.id, "text": text},
                                    headers=self.cookie)
        return await json_of(resp, status)

    async def history(self):
        return await json_of(await self.http.get(f"{self.base}/chat/api/history", headers=self.cookie), 200)

    def ws(self):
        return self.http.ws_connect(f"{self.base}/chat/ws", headers=self.cookie)


@pytest_asyncio.fixture
async def chat(http, live_stack):
    return await Chat.start(http, live_stack.agent_url)


def claim(live_stack, ticket_id: str, agent: str = "Sam") -> None:
    """Only the colleague who claimed the hand-off writes into the conversation."""
    live_stack.agent(f"/api/tickets/{ticket_id}/claim", "POST", {"agent": agent})


# ==== against the whole product =======================================================
BAD_IDS = ["", "abc", "12345", "../../etc/passwd", uuid.uuid4().hex, new_id() + "x", " ", "whatsapp:+491701234567", 42, None, ["x"]]


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_bad_conversation_id_is_400(http, live_stack, bad):
    base = live_stack.agent_url
    body = await json_of(await http.post(f"{base}/chat/api/messages", json={"conversation_id": bad, "text": "hi"}), 400)
    assert "conversation_id" in body["error"]
    if isinstance(bad, str):
        # History and socket take the conversation from the cookie only: a made-up one opens nothing.
        forged = {"Cookie": f"{COOKIE}={bad}.9999999999.AAAA"}
        await json_of(await http.get(f"{base}/chat/api/history", headers=forged), 401)
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await http.ws_connect(f"{base}/chat/ws", headers=forged)
        assert err.value.status == 401


async def test_missing_conversation_id_and_bad_bodies_are_400(http, live_stack):
    base = live_stack.agent_url
    await json_of(await http.get(f"{base}/chat/api/history"), 401)  # no conversation cookie
    for payload in (b"{not json", b"", b"[1]", b'"hi"', b"\xff\xfe"):
        resp = await http.post(f"{base}/chat/api/messages", data=payload, headers={"Content-Type": "application/json"})
        await json_of(resp, 400)
    await json_of(await http.post(f"{base}/chat/api/messages", json={"conversation_id": new_id(), "text": 42}), 400)


async def test_body_over_16kb_is_413_and_never_reaches_rasa(http, live_stack):
    conversation_id = new_id()
    big = json.dumps({"conversation_id": conversation_id, "text": "x" * MAX_BODY}).encode()
    assert len(big) > MAX_BODY
    resp = await http.post(f"{live_stack.agent_url}/chat/api/messages", data=big, headers={"Content-Type": "application/json"})
    assert "16 KB" in (await json_of(resp, 413))["error"]

    async def chunked():  # no Content-Length: the limit must hold while reading
        for i in range(0, len(big), 4096):
            yield big[i:i + 4096]

    resp = await http.post(f"{live_stack.agent_url}/chat/api/messages", data=chunked(), headers={"Content-Type": "application/json"})
    await json_of(resp, 413)
    tracker = live_stack.tracker(conversation_id)
    assert not [e for e in tracker["events"] if e["event"] == "user"]


async def test_body_just_under_the_limit_is_accepted(chat):
    # 16 KB is a transport limit; what the assistant makes of a very long message is its business.
    text = "my order was late. " * 800
    assert len(json.dumps({"conversation_id": chat.id, "text": text})) < MAX_BODY
    body = await chat.say(text)
    assert body["messages"] and body["handed_off"] is False


async def test_empty_text_gets_a_polite_reply(chat):
    polite = domain_text("utter_fallback_empty")
    body = await chat.say("")
    assert [m["text"] for m in body["messages"]] == [polite]
    assert body["messages"][0]["role"] == "bot"
    assert body["handed_off"] is False and body["ticket_id"] is None
    # "text" left out entirely is the same empty message.
    resp = await chat.http.post(f"{chat.base}/chat/api/messages", json={"conversation_id": chat.id}, headers=chat.cookie)
    assert [m["text"] for m in (await json_of(resp, 200))["messages"]] == [polite]
    # An empty message is not shown as a customer bubble, but the reply is.
    history = await chat.history()
    assert [m["role"] for m in history["messages"]] == ["bot", "bot"]


async def test_history_after_a_conversation(chat, live_stack):
    said, shown = [], []
    # Intents by payload, so this checks the gateway, not the NLU model.
    for text, label in [
        ("/complain_product_quality", "/complain_product_quality"),
        ("ORD-4400918", "ORD-4400918"),
        ("15 January 2023", "15 January 2023"),
        ("Bosch washing machine", "Bosch washing machine"),
    ]:
        body = await chat.say(text)
        shown += [{"role": "customer", "text": label}] + [{"role": "bot", "text": m["text"]} for m in body["messages"]]
        said.append(body)
    readback = said[-1]["messages"][-1]
    assert "ORD-4400918" in readback["text"] and "15 January 2023" in readback["text"]
    assert {"title": "Yes, that's right", "payload": "/affirm"} in readback["buttons"]
    ticket_id = said[-1]["ticket_id"]
    assert ticket_id and said[0]["ticket_id"] == ticket_id

    # Waiting for an answer: the history offers the same buttons on the read-back.
    history = await chat.history()
    assert [{"role": m["role"], "text": m["text"]} for m in history["messages"]] == shown
    assert history["messages"][-1]["buttons"] == readback["buttons"]
    assert all("buttons" not in m for m in history["messages"][:-1])

    # A button click sends the payload; the history shows what the customer clicked.
    body = await chat.say("/affirm")
    assert body["messages"][0]["text"].startswith("What we will do")
    shown += [{"role": "customer", "text": "Yes, that's right"}] + [{"role": "bot", "text": m["text"]} for m in body["messages"]]
    history = await chat.history()
    assert [{"role": m["role"], "text": m["text"]} for m in history["messages"]] == shown
    assert history["messages"][-1]["buttons"] == body["messages"][-1]["buttons"]
    assert all(isinstance(m["at"], float) for m in history["messages"])
    assert [m["at"] for m in history["messages"]] == sorted(m["at"] for m in history["messages"])
    assert history["ticket_id"] == ticket_id and history["handed_off"] is False and history["handoff"] is None
    tickets = live_stack.agent(f"/api/tickets?conversation_id={chat.id}")["tickets"]
    assert [t["ticket_id"] for t in tickets] == [ticket_id]
    assert tickets[0]["channel"] == "web"


async def test_agent_message_endpoint_requires_the_bearer_token(http, live_stack, chat):
    url = f"{live_stack.agent_url}/api/conversations/{chat.id}/messages"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        body = await json_of(await http.post(url, json={"agent": "Sam", "text": "hello"}, headers=headers), 401)
        assert body["error"]
    # Nothing was written into the conversation.
    assert not [e for e in live_stack.tracker(chat.id)["events"] if e["event"] == "bot"]


@pytest.mark.parametrize("payload", [
    {"text": "hi"}, {"agent": "", "text": "hi"}, {"agent": "Sam"}, {"agent": "Sam", "text": "  "},
    {"agent": "Sam", "text": 5}, {"agent": "Sam", "text": "x" * 4001},
])
async def test_agent_message_bad_body_is_400(http, live_stack, payload):
    url = f"{live_stack.agent_url}/api/conversations/{new_id()}/messages"
    await json_of(await http.post(url, json=payload, headers={"Authorization": f"Bearer {TOKEN}"}), 400)


async def test_handoff_then_agent_message_reaches_the_open_chat(http, live_stack, chat):
    await chat.say("hi")
    body = await chat.say("I want to speak to a person")
    assert body["handed_off"] is True
    ticket_id = body["ticket_id"]
    assert ticket_id and ticket_id in body["messages"][-1]["text"]
    # The wait the bot quoted, for the page's banner.
    wait = body["handoff"]["wait"]
    assert wait and body["messages"][-1]["text"].endswith(wait)

    claim(live_stack, ticket_id)
    # Another customer's conversation, handed off and claimed by Sam too.
    other_chat = await Chat.start(http, live_stack.agent_url)
    claim(live_stack, (await other_chat.say("I want to speak to a person"))["ticket_id"])
    async with chat.ws() as ws:
        resp = await http.post(
            f"{live_stack.agent_url}/api/conversations/{chat.id}/messages",
            json={"agent": "Sam", "text": "Hi, I'm Sam. I have your case open."},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        sent = await json_of(resp, 201)
        assert sent["published"] is True
        pushed = await asyncio.wait_for(ws.receive_json(), WAIT)
        assert pushed | {"at": None} == {
            "type": "message", "role": "agent", "agent": "Sam", "text": "Hi, I'm Sam. I have your case open.",
            "conversation_id": chat.id, "at": None,
        }
        # Only this conversation's messages reach this socket.
        other = other_chat.id
        resp = await http.post(f"{live_stack.agent_url}/api/conversations/{other}/messages",
                               json={"agent": "Sam", "text": "not for you"}, headers={"Authorization": f"Bearer {TOKEN}"})
        await json_of(resp, 201)
        await ws.send_str("ping")
        assert await asyncio.wait_for(ws.receive_json(), WAIT) == {"type": "pong"}

    # The customer writes back: the bot stays quiet, Rasa keeps the message.
    body = await chat.say("Thanks Sam, it still won't spin.")
    assert body == {"messages": [], "ticket_id": ticket_id, "handed_off": True, "handoff": None}
    tracker = live_stack.tracker(chat.id)
    assert tracker["paused"] is True
    assert tracker["events"][-1]["event"] == "user" and tracker["events"][-1]["text"] == "Thanks Sam, it still won't spin."

    history = await chat.history()
    assert [(m["role"], m.get("agent"), m["text"]) for m in history["messages"][-2:]] == [
        ("agent", "Sam", "Hi, I'm Sam. I have your case open."),
        ("customer", None, "Thanks Sam, it still won't spin."),
    ]
    # Once Sam has claimed it, the page no longer says how long a colleague usually takes.
    assert history["handed_off"] is True
    assert history["handoff"] == {"ticket_id": ticket_id, "wait": "Sam from our team has your conversation now.", "agent": "Sam"}
    assert all("buttons" not in m for m in history["messages"])


async def test_chat_page_and_assets_are_public(http, live_stack):
    resp = await http.get(f"{live_stack.agent_url}/chat")
    assert resp.status == 200 and resp.content_type == "text/html"
    html = await resp.text()
    assert 'src="chat/static/chat.js"' in html and 'href="chat/static/chat.css"' in html
    assert "connect-src 'self'" in resp.headers["Content-Security-Policy"]
    for name, kind in (("chat.js", "application/javascript"), ("chat.css", "text/css")):
        resp = await http.get(f"{live_stack.agent_url}/chat/static/{name}")
        assert resp.status == 200 and resp.content_type == kind
    await json_of(await http.get(f"{live_stack.agent_url}/chat/static/chat.html.bak"), 404)
    await json_of(await http.get(f"{live_stack.agent_url}/chat/nothing-here"), 404)
    resp = await http.get(f"{live_stack.agent_url}/chat/", allow_redirects=False)
    assert resp.status == 301 and resp.headers["Location"] == "/chat"
    # /api stays closed.
    await json_of(await http.get(f"{live_stack.agent_url}/api/tickets"), 401)


# ==== against a stand-in for Rasa ======================================================
# tests/support/rasa_stand_in.py (the `rasa` fixture): why a stand-in, and what it records.
AGENTS = ConsoleConfig(accounts={"Sam": Account("Sam", LIVE_AGENT_HASH)})


@pytest.fixture
def make_client(aiohttp_client, sqlite_store, rasa):
    async def make(**config):
        settings = {"token": "tok", "store": sqlite_store, "rasa_url": rasa.url, "rasa_token": "rasa-tok",
                    "console": AGENTS}
        settings.update(config)
        return await aiohttp_client(create_app(settings))

    return make


async def claimed_hand_off(store, conversation_id: str, agent: str = "Sam", number: int = 1) -> None:
    """The conversation's latest ticket handed off and claimed: an agent may write into it."""
    ticket = new_ticket(f"C-20240305-{number:04d}", conversation_id, "web")
    ticket.update(status="handed_off", assignee=agent)
    await store.save(ticket)


async def test_rasa_down_is_502_with_a_friendly_message(make_client, unused_tcp_port, sqlite_store):
    client = await make_client(rasa_url=f"http://127.0.0.1:{unused_tcp_port}")
    cid, cookie = await start_conversation(client)
    resp = await client.post("/chat/api/messages", json={"conversation_id": cid, "text": "hello"}, headers=cookie)
    assert (await json_of(resp, 502))["error"] == "We couldn't reach the assistant, please try again."
    await json_of(await client.get("/chat/api/history", headers=cookie), 502)
    await claimed_hand_off(sqlite_store, cid)
    resp = await client.post(f"/api/conversations/{cid}/messages", json={"agent": "Sam", "text": "hi"},
                             headers={"Authorization": "Bearer tok"})
    await json_of(resp, 502)


async def test_message_goes_to_rest_channel_with_web_metadata(make_client, rasa):
    client = await make_client()
    cid, cookie = await start_conversation(client)
    rasa.replies = [{"recipient_id": cid, "text": "Hello", "buttons": [{"title": "Yes", "payload": "/affirm", "extra": 1}, {"bad": 1}]}]
    body = await json_of(await client.post("/chat/api/messages", json={"conversation_id": cid.upper(), "text": "hi"},
                                           headers=cookie), 200)
    assert rasa.turns == [{"sender": cid, "message": "hi", "metadata": {"channel": "web"}}]
    assert body["messages"] == [{"role": "bot", "text": "Hello", "buttons": [{"title": "Yes", "payload": "/affirm"}]}]


async def test_customer_messages_while_handed_off_go_to_the_agents_feed(make_client, rasa):
    client = await make_client()
    hub = client.app[HUB_KEY]
    cid, cookie = await start_conversation(client)
    rasa.tracker = {"slots": {"ticket_id": "C-20240305-0001"}, "paused": True, "events": []}
    rasa.replies = []
    async with hub.subscribe_agents() as feed, hub.subscribe_agents(cid) as one, hub.subscribe(cid) as customer:
        body = await json_of(await client.post("/chat/api/messages", json={"conversation_id": cid, "text": "hello?"},
                                               headers=cookie), 200)
        assert body == {"messages": [], "ticket_id": "C-20240305-0001", "handed_off": True, "handoff": None}
        for sub in (feed, one):
            got = await asyncio.wait_for(sub.__anext__(), 5)
            assert got | {"at": None} == {"type": "message", "role": "customer", "text": "hello?", "conversation_id": cid, "at": None}
        # Not echoed to the customer's own window.
        assert customer._queue.empty()

    # The message that causes the hand-off is the bot's business, not the agents' feed.
    rasa.replies = [{"text": "Passing you on. Your reference is C-20240305-0001. Back at 9."},
                    {"custom": {"handoff": {"ticket_id": "C-20240305-0001", "reason": "asked"}}}]
    rasa.tracker = {"slots": {"ticket_id": "C-20240305-0001"}, "paused": True, "events": [
        {"event": "user", "text": "a person please", "timestamp": 1.0},
        {"event": "bot", "text": "Passing you on. Your reference is C-20240305-0001. Back at 9.", "timestamp": 2.0,
         "data": {"custom": {"handoff": {"ticket_id": "C-20240305-0001"}}}, "metadata": {"wait": "Back at 9."}},
    ]}
    async with hub.subscribe_agents() as feed:
        body = await json_of(await client.post("/chat/api/messages", json={"conversation_id": cid, "text": "a person please"},
                                               headers=cookie), 200)
        assert body["handed_off"] is True and body["handoff"] == {"ticket_id": "C-20240305-0001", "wait": "Back at 9."}
        assert feed._queue.empty()


async def test_history_maps_buttons_agents_and_pause(make_client, rasa):
    client = await make_client()
    buttons = [{"title": "Yes, that's right", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
    events = [
        {"event": "action", "name": "action_listen", "timestamp": 0.5},
        {"event": "user", "text": "my kettle broke", "timestamp": 1.0},
        {"event": "bot", "text": "Is that right?", "data": {"buttons": buttons}, "metadata": {}, "timestamp": 2.0},
        {"event": "user", "text": "/affirm", "timestamp": 3.0},
        {"event": "bot", "text": "Pick one", "data": {"buttons": [{"title": "Repair", "payload": "Repair"}]}, "timestamp": 4.0},
    ]
    rasa.tracker = {"slots": {"ticket_id": "C-20240305-0002"}, "paused": False, "events": events}
    _, cookie = await start_conversation(client)
    body = await json_of(await client.get("/chat/api/history", headers=cookie), 200)
    assert [(m["role"], m["text"], m.get("buttons")) for m in body["messages"]] == [
        ("customer", "my kettle broke", None),
        ("bot", "Is that right?", None),
        ("customer", "Yes, that's right", None),
        ("bot", "Pick one", [{"title": "Repair", "payload": "Repair"}]),
    ]
    assert body["ticket_id"] == "C-20240305-0002" and body["handed_off"] is False

    # Handed off: no buttons (the bot isn't listening); agent messages are the agent's.
    events += [
        {"event": "user", "text": "/deny", "timestamp": 5.0},  # not a payload of "Pick one": shown as typed
        {"event": "bot", "text": "Passing you on. Your reference is C-20240305-0002. Soon.",
         "data": {"custom": {"handoff": {"ticket_id": "C-20240305-0002"}}}, "metadata": {"wait": "Soon."}, "timestamp": 6.0},
        {"event": "pause", "timestamp": 6.1},
        {"event": "bot", "text": "Hi, Sam here", "metadata": {"agent": "Sam"}, "timestamp": 7.0},
        {"event": "bot", "text": "What would you like?", "data": {"buttons": buttons}, "timestamp": 8.0},
    ]
    rasa.tracker["paused"] = True
    body = await json_of(await client.get("/chat/api/history", headers=cookie), 200)
    assert [(m["role"], m["text"]) for m in body["messages"][4:]] == [
        ("customer", "/deny"), ("bot", "Passing you on. Your reference is C-20240305-0002. Soon."),
        ("agent", "Hi, Sam here"), ("bot", "What would you like?"),
    ]
    assert body["messages"][6]["agent"] == "Sam"
    assert all("buttons" not in m for m in body["messages"])
    assert body["handed_off"] is True and body["handoff"] == {"ticket_id": "C-20240305-0002", "wait": "Soon."}


async def test_agent_message_is_recorded_in_rasa_then_pushed(make_client, rasa, sqlite_store):
    client = await make_client()
    cid = "whatsapp:+491701234567"  # any channel's conversation, not only web chat UUIDs
    await claimed_hand_off(sqlite_store, cid)
    async with client.app[HUB_KEY].subscribe(cid) as sub:
        resp = await client.post(f"/api/conversations/{cid}/messages", json={"agent": " Sam ", "text": "Hello"},
                                 headers={"Authorization": "Bearer tok"})
        body = await json_of(resp, 201)
        assert (await asyncio.wait_for(sub.__anext__(), 5)) == body["message"]
    assert rasa.posts == [{"conversation_id": cid, "query": {"token": "rasa-tok", "include_events": "NONE"},
                            "json": {"event": "bot", "text": "Hello", "metadata": {"agent": "Sam"}}}]
    resp = await client.post("/api/conversations/bad%20id/messages", json={"agent": "Sam", "text": "x"},
                             headers={"Authorization": "Bearer tok"})
    await json_of(resp, 400)


async def test_public_prefix_does_not_open_api_routes(make_client):
    client = await make_client()
    # Dot segments: normalised to /api/tickets (401), or unrouted (404); never the data.
    for path in ("/chat/../api/tickets", "/chat/%2e%2e/api/tickets", "/chat//api/tickets"):
        resp = await client.get(path)
        assert resp.status in (401, 404), path
    await json_of(await client.get("/chatx"), 401)
    await json_of(await client.get("/api/chat"), 401)
    await json_of(await client.get("/chat/api/messages"), 405)


async def test_shutdown_closes_open_websockets(make_client):
    client = await make_client()
    _, cookie = await start_conversation(client)
    ws = await client.ws_connect("/chat/ws", headers=cookie)
    await client.app.shutdown()
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
    assert ws.close_code == aiohttp.WSCloseCode.GOING_AWAY
    await ws.close()


# ==== the hub on its own =================================================================
async def _next(sub, timeout=5):
    return await asyncio.wait_for(sub.__anext__(), timeout)


async def check_hub(sender, receiver):
    """`receiver` subscribed, `sender` publishes (the same hub, or two "processes")."""
    a, b = new_id(), new_id()
    async with receiver.subscribe(a) as only_a, receiver.subscribe_agents() as feed, receiver.subscribe_agents(b) as agents_b:
        await sender.publish(b, {"text": "for b"})
        await sender.publish(a, {"text": "for a"})
        assert await _next(only_a) == {"text": "for a", "conversation_id": a}
        await sender.publish_agents(a, {"text": "customer a"})
        await sender.publish_agents(b, {"text": "customer b"})
        assert await _next(feed) == {"text": "customer a", "conversation_id": a}
        assert await _next(feed) == {"text": "customer b", "conversation_id": b}
        assert await _next(agents_b) == {"text": "customer b", "conversation_id": b}
        assert only_a._queue.empty() and agents_b._queue.empty()
    assert receiver.subscriber_count() == 0


async def test_in_memory_hub():
    hub = InMemoryHub()
    await check_hub(hub, hub)
    message = {"text": "x"}
    async with hub.subscribe("c") as sub:
        await hub.publish("c", message)
        got = await _next(sub)
        got["text"] = "changed"
        assert message == {"text": "x"}  # subscribers get their own copy

        # A subscriber that stops reading is dropped instead of growing without bound.
        for i in range(300):
            await hub.publish("c", {"i": i})
        assert sub.overflowed
        assert len([m async for m in sub]) == 256
    sub = hub.subscribe("c")
    await hub.close()
    assert [m async for m in sub] == []
    assert [m async for m in hub.subscribe("c")] == []  # subscribing to a closed hub ends at once


async def test_redis_hub_across_processes(redis_url, key_prefix):
    one, two = RedisHub(redis_url, key_prefix), RedisHub(redis_url, key_prefix)
    other_app = RedisHub(redis_url, "someone-else:")
    await asyncio.gather(one.start(), two.start(), other_app.start())
    try:
        async with other_app.subscribe_agents() as foreign:
            await check_hub(one, two)
            await check_hub(two, two)
            assert foreign._queue.empty()  # key prefixes keep deployments apart
    finally:
        await asyncio.gather(one.close(), two.close(), other_app.close())


async def test_two_agent_services_share_live_messages_over_redis(aiohttp_client, sqlite_store, rasa, redis_url, key_prefix):
    """With REDIS_URL, the customer's WebSocket may be on one process and the agent's POST
    (and the customer's messages for the agents' feed) on another."""
    settings = {"token": "tok", "store": sqlite_store, "rasa_url": rasa.url, "redis_url": redis_url, "redis_key_prefix": key_prefix,
                "console": AGENTS}
    customer_side = await aiohttp_client(create_app(settings))
    agent_side = await aiohttp_client(create_app(settings))
    assert isinstance(customer_side.app[HUB_KEY], RedisHub)
    cid, cookie = await start_conversation(customer_side)
    await claimed_hand_off(sqlite_store, cid)
    async with customer_side.ws_connect("/chat/ws", headers=cookie) as ws:
        resp = await agent_side.post(f"/api/conversations/{cid}/messages", json={"agent": "Sam", "text": "Hello from Sam"},
                                     headers={"Authorization": "Bearer tok"})
        sent = await json_of(resp, 201)
        assert await asyncio.wait_for(ws.receive_json(), 5) == sent["message"]

    rasa.tracker = {"slots": {"ticket_id": "C-20240305-0001"}, "paused": True, "events": []}
    async with agent_side.app[HUB_KEY].subscribe_agents() as feed:
        await json_of(await customer_side.post("/chat/api/messages", json={"conversation_id": cid, "text": "thanks"},
                                               headers=cookie), 200)
        got = await asyncio.wait_for(feed.__anext__(), 5)
        assert (got["conversation_id"], got["role"], got["text"]) == (cid, "customer", "thanks")
