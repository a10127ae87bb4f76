"""Payment card numbers and the catalog's sensitive patterns never stored or logged in clear:
not in the ticket, not in its transcript, not in Rasa's tracker store (the SQLite file's
bytes), not in the logs of the Rasa server or the action server; while order numbers,
dates and amounts in the same message still become facts."""
from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml

from bot.privacy import mask_secrets
from tests.edge_stack import IVRCall
from tests.live import ROOT, texts

pytest_plugins = ["tests.edge_plugin"]

CARDS = {  # as written -> the digits; all Luhn-valid test numbers
    "4111 1111 1111 1111": "4111111111111111",
    "5500-0000-0000-0004": "5500000000000004",
    "378282246310005": "378282246310005",
}


def raw_forms(written: str):
    digits = CARDS[written]
    return {written, digits, " ".join(digits[i:i + 4] for i in range(0, len(digits), 4))}


# ---- the masking itself ------------------------------------------------------------------
@pytest.mark.parametrize("text,masked", [
    ("card 4111-1111-1111-1111 please", "card [card ending 1111] please"),
    ("card 4111 1111 1111 1111", "card [card ending 1111]"),
    ("amex 378282246310005.", "amex [card ending 0005]."),
    ("19 digits 6011000990139424 and 4222222222222", "19 digits [card ending 9424] and [card ending 2222]"),
    ("order ORD-4400918 on 03/03/2024 for £1,249.99", "order ORD-4400918 on 03/03/2024 for £1,249.99"),
    ("not a card 1234 5678 9012 3456", "not a card 1234 5678 9012 3456"),
    ("phone +44 20 7946 0958", "phone +44 20 7946 0958"),
])
def test_card_numbers_are_masked_and_nothing_else(text, masked):
    assert mask_secrets(text) == masked


def test_the_catalog_names_more_secrets(tmp_path, monkeypatch):
    catalog = yaml.safe_load((ROOT / "policy" / "catalog.yml").read_text())
    catalog["business"]["sensitive_patterns"] = [
        r"\bPIN[:\s]*\d{4}\b", {"pattern": r"(?i)\bpassword[:\s]+\S+", "label": "password"}, "([unclosed",
    ]
    path = tmp_path / "catalog.yml"
    path.write_text(yaml.safe_dump(catalog, allow_unicode=True))
    monkeypatch.setenv("CATALOG_PATH", str(path))
    assert mask_secrets("my PIN 4321, Password: hunter2, card 4111111111111111, order 4400918") == (
        "my [redacted], [redacted password] card [card ending 1111], order 4400918"
    ), "an invalid pattern is skipped, the others apply"
    assert mask_secrets("x", extra_patterns=[r"x"]) == "[redacted]", "the old signature still works"


def test_the_logging_config_masks_every_record_of_the_process():
    """What `--logging-config-file bot/logging_config.yml` does inside Rasa and rasa-sdk: a
    record factory, so handlers added later (coloredlogs, Sanic) write masked text too."""
    code = (
        "import logging, logging.config, sys, yaml\n"
        "logging.config.dictConfig(yaml.safe_load(open('bot/logging_config.yml')))\n"
        "logging.basicConfig(stream=sys.stdout, format='%(name)s %(message)s')\n"
        "log = logging.getLogger('rasa.core.processor')\n"
        "log.warning('user said %s', 'card 4111 1111 1111 1111')\n"
        "try:\n    raise ValueError('bad card 5500000000000004')\n"
        "except ValueError:\n    log.exception('failed')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "user said card [card ending 1111]" in out.stdout
    assert "ValueError: bad card [card ending 0004]" in out.stdout
    assert "4111" not in out.stdout.replace("[card ending 1111]", "") and "5500000000000004" not in out.stdout


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
