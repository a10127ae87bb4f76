"""`make run`: start the Rasa server, the action server and the agent API together.

Ctrl-C (or SIGTERM) stops all three. Embedded defaults need nothing else running:
SQLite for trackers and tickets; with REDIS_URL set, Rasa's Redis tracker and lock
stores and the Redis ticket store are used instead.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
# Masks card numbers and the catalog's sensitive patterns in every log record (bot/privacy.py).
LOGGING_CONFIG = str(ROOT / "bot" / "logging_config.yml")
DEFAULT_REDIS_WORKERS = 2


def environment() -> Dict[str, str]:
    env = dict(os.environ)
    var = Path(env.get("VAR_DIR") or ROOT / "var")
    var.mkdir(parents=True, exist_ok=True)
    env.setdefault("RASA_PORT", "5005")
    env.setdefault("ACTION_PORT", "5055")
    env.setdefault("AGENT_API_PORT", "8080")
    # Derived from the ports, not inherited: a second stack (tests, benchmarks) must
    # never talk to the first one's servers.
    # An address, not "localhost": Rasa resolved the name again for every action call.
    env["ACTION_ENDPOINT_URL"] = f"http://127.0.0.1:{env['ACTION_PORT']}/webhook"
    env.setdefault("RASA_TRACKER_DB", str(var / "rasa_tracker.db"))
    env.setdefault("TICKETS_DB", str(var / "tickets.db"))
    env["RASA_URL"] = f"http://localhost:{env['RASA_PORT']}"
    if not env.get("AGENT_API_TOKEN"):
        env["AGENT_API_TOKEN"] = secrets.token_urlsafe(24)
        print(f"AGENT_API_TOKEN not set; generated one for this run: {env['AGENT_API_TOKEN']}", flush=True)
    if not env.get("RASA_TOKEN"):
        env["RASA_TOKEN"] = secrets.token_urlsafe(24)
    if env.get("REDIS_URL"):
        url = urlparse(env["REDIS_URL"])
        env.setdefault("REDIS_HOST", url.hostname or "localhost")
        env.setdefault("REDIS_PORT", str(url.port or 6379))
        env.setdefault("REDIS_DB", (url.path or "/0").lstrip("/") or "0")
        env.setdefault("REDIS_PASSWORD", url.password or "")
        # Redis holds every conversation's lock, so several Sanic workers can share the
        # Rasa port (Rasa allows more than one only with a shared lock store). make bench:
        # 2 workers on these 2 cores served 1.6x the turns of one.
        env.setdefault("SANIC_WORKERS", str(DEFAULT_REDIS_WORKERS))
    if _workers(env) > 1:
        # Each worker counts its own turns; /metrics adds up every worker's (bot/metrics.py).
        metrics_dir = Path(env.get("PROMETHEUS_MULTIPROC_DIR") or var / f"prometheus-{env['RASA_PORT']}")
        shutil.rmtree(metrics_dir, ignore_errors=True)  # a previous run's counts are not this one's
        metrics_dir.mkdir(parents=True, exist_ok=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    env.setdefault("PYTHONPATH", str(ROOT))
    return env


def _workers(env: Dict[str, str]) -> int:
    try:
        return int(env.get("SANIC_WORKERS") or 1)
    except ValueError:
        return 1


def commands(env: Dict[str, str]) -> List[List[str]]:
    endpoints = "endpoints.redis.yml" if env.get("REDIS_URL") else "endpoints.yml"
    rasa = str(VENV_BIN / "rasa")
    return [
        [rasa, "run", "actions", "--actions", "actions", "--port", env["ACTION_PORT"],
         "--logging-config-file", LOGGING_CONFIG],
        [
            rasa, "run", "--model", env.get("RASA_MODEL", "models/complaints.tar.gz"),
            "--port", env["RASA_PORT"], "--endpoints", endpoints, "--credentials",
            env.get("RASA_CREDENTIALS", "credentials.yml"), "--enable-api",
            "--auth-token", env["RASA_TOKEN"], "--cors", "*", "--logging-config-file", LOGGING_CONFIG,
        ],
        [sys.executable, "-m", "bot.agent_api"],
    ]


def wait_ready(urls: List[str], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending and time.monotonic() < deadline:
        for url in list(pending):
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        pending.remove(url)
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
        time.sleep(0.5)
    return not pending


def main() -> int:
    started = time.monotonic()
    env = environment()
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env) for cmd in commands(env)]

    def stop(*_):
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()

    signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
    urls = [
        f"http://localhost:{env['ACTION_PORT']}/health",
        f"http://localhost:{env['RASA_PORT']}/status?token={env['RASA_TOKEN']}",
        f"http://localhost:{env['AGENT_API_PORT']}/health",
    ]
    try:
        if wait_ready(urls, float(env.get("READY_TIMEOUT", "180"))):
            print(
                f"\nReady in {time.monotonic() - started:.1f}s:\n"
                f"  Rasa REST channel  http://localhost:{env['RASA_PORT']}/webhooks/rest/webhook\n"
                f"  Action server      http://localhost:{env['ACTION_PORT']}/health\n"
                f"  Agent API          http://localhost:{env['AGENT_API_PORT']}/api/handoffs "
                f"(Authorization: Bearer $AGENT_API_TOKEN)\n"
                f"  Agent console      http://localhost:{env['AGENT_API_PORT']}/console   Web chat  http://localhost:{env['AGENT_API_PORT']}/chat\n",
                flush=True,
            )
        else:
            print("Not every service became ready; see the log above.", flush=True)
        while all(proc.poll() is None for proc in procs):
            time.sleep(0.5)
        print("A service stopped; stopping the others.", flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
