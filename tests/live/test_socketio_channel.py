"""The socket.io channel (bot/rasa_ext/channels/socketio.py) on the running product, with a real
python-socketio client: session persistence works on python-socketio 5 (rasa #13027)."""
from __future__ import annotations

import asyncio
import uuid
from typing import Any, List

import aiohttp
import pytest
import pytest_asyncio
import socketio

from bot.rasa_ext.channels.socketio import PersistentSocketIOInput


WAIT = 30  # seconds


class Client:
    """A socket.io client that queues what the server emits."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.confirms: asyncio.Queue = asyncio.Queue()
        self.bot: asyncio.Queue = asyncio.Queue()
        self.sio.on("session_confirm", self.confirms.put_nowait)
        self.sio.on("bot_uttered", self.bot.put_nowait)

    async def connect(self, url: str, transport: str = "websocket") -> "Client":
        await self.sio.connect(url, socketio_path="/socket.io", transports=[transport], wait_timeout=WAIT)
        return self

    async def start_session(self, session_id: str) -> None:
        await self.sio.emit("session_request", {"session_id": session_id})
        assert await asyncio.wait_for(self.confirms.get(), WAIT) == session_id

    async def say(self, session_id: str, text: str) -> None:
        await self.sio.emit("user_uttered", {"message": text, "session_id": session_id})

    async def next_bot(self) -> Any:
        return await asyncio.wait_for(self.bot.get(), WAIT)

    async def bot_until(self, predicate) -> List[Any]:
        """Bot messages up to and including the first one matching `predicate`."""
        seen = []
        while True:
            seen.append(await self.next_bot())
            if predicate(seen[-1]):
                return seen

    async def close(self) -> None:
        if not self.sio.connected:
            return
        if self.sio.transport() == "polling":
            # A clean polling disconnect waits for the pending long-poll, i.e. up to the
            # server's 25 s ping interval: close the engine.io session without waiting.
            read_loop = self.sio.eio.read_loop_task
            await self.sio.eio.disconnect(abort=True)
            if read_loop is not None:
                read_loop.cancel()
                await asyncio.gather(read_loop, return_exceptions=True)
        else:
            await self.sio.disconnect()


@pytest.fixture(autouse=True)
def ws_capable_client(monkeypatch):
    """python-engineio 4.15's client builds aiohttp.ClientWSTimeout, which aiohttp 3.9 (pinned
    for Rasa) lacks, so its websocket transport can't start; polling is unaffected. aiohttp 3.9's
    ws_connect takes a float timeout, which is all that class stands for here (test-only)."""
    if not hasattr(aiohttp, "ClientWSTimeout"):
        monkeypatch.setattr(aiohttp, "ClientWSTimeout", lambda ws_close=None, **_: ws_close, raising=False)


@pytest_asyncio.fixture
async def clients(live_stack):
    made: List[Client] = []

    async def make(transport: str = "websocket") -> Client:
        client = Client()
        made.append(client)
        return await client.connect(live_stack.rasa_url, transport)

    yield make
    for client in made:
        await client.close()


async def test_channel_keeps_the_socketio_name():
    assert PersistentSocketIOInput.name() == "socketio"
    channel = PersistentSocketIOInput.from_credentials({"session_persistence": True})
    assert isinstance(channel, PersistentSocketIOInput) and channel.session_persistence is True


@pytest.mark.parametrize("transport", ["polling", "websocket"])
async def test_session_persists_across_reconnects(clients, live_stack, transport):
    session_id = uuid.uuid4().hex
    first = await clients(transport)
    await first.start_session(session_id)
    await first.say(session_id, "hi")
    greeting = await first.next_bot()
    assert greeting["text"].startswith("Hello")
    await first.close()

    # Same session, new socket: joining the room again must work, or replies never arrive.
    second = await clients(transport)
    await second.start_session(session_id)
    await second.say(session_id, "/complain_product_quality")
    replies = await second.bot_until(lambda m: "order number" in (m.get("text") or ""))
    assert replies[0]["text"].startswith("Thank you for telling me")

    tracker = live_stack.tracker(session_id)
    said = [e["text"] for e in tracker["events"] if e["event"] == "user"]
    assert said == ["hi", "/complain_product_quality"]
    assert tracker["latest_input_channel"] == "socketio"


async def test_two_windows_of_one_session_both_get_replies(clients):
    session_id = uuid.uuid4().hex
    one, two = await clients(), await clients()
    await one.start_session(session_id)
    await two.start_session(session_id)
    await one.say(session_id, "hi")
    assert (await one.next_bot())["text"].startswith("Hello")
    assert (await two.next_bot())["text"].startswith("Hello")


async def test_buttons_and_handoff_over_socketio(clients, live_stack):
    session_id = uuid.uuid4().hex
    client = await clients()
    await client.start_session(session_id)
    for text, question in [
        ("/complain_product_quality", "order number"), ("ORD-4400918", "which day"),
        ("15 January 2023", "which product"), ("Bosch washing machine", "read that back"),
    ]:
        await client.say(session_id, text)
        last = (await client.bot_until(lambda m, question=question: question in m.get("text", "").lower()))[-1]
    assert {"content_type": "text", "title": "Yes, that's right", "payload": "/affirm"} in last["quick_replies"]

    # The hand-off sends custom JSON: it must reach the client and the pause must stick.
    await client.say(session_id, "I want to speak to a person")
    replies = await client.bot_until(lambda m: "handoff" in m)
    handoff = replies[-1]["handoff"]
    assert handoff["ticket_id"] in replies[-2]["text"]
    tracker = live_stack.tracker(session_id)
    assert tracker["paused"] is True
    assert tracker["slots"]["ticket_id"] == handoff["ticket_id"]
    tickets = live_stack.agent(f"/api/tickets?conversation_id={session_id}")["tickets"]
    assert [t["status"] for t in tickets] == ["handed_off"]


async def test_message_without_session_id_is_ignored(clients, live_stack):
    session_id = uuid.uuid4().hex
    client = await clients()
    await client.start_session(session_id)
    await client.sio.emit("user_uttered", {"message": "hi"})
    await client.say(session_id, "hi")  # the next real one is answered, and is the only one
    assert (await client.next_bot())["text"].startswith("Hello")
    assert [e["text"] for e in live_stack.tracker(session_id)["events"] if e["event"] == "user"] == ["hi"]
