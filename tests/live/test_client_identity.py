"""Issue 11, item 3: a client cannot claim a caller's number or a channel. A whitelisted number
(policy/catalog.yml second_explanation.whitelist) sent as metadata by a Socket.IO or a REST
client must not reach the ticket: no phone on it, no high-value priority, not "voice"."""
from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid
from pathlib import Path

import aiohttp
import pytest
import socketio
import yaml

from bot.rasa_ext.channels.identity import GATEWAY_HEADER, gateway_proof, strip_identity


ROOT = Path(__file__).resolve().parents[2]
WHITELISTED = next(
    entry for entry in yaml.safe_load((ROOT / "policy" / "catalog.yml").read_text())["second_explanation"]["whitelist"]
    if entry.startswith("+")
)
CLAIMED = {"caller": WHITELISTED, "channel": "voice", "agent": "Sam"}
# By payload (not the NLU model): the complaint's first turn opens and prices the ticket.
COMPLAINT = "/complain_product_quality"
WAIT = 60


@pytest.fixture(autouse=True)
def ws_capable_client(monkeypatch):
    # As in tests/live/test_socketio_channel.py: python-engineio's client needs a class aiohttp 3.9 lacks.
    if not hasattr(aiohttp, "ClientWSTimeout"):
        monkeypatch.setattr(aiohttp, "ClientWSTimeout", lambda ws_close=None, **_: ws_close, raising=False)


def only_ticket(stack, conversation_id: str) -> dict:
    tickets = stack.agent(f"/api/tickets?conversation_id={conversation_id}")["tickets"]
    assert len(tickets) == 1, tickets
    return tickets[0]


def assert_no_claimed_identity(ticket: dict) -> None:
    assert not (ticket.get("customer") or {}).get("phone"), ticket.get("customer")
    assert not any("whitelist" in reason for reason in ticket["priority"]["reasons"]), ticket["priority"]
    assert ticket["channel"] != "voice"
    assert WHITELISTED not in json.dumps(ticket)


async def test_strip_identity_keeps_harmless_metadata():
    assert strip_identity({**CLAIMED, "locale": "en-GB"}) == {"locale": "en-GB"}
    assert strip_identity("caller=+447700900123") == {}


async def test_socketio_client_cannot_claim_a_whitelisted_caller(live_stack):
    session_id = uuid.uuid4().hex
    sio = socketio.AsyncClient(reconnection=False)
    confirmed: asyncio.Queue = asyncio.Queue()
    replies: asyncio.Queue = asyncio.Queue()
    sio.on("session_confirm", confirmed.put_nowait)
    sio.on("bot_uttered", replies.put_nowait)
    await sio.connect(live_stack.rasa_url, socketio_path="/socket.io", transports=["websocket"], wait_timeout=WAIT)
    try:
        await sio.emit("session_request", {"session_id": session_id})
        assert await asyncio.wait_for(confirmed.get(), WAIT) == session_id
        await sio.emit("user_uttered", {"message": COMPLAINT, "session_id": session_id, "metadata": CLAIMED})
        while True:  # up to the turn's last question (the ticket is saved before the replies)
            reply = await asyncio.wait_for(replies.get(), WAIT)
            if "order number" in (reply.get("text") or ""):
                break
    finally:
        await sio.disconnect()
    ticket = only_ticket(live_stack, session_id)
    assert_no_claimed_identity(ticket)
    assert ticket["channel"] == "web"  # from the channel's name, not from the client


def rest_turn(stack, sender: str, metadata: dict, headers: dict = None) -> list:
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": COMPLAINT, "metadata": metadata}).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=WAIT) as response:
        return json.loads(response.read())


async def test_rest_client_cannot_claim_a_caller_or_a_channel(live_stack):
    sender = f"rest-{uuid.uuid4()}"
    assert await asyncio.to_thread(rest_turn, live_stack, sender, CLAIMED)
    ticket = only_ticket(live_stack, sender)
    assert_no_claimed_identity(ticket)
    assert ticket["channel"] == "rest"
    user = [e for e in live_stack.tracker(sender)["events"] if e["event"] == "user"]
    assert not set(CLAIMED) & set(user[-1].get("metadata") or {})


async def test_only_the_proven_gateway_sets_the_web_channel(live_stack):
    # A made-up proof is a REST client like any other.
    forged = f"rest-{uuid.uuid4()}"
    await asyncio.to_thread(rest_turn, live_stack, forged, {"channel": "web"}, {GATEWAY_HEADER: "0" * 64})
    assert only_ticket(live_stack, forged)["channel"] == "rest"
    # The gateway (which knows RASA_TOKEN) gets "web", and still no caller.
    proven = f"rest-{uuid.uuid4()}"
    proof = gateway_proof(live_stack.env["RASA_TOKEN"])
    await asyncio.to_thread(rest_turn, live_stack, proven, {"channel": "web", "caller": WHITELISTED}, {GATEWAY_HEADER: proof})
    ticket = only_ticket(live_stack, proven)
    assert ticket["channel"] == "web"
    assert_no_claimed_identity(ticket)
