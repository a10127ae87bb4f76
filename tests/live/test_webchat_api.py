"""Web chat gateway (bot/service/webchat) against the whole product (live_stack): what a
customer's page and an agent's messages do with the real Rasa behind it. What a running Rasa
can't show (Rasa down, shutdown, the agents' feed) and the pub/sub hub are tested in process:
tests/unit/test_webchat_gateway.py."""
from __future__ import annotations

import asyncio
import json
import uuid

import aiohttp
import pytest
import pytest_asyncio

from tests.support.domain import domain_text
from tests.support.http import json_of
from tests.support.webchat import COOKIE, Chat, new_id

TOKEN = "test-agent-token"  # what tests/support/live.py gives the agent API
MAX_BODY = 16 * 1024
WAIT = 30  # seconds: one Rasa turn can run several custom actions


@pytest_asyncio.fixture
async def http():
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


@pytest_asyncio.fixture
async def chat(http, live_stack):
    return await Chat.start(http, live_stack.agent_url)


def claim(live_stack, ticket_id: str, agent: str = "Sam") -> None:
    """Only the colleague who claimed the hand-off writes into the conversation."""
    live_stack.agent(f"/api/tickets/{ticket_id}/claim", "POST", {"agent": agent})


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
