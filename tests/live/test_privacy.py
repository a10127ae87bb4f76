"""Payment card numbers and the catalog's sensitive patterns never stored or logged in clear:
not in the ticket, not in its transcript, not in Rasa's tracker store (the SQLite file's
bytes), not in the logs of the Rasa server or the action server; while order numbers,
dates and amounts in the same message still become facts."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.support.edge_stack import IVRCall
from tests.support.live import texts


CARDS = {  # as written -> the digits; all Luhn-valid test numbers
    "4111 1111 1111 1111": "4111111111111111",
    "5500-0000-0000-0004": "5500000000000004",
    "378282246310005": "378282246310005",
}


def raw_forms(written: str):
    digits = CARDS[written]
    return {written, digits, " ".join(digits[i:i + 4] for i in range(0, len(digits), 4))}


# ---- the masking itself ------------------------------------------------------------------
# ---- the running product ---------------------------------------------------------------
def test_a_card_number_is_stored_and_logged_nowhere(edge_stack):
    sender = f"privacy-{uuid.uuid4()}"
    message = ("I was charged twice on my card 4111 1111 1111 1111 for order 4400918 on 3 March 2024, "
               "it was £49.99. My PIN 1234 is fine, refund to 5500-0000-0000-0004")
    replies = edge_stack.say(sender, message)
    said = texts(replies)
    assert "ORD-4400918" in said, "the order number in the same message is still a fact"
    edge_stack.say(sender, "/affirm")

    # The ticket and its transcript.
    ticket = edge_stack.agent(f"/api/tickets?conversation_id={sender}")["tickets"][0]
    assert ticket["facts"]["order_id"] == "ORD-4400918" and ticket["facts"]["purchase_date"] == "2024-03-03"
    assert "[card ending 1111]" in ticket["customer_demand"] and "[redacted]" in ticket["customer_demand"]
    transcript = json.dumps(ticket["transcript"], ensure_ascii=False)
    assert "[card ending 0004]" in transcript

    # Rasa's tracker (what every later turn and every agent sees).
    user_events = [e["text"] for e in edge_stack.tracker(sender)["events"] if e["event"] == "user"]
    assert "[card ending 1111]" in user_events[0] and "[redacted]" in user_events[0]

    # The phone: a card number spoken to the IVR is masked before Rasa stores it too.
    call = IVRCall(edge_stack)
    call.turn(CallStatus="ringing")
    call.turn(SpeechResult="refund it to my card 3782 8224 6310 005 please, order 4400918", Confidence="0.9")
    spoken = [e["text"] for e in edge_stack.tracker(call.sid)["events"] if e["event"] == "user"]
    assert spoken[-1] == "refund it to my card [card ending 0005] please, order 4400918"

    # Make both servers log a card number on purpose (an unknown action name is logged as an
    # ERROR with the name in it): the record must be masked there as well.
    rasa_probe = f"{edge_stack.rasa_url}/conversations/{sender}/execute?token={edge_stack.env['RASA_TOKEN']}"
    request = urllib.request.Request(rasa_probe, data=json.dumps({"name": "card 4111 1111 1111 1111"}).encode(),
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=30)
    action_probe = {"next_action": "card 5500-0000-0000-0004", "sender_id": sender, "tracker": {"sender_id": sender},
                    "domain": {}, "version": "3.6.2"}
    request = urllib.request.Request(f"{edge_stack.action_url}/webhook", data=json.dumps(action_probe).encode(),
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {edge_stack.env['ACTION_SERVER_TOKEN']}"})
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=30)

    logs = edge_stack.log_path.read_text(errors="replace")
    assert "action 'card [card ending 1111]'" in logs, "the Rasa server's log line, masked"
    assert "card [card ending 0004]" in logs, "the action server's log line, masked"
    stored = {path.name: path.read_bytes() for path in Path(edge_stack.var_dir).glob("*.db*")}
    assert {"rasa_tracker.db", "tickets.db"} <= set(stored)
    for written in CARDS:
        for form in raw_forms(written):
            assert form not in logs, f"{form!r} in the logs"
            for name, data in stored.items():
                assert form.encode() not in data, f"{form!r} in {name}"
    assert "PIN 1234" not in logs and not any(b"PIN 1234" in data for data in stored.values())
