"""The web chat page in a real browser (Chromium via Playwright) against the whole product.

Needs /usr/bin/chromium: scripts/install_system_deps.sh (as root) installs it. A screenshot
of the finished conversation goes to test-artifacts/webchat.png.
"""
from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.chat_page import ARTIFACTS, COMPLAINT, bubbles, click, open_chat, send
from tests.support.tickets import TICKET_ID

STORAGE_KEY = "northwind-chat-conversation-id"
AGENT_TEXT = "Hello, this is Sam from Northwind. I have your complaint in front of me."
AFTER_AGENT = "Thanks Sam. It stopped spinning last week and now it leaks."


@pytest.fixture
def page(windows, live_stack):
    return windows.open(live_stack.agent_url, {"width": 900, "height": 1000})


def test_complaint_handoff_and_agent_message(page: Page, live_stack):
    open_chat(page)
    expect(page.get_by_role("heading", name="Northwind customer care")).to_be_visible()
    conversation_id = page.evaluate(f"localStorage.getItem('{STORAGE_KEY}')")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", conversation_id)

    # The complaint with its facts: the assistant reads them back and asks, with buttons.
    answer = send(page, COMPLAINT)
    expect(bubbles(page, "customer").last).to_have_text(COMPLAINT)
    said = [COMPLAINT]
    if any(b.get("payload") == '/inform{"category": "product_quality"}' for m in answer["messages"] for b in m.get("buttons") or []):
        # Not sure whether it's the product or a warranty claim, the assistant asks: the
        # customer clicks, as they would.
        click(page, "A faulty or poor-quality product")
        said.append("A faulty or poor-quality product")  # a click is recorded by its title
    readback = bubbles(page, "bot").filter(has_text="read that back")
    expect(readback).to_contain_text("ORD-4400918")
    expect(readback).to_contain_text("15 January 2023")
    yes = page.get_by_role("button", name="Yes, that's right")
    expect(yes).to_be_visible()
    expect(page.get_by_role("button", name="No, let me correct it")).to_be_visible()

    # Clicking sends the payload but shows the button's title as the customer's words.
    with page.expect_response(lambda r: r.url.endswith("/chat/api/messages")) as answer:
        yes.click()
    assert json.loads(answer.value.request.post_data)["text"] == "/affirm"
    expect(bubbles(page, "customer").last).to_have_text("Yes, that's right")
    expect(yes).to_have_count(0)
    expect(bubbles(page, "bot").filter(has_text="What we will do")).to_be_visible()
    expect(page.locator("#messages")).not_to_contain_text("/affirm")

    # Typing still works while buttons are on offer.
    expect(page.locator(".choice").first).to_be_visible()
    before_reload = bubbles(page, "customer").all_inner_texts() + bubbles(page, "bot").all_inner_texts()

    # Reload: the same conversation, in full, and the reference in the header.
    page.reload()
    expect(page.locator("#chat")).to_have_attribute("data-ready", "true")
    assert page.evaluate(f"localStorage.getItem('{STORAGE_KEY}')") == conversation_id
    expect(bubbles(page, "customer")).to_have_text(said + ["Yes, that's right"])
    after_reload = bubbles(page, "customer").all_inner_texts() + bubbles(page, "bot").all_inner_texts()
    assert after_reload == before_reload
    badge = page.locator("#ticket-badge")
    expect(badge).to_be_visible()
    expect(badge).to_have_text(re.compile(rf"^Your reference: {TICKET_ID.pattern}$"))
    ticket_id = page.locator("#ticket-id").inner_text()
    tickets = live_stack.agent(f"/api/tickets?conversation_id={conversation_id}")["tickets"]
    assert [t["ticket_id"] for t in tickets] == [ticket_id]
    expect(page.locator(".choice").first).to_be_visible()  # still waiting for the remedy choice

    # Ask for a person: the banner, with the wait the assistant quoted; input stays usable.
    banner = page.locator("#handoff-banner")
    expect(banner).to_be_hidden()
    answer = send(page, "I want to speak to a person")
    assert answer["handed_off"] is True and answer["ticket_id"] == ticket_id
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("You're being connected to a colleague")
    wait = answer["handoff"]["wait"]
    assert wait
    expect(page.locator("#handoff-wait")).to_have_text(wait)
    expect(bubbles(page, "bot").last).to_contain_text(ticket_id)
    expect(bubbles(page, "bot").last).to_contain_text(wait)
    expect(page.locator(".choice")).to_have_count(0)
    expect(page.get_by_label("Your message")).to_be_enabled()

    # An agent writes (the console comes later; its API exists): it appears without a reload.
    expect(page.locator("#chat")).to_have_attribute("data-live", "open")
    page.evaluate("window.__sameDocument = true")
    # Sam claims the hand-off first: only the colleague who has it writes to the customer.
    live_stack.agent(f"/api/tickets/{ticket_id}/claim", "POST", {"agent": "Sam"})
    live_stack.agent(f"/api/conversations/{conversation_id}/messages", "POST", {"agent": "Sam", "text": AGENT_TEXT})
    agent_bubble = page.locator("#messages .msg--agent")
    expect(agent_bubble).to_have_count(1)
    expect(agent_bubble.locator(".msg__text")).to_have_text(AGENT_TEXT)
    expect(agent_bubble.locator(".msg__who")).to_have_text("Sam \u00b7 Northwind")
    assert page.evaluate("window.__sameDocument") is True

    # The customer answers: no bot reply, but Rasa has it (for the agent).
    bot_count = bubbles(page, "bot").count()
    answer = send(page, AFTER_AGENT)
    assert answer["messages"] == [] and answer["handed_off"] is True
    expect(bubbles(page, "customer").last).to_have_text(AFTER_AGENT)
    expect(page.locator("#messages .msg--pending")).to_have_count(0)
    expect(page.locator("#typing")).to_be_hidden()
    assert bubbles(page, "bot").count() == bot_count
    tracker = live_stack.tracker(conversation_id)
    assert tracker["paused"] is True
    user_texts = [e["text"] for e in tracker["events"] if e["event"] == "user"]
    assert user_texts[-1] == AFTER_AGENT
    agent_events = [e for e in tracker["events"] if e["event"] == "bot" and (e.get("metadata") or {}).get("agent")]
    assert [(e["text"], e["metadata"]["agent"]) for e in agent_events] == [(AGENT_TEXT, "Sam")]

    ARTIFACTS.mkdir(exist_ok=True)
    # The page is one screen (the conversation scrolls inside it): header, banner, latest
    # messages and the composer are all in view.
    assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight")
    page.screenshot(path=str(ARTIFACTS / "webchat.png"))

    # After a reload the hand-off state, the agent's message and the reply are all there.
    page.reload()
    expect(page.locator("#chat")).to_have_attribute("data-ready", "true")
    expect(banner).to_be_visible()
    # Sam has claimed it: the banner no longer says how long a colleague usually takes.
    expect(page.locator("#handoff-wait")).to_have_text("Sam from our team has your conversation now.")
    expect(page.locator("#messages .msg--agent .msg__text")).to_have_text([AGENT_TEXT])
    expect(bubbles(page, "customer").last).to_have_text(AFTER_AGENT)
    expect(page.locator(".choice")).to_have_count(0)


def test_unreachable_assistant_keeps_the_typed_text(page: Page):
    open_chat(page)
    # Rasa down looks like this to the page: the gateway's 502.
    page.route("**/chat/api/messages", lambda route: route.fulfill(
        status=502, content_type="application/json",
        body=json.dumps({"error": "We couldn't reach the assistant, please try again."}),
    ))
    box = page.get_by_label("Your message")
    box.fill("my fridge is making a terrible noise")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_have_text("We couldn't reach the assistant, please try again.")
    expect(box).to_have_value("my fridge is making a terrible noise")
    expect(page.locator("#messages .msg--customer")).to_have_count(0)

    # Back up: the same text goes through and the error clears.
    page.unroute("**/chat/api/messages")
    page.get_by_role("button", name="Send").click()
    expect(bubbles(page, "customer")).to_have_text(["my fridge is making a terrible noise"])
    expect(page.get_by_role("alert")).to_be_hidden()
    expect(bubbles(page, "bot").first).to_be_visible()
    expect(box).to_have_value("")


def test_enter_sends_and_blank_is_not_sent(page: Page):
    open_chat(page)
    expect(page.locator("#intro")).to_be_visible()
    box = page.get_by_label("Your message")
    box.fill("   ")
    box.press("Enter")
    expect(page.locator("#messages .msg")).to_have_count(0)
    box.fill("hello")
    with page.expect_response(lambda r: r.url.endswith("/chat/api/messages")):
        box.press("Enter")
    expect(bubbles(page, "customer")).to_have_text(["hello"])
    expect(bubbles(page, "bot").first).to_contain_text("Northwind")
    expect(page.locator("#intro")).to_be_hidden()
