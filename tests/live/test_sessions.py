"""When a new Rasa session starts (bot/rasa_ext/patches/session_expiry.py): long conversations are cut into
sessions so that a turn costs the same at message 200 as at message 5, nothing the customer
or the agent sees changes, and a conversation held by an agent is never un-paused by one.
The decision itself, in-process: tests/unit/test_session_expiry.py."""
from __future__ import annotations

import re
import uuid

import pytest

from bot.rasa_ext.patches import session_expiry as sessions
from tests.support.live import buttons, texts

TICKET = re.compile(r"C-\d{8}-\d{4}")


@pytest.mark.live
def test_a_long_conversation_keeps_its_ticket_transcript_and_emotion(live_stack):
    sender = f"test-{uuid.uuid4()}"
    complaint = "this is ridiculous, I am furious: my parcel ord 4400918 is 5 days late and nobody tells me anything"
    replies = live_stack.say(sender, complaint)
    replies = live_stack.say(sender, "/affirm")
    replies = live_stack.say(sender, buttons(replies)[0]["payload"])
    ticket_id = TICKET.search(texts(replies)).group(0)
    before = live_stack.agent(f"/api/tickets/{ticket_id}")
    assert before["emotion"]["label"] != "neutral"

    chatter = 2 * sessions.DEFAULT_MAX_TURNS + 2
    for n in range(chatter):
        if n % 2:
            assert ticket_id in texts(live_stack.say(sender, f"what is the status of {ticket_id}"))
        else:
            assert live_stack.say(sender, "hi"), "the assistant keeps answering"
    replies = live_stack.say(sender, "I want to talk to a real person")
    assert any((r.get("custom") or {}).get("handoff", {}).get("ticket_id") == ticket_id for r in replies), \
        "the slots (the ticket) carried over into the new sessions"

    events = live_stack.tracker(sender)["events"]
    assert sum(e["event"] == "session_started" for e in events) >= 3, "new sessions were started"
    after = live_stack.agent(f"/api/tickets/{ticket_id}")
    said = [line["text"] for line in after["transcript"] if line["role"] == "customer"]
    assert said[0] == complaint and said[-1] == "I want to talk to a real person"
    assert len(said) == 3 + chatter + 1, "every message of every session is on the ticket, once"
    stamps = [line["ts"] for line in after["transcript"]]
    assert stamps == sorted(stamps)
    assert after["emotion"]["label"] == before["emotion"]["label"], "the emotion read at the complaint is kept"
    assert after["status"] == "handed_off"
