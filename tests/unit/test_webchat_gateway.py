"""Web chat gateway (bot/service/webchat) in process, against the stand-in for Rasa's HTTP API
(tests/support/rasa_stand_in.py says why one, and what it records): what a running Rasa can't
be made to show on cue (Rasa down, shutdown, the agents' feed), and the pub/sub hub on its own
(in memory and over a real Redis). The same gateway against the whole product:
tests/live/test_webchat_api.py."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import WSMsgType

from bot.service.app import create_app
from bot.service.console.accounts import Account
from bot.service.console.config import ConsoleConfig
from bot.service.webchat.hub import HUB_KEY, InMemoryHub, RedisHub
from tests.support.http import json_of
from tests.support.live import LIVE_AGENT_HASH
from tests.support.rasa_stand_in import rasa  # noqa: F401 (fixture)
from tests.support.tickets import save_hand_off
from tests.support.webchat import new_id, start_conversation

AGENTS = ConsoleConfig(accounts={"Sam": Account("Sam", LIVE_AGENT_HASH)})


@pytest.fixture
def make_client(aiohttp_client, sqlite_store, rasa):
    async def make(**config):
        settings = {"token": "tok", "store": sqlite_store, "rasa_url": rasa.url, "rasa_token": "rasa-tok",
                    "console": AGENTS}
        settings.update(config)
        return await aiohttp_client(create_app(settings))

    return make


async def test_rasa_down_is_502_with_a_friendly_message(make_client, unused_tcp_port, sqlite_store):
    client = await make_client(rasa_url=f"http://127.0.0.1:{unused_tcp_port}")
    cid, cookie = await start_conversation(client)
    resp = await client.post("/chat/api/messages", json={"conversation_id": cid, "text": "hello"}, headers=cookie)
    assert (await json_of(resp, 502))["error"] == "We couldn't reach the assistant, please try again."
    await json_of(await client.get("/chat/api/history", headers=cookie), 502)
    await save_hand_off(sqlite_store, cid, assignee="Sam")
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
    await save_hand_off(sqlite_store, cid, assignee="Sam")
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
    await save_hand_off(sqlite_store, cid, assignee="Sam")
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
