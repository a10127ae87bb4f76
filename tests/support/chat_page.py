"""Helpers for driving the customer's chat page (bot/service/webchat/static) in Chromium: open it,
send a message, read the bubbles, measure what is on screen, save a screenshot for docs/."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict

from playwright.sync_api import Page, Response, expect

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
DOCS = ROOT / "docs"
COMPLAINT = "my Bosch washing machine broke, order ORD-4400918, bought on 15 January 2023"


def open_chat(page: Page) -> None:
    page.goto("/chat")
    expect(page.locator("#chat")).to_have_attribute("data-ready", "true")


def send(page: Page, text: str) -> Dict[str, Any]:
    """Type and send; the gateway's JSON answer for this turn."""
    page.get_by_label("Your message").fill(text)
    return click(page, "Send")


def press(page: Page, button: str) -> Response:
    """Click a button that sends a message (Send, or one the assistant offered); the
    gateway's response, with the request the page made."""
    with page.expect_response(lambda r: r.url.endswith("/chat/api/messages") and r.request.method == "POST") as answer:
        page.get_by_role("button", name=button).click()
    return answer.value


def click(page: Page, button: str) -> Dict[str, Any]:
    """press(), answered: the gateway's JSON answer for this turn."""
    response = press(page, button)
    assert response.ok, response.text()
    return response.json()


def bubbles(page: Page, role: str):
    return page.locator(f"#messages .msg--{role} .msg__text")


def hand_off(page: Page) -> Dict[str, Any]:
    """A complaint with its facts, then a request for a person."""
    open_chat(page)
    send(page, COMPLAINT)
    answer = send(page, "I want to speak to a person")
    assert answer["handed_off"] is True, answer
    expect(page.locator("#handoff-banner")).to_be_visible()
    return answer


def conversation_id(page: Page) -> str:
    return page.locator("#chat").get_attribute("data-conversation-id")


NEWEST_OUT_OF_VIEW = """() => {
    const items = document.querySelectorAll('#messages .msg');
    const last = items[items.length - 1].getBoundingClientRect();
    const list = document.getElementById('messages').getBoundingClientRect();
    const composer = document.getElementById('composer').getBoundingClientRect();
    const floor = Math.min(list.bottom, composer.top);
    // Its top only counts when it could fit (a long paste is taller than the list).
    return Math.max(0, last.bottom - floor) + (last.height <= list.height ? Math.max(0, list.top - last.top) : 0);
}"""


def newest_message_overlap(page: Page) -> float:
    """How many pixels of the newest message are out of the conversation's visible area
    (under the composer, or above the list's top); 0 when it is wholly in view."""
    return page.evaluate(NEWEST_OUT_OF_VIEW)


def assert_newest_in_view(page: Page, why: str = "") -> None:
    """Waits (for the page's next layout, at most 5 s) until the newest message is wholly
    in view; fails with how much of it is hidden."""
    try:
        page.wait_for_function(f"() => ({NEWEST_OUT_OF_VIEW})() === 0", timeout=5_000)
    except Exception:
        raise AssertionError(f"{newest_message_overlap(page):.0f} px of the newest message are out of view {why}") from None


def header_and_banner_ratio(page: Page) -> float:
    return page.evaluate("""() => {
        const h = document.querySelector('.chat__header').getBoundingClientRect().height;
        const banner = document.getElementById('handoff-banner');
        const b = banner.hidden ? 0 : banner.getBoundingClientRect().height;
        return (h + b) / window.innerHeight;
    }""")


def screenshot(page: Page, name: str) -> Path:
    """test-artifacts/<name>; also docs/<name> when UPDATE_DOCS_SCREENSHOT is set (the
    README's pictures are rewritten on purpose, never by CI)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    if os.environ.get("UPDATE_DOCS_SCREENSHOT"):
        DOCS.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS / name))
    return path
