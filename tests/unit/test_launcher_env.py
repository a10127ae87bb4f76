"""The environment the launcher gives the Rasa server (bot/runtime/launcher.py, read through
tests/support/cluster.py as the live tests start their processes), without starting anything.
The workers really running: tests/live/test_workers.py."""
from __future__ import annotations

from tests.support.cluster import launcher_env


def test_with_redis_the_launcher_runs_two_workers():
    assert launcher_env({"REDIS_URL": "redis://127.0.0.1:6379/0"})["SANIC_WORKERS"] == "2"
    assert "SANIC_WORKERS" not in launcher_env({}) or launcher_env({})["SANIC_WORKERS"] == "1", \
        "without Redis the lock store is in memory: one process"
