"""Card numbers and the catalog's sensitive patterns masked (bot/privacy.py), in-process: what
is masked and what is left alone, the catalog's own patterns, and every log record of a
process that uses the logging config. Nowhere stored or logged in the running product:
tests/live/test_privacy.py."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.privacy import mask_secrets

ROOT = Path(__file__).resolve().parents[2]


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
    """What `--logging-config-file bot/runtime/logging_config.yml` does inside Rasa and rasa-sdk: a
    record factory, so handlers added later (coloredlogs, Sanic) write masked text too."""
    code = (
        "import logging, logging.config, sys, yaml\n"
        "logging.config.dictConfig(yaml.safe_load(open('bot/runtime/logging_config.yml')))\n"
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
