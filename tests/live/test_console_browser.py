"""The agent console as people use it: headless Chromium (Playwright) against the whole product
(Rasa, action server, agent service), started like `make run` with console accounts, a Twilio
Calls API stand-in and a ticketing-webhook receiver.

A customer complains in the web chat and asks for a person; the agent, signed in, sees the
hand-off arrive live, claims it, talks with the customer, notes, hands back and resolves. A
caller's hand-off opens by its CallSid. A specialist works the callback list (call, no answer
twice, a customer's cancellation). And nothing opens without signing in.

Screenshots: docs/console.png (the queue with a real hand-off) and test-artifacts/console*.png.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from twilio.request_validator import RequestValidator

from bot.service.console.accounts import hash_password
from tests.support.chat_page import ARTIFACTS, DOCS, open_chat, send
from tests.support.console_stand_ins import (
    ACCOUNT_SID, AUTH_TOKEN, CALLER_ID, WEBHOOK_SECRET, FakeTwilio, ThreadedServer, WebhookReceiver, wait_for,
)
from tests.support.live import ALWAYS_OPEN, LiveStack, buttons, catalog_with_hours, texts
from tests.support.tickets import TICKET_ID

try:  # Pillow makes the README's screenshot small; without it the full PNG is copied
    from PIL import Image
except ImportError:
    Image = None

PUBLIC = "https://ivr.example.test"
PASSWORDS = {"alice": "alice-console-pw", "sam": "sam-console-pw"}
ALICE_SHOWN = "Alice Smith"  # alice's display_name: what customers see
SAM_PHONE = "+447700900001"
COMPLAINT = ("This is unacceptable, my Bosch washing machine broke, order ORD-4400918, bought on 15 January 2023 for 499 euros, it broke on 20 November 2026. "
             "I want it repaired immediately")
AGENT_TEXT = "Hello, this is Alice from Northwind. I have your complaint and the order in front of me."
CUSTOMER_REPLY = "Thanks Alice. It stopped spinning last week and now it leaks."


# ---- the stack -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def services():
    twilio, receiver = FakeTwilio(), WebhookReceiver()
    servers = [ThreadedServer(twilio.app()).start(), ThreadedServer(receiver.app()).start()]
    yield twilio, servers[0], receiver, servers[1]
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, services):
    twilio, twilio_server, receiver, receiver_server = services
    var = tmp_path_factory.mktemp("console")
    accounts = var / "agents.yml"
    accounts.write_text(
        "agents:\n"
        f"  - {{name: alice, role: agent, display_name: '{ALICE_SHOWN}', password_hash: '{hash_password(PASSWORDS['alice'])}'}}\n"
        f"  - {{name: sam, role: specialist, phone: '{SAM_PHONE}', password_hash: '{hash_password(PASSWORDS['sam'])}'}}\n"
    )
    stack = LiveStack(var, extra_env={
        "CATALOG_PATH": catalog_with_hours(var, ALWAYS_OPEN),
        "AGENT_ACCOUNTS_FILE": str(accounts), "AGENT_ACCOUNTS": "",
        "CONSOLE_POLL_INTERVAL": "0.5",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_CALLER_ID": CALLER_ID,
        "TWILIO_API_BASE_URL": twilio_server.url, "PUBLIC_URL": PUBLIC,
        "TWILIO_HANDOFF_DIAL": "", "TWILIO_WORKFLOW_SID": "", "TWILIO_HANDOFF_QUEUE": "complaints",
        "TICKETING_WEBHOOK_URL": f"{receiver_server.url}/hooks/tickets", "TICKETING_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "TICKETING_WEBHOOK_ALLOW_HTTP": "1", "CONSOLE_COOKIE_SECURE": "0",  # plain-http receiver and console here
        "TICKETING_WEBHOOK_RETRY_BASE": "0.2", "TICKETING_WEBHOOK_RETRY_MAX": "2",
    }).start()
    yield stack
    stack.stop()


@pytest.fixture
def contexts(windows, stack):
    """contexts(width, height): a new browser window on the stack (own cookies, own localStorage)."""
    return lambda width=1280, height=900: windows.open(stack.agent_url, {"width": width, "height": height})


def sign_in(page: Page, name: str, start: str = "/console", lands_on: str = None) -> None:
    """Open a console address signed out: the sign-in form, then where we were going."""
    page.goto(start)
    expect(page).to_have_url(re.compile(r"/console/login\?next="))
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORDS[name])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(lands_on or start) + "$"))
    expect(page.locator("#live")).to_have_attribute("data-state", "open")


def save_small_png(source: Path, target: Path) -> None:
    """The screenshot for the README, as a 256-colour PNG (a fraction of the size, same look)."""
    if Image is None:
        shutil.copyfile(source, target)
        return
    with Image.open(source) as image:
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)


# ---- the customer's side ----------------------------------------------------------------------
def hand_off_from_the_chat(customer: Page) -> str:
    """A complaint with its facts, confirmed, then a request for a person; the ticket's id."""
    open_chat(customer)
    send(customer, COMPLAINT)
    # "It broke, I want it repaired": a faulty product or a repair? When the classifier is not
    # sure it asks, and the customer answers as a customer would.
    choice = customer.get_by_role("button", name="A repair or a warranty claim")
    confirm = customer.get_by_role("button", name="Yes, that's right")
    expect(choice.or_(confirm).first).to_be_visible()
    if choice.is_visible():
        choice.click()
    confirm.click()
    expect(customer.locator(".msg--bot .msg__text").filter(has_text="What we will do")).to_be_visible()
    answer = send(customer, "I want to speak to a person")
    assert answer["handed_off"] is True
    return answer["ticket_id"]


# ---- web chat hand-off, worked from the console -------------------------------------------------
def test_agent_sees_the_hand_off_live_takes_over_the_chat_and_resolves(contexts, stack, services):
    _, _, receiver, _ = services
    console = contexts()
    sign_in(console, "alice")
    cookie = next(c for c in console.context.cookies() if c["name"] == "console_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    expect(console.get_by_role("heading", name=re.compile("Hand-offs"))).to_be_visible()
    console.evaluate("window.__sameDocument = true")

    # The customer, in another browser: a complaint with its facts, confirmed, then a person.
    customer = contexts(900, 1000)
    ticket_id = hand_off_from_the_chat(customer)
    expect(customer.locator("#handoff-banner")).to_be_visible()

    # It appears in the console without a reload, with everything the agent needs.
    card = console.locator(f'#handoffs article[data-ticket-id="{ticket_id}"]')
    expect(card).to_be_visible(timeout=10_000)
    assert console.evaluate("window.__sameDocument") is True
    ticket = stack.agent(f"/api/tickets/{ticket_id}")
    expect(card.locator('[data-field="category"]')).to_contain_text("repair or warranty issue")
    expect(card.locator('[data-field="priority-level"]')).to_have_text(f"{ticket['priority']['level']} · {ticket['priority']['score']}")
    expect(card.locator('[data-field="priority"]')).to_contain_text(ticket["priority"]["reasons"][0])
    expect(card.locator('[data-field="emotion"]')).to_contain_text(f"emotion: {ticket['emotion']['label']}")
    expect(card.locator('[data-field="demand"]')).to_have_text(ticket["customer_demand"])
    expect(card.locator('[data-field="facts"]')).to_contain_text("ORD-4400918")
    expect(card.locator('[data-field="facts"]')).to_contain_text("€499.00")  # in the currency it was paid in
    expect(card.locator('[data-field="facts"]')).to_contain_text("20 Nov 2026 (broke)")  # beside the purchase date
    expect(card.locator('[data-field="facts"]')).to_contain_text("confirmed by the customer")
    assert ticket["disclosures"], "the assistant stated the policy before the hand-off"
    for disclosure in ticket["disclosures"]:
        expect(card.locator('[data-field="disclosures"]')).to_contain_text(disclosure["text"])
    expect(card.locator('[data-field="remedy"]')).to_contain_text("Offered")
    expect(card.locator('[data-field="callback"]')).to_contain_text("Choice")
    assert ticket["style_hint"] == "assertive"
    expect(card.locator('[data-field="style-tip"]')).to_contain_text("Acknowledge the demand first")
    card.locator('[data-field="transcript"] summary').click()
    expect(card.locator('[data-field="transcript"]')).to_contain_text(COMPLAINT)

    ARTIFACTS.mkdir(exist_ok=True)
    # The "new" highlight fades first (the screenshot is the README's picture).
    console.evaluate("() => Promise.all(document.getAnimations().map(a => a.finished))")
    console.screenshot(path=str(ARTIFACTS / "console.png"))
    save_small_png(ARTIFACTS / "console.png", ARTIFACTS / "console-small.png")
    if os.environ.get("UPDATE_DOCS_SCREENSHOT"):  # the README's picture; never rewritten by CI
        DOCS.mkdir(exist_ok=True)
        save_small_png(ARTIFACTS / "console.png", DOCS / "console.png")

    # Work it: open, claim, talk.
    card.get_by_role("link", name="Open ticket").click()
    expect(console).to_have_url(re.compile(f"/console/tickets/{ticket_id}$"))
    expect(console.locator("#live")).to_have_attribute("data-state", "open")
    expect(console.locator("#chat-messages .chat-msg--customer").first).to_contain_text(COMPLAINT)
    console.get_by_role("button", name="Claim").click()
    expect(console.locator("#status-line")).to_contain_text("claimed by alice")
    expect(console.locator('#history li[data-action="claimed"]')).to_contain_text("alice")

    console.get_by_label("Message to the customer").fill(AGENT_TEXT)
    console.get_by_role("button", name="Send").click()
    expect(customer.locator("#messages .msg--agent .msg__text")).to_have_text(AGENT_TEXT)
    expect(customer.locator("#messages .msg--agent .msg__who")).to_have_text(f"{ALICE_SHOWN} · Northwind")
    expect(console.locator("#chat-messages .chat-msg--agent").last).to_contain_text(AGENT_TEXT)

    bots_before = customer.locator("#messages .msg--bot").count()
    reply = send(customer, CUSTOMER_REPLY)
    assert reply["messages"] == [], "the assistant stays silent while a person has the conversation"
    expect(console.locator("#chat-messages .chat-msg--customer").last).to_contain_text(CUSTOMER_REPLY)
    assert customer.locator("#messages .msg--bot").count() == bots_before

    console.get_by_label("Note").fill("Offered a paid repair quote; customer will think about it.")
    console.get_by_role("button", name="Add note").click()
    expect(console.locator('#history li[data-action="note"]')).to_contain_text("Offered a paid repair quote")
    console.screenshot(path=str(ARTIFACTS / "console-ticket.png"))

    # Hand back: the assistant takes over again and the customer's open page knows at once.
    console.get_by_role("button", name="Hand back to assistant").click()
    expect(customer.locator("#chat")).to_have_attribute("data-handed-off", "false")
    expect(customer.locator("#handoff-banner")).to_be_hidden()
    expect(console.locator('[data-field="ticket-status"]')).to_have_text("with the assistant")
    assert stack.tracker(customer.evaluate("localStorage.getItem('northwind-chat-conversation-id')"))["paused"] is False

    console.get_by_role("button", name="Resolve").click()
    expect(console.locator('[data-field="ticket-status"]')).to_have_text("resolved")
    history = stack.agent(f"/api/tickets/{ticket_id}")["history"]
    assert [(h["by"], h["action"]) for h in history if h["by"] == "alice"] == [
        ("alice", "claimed"), ("alice", "note"), ("alice", "handed_back"), ("alice", "resolved")]
    assert all(h["at"] for h in history)

    # The ticketing system got the hand-off, signed, once.
    keys = wait_for(lambda: [k for k in receiver.processed if k.startswith(ticket_id + "@")], 15, "the webhook")
    assert len(keys) == 1 and receiver.bad_signatures == 0
    assert receiver.processed[keys[0]]["ticket"]["status"] == "handed_off"


# ---- before the claim, the ticket list, and a resolution the customer reads ---------------------
def test_claim_before_writing_find_the_ticket_and_resolve_it_to_the_customer(contexts, stack):
    customer = contexts(900, 1000)
    ticket_id = hand_off_from_the_chat(customer)
    conversation_id = customer.evaluate("localStorage.getItem('northwind-chat-conversation-id')")
    console = contexts()
    sign_in(console, "alice", start=f"/console/tickets/{ticket_id}")

    # Why it was handed off, on the ticket page's card.
    expect(console.locator('#ticket-card [data-field="handoff-reason"]')).to_contain_text(
        stack.agent(f"/api/tickets/{ticket_id}")["history"][-1]["note"])
    # Before Claim the composer is off and says why; the server refuses a message all the same.
    expect(console.get_by_label("Message to the customer")).to_be_disabled()
    expect(console.locator("#chat-send")).to_be_disabled()
    expect(console.locator("#chat-claim-hint")).to_be_visible()
    expect(console.locator("#chat-claim-hint")).to_contain_text("Claim the ticket to write to the customer")
    refused = console.evaluate("""([cid, csrf]) => fetch('/api/conversations/' + cid + '/messages', {method: 'POST',
        headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf}, body: JSON.stringify({text: 'hi'})})
        .then(r => r.status)""", [conversation_id, console.locator('meta[name="csrf-token"]').get_attribute("content")])
    assert refused == 403
    console.get_by_role("button", name="Claim").click()
    expect(console.get_by_label("Message to the customer")).to_be_enabled()
    expect(console.locator("#chat-claim-hint")).to_be_hidden()
    # The customer's page no longer shows the expected wait: a colleague is there.
    expect(customer.locator("#handoff-banner")).to_contain_text(f"{ALICE_SHOWN} from our team has your conversation now")

    # The ticket list finds it as a customer would quote it, and filters.
    console.get_by_role("link", name="Tickets").click()
    expect(console).to_have_url(re.compile(r"/console/tickets$"))
    rows = console.locator("#tickets tr")
    expect(rows.first).to_be_visible()
    spaced = ticket_id.replace("-", " ")  # "C 20261122 0007", as read out
    for query in (spaced, "ord 4400918", "washing machine broke"):
        console.get_by_label("Reference, order number, phone, e-mail or words").fill(query)
        console.get_by_role("button", name="Search").click()
        expect(console.locator(f'#tickets tr[data-ticket-id="{ticket_id}"]')).to_be_visible()
        assert all(tid.startswith("C-") for tid in rows.evaluate_all("rs => rs.map(r => r.dataset.ticketId)"))
    console.get_by_label("Reference, order number, phone, e-mail or words").fill(spaced)
    console.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    console.get_by_label("Channel").select_option("voice")
    expect(console.locator("#tickets-empty")).to_be_visible()
    console.get_by_label("Channel").select_option("web")
    console.get_by_label("Status").select_option("handed_off")
    expect(console.locator(f'#tickets tr[data-ticket-id="{ticket_id}"]')).to_be_visible()
    expect(console).to_have_url(re.compile(r"status=handed_off"))
    console.screenshot(path=str(ARTIFACTS / "console-tickets.png"))
    console.locator(f'#tickets tr[data-ticket-id="{ticket_id}"] a').click()
    expect(console).to_have_url(re.compile(f"/console/tickets/{ticket_id}$"))

    # Resolve with a note: the customer reads it, from the agent's display name, with the reference.
    console.get_by_label("Note").fill("A replacement drum is booked for Thursday, free of charge")
    console.get_by_role("button", name="Resolve").click()
    expect(console.locator('[data-field="ticket-status"]')).to_have_text("resolved")
    said = f"Your complaint {ticket_id} has been resolved by {ALICE_SHOWN}: A replacement drum is booked for Thursday"
    expect(customer.locator("#messages .msg--agent .msg__text").last).to_contain_text(said)
    expect(customer.locator("#handoff-banner")).to_be_hidden()
    tracker = stack.tracker(conversation_id)
    assert tracker["paused"] is False
    assert any(e.get("event") == "bot" and said in (e.get("text") or "") for e in tracker["events"])
    # ... and the assistant answers what they write next.
    reply = send(customer, "thanks, that's all")
    assert reply["messages"], "after a resolution every message gets an answer"
    assert reply["handed_off"] is False, "and it is the assistant answering, not a new hand-off"
    assert [t["ticket_id"] for t in stack.agent("/api/handoffs")["handoffs"]].count(ticket_id) == 0


# ---- a caller's hand-off -----------------------------------------------------------------------
def twilio_post(stack: LiveStack, url: str, params: dict) -> ET.Element:
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    request = urllib.request.Request(stack.rasa_url + url[len(PUBLIC):], data=urllib.parse.urlencode(params).encode(),
                                     headers={"X-Twilio-Signature": signature,
                                              "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return ET.fromstring(response.read().decode())


def test_a_transferred_call_opens_in_the_console_by_its_call_sid(contexts, stack):
    call_sid = "CA" + uuid.uuid4().hex
    params = {"CallSid": call_sid, "AccountSid": ACCOUNT_SID, "From": "+447700900123", "Caller": "+447700900123",
              "To": CALLER_ID, "Called": CALLER_ID, "CallStatus": "in-progress", "Direction": "inbound",
              "ApiVersion": "2010-04-01"}
    url = f"{PUBLIC}/webhooks/twilio_ivr/webhook"
    root = twilio_post(stack, url, {**params, "CallStatus": "ringing"})
    url = urllib.parse.urljoin(url, root.find("Gather").get("action"))
    root = twilio_post(stack, url, {**params, "SpeechResult": "the washing machine came damaged from the van, order 4400918", "Confidence": "0.9"})
    url = urllib.parse.urljoin(url, root.find("Gather").get("action"))
    root = twilio_post(stack, url, {**params, "SpeechResult": "I want to speak to a person", "Confidence": "0.9"})
    assert root.find("Enqueue") is not None, ET.tostring(root, encoding="unicode")
    ticket_id = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(root.find("Enqueue").get("action")).query))["ticket_id"]

    console = contexts()
    # The agent's phone (or Flex) shows the CallSid of the call they took.
    sign_in(console, "alice", start=f"/console/calls/{call_sid}", lands_on=f"/console/tickets/{ticket_id}")
    expect(console.locator("#ticket-card")).to_contain_text(ticket_id)
    expect(console.locator("#ticket-card .chip--channel")).to_have_text("Phone")
    expect(console.locator("#ticket-card")).to_contain_text("+447700900123")
    expect(console.locator("#chat-note")).to_contain_text(call_sid)
    expect(console.locator("#chat-messages .chat-msg--customer").first).to_contain_text("washing machine came damaged")
    expect(console.get_by_label("Message to the customer")).to_be_disabled()
    # The same ticket by its id, and a CallSid nobody knows.
    console.goto(f"/console/tickets/{ticket_id}")
    expect(console.locator("#ticket-card")).to_contain_text("Phone")
    assert console.goto(f"/console/calls/CA{uuid.uuid4().hex}").status == 404


# ---- the specialists' callback list -------------------------------------------------------------
def opt_into_callback(stack: LiveStack):
    """A rejected warranty decision, the callback offered and taken (REST channel)."""
    sender = f"cb-{uuid.uuid4()}"
    stack.say(sender, "you refused to repair my bosch fridge under warranty, bought 10 January 2023, I want it fixed for free")
    stack.say(sender, "/affirm")
    replies = stack.say(sender, "None of these")
    assert "will not change" in texts(replies)
    windows = buttons(stack.say(sender, "/request_callback"))
    stack.say(sender, windows[0]["payload"])
    said = texts(stack.say(sender, "020 7946 0958"))
    return sender, TICKET_ID.search(said).group(0)


def test_specialist_works_the_callback_list(contexts, stack, services):
    twilio = services[0]
    console = contexts()
    sign_in(console, "sam", start="/console/callbacks")
    expect(console.locator("#hours")).to_contain_text("Open now")

    sender, ticket_id = opt_into_callback(stack)
    item = console.locator(f'#callbacks li[data-ticket-id="{ticket_id}"]')
    expect(item).to_be_visible(timeout=10_000)  # live: no reload
    window = item.locator('[data-field="window"]').inner_text()
    expect(item.locator('[data-field="attempts"]')).to_have_text("0 of 2 attempts")
    expect(item).to_contain_text("+442079460958")
    expect(item.locator('[data-field="disclosures"]')).to_contain_text("can't repair it free of charge")

    # Call: the specialist's phone first, then the customer, through Twilio's Calls API.
    item.get_by_role("button", name="Call now").click()
    expect(console.locator("#toast")).to_contain_text("Calling your phone")
    request = twilio.requests[-1]
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    assert request["form"]["To"] == [SAM_PHONE] and request["form"]["From"] == [CALLER_ID]
    assert f'<Dial callerId="{CALLER_ID}"><Number>+442079460958</Number></Dial>' in request["form"]["Twiml"][0]

    # No answer: moved to the next window, once; the second no-answer closes it.
    item.get_by_role("button", name="No answer").click()
    expect(item.locator('[data-field="attempts"]')).to_have_text("1 of 2 attempts")
    expect(item.locator('[data-field="window"]')).not_to_have_text(window)
    console.screenshot(path=str(ARTIFACTS / "console-callbacks.png"))
    item.get_by_role("button", name="No answer").click()
    expect(item).to_have_count(0)
    closed = stack.agent(f"/api/tickets/{ticket_id}")["callback"]
    assert closed["outcome"] == "no_answer" and closed["closed"] is True and closed["attempts"] == 2
    assert [h["action"] for h in stack.agent(f"/api/tickets/{ticket_id}")["history"] if h["by"] == "sam"] == [
        "callback_call_started", "callback_no_answer", "callback_no_answer"]

    # A customer's cancellation takes it off the open list at once.
    other, other_ticket = opt_into_callback(stack)
    other_item = console.locator(f'#callbacks li[data-ticket-id="{other_ticket}"]')
    expect(other_item).to_be_visible(timeout=10_000)
    assert "cancelled the callback" in texts(stack.say(other, "actually please cancel my callback"))
    expect(other_item).to_have_count(0, timeout=10_000)


# ---- nothing without signing in ---------------------------------------------------------------
def test_without_sign_in_pages_redirect_and_api_refuses_and_csrf_is_enforced(contexts, stack):
    page = contexts()
    for path in ("/console", "/console/callbacks", "/console/tickets/C-20240305-0001", f"/console/calls/CA{'0' * 32}"):
        page.goto(path)
        expect(page).to_have_url(re.compile(r"/console/login\?next=" + re.escape(urllib.parse.quote(path, safe=""))))
    for path in ("/api/handoffs", "/api/callbacks", "/api/tickets", "/console/ws", "/console/static/console.js"):
        assert page.request.get(path).status == 401, path
    assert page.request.post("/api/tickets/C-20240305-0001/claim", data={}).status == 401

    sign_in(page, "alice")
    assert page.request.get("/api/handoffs").ok
    # Signed in, but a POST without the page's CSRF token (what another site could make us send).
    for path in ("/api/tickets/C-20240305-0001/claim", "/api/tickets/C-20240305-0001/notes"):
        response = page.request.post(path, data=json.dumps({"note": "x"}), headers={"Content-Type": "application/json"})
        assert response.status == 403 and response.json()["error"] == "missing or invalid CSRF token"
    assert page.request.post("/console/logout", form={"_csrf": "forged"}, max_redirects=0).status == 403
    # The real sign-out button works, and afterwards nothing does.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/console/login$"))
    assert page.request.get("/api/handoffs").status == 401
