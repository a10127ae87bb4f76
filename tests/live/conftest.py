"""Fixtures of the tests that start the product: one Chromium per module and the windows a
test opens in it, a stack whose clock stands after closing time, and the edge tests' stack."""
from __future__ import annotations

import pytest

from tests.support.browser import Windows, chromium
from tests.support.edge_stack import PUBLIC, TWILIO_TOKEN, edge_catalog
from tests.support.live import CLOSED_INSTANT, LiveStack


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def windows(browser):
    """`windows.open(base_url, viewport)` opens a page; all are closed after the test."""
    opened = Windows(browser)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def closed_stack(tmp_path_factory):
    """The whole product on a Tuesday evening after closing (CLOSED_INSTANT)."""
    stack = LiveStack(tmp_path_factory.mktemp("closed-stack"), extra_env={"CLOCK_START": CLOSED_INSTANT}).start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def edge_stack(tmp_path_factory: pytest.TempPathFactory):
    """The product with the Twilio IVR configured (signed requests), always open, and two extra
    sensitive patterns (tests/support/edge_stack.py): started once for the fuzz, privacy and
    metrics tests."""
    var = tmp_path_factory.mktemp("edge")
    stack = LiveStack(var, extra_env={
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "PUBLIC_URL": PUBLIC, "CATALOG_PATH": edge_catalog(var),
        "TWILIO_HANDOFF_DIAL": "", "TWILIO_WORKFLOW_SID": "", "TWILIO_HANDOFF_QUEUE": "complaints",
        "TWILIO_LANGUAGE": "en-GB", "TWILIO_VOICE": "", "TWILIO_SPEECH_HINTS": "",
        "METRICS_TOKEN": "edge-metrics-token",
    }).start()
    yield stack
    stack.stop()
