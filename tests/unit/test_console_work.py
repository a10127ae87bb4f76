"""Working tickets from the console, in process: the live queue (SQLite and Redis), live chat
relay, hand-back, notes, the callback worklist with its retry, outbound calls through a
Twilio stand-in, phone hand-offs by CallSid, and the ticketing webhook's outbox."""
from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import datetime, timedelta

import pytest

from bot.catalog import load_catalog
from bot.service.typedefs import FEED_KEY, WEBHOOK_KEY
from bot.service.console.outbox import RedisOutbox, SQLiteOutbox
from bot.service.console.ticket_webhook import WebhookDelivery, handoff_event, idempotency_key
from bot.tickets.model import iso, utcnow
from bot.tickets.redis_store import RedisTicketStore
from bot.tickets.sqlite_store import SQLiteTicketStore
from bot.service.typedefs import HUB_KEY
from tests.support.live import NEVER_OPEN, catalog_with_hours
from tests.support.console_sign_in import ACCOUNTS, signed_in
from tests.support.console_stand_ins import ACCOUNT_SID, AUTH_TOKEN, CALLER_ID, WEBHOOK_SECRET, WebhookReceiver

from tests.support.console_app import AUTH, CONVERSATION, CUSTOMER_PHONE, handed_off, next_of, opted_in


# ---- the live queue -----------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_a_new_hand_off_reaches_open_consoles_without_reload(backend, request, make_client):
    """The action server (here: its own store object) writes; open consoles get it pushed."""
    if backend == "sqlite":
        store, writer = request.getfixturevalue("sqlite_store"), SQLiteTicketStore(request.getfixturevalue("sqlite_path"))
    else:
        url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("key_prefix")
        store, writer = RedisTicketStore(url, key_prefix=prefix), RedisTicketStore(url, key_prefix=prefix)
    client = await make_client(store=store)
    try:
        await signed_in(client)
        ws = await client.ws_connect("/console/ws")
        first = await next_of(ws, "handoffs")
        assert first["handoffs"] == []
        await writer.save(handed_off("C-20240305-0001", score=30))
        await writer.save(handed_off("C-20240305-0002", score=60, conversation_id="other"))
        # Pushed on the open socket (no reload); how fast is make bench's business, not a test's.
        pushed = await next_of(ws, "handoffs", lambda m: len(m["handoffs"]) == 2)
        assert [t["ticket_id"] for t in pushed["handoffs"]] == ["C-20240305-0002", "C-20240305-0001"], "highest priority first"
        shown = pushed["handoffs"][0]
        assert shown["view"]["category_label"] == "repair or warranty issue"
        assert shown["view"]["style_tip"].startswith("Acknowledge the demand first")
        assert shown["view"]["remedy_labels"]["paid_repair_quote"] == "Free quote for a paid repair"
        assert shown["view"]["handed_off_at"] == shown["history"][0]["at"]
        assert shown["disclosures"][0]["text"] == "We can't repair it free of charge."
        # Claimed elsewhere (the API): every console sees it at once.
        resp = await client.post("/api/tickets/C-20240305-0002/claim", json={"agent": "api"}, headers=AUTH)
        assert resp.status == 200
        claimed = await next_of(ws, "handoffs", lambda m: m["handoffs"][0].get("assignee") == "api")
        assert claimed["handoffs"][0]["history"][-1]["action"] == "claimed"
        await ws.close()
    finally:
        await writer.close()
        if backend == "redis":
            await store.close()


async def test_the_ticket_socket_relays_the_customers_and_agents_messages(make_client, sqlite_store, rasa):
    # Claimed by alice: only the agent who has the conversation writes into it.
    await sqlite_store.save(handed_off("C-20240305-0001", assignee="alice"))
    client = await make_client()
    csrf = await signed_in(client)
    ws = await client.ws_connect("/console/ws?ticket_id=C-20240305-0001")
    assert (await next_of(ws, "ticket"))["ticket"]["ticket_id"] == "C-20240305-0001"
    conversation = await next_of(ws, "conversation")
    assert [m["role"] for m in conversation["messages"]] == ["customer", "bot"]
    hub = client.server.app[HUB_KEY]
    # What the customer types while handed off goes to the agents' feed (the web chat gateway).
    await hub.publish_agents(CONVERSATION, {"type": "message", "role": "customer", "text": "are you there?", "at": time.time()})
    message = await next_of(ws, "message")
    assert (message["role"], message["text"]) == ("customer", "are you there?")
    # The agent writes through the existing agent-message path, as the signed-in agent.
    resp = await client.post(f"/api/conversations/{CONVERSATION}/messages", json={"text": "Hello, I'm Alice."},
                             headers={"X-CSRF-Token": csrf})
    assert resp.status == 201 and (await resp.json())["published"] is True
    echoed = await next_of(ws, "message", lambda m: m["role"] == "agent")
    # As the customer sees it: the display name (default: the account name capitalised).
    assert (echoed["agent"], echoed["text"]) == ("Alice", "Hello, I'm Alice.")
    assert rasa.events[-1] == {"cid": CONVERSATION, "event": "bot", "text": "Hello, I'm Alice.", "metadata": {"agent": "Alice"}}
    # Other tickets' conversations do not leak in.
    await hub.publish_agents("someone-else", {"type": "message", "role": "customer", "text": "not yours", "at": time.time()})
    # The next message of this conversation comes after it: the other one, had it leaked, first.
    await hub.publish_agents(CONVERSATION, {"type": "message", "role": "customer", "text": "still here", "at": time.time()})
    assert (await next_of(ws, "message"))["text"] == "still here"
    await ws.close()


async def test_hand_back_resumes_the_assistant_and_tells_the_customers_page(make_client, sqlite_store, rasa):
    await sqlite_store.save(handed_off("C-20240305-0001"))
    client = await make_client()
    csrf = await signed_in(client)
    hub = client.server.app[HUB_KEY]
    async with hub.subscribe(CONVERSATION) as page:
        resp = await client.post("/api/tickets/C-20240305-0001/handback", json={}, headers={"X-CSRF-Token": csrf})
        assert resp.status == 200
        pushed = [await asyncio.wait_for(page.__anext__(), 5) for _ in range(3)]
    # The customer reads it from the agent, by display name (and it is in the tracker for a reload) ...
    told, status, state = pushed
    assert told["type"] == "message" and told["role"] == "agent" and told["agent"] == "Alice"
    assert "Alice has passed you back to our assistant" in told["text"] and "C-20240305-0001" in told["text"]
    assert rasa.events[-1] == {"cid": CONVERSATION, "event": "bot", "text": told["text"], "metadata": {"agent": "Alice"}}
    # ... and the page leaves the hand-off state.
    assert status == {"type": "status", "handed_off": False, "ticket_id": "C-20240305-0001", "conversation_id": CONVERSATION}
    assert state == {"type": "state", "state": "handed_back", "ticket_id": "C-20240305-0001", "agent": "Alice",
                     "conversation_id": CONVERSATION}
    assert {"cid": CONVERSATION, "event": "resume"} in rasa.events
    ticket = await resp.json()
    assert ticket["status"] == "open" and ticket["history"][-1]["action"] == "handed_back" and ticket["history"][-1]["by"] == "alice"


async def test_notes_claim_resolve_each_leave_who_and_when(make_client, sqlite_store):
    await sqlite_store.save(handed_off("C-20240305-0001"))
    client = await make_client()
    csrf = await signed_in(client)
    headers = {"X-CSRF-Token": csrf}
    for path, body in (("claim", {}), ("notes", {"note": "offered a paid repair quote"}), ("resolve", {"note": "accepted"})):
        assert (await client.post(f"/api/tickets/C-20240305-0001/{path}", json=body, headers=headers)).status == 200
    assert (await client.post("/api/tickets/C-20240305-0001/notes", json={"note": "  "}, headers=headers)).status == 400
    ticket = await sqlite_store.get("C-20240305-0001")
    assert [(h["by"], h["action"], h["note"]) for h in ticket["history"][1:]] == [
        ("alice", "claimed", None), ("alice", "note", "offered a paid repair quote"), ("alice", "resolved", "accepted")]
    assert all(datetime.fromisoformat(h["at"]) <= utcnow() for h in ticket["history"])


async def test_pages_render_for_a_signed_in_agent(make_client, sqlite_store):
    await sqlite_store.save(handed_off("C-20240305-0001"))
    client = await make_client()
    await signed_in(client)
    for path in ("/console", "/console/tickets/C-20240305-0001", "/console/callbacks"):
        page = await client.get(path)
        assert page.status == 200, path
        assert "script-src 'self'" in page.headers["Content-Security-Policy"] and page.headers["X-Frame-Options"] == "DENY"
    assert (await client.get("/console/tickets/C-20240305-0099")).status == 404
    assert (await client.get("/console/tickets/nope")).status == 404
    assert (await client.get("/console/static/console.js")).status == 200
    assert (await client.get("/console/static/secrets.txt")).status == 404


# ---- phone hand-offs ------------------------------------------------------------------------
async def test_a_transferred_calls_sid_opens_its_ticket(make_client, sqlite_store):
    call_sid = "CA" + "7" * 32
    await sqlite_store.save(handed_off("C-20240305-0003", conversation_id=call_sid, channel="voice"))
    client = await make_client()
    await signed_in(client)
    resp = await client.get(f"/console/calls/{call_sid}", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/console/tickets/C-20240305-0003"
    assert (await client.get("/console/calls/CA" + "8" * 32)).status == 404
    assert (await client.get("/console/calls/not-a-sid!")).status == 404


# ---- the callback worklist -------------------------------------------------------------------
async def test_no_answer_is_retried_once_in_the_next_window_then_closed(make_client, sqlite_store, open_catalog):
    start = utcnow() - timedelta(hours=1)
    await sqlite_store.save(opted_in("C-20240305-0001", start))
    client = await make_client()
    csrf = await signed_in(client, "sam")
    headers = {"X-CSRF-Token": csrf}

    resp = await client.post("/api/callbacks/C-20240305-0001/attempt", json={"outcome": "no_answer", "note": "voicemail"}, headers=headers)
    assert resp.status == 200, await resp.text()
    callback = (await resp.json())["callback"]
    expected = next(w for w in load_catalog(open_catalog).bookable_windows(utcnow()) if w["start"] > utcnow())
    assert callback["window"] == {"start": iso(expected["start"]), "end": iso(expected["end"])}
    assert callback["previous_window"]["start"] == iso(start)
    assert callback["attempts"] == 1 and callback["outcome"] == "no_answer" and not callback.get("closed")
    history = (await resp.json())["history"][-1]
    assert history["by"] == "sam" and history["action"] == "callback_no_answer" and "moved to" in history["note"] and "voicemail" in history["note"]
    listed = (await (await client.get("/api/callbacks")).json())["callbacks"]
    assert [t["ticket_id"] for t in listed] == ["C-20240305-0001"], "still to call, in its new window"

    resp = await client.post("/api/callbacks/C-20240305-0001/attempt", json={"outcome": "no_answer"}, headers=headers)
    callback = (await resp.json())["callback"]
    assert callback["attempts"] == 2 and callback["closed"] is True and callback["outcome"] == "no_answer"
    assert [a["outcome"] for a in callback["attempt_log"]] == ["no_answer", "no_answer"]
    assert (await (await client.get("/api/callbacks")).json())["callbacks"] == []
    again = await client.post("/api/callbacks/C-20240305-0001/attempt", json={"outcome": "done"}, headers=headers)
    assert again.status == 409
    assert (await client.post("/api/callbacks/C-20240305-0001/done", json={"outcome": "done"}, headers=headers)).status == 409


@pytest.mark.parametrize("outcome", ["done", "cancelled"])
async def test_done_or_cancelled_closes_the_callback(make_client, sqlite_store, outcome):
    await sqlite_store.save(opted_in("C-20240305-0001", utcnow()))
    client = await make_client()
    csrf = await signed_in(client, "sam")
    resp = await client.post("/api/callbacks/C-20240305-0001/attempt", json={"outcome": outcome}, headers={"X-CSRF-Token": csrf})
    callback = (await resp.json())["callback"]
    assert callback["outcome"] == outcome and callback["closed"] is True and callback["completed_at"]
    assert (await (await client.get("/api/callbacks")).json())["callbacks"] == []


async def test_only_specialists_record_callback_results(make_client, sqlite_store):
    await sqlite_store.save(opted_in("C-20240305-0001", utcnow()))
    client = await make_client()
    csrf = await signed_in(client, "alice")
    for path, body in (("attempt", {"outcome": "done"}), ("call", {}), ("done", {"outcome": "done"})):
        resp = await client.post(f"/api/callbacks/C-20240305-0001/{path}", json=body, headers={"X-CSRF-Token": csrf})
        assert resp.status == 403, path


async def test_the_callback_list_is_live_and_a_customers_cancellation_removes_it(make_client, sqlite_store, sqlite_path):
    client = await make_client()
    await signed_in(client, "sam")
    ws = await client.ws_connect("/console/ws")
    assert (await next_of(ws, "callbacks"))["callbacks"] == []
    writer = SQLiteTicketStore(sqlite_path)  # the action server
    try:
        later, sooner = utcnow() + timedelta(days=1), utcnow() + timedelta(hours=2)
        await writer.save(opted_in("C-20240305-0001", later))
        await writer.save(opted_in("C-20240305-0002", sooner))
        listed = await next_of(ws, "callbacks", lambda m: len(m["callbacks"]) == 2)
        assert [t["ticket_id"] for t in listed["callbacks"]] == ["C-20240305-0002", "C-20240305-0001"], "by window"
        assert listed["open_now"] is True and listed["hours"].startswith("Mon 00:00")
        assert re.fullmatch(r"\w{3} \d{1,2} \w{3} \d\d:\d\d\u2013\d\d:\d\d", listed["callbacks"][0]["view"]["callback_window_label"])
        # The customer cancels in the chat (the action server sets the status).
        ticket = await writer.get("C-20240305-0002")
        ticket["callback"]["status"] = "cancelled"
        await writer.save(ticket)
        listed = await next_of(ws, "callbacks", lambda m: len(m["callbacks"]) == 1)
        assert [t["ticket_id"] for t in listed["callbacks"]] == ["C-20240305-0001"]
    finally:
        await writer.close()
    await ws.close()


# ---- outbound callback calls ------------------------------------------------------------------
async def test_a_specialist_starts_the_callback_call_through_twilio(make_client, sqlite_store, twilio):
    await sqlite_store.save(opted_in("C-20240305-0001", utcnow()))
    client = await make_client()
    csrf = await signed_in(client, "sam")
    resp = await client.post("/api/callbacks/C-20240305-0001/call", json={}, headers={"X-CSRF-Token": csrf})
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    [request] = twilio.requests
    assert request["method"] == "POST" and request["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    import base64

    assert request["authorization"] == "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert request["content_type"] == "application/x-www-form-urlencoded"
    form = request["form"]
    assert form["To"] == ["+447700900001"], "the specialist's phone rings first"
    assert form["From"] == [CALLER_ID]
    [twiml] = form["Twiml"]
    assert re.fullmatch(
        r'<\?xml version="1.0" encoding="UTF-8"\?><Response><Say>Connecting you to the customer [^<]+</Say>'
        rf'<Dial callerId="\{CALLER_ID}"><Number>\{CUSTOMER_PHONE}</Number></Dial></Response>', twiml), twiml
    assert set(form) == {"To", "From", "Twiml"}
    assert body["call"]["sid"].startswith("CA") and body["call"]["status"] == "queued"
    ticket = body["ticket"]
    assert ticket["callback"]["calls"][0]["sid"] == body["call"]["sid"]
    assert ticket["history"][-1]["action"] == "callback_call_started" and ticket["history"][-1]["by"] == "sam"


async def test_call_refusals(make_client, sqlite_store, twilio, tmp_path, aiohttp_client, rasa):
    await sqlite_store.save(opted_in("C-20240305-0001", utcnow()))
    await sqlite_store.save(opted_in("C-20240305-0002", utcnow(), customer={"phone": None, "email": None}))

    async def call(client, ticket_id="C-20240305-0001", name="sam"):
        csrf = await signed_in(client, name)
        resp = await client.post(f"/api/callbacks/{ticket_id}/call", json={}, headers={"X-CSRF-Token": csrf})
        return resp.status, (await resp.json()).get("error")

    assert (await call(await make_client(twilio_account_sid=None)))[0] == 503
    assert (await call(await make_client(), "C-20240305-0002"))[0] == 409  # no customer number
    (tmp_path / "closed").mkdir()
    closed = catalog_with_hours(tmp_path / "closed", NEVER_OPEN)
    status, error = await call(await make_client(catalog_path=closed))
    assert status == 409 and "business hours" in error
    no_phone = dict(ACCOUNTS, sam=ACCOUNTS["sam"].__class__("sam", ACCOUNTS["sam"].password_hash, "specialist", None))
    assert (await call(await make_client(accounts=no_phone)))[0] == 409
    twilio.fail_with = 400
    status, error = await call(await make_client())
    assert status == 502 and "Twilio refused the call" in error
    assert (await sqlite_store.get("C-20240305-0001")).get("callback", {}).get("calls") is None


# ---- the ticketing webhook -----------------------------------------------------------------------
@pytest.fixture
async def receiver(aiohttp_server):
    receiver = WebhookReceiver()
    server = await aiohttp_server(receiver.app())
    receiver.url = str(server.make_url("/hooks/tickets"))
    return receiver


def webhook(receiver, **changes):
    # webhook_allow_http: the receiver is a plain-http server on this host (TICKETING_WEBHOOK_ALLOW_HTTP=1).
    return {"webhook_url": receiver.url, "webhook_secret": WEBHOOK_SECRET, "webhook_allow_http": True,
            "webhook_retry_base": 0.1, "webhook_retry_max": 0.5, "webhook_timeout": 2.0, **changes}


async def until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_each_hand_off_is_posted_signed_once_even_across_restarts(make_client, sqlite_store, receiver):
    first = handed_off("C-20240305-0001")
    await sqlite_store.save(first)
    client = await make_client(**webhook(receiver))
    await until(lambda: len(receiver.processed) == 1)
    [(key, event)] = receiver.processed.items()
    assert key == f"C-20240305-0001@{first['history'][0]['at']}" == event["idempotency_key"]
    assert event["event"] == "ticket.handed_off" and event["ticket"]["customer_demand"] == "I want my fridge fixed for free"
    assert receiver.deliveries[0]["signature"].startswith("sha256=") and receiver.bad_signatures == 0
    # Polls go on (two more, each of which sees the hand-off again) ...
    feed = client.server.app[FEED_KEY]
    polls = feed.polls
    await until(lambda: feed.polls >= polls + 2)
    await client.close()
    # ... a second service starts on the same store (its catch-up scan sees it too) ...
    client = await make_client(**webhook(receiver))
    # ... and the ticket is handed back, then handed off again: a new hand-off, a new key.
    # Delivered once it is, the service has done everything the restart would make it do:
    # the first hand-off, had it been queued again, came before it.
    ticket = await sqlite_store.get("C-20240305-0001")
    ticket["history"].append({"at": iso(utcnow() + timedelta(seconds=1)), "by": "assistant", "action": "handed_off", "note": "again"})
    await sqlite_store.save(ticket)
    await until(lambda: len(receiver.processed) == 2)
    outbox = client.server.app[WEBHOOK_KEY].outbox
    deadline = time.monotonic() + 10
    while (await outbox.stats())["pending"]:  # posts of the same batch are all answered
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)
    keys = [d["key"] for d in receiver.deliveries]
    assert len(keys) == 2 and keys[0] == key != keys[1], f"nothing was sent again: {keys}"
    assert receiver.duplicates == 0


async def test_a_failing_receiver_is_retried_with_backoff_until_delivered(make_client, sqlite_store, receiver):
    receiver.fail_next = 3
    await sqlite_store.save(handed_off("C-20240305-0001"))
    await make_client(**webhook(receiver, webhook_retry_base=0.2, webhook_retry_max=5.0))
    await until(lambda: len(receiver.processed) == 1)
    attempts = [int(d["attempt"]) for d in receiver.deliveries]
    assert attempts == [1, 2, 3, 4]
    gaps = [b["at"] - a["at"] for a, b in zip(receiver.deliveries, receiver.deliveries[1:])]
    assert gaps[0] >= 0.15 and gaps[1] >= 0.3 and gaps[2] >= 0.6, gaps  # 0.2, 0.4, 0.8 s (+-20 %)


async def test_a_hand_off_resolved_before_the_next_poll_is_still_delivered(make_client, sqlite_store, receiver, rasa):
    client = await make_client(**webhook(receiver), poll_interval=3600)  # no poll after the first
    feed = client.server.app[FEED_KEY]
    await until(lambda: "callbacks" in feed.snapshots)  # the first poll is over
    await sqlite_store.save(handed_off("C-20240305-0001"))
    resp = await client.post("/api/tickets/C-20240305-0001/resolve", json={"agent": "api"}, headers=AUTH)
    assert resp.status == 200
    await until(lambda: len(receiver.processed) == 1)
    assert next(iter(receiver.processed.values()))["ticket"]["status"] == "handed_off"


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_outbox_keeps_items_until_delivered_and_enqueues_each_key_once(backend, request, receiver):
    if backend == "sqlite":
        outbox = SQLiteOutbox(request.getfixturevalue("sqlite_path"))
    else:
        outbox = RedisOutbox(request.getfixturevalue("redis_url"), request.getfixturevalue("key_prefix"))
    ticket = handed_off("C-20240305-0001")
    delivery = WebhookDelivery(outbox, receiver.url, WEBHOOK_SECRET, timeout=2.0, retry_base=0.05, retry_max=0.1)
    delivery._session = __import__("aiohttp").ClientSession()
    try:
        assert await delivery.enqueue(ticket) is True
        assert await delivery.enqueue(ticket) is False
        assert await outbox.stats() == {"pending": 1, "delivered": 0}
        receiver.down = True
        assert await delivery.deliver_due() == 0
        assert await outbox.stats() == {"pending": 1, "delivered": 0}
        # Leased items are not handed out twice.
        await asyncio.sleep(0.15)
        leased = await outbox.lease_due(10, 30)
        assert [i.key for i in leased] == [idempotency_key(ticket)] and leased[0].attempts == 1
        assert await outbox.lease_due(10, 30) == []
        await outbox.failed(leased[0].key, 1, time.time(), "test")
        receiver.down = False
        assert await delivery.deliver_due() == 1
        assert await outbox.stats() == {"pending": 0, "delivered": 1}
        assert await delivery.enqueue(ticket) is False, "delivered keys are remembered"
        [raw] = [d for d in receiver.deliveries if d["attempt"] == "2"]
        assert raw["key"] == idempotency_key(ticket)
        assert list(receiver.processed.values())[0] == json.loads(handoff_event(ticket))
    finally:
        await delivery._session.close()
        await outbox.close()
