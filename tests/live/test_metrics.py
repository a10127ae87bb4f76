"""GET /metrics on the Rasa port (bot/rasa_ext/metrics.py): scraped before and after real conversations
on the REST channel and the Twilio IVR; the turn-latency histogram and the business counters
(hand-offs, fallbacks, callbacks offered / opted in / opted out, refused requests) move by
exactly what the conversations did."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Dict, FrozenSet, Tuple

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.edge_stack import IVRCall
from tests.support.live import buttons, texts


Sample = Tuple[str, FrozenSet[Tuple[str, str]]]


def scrape(stack, token: str = "edge-metrics-token") -> Dict[Sample, float]:
    request = urllib.request.Request(f"{stack.rasa_url}/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        body = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body) for sample in family.samples
    }


def delta(before: Dict[Sample, float], after: Dict[Sample, float], name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_metrics_need_the_token_when_one_is_set(edge_stack):
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{edge_stack.rasa_url}/metrics", timeout=10)
    assert error.value.code == 401
    with pytest.raises(urllib.error.HTTPError):
        scrape(edge_stack, token="wrong")


def test_counters_and_latency_move_with_the_conversations(edge_stack):
    before = scrape(edge_stack)
    rest_turns = 0

    def say(sender: str, text: str):
        nonlocal rest_turns
        rest_turns += 1
        return edge_stack.say(sender, text)

    # A fallback, then a complaint whose callback offer is accepted.
    accepted = f"metrics-{uuid.uuid4()}"
    assert texts(say(accepted, "asdf qwrtz xcvbnm"))
    say(accepted, "you refused to repair my bosch fridge under warranty, bought 10 January 2023, I want it fixed for free")
    say(accepted, "/affirm")
    assert "will not change" in texts(say(accepted, "None of these"))
    windows = buttons(say(accepted, "/request_callback"))
    say(accepted, windows[0]["payload"])
    assert "+442079460958" in texts(say(accepted, "020 7946 0958"))

    # A callback offer declined.
    declined = f"metrics-{uuid.uuid4()}"
    say(declined, "you refused to repair my bosch fridge under warranty, bought 10 January 2023, I want it fixed for free")
    say(declined, "/affirm")
    assert "will not change" in texts(say(declined, "None of these"))
    say(declined, "/decline_callback")

    # A hand-off on request.
    handed_off = f"metrics-{uuid.uuid4()}"
    say(handed_off, "I was charged twice for my order!!")
    assert "colleague" in texts(say(handed_off, "just let me talk to a real person"))

    # Two requests refused at the edge.
    for body in (json.dumps({"sender": "m", "message": "x" * 17_000}).encode(), b"not json"):
        request = urllib.request.Request(f"{edge_stack.rasa_url}/webhooks/rest/webhook", data=body)
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=10)

    # Two turns on the phone.
    call = IVRCall(edge_stack)
    call.turn(CallStatus="ringing")
    call.turn(SpeechResult="the washing machine came damaged from the van, order 4400918", Confidence="0.9")

    after = scrape(edge_stack)
    assert delta(before, after, "complaints_turns_total", channel="rest", outcome="ok") == rest_turns
    assert delta(before, after, "complaints_turn_duration_seconds_count", channel="rest") == rest_turns
    assert delta(before, after, "complaints_turn_duration_seconds_sum", channel="rest") > 0
    assert delta(before, after, "complaints_turn_duration_seconds_bucket", channel="rest", le="+Inf") == rest_turns
    assert delta(before, after, "complaints_turn_duration_seconds_count", channel="twilio_ivr") == 2
    assert delta(before, after, "complaints_turns_total", channel="twilio_ivr", outcome="ok") == 2
    assert delta(before, after, "complaints_fallbacks_total", channel="rest") == 1
    assert delta(before, after, "complaints_callback_offers_total", channel="rest") == 2
    assert delta(before, after, "complaints_callback_decisions_total", channel="rest", choice="opted_in") == 1
    assert delta(before, after, "complaints_callback_decisions_total", channel="rest", choice="opted_out") == 1
    assert delta(before, after, "complaints_handoffs_total", channel="rest", trigger="customer_request") == 1
    assert delta(before, after, "complaints_rest_rejected_total", reason="too_large") == 1
    assert delta(before, after, "complaints_rest_rejected_total", reason="bad_request") == 1
    assert delta(before, after, "complaints_turns_total", channel="rest", outcome="error") == 0
