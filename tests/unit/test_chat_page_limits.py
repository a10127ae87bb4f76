"""The chat page (bot/service/webchat/static) and the gateway agree on the longest message,
and the ticket keeps at least that much: read from the files, nothing started. The page
sending long pastes in a browser: tests/live/test_webchat_page_states.py."""
from __future__ import annotations

import re
from pathlib import Path

from actions.ticketing import MAX_TEXT
from bot.service.webchat.customer_api import MAX_MESSAGE_CHARS

STATIC = Path(__file__).resolve().parents[2] / "bot" / "service" / "webchat" / "static"


def test_the_page_and_the_gateway_share_the_maximum():
    chat_js = (STATIC / "chat.js").read_text()
    assert re.search(r"var MAX_CHARS = (\d+);", chat_js).group(1) == str(MAX_MESSAGE_CHARS)
    assert MAX_TEXT >= MAX_MESSAGE_CHARS
    assert 'maxlength' not in (STATIC / "chat.html").read_text()
