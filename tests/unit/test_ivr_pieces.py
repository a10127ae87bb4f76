"""The Twilio IVR's pieces on their own (the whole call against the real product:
tests/live/test_twilio_ivr.py): what can be said (twiml.speakable, menus), numbers said in
groups and heard digit by digit (bot/speech.py), prompts for the ear, the per-call state
producing each turn's answer once (memory and Redis), and the prompt measure."""
from __future__ import annotations

import asyncio
import uuid
import xml.etree.ElementTree as ET

import pytest

from bot.rasa_ext.channels import twiml
from bot.rasa_ext.channels.ivr_state import MemoryIVRState, RedisIVRState
from bot.rasa_ext.channels.twiml import button_menu, speakable
from bot.speech import digit_groups, heard_numbers, keyed_number, speakable_order_id
from tests.support.ivr_prompts import prompts_of, seconds


def test_speakable_removes_what_cannot_be_said():
    assert speakable("**Sorry** 😞 about that! See https://example.com/help or [our page](https://x.test/p).") == \
        "Sorry about that! See or our page."
    assert speakable("Your reference is C-20261122-0007.") == \
        "Your reference is C, two zero two six, one one two two, zero zero zero seven."
    assert speakable("amount 499.00 GBP; product: TV") == "amount £499; product: TV"
    assert speakable("Mon 23 Nov, 09:00-10:00") == "Monday 23 November, 9 to 10 AM"
    assert speakable("11:00-13:00") == "11 AM to 1 PM"
    assert button_menu([{"title": "Yes 👍", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]) == \
        "Press 1 for Yes, or 2 for No."


@pytest.mark.asyncio
@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_concurrent_deliveries_of_a_turn_are_produced_once(backend, request):
    state = MemoryIVRState() if backend == "memory" else RedisIVRState(
        request.getfixturevalue("redis_url"), prefix=f"test-{uuid.uuid4().hex[:8]}:")
    produced = []

    async def produce() -> str:
        produced.append(1)
        await asyncio.sleep(0.2)
        return "<Response/>"

    try:
        answers = await asyncio.gather(*(state.once("CA1", "3", produce, wait=5) for _ in range(4)))
        assert answers == ["<Response/>"] * 4 and len(produced) == 1
        assert await state.once("CA1", "3", produce, wait=5) == "<Response/>" and len(produced) == 1
        await state.save_call("CA1", {"buttons": [{"payload": "/affirm"}]})
        assert (await state.load_call("CA1"))["buttons"] == [{"payload": "/affirm"}]
        if backend == "redis":  # nothing is kept for ever
            assert 0 < await state.client.ttl(f"{state.prefix}turn:CA1:3") <= state.turn_ttl
            assert 0 < await state.client.ttl(f"{state.prefix}call:CA1") <= state.call_ttl
        await state.drop_call("CA1")
        assert await state.load_call("CA1") == {}
    finally:
        await state.close()


def test_numbers_are_spoken_in_groups_of_three_or_four():
    assert speakable_order_id("ORD-4470918") == "four four seven, zero nine one eight"
    assert speakable_order_id("C-20261201-0015") == "C, two zero two six, one two zero one, zero zero one five"
    assert [len(g) for g in digit_groups("1234567890")] == [3, 3, 4]
    assert speakable("It looks like ORD-4400918.") == "It looks like order four four zero, zero nine one eight."
    assert speakable("Give its reference, for example C-20261122-0007.") == "Give its reference."


def test_heard_numbers_joins_only_what_is_an_identifier():
    assert heard_numbers("my order is five five one two oh nine three") == "my order is 5512093"
    assert heard_numbers("double five one two zero nine three") == "5512093"
    assert heard_numbers("it cost 49 99 and I have one two three problems") == \
        "it cost 49 99 and I have one two three problems"
    assert heard_numbers("I paid 49.99 on 12 March") == "I paid 49.99 on 12 March"
    assert keyed_number("4470918") == "4470918" and keyed_number("447700900123") == "447700900123"


def test_labels_become_sentences_and_closed_is_said_once():
    assert twiml.for_the_ear(["What we will do: We will chase it.", "Why: The carrier has it.",
                              "What you can do instead: Cancel it.", "To be upfront about what we can't do: We can't."]) == \
        ["We will chase it.", "That's because the carrier has it.", "Cancel it.", "We can't."]
    assert twiml.for_the_ear(["Our team isn't available right now. We're closed right now, so a colleague "
                              "will pick this up when we open (Monday)."]) == \
        ["We're closed right now, so a colleague will pick this up when we open (Monday)."]


def test_prompt_measure_counts_words_at_150_a_minute():
    root = ET.fromstring("<Response><Say>one two three</Say><Say>Press 1 for yes.</Say></Response>")
    measured = prompts_of(root)
    assert [(p.words, p.is_menu) for p in measured] == [(3, False), (4, True)]
    assert measured[0].seconds == 1.2 and seconds(150) == 60.0
