"""The suite's promise to whoever runs `pytest -m "not live"`: nothing under tests/unit starts
the product (tests/conftest.py refuses it), so the fast part stays fast and in process."""
from __future__ import annotations

import sys

import pytest

from tests.support import live
from tests.support.cluster import Service
from tests.support.live import LiveStack

REFUSED = "belongs under tests/live"


def test_a_unit_test_that_starts_the_whole_product_fails(tmp_path, monkeypatch):
    # Without the refusal this would start Rasa; with no model to start it fails at once instead.
    monkeypatch.setattr(live, "MODEL", tmp_path / "no-model.tar.gz")
    with pytest.raises(pytest.fail.Exception, match=REFUSED):
        LiveStack(tmp_path).start()


def test_a_unit_test_that_starts_a_cluster_process_fails(tmp_path):
    service = Service("actions", [sys.executable, "-c", "pass"], {}, "http://127.0.0.1:9/health", tmp_path / "log")
    with pytest.raises(pytest.fail.Exception, match=REFUSED):
        service.start()
    assert service.proc is None
