"""The edge tests' product stack, started once per session however many modules use it.
Load with `pytest_plugins = ["tests.edge_plugin"]` (a plugin, not a conftest: conftest.py is
not this suite's to change)."""
from __future__ import annotations

import pytest

from tests.edge_stack import PUBLIC, TWILIO_TOKEN, edge_catalog
from tests.live import LiveStack


@pytest.fixture(scope="session")
def edge_stack(tmp_path_factory: pytest.TempPathFactory):
    var = tmp_path_factory.mktemp("edge")
    stack = LiveStack(var, extra_env={
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "PUBLIC_URL": PUBLIC, "CATALOG_PATH": edge_catalog(var),
        "TWILIO_HANDOFF_DIAL": "", "TWILIO_WORKFLOW_SID": "", "TWILIO_HANDOFF_QUEUE": "complaints",
        "TWILIO_LANGUAGE": "en-GB", "TWILIO_VOICE": "", "TWILIO_SPEECH_HINTS": "",
        "METRICS_TOKEN": "edge-metrics-token",
    }).start()
    yield stack
    stack.stop()
