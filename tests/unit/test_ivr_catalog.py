"""The phone line takes the business's words from the catalog, not from code: the recogniser's
speech hints are the catalog's categories and remedies (TWILIO_SPEECH_HINTS still overrides
them), and a reference keyed or said digit by digit reaches the assistant in the catalog's
ticket-id format (prefix and counter digits)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.rasa_ext.channels import twiml
from bot.rasa_ext.channels.twilio_ivr import TwilioIVRInput
from bot.rasa_ext.settings import IVRSettings
from bot.speech import heard_numbers, keyed_number

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def catalog(tmp_path, monkeypatch):
    """Write a changed copy of the catalog and point CATALOG_PATH at it."""
    def write(change) -> None:
        data = yaml.safe_load((ROOT / "policy" / "catalog.yml").read_text())
        change(data)
        path = tmp_path / "catalog.yml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True))
        monkeypatch.setenv("CATALOG_PATH", str(path))
    return write


def test_the_speech_hints_are_the_catalogs_words(catalog):
    def furniture(data):
        data["categories"]["delivery"]["in_few_words"] = "a sofa delivery"
        data["remedies"]["voucher_10"]["speakable"] = "a cushion voucher"
    catalog(furniture)
    gather = twiml.gather_response(TwilioIVRInput(IVRSettings()).voice, ["How can I help?"], "/next")
    hints = gather.split('hints="', 1)[1].split('"', 1)[0].split(", ")
    assert "sofa delivery" in hints and "cushion voucher" in hints
    assert "faulty product" in hints, "every category, as the catalog says it in few words"
    assert {"agent", "yes", "no"} <= set(hints), "and the words of the conversation itself"
    assert "delivery" not in hints, "no category word of its own in the code"


def test_twilio_speech_hints_still_override_the_catalog(catalog):
    catalog(lambda data: None)
    channel = TwilioIVRInput(IVRSettings.from_env({"TWILIO_SPEECH_HINTS": "alpha, beta"}))
    assert channel.voice.hints == "alpha, beta"


def test_a_reference_reaches_the_assistant_in_the_catalogs_format(catalog):
    def longer_references(data):
        data["business"]["ticket_id_prefix"] = "K-"
        data["business"]["ticket_id_counter_digits"] = 5
    catalog(longer_references)
    assert keyed_number("2026120100015") == "K-20261201-00015"
    assert heard_numbers("cancel my callback K 2026 1201 00015") == "cancel my callback K-20261201-00015"
    assert keyed_number("202612010015") == "202612010015", "a counter shorter than the format's is no reference"
    channel = TwilioIVRInput(IVRSettings())
    assert heard_numbers("it is two zero two six one two zero one zero zero zero one five", channel.ticket_format()) == \
        "it is K-20261201-00015"


def test_what_the_line_itself_says_is_the_catalogs(catalog):
    """The phone line's own words (silence, transfers, farewell) come from the catalog's
    `phone:` section: a centre that rewords its farewell is heard saying the new one."""
    def reworded(data):
        data["phone"]["farewell"] = "Thanks for calling Northwind. Bye for now."
        data["phone"]["transfer_failed"] = "Nobody could take your call, but your complaint is saved."
    catalog(reworded)
    twiml_text = TwilioIVRInput(IVRSettings()).after_transfer({"QueueResult": "leave"}, ticket_id=None)
    assert "Thanks for calling Northwind. Bye for now." in twiml_text
    assert "Nobody could take your call, but your complaint is saved." in twiml_text
    assert "Thank you for calling. Goodbye." not in twiml_text
