"""The chat page's states in Chromium against the whole product (issue 10, items 2, 9, 12):
leaving the hand-off when an agent resolves or hands back, the newest message in view and a
compact header on a phone, and long pastes sent whole (or their cut announced).

Screenshots go to test-artifacts/ (and docs/ with UPDATE_DOCS_SCREENSHOT=1)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bot.service.webchat.customer_api import MAX_MESSAGE_CHARS
from tests.support.browser import DESKTOP, PHONE
from tests.support.chat_page import (assert_newest_in_view, bubbles, conversation_id, hand_off, header_and_banner_ratio,
                                     open_chat, press, screenshot, send)
from tests.support.live import LIVE_AGENT_PASSWORD
from tests.support.long_paste import long_complaint

ROOT = Path(__file__).resolve().parents[2]
FOLLOW_UP = "thanks! so when will i get the refund?"


@pytest.fixture
def pages(windows, live_stack):
    """pages(viewport) opens the chat's address in a new window."""
    return lambda viewport=DESKTOP: windows.open(live_stack.agent_url, viewport)


def ticket_of(live_stack, page):
    return live_stack.agent(f"/api/tickets/{live_stack.only_ticket(conversation_id(page))['ticket_id']}")


# ---- item 2: after the agent ----------------------------------------------------------------
def test_resolution_leaves_the_hand_off_and_the_next_message_is_answered(pages, live_stack):
    page = pages()
    ticket_id = hand_off(page)["ticket_id"]
    banner = page.locator("#handoff-banner")
    expect(banner).to_contain_text("your messages go to them")
    expect(page.locator("#chat")).to_have_attribute("data-live", "open")

    live_stack.agent(f"/api/tickets/{ticket_id}/claim", "POST", {"agent": "Sam"})
    live_stack.agent(f"/api/tickets/{ticket_id}/resolve", "POST",
                     {"agent": "Sam", "note": "We are sending a replacement drum next week"})

    # Without a reload: the resolution in the conversation, and the banner gone.
    resolution = page.locator("#messages .msg--agent .msg__text").filter(has_text="resolved")
    expect(resolution).to_contain_text(ticket_id)
    expect(resolution).to_contain_text("replacement drum")
    expect(banner).to_be_hidden()
    expect(page.locator("#chat")).to_have_attribute("data-handed-off", "false")
    assert_newest_in_view(page)

    # The customer's next message goes to the assistant, and it answers.
    answer = send(page, FOLLOW_UP)
    assert answer["messages"], "the assistant must answer after a resolution"
    assert answer["handed_off"] is False
    expect(bubbles(page, "customer").last).to_have_text(FOLLOW_UP)
    last = page.locator("#messages .msg").last
    expect(last).to_have_class(re.compile(r"msg--bot"))
    expect(last.locator(".msg__text")).to_have_text(answer["messages"][-1]["text"])
    expect(banner).to_be_hidden()
    assert_newest_in_view(page)

    # A reload shows the same: not handed off, the resolution and the answer there.
    page.reload()
    expect(page.locator("#chat")).to_have_attribute("data-ready", "true")
    expect(banner).to_be_hidden()
    expect(resolution).to_contain_text(ticket_id)
    expect(bubbles(page, "customer").last).to_have_text(FOLLOW_UP)


def test_hand_back_is_told_and_leaves_the_hand_off(pages, live_stack):
    page = pages()
    ticket_id = hand_off(page)["ticket_id"]
    live_stack.agent(f"/api/tickets/{ticket_id}/claim", "POST", {"agent": "Sam"})
    expect(page.locator("#handoff-banner")).to_contain_text("Sam")  # who has the conversation now
    live_stack.agent(f"/api/tickets/{ticket_id}/handback", "POST", {"agent": "Sam"})
    expect(page.locator("#messages .msg--agent .msg__text").last).to_contain_text("passed you back to our assistant")
    expect(page.locator("#handoff-banner")).to_be_hidden()
    answer = send(page, FOLLOW_UP)
    assert answer["messages"] and answer["handed_off"] is False


# ---- item 12: the newest message in view, a compact header on a phone --------------------------
def test_after_a_hand_off_on_a_phone_the_newest_message_is_in_view_and_the_header_is_compact(pages, live_stack):
    page = pages(PHONE)
    hand_off(page)
    handoff_message = page.locator("#messages .msg").last
    expect(handoff_message).to_contain_text("Your reference is")
    assert_newest_in_view(page, "the hand-off message is hidden under the composer")
    ratio = header_and_banner_ratio(page)
    assert ratio < 0.25, f"header and banner take {ratio:.0%} of a 390x844 screen"

    # Collapsed to one line; the details (the wait) open and close with its button.
    toggle = page.get_by_role("button", name="Details")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#handoff-wait")).to_be_hidden()
    toggle.click()
    expect(page.locator("#handoff-wait")).to_be_visible()
    expect(page.get_by_role("button", name="Hide details")).to_have_attribute("aria-expanded", "true")
    assert_newest_in_view(page, "opening the banner must not push the newest message away")
    page.get_by_role("button", name="Hide details").click()
    expect(page.locator("#handoff-wait")).to_be_hidden()

    # The customer writes to the colleague: their message is the newest, and in view.
    send(page, "ok, I'll wait, thank you")
    expect(page.locator("#messages .msg--pending")).to_have_count(0)
    assert_newest_in_view(page)
    screenshot(page, "chat-phone.png")


def test_desktop_conversation_keeps_the_newest_message_in_view(pages, live_stack):
    page = pages(DESKTOP)
    ticket_id = hand_off(page)["ticket_id"]
    assert_newest_in_view(page)
    expect(page.locator("#handoff-wait")).to_be_visible()  # room enough: the details are open

    # A colleague takes it and writes: the banner says who is there, their message is in view.
    live_stack.agent(f"/api/tickets/{ticket_id}/claim", "POST", {"agent": "Sam"})
    expect(page.locator("#handoff-title")).to_have_text("You're talking to our team")
    expect(page.locator("#handoff-wait")).to_contain_text("Sam from our team has your conversation now")
    live_stack.agent(f"/api/conversations/{conversation_id(page)}/messages", "POST",
                     {"agent": "Sam", "text": "Hello, this is Sam from Northwind. I have your complaint in front of me."})
    expect(page.locator("#messages .msg--agent")).to_have_count(1)
    assert_newest_in_view(page, "after the colleague's message")
    send(page, "Thanks Sam. It stopped spinning last week and now it leaks.")
    assert_newest_in_view(page, "after the customer's answer")
    screenshot(page, "chat-desktop.png")


# ---- item 9: long messages --------------------------------------------------------------------
def test_a_5000_character_paste_is_sent_whole_kept_on_the_ticket_and_classified_on_all_of_it(pages, live_stack):
    page = pages()
    open_chat(page)
    text = long_complaint(5000)
    # What went wrong comes only after the first 4,000 characters (where the page used to cut).
    assert len(text) == 5000 and "broken" not in text[:4000] and "arrived broken" in text[4000:]
    box = page.get_by_label("Your message")
    box.fill(text)
    expect(box).to_have_value(text)
    answer = press(page, "Send")
    assert json.loads(answer.request.post_data)["text"] == text
    expect(bubbles(page, "customer").last).to_have_text(text)
    expect(page.locator("#length-note")).to_be_hidden()
    page.get_by_role("button", name="Yes, that's right").click()

    # The policy stated is the damaged-delivery one, not the late-delivery one.
    policy = bubbles(page, "bot").filter(has_text="What we will do")
    expect(policy).to_contain_text("free collection of the damaged item")
    ticket = ticket_of(live_stack, page)
    assert (ticket["category"], ticket["sub_reason"]) == ("delivery", "damaged")
    assert ticket["customer_demand"] == text
    assert text in [line["text"] for line in ticket["transcript"] if line["role"] == "customer"]


def test_a_paste_over_the_maximum_is_sent_in_parts_and_the_page_says_so(pages, live_stack):
    page = pages()
    open_chat(page)
    text = ("The parcel came late and the box was open. " * 300)[: MAX_MESSAGE_CHARS + 2345]
    box = page.get_by_label("Your message")
    box.fill(text)
    answer = press(page, "Send")
    assert json.loads(answer.request.post_data)["text"] == text[:MAX_MESSAGE_CHARS]
    note = page.locator("#length-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("too long for one message (at most 10,000 characters)")
    expect(note).to_contain_text("2,345 characters are still in the box")
    expect(box).to_have_value(text[MAX_MESSAGE_CHARS:])

    # Sent as the next message: nothing was lost, and the note goes.
    answer = press(page, "Send")
    assert json.loads(answer.request.post_data)["text"] == text[MAX_MESSAGE_CHARS:]
    expect(note).to_be_hidden()
    expect(box).to_have_value("")


def test_a_long_non_latin_paste_fits_the_body_limit_and_every_cut_is_told(pages, live_stack):
    """8,000 "€" are 24 KB of UTF-8, over the gateway's 16 KB body: the page sends what fits
    (no "too long to send" error), keeps the rest in the box, and the assistant's reply says
    how much of it the assistant could read."""
    page = pages()
    open_chat(page)
    box = page.get_by_label("Your message")
    box.fill("\u20ac" * 8000)
    answer = press(page, "Send")
    assert answer.status == 200
    sent = json.loads(answer.request.post_data)["text"]
    assert 0 < len(sent) < 8000 and len(answer.request.post_data.encode()) <= 16 * 1024
    expect(page.locator("#length-note")).to_contain_text(f"{8000 - len(sent):,} characters are still in the box")
    expect(box).to_have_value("\u20ac" * (8000 - len(sent)))
    expect(page.get_by_role("alert")).to_be_hidden()
    expect(bubbles(page, "bot").first).to_contain_text(f"of its {len(sent):,} characters")


def test_the_server_says_when_it_cut_a_message(pages, live_stack):
    """A client other than the page (or text the forward to Rasa must escape) can send more
    than the assistant reads in one turn: the reply says so, first."""
    page = pages()
    open_chat(page)
    result = page.evaluate("""(n) => fetch('chat/api/messages', {method: 'POST', credentials: 'same-origin',
        headers: {'Content-Type': 'application/json'}, body: JSON.stringify({text: 'é'.repeat(n)})})
        .then(r => r.json().then(body => ({status: r.status, body})))""", 6000)
    assert result["status"] == 200, result
    first = result["body"]["messages"][0]["text"]
    assert re.search(r"too long for one message: I could only read the first [\d,]+ of its 6,000 characters", first), first


# ---- the console, for docs/ --------------------------------------------------------------------
def test_console_queue_and_ticket_after_a_web_hand_off(pages, live_stack):
    """The agent's side of a web hand-off, signed in as the live stack's agent: the queue with
    the card, then the ticket claimed (docs/console-queue.png, docs/console-ticket.png)."""
    customer = pages(DESKTOP)
    ticket_id = hand_off(customer)["ticket_id"]
    console = pages({"width": 1280, "height": 900})
    console.goto("/console")
    console.get_by_label("Name").fill("Sam")
    console.get_by_label("Password").fill(LIVE_AGENT_PASSWORD)
    console.get_by_role("button", name="Sign in").click()
    card = console.locator(f'#handoffs article[data-ticket-id="{ticket_id}"]')
    expect(card).to_be_visible()
    console.evaluate("() => Promise.all(document.getAnimations().map(a => a.finished))")
    screenshot(console, "console-queue.png")

    card.get_by_role("link", name="Open ticket").click()
    expect(console).to_have_url(re.compile(f"/console/tickets/{ticket_id}$"))
    console.get_by_role("button", name="Claim").click()
    expect(console.locator("#status-line")).to_contain_text("claimed by")
    expect(customer.locator("#handoff-title")).to_have_text("You're talking to our team")
    console.get_by_label("Message to the customer").fill("Hello, I'm Sam. I have your complaint here and I'm looking at it now.")
    console.get_by_role("button", name="Send").click()
    expect(customer.locator("#messages .msg--agent .msg__text")).to_contain_text("I'm looking at it now")
    assert_newest_in_view(customer, "after the colleague's message")
    console.evaluate("() => Promise.all(document.getAnimations().map(a => a.finished))")
    screenshot(console, "console-ticket.png")
