"""The chat page out of hours (issue 10, item 3): the hand-off asks how the team can reach the
customer, and the banner then says the team will be in touch when the centre opens and that
the window may be closed, never "keep writing here" into a closed centre.

A stack of its own, its clock on a Tuesday evening after closing (closed_stack, tests/live/conftest.py)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import PHONE
from tests.support.chat_page import (COMPLAINT, assert_newest_in_view, bubbles, conversation_id, header_and_banner_ratio,
                                     open_chat, screenshot, send)


@pytest.fixture
def page(windows, closed_stack):
    return windows.open(closed_stack.agent_url, PHONE)


def test_out_of_hours_the_banner_says_we_will_be_in_touch_and_the_window_can_close(page, closed_stack):
    open_chat(page)
    send(page, COMPLAINT)
    asked = send(page, "I want to speak to a person")
    # First the question how to reach them; the hand-off is not closed yet.
    assert asked["handed_off"] is False
    expect(bubbles(page, "bot").last).to_contain_text("How can our team reach you")
    expect(page.locator("#handoff-banner")).to_be_hidden()

    done = send(page, "07700 900123")
    assert done["handed_off"] is True
    banner = page.locator("#handoff-banner")
    expect(banner).to_be_visible()
    expect(page.locator("#handoff-title")).to_have_text("Our team will be in touch")
    expect(banner).not_to_contain_text("keep writing")
    assert header_and_banner_ratio(page) < 0.25
    page.get_by_role("button", name="Details").click()
    expect(page.locator("#handoff-wait")).to_contain_text(re.compile(r"when we open \(Wednesday .*09:00\)"))
    expect(page.locator("#handoff-hint")).to_contain_text("You can close this window")
    assert_newest_in_view(page)

    ticket_id = done["ticket_id"]
    ticket = closed_stack.agent(f"/api/tickets/{ticket_id}")
    assert ticket["customer"]["phone"] and ticket["conversation_id"] == conversation_id(page)
    screenshot(page, "chat-phone-closed.png")

    # A reload says the same.
    page.reload()
    expect(page.locator("#chat")).to_have_attribute("data-ready", "true")
    expect(page.locator("#handoff-title")).to_have_text("Our team will be in touch")
    expect(banner).not_to_contain_text("keep writing")
