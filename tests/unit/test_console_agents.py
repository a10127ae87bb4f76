"""What customers and agents notice when an agent works a hand-off, in process (the Rasa
stand-in of tests/support/rasa_stand_in.py, the real hub): resolution and hand-back reach the customer's conversation under the
agent's display name, a claim replaces the page's "We're closed" wait, the card says why the
ticket was handed off, and the callbacks page says why "Call now" is missing."""
from __future__ import annotations

import asyncio
import re

import pytest

from bot.service.app import create_app
from bot.service.console.accounts import Account, AccountError, parse_accounts_yaml
from bot.service.console.config import ConsoleConfig
from bot.service.webchat import transcript
from bot.service.typedefs import HUB_KEY
from tests.support.console_sign_in import ACCOUNTS, TOKEN, signed_in
from tests.support.console_app import CONVERSATION, handed_off, next_of

TICKET = "C-20240305-0001"
ALICE = Account("alice", ACCOUNTS["alice"].password_hash, "agent", display_name="Alice Smith")
WITH_NAMES = {**ACCOUNTS, "alice": ALICE}
CLOSED_WAIT = "We're closed right now, so a colleague will pick this up when we open (Mon 9:00)."


async def pushed(page, count: int):
    return [await asyncio.wait_for(page.__anext__(), 5) for _ in range(count)]


# ---- display names -------------------------------------------------------------------------
def test_accounts_file_takes_a_display_name_and_defaults_to_the_name_capitalised():
    h = ACCOUNTS["alice"].password_hash
    accounts = parse_accounts_yaml(f"agents:\n  - {{name: alice, password_hash: '{h}', display_name: '  Alice   Smith '}}\n"
                                   f"  - {{name: bob, password_hash: '{h}'}}\n")
    assert accounts["alice"].shown_name == "Alice Smith"
    assert accounts["bob"].shown_name == "Bob"
    for bad in ("<b>Alice</b>", "x" * 65, "   "):
        with pytest.raises(AccountError, match="display_name"):
            parse_accounts_yaml(f"agents:\n  - {{name: alice, password_hash: '{h}', display_name: '{bad}'}}\n")


# ---- resolution ----------------------------------------------------------------------------
async def test_resolving_tells_the_customer_by_display_name_and_gives_the_conversation_back(make_client, sqlite_store, rasa):
    await sqlite_store.save(handed_off(TICKET, assignee="alice"))
    client = await make_client(accounts=WITH_NAMES)
    csrf = await signed_in(client)
    async with client.server.app[HUB_KEY].subscribe(CONVERSATION) as page:
        resp = await client.post(f"/api/tickets/{TICKET}/resolve", json={"note": "a full refund of £89 is on its way"},
                                 headers={"X-CSRF-Token": csrf})
        assert resp.status == 200, await resp.text()
        told, status, state = await pushed(page, 3)
    text = f"Your complaint {TICKET} has been resolved by Alice Smith: a full refund of £89 is on its way."
    # The open chat page: the message, then it leaves the hand-off state.
    assert told["type"] == "message" and told["role"] == "agent" and told["agent"] == "Alice Smith"
    assert told["text"].startswith(text)
    assert status["type"] == "status" and status["handed_off"] is False and status["ticket_id"] == TICKET
    assert (state["type"], state["state"], state["ticket_id"]) == ("state", "resolved", TICKET)
    # Rasa: the assistant has the conversation again, and the message is in the tracker (a reload shows it).
    cid_events = [e for e in rasa.events if e["cid"] == CONVERSATION]
    assert cid_events[0] == {"cid": CONVERSATION, "event": "resume"}
    assert [e["text"] for e in cid_events if e["event"] == "bot"] == [told["text"]]
    assert rasa.tracker["paused"] is False
    shown = transcript.from_tracker(rasa.tracker)
    assert shown["messages"][-1] == {"role": "agent", "agent": "Alice Smith", "text": told["text"],
                                     "at": shown["messages"][-1]["at"]}
    ticket = await sqlite_store.get(TICKET)
    assert ticket["status"] == "resolved" and ticket["history"][-1]["by"] == "alice"


async def test_a_resolution_rasa_cannot_take_back_changes_nothing(aiohttp_client, sqlite_store, unused_tcp_port):
    await sqlite_store.save(handed_off(TICKET, assignee="alice"))
    before = await sqlite_store.get(TICKET)
    app = create_app({"token": TOKEN, "store": sqlite_store, "rasa_url": f"http://127.0.0.1:{unused_tcp_port}",
                      "rasa_timeout": 2, "console": ConsoleConfig(accounts=WITH_NAMES, cookie_secure=False)})
    client = await aiohttp_client(app)
    resp = await client.post(f"/api/tickets/{TICKET}/resolve", json={"agent": "alice", "note": "done"},
                             headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status == 502
    assert await sqlite_store.get(TICKET) == before, "still with the humans: the customer is not left talking to nobody"


async def test_resolving_without_a_note_still_says_who_and_which_complaint(make_client, sqlite_store, rasa):
    await sqlite_store.save(handed_off(TICKET, assignee="alice"))
    client = await make_client(accounts=WITH_NAMES)
    resp = await client.post(f"/api/tickets/{TICKET}/resolve", json={"agent": "bob"},
                             headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status == 200
    said = [e["text"] for e in rasa.events if e.get("event") == "bot"]
    assert said and said[-1].startswith(f"Your complaint {TICKET} has been resolved by Bob.")


# ---- claim: the page's wait line -----------------------------------------------------------
async def test_a_claim_replaces_the_closed_wait_on_the_customers_page_live_and_after_reload(make_client, sqlite_store, rasa):
    await sqlite_store.save(handed_off(TICKET))
    # The hand-off as the assistant recorded it out of hours.
    rasa.tracker_events.append({"event": "bot", "text": f"Your reference is {TICKET}. {CLOSED_WAIT}", "timestamp": 1700000002.0,
                                "data": {"custom": {"handoff": {"ticket_id": TICKET, "wait": CLOSED_WAIT}}}, "metadata": {}})
    assert transcript.from_tracker({"paused": True, "events": rasa.tracker_events})["handoff"]["wait"] == CLOSED_WAIT
    client = await make_client(accounts=WITH_NAMES)
    csrf = await signed_in(client)
    async with client.server.app[HUB_KEY].subscribe(CONVERSATION) as page:
        resp = await client.post(f"/api/tickets/{TICKET}/claim", json={}, headers={"X-CSRF-Token": csrf})
        assert resp.status == 200
        status, state = await pushed(page, 2)
    assert status["type"] == "status" and status["handed_off"] is True
    assert status["handoff"]["wait"] == "Alice Smith from our team has your conversation now."
    assert (state["state"], state["agent"]) == ("with_agent", "Alice Smith")
    # A reload (the history from the tracker) says the same, and shows no extra message.
    shown = transcript.from_tracker({"paused": True, "events": rasa.tracker_events})
    assert shown["handoff"]["wait"] == "Alice Smith from our team has your conversation now."
    assert all(m["text"] for m in shown["messages"])


# ---- the hand-off reason on the card -------------------------------------------------------
async def test_the_card_carries_the_recorded_hand_off_reason(make_client, sqlite_store):
    doc = handed_off(TICKET)
    doc["history"] = [{"at": doc["created_at"], "by": "assistant", "action": "handed_off",
                       "note": "the caller said nothing three times"}]
    await sqlite_store.save(doc)
    client = await make_client()
    await signed_in(client)
    ws = await client.ws_connect("/console/ws")
    queue = await next_of(ws, "handoffs")
    assert queue["handoffs"][0]["view"]["handoff_reason"] == "the caller said nothing three times"
    ws = await client.ws_connect(f"/console/ws?ticket_id={TICKET}")
    assert (await next_of(ws, "ticket"))["ticket"]["view"]["handoff_reason"] == "the caller said nothing three times"


# ---- the callbacks page says why "Call now" is missing -------------------------------------
async def callbacks_page(client, name: str) -> str:
    await signed_in(client, name)
    resp = await client.get("/console/callbacks")
    assert resp.status == 200
    return await resp.text()


async def test_callbacks_page_names_the_missing_twilio_settings(make_client):
    client = await make_client(twilio_auth_token=None, twilio_caller_id=None)
    page = await callbacks_page(client, "sam")
    notice = re.search(r'<p class="notice" id="calls-unavailable"[^>]*>([^<]+)</p>', page).group(1)
    assert notice == "Outbound calls are not configured: set TWILIO_AUTH_TOKEN and TWILIO_CALLER_ID to call customers from here."


async def test_callbacks_page_says_the_account_has_no_phone_and_nothing_when_calls_work(make_client):
    assert 'id="calls-unavailable"' not in await callbacks_page(await make_client(), "sam")
    client = await make_client(accounts={**ACCOUNTS, "sam": Account("sam", ACCOUNTS["sam"].password_hash, "specialist")})
    page = await callbacks_page(client, "sam")
    assert "Your account has no phone number" in page
