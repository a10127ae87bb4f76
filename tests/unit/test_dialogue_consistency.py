"""One conversational step is recorded once, at one instant (issue 9, "Defects"): the
second-explanation offer is one disclosure however often it is asked, and a hand-off at
closing time doesn't say "open" and "closed" at once."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import context
from actions.complaint import ActionStartComplaint
from actions.handoff import ActionHandOff
from actions.questions import ActionAskCallbackChoice
from tests.support.trackers import domain, fixed_clock, make_tracker, slot_events, store  # noqa: F401 (fixtures)

LONDON = ZoneInfo("Europe/London")


async def test_the_second_explanation_offer_is_one_disclosure_however_often_it_is_asked(store, domain):
    events = await ActionStartComplaint().run(CollectingDispatcher(), make_tracker("my oven broke, bought 3 March 2023", "complain_repair_warranty"), domain)
    slots = slot_events(events)
    for _ in range(3):  # asked, not understood, asked again ...
        await ActionAskCallbackChoice().run(CollectingDispatcher(), make_tracker("/reject_explanation", "reject_explanation", slots), domain)
    ticket = await (await context.ticket_store()).get(slots["ticket_id"])
    offers = [d for d in ticket["disclosures"] if d["policy_id"] == "SECOND-EXPLANATION.offer"]
    assert len(offers) == 1, "the exemption evidence lists the offer once"


@pytest.mark.parametrize("reads_before_closing", range(1, 8))
async def test_a_hand_off_at_closing_time_says_one_thing(store, domain, monkeypatch, reads_before_closing):
    # Closing time passes during the hand-off, after the clock was read so many times: the
    # reply (open: a colleague picks up now; closed: when we open) and the wait it states,
    # shown and sent to the page, belong to one instant.
    before, after = datetime(2026, 12, 1, 17, 59, 59, tzinfo=LONDON), datetime(2026, 12, 1, 18, 0, 1, tzinfo=LONDON)
    reads = iter(range(1000))
    monkeypatch.setattr(context, "now", lambda: before if next(reads) < reads_before_closing else after)
    dispatcher = CollectingDispatcher()
    events = await ActionHandOff().run(dispatcher, make_tracker("agent please", "request_human", metadata={"channel": "voice"}), domain)
    reply = dispatcher.messages[-1]
    marker = reply["custom"]["handoff"]
    assert marker["wait"] == reply["wait"]
    if reply["response"] == "utter_handoff":
        assert marker["open"] is True and "during opening hours" in reply["wait"]
    else:
        assert reply["response"] == "utter_handoff_closed"
        assert marker["open"] is False and "closed right now" in reply["wait"]
    assert any(e.get("event") == "pause" for e in events)
