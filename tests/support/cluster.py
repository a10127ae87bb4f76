"""The product's servers started one by one (not through the launcher, which stops every
service when one of them dies), so a test can run several Rasa servers and action servers,
kill one and start it again, or restart Redis under them.

Each process gets exactly the environment and command line `bot.runtime.launcher` builds
(`environment()` and `commands()`), so what runs here is what `make run` runs.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional
from unittest import mock

from bot.runtime import launcher
from tests.support.live import ALWAYS_OPEN, MODEL, ROOT, catalog_with_hours, no_fault, stop_process_group
from tests.support.redis_server import free_port

RASA_TOKEN = "test-rasa-token"
AGENT_TOKEN = "test-agent-token"
# Fixed, not generated per process: each server's environment is built separately, and the
# Rasa servers must send the token the action servers expect.
ACTION_SERVER_TOKEN = "test-action-server-token"
METRICS_TOKEN = "test-metrics-token"


def launcher_env(overrides: Dict[str, str]) -> Dict[str, str]:
    """bot.runtime.launcher.environment() as it would be computed with `overrides` set."""
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_DB")}
    with mock.patch.dict(os.environ, {**base, **overrides}, clear=True):
        with mock.patch("builtins.print"):
            return launcher.environment()


def launcher_commands(env: Dict[str, str]) -> Dict[str, List[str]]:
    actions, rasa, agent_api = launcher.commands(env)
    return {"actions": actions, "rasa": rasa, "agent_api": agent_api}


@dataclass
class Service:
    """One server process with its own log file."""

    name: str
    cmd: List[str]
    env: Dict[str, str]
    health_url: str
    log_path: Path
    proc: Optional[subprocess.Popen] = None

    def start(self) -> "Service":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        return self

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    def wait_ready(self, timeout: float = 240) -> "Service":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
            if self.healthy():
                return self
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} not ready in {timeout}s:\n{self.log_tail()}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (rasa forks nothing, but its children must go too)."""
        stop_process_group(self.proc, sig)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


@dataclass
class Cluster:
    """Action servers, Rasa servers and (optionally) an agent API sharing one configuration."""

    var_dir: Path
    extra_env: Dict[str, str] = field(default_factory=dict)
    services: Dict[str, Service] = field(default_factory=dict)
    # One Sanic worker per Rasa server keeps "which process took this turn" in the test's
    # hands; None leaves it to the launcher (2 with Redis: tests/live/test_workers.py).
    workers: Optional[int] = 1

    @classmethod
    def on_redis(cls, var_dir: Path, redis_url: str, key_prefix: str, workers: Optional[int] = 1) -> "Cluster":
        """Nodes sharing one Redis, open at every hour (a script takes the same path at any time)."""
        return cls(var_dir, {
            "REDIS_URL": redis_url, "REDIS_KEY_PREFIX": key_prefix,
            "CATALOG_PATH": catalog_with_hours(var_dir, ALWAYS_OPEN),
        }, workers=workers)

    @contextmanager
    def running(self, timeout: float = 240) -> Iterator["Cluster"]:
        """Every service started (all stopped again if one fails to start), stopped at the end."""
        try:
            self.start_all(timeout)
        except Exception:
            self.stop()
            raise
        try:
            yield self
        finally:
            self.stop()

    def __post_init__(self) -> None:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        if not MODEL.exists():
            raise RuntimeError(f"{MODEL} is missing: run `make model` (make test does it)")

    def env(self, rasa_port: int, action_port: int, agent_port: int) -> Dict[str, str]:
        return launcher_env({
            "VAR_DIR": str(self.var_dir),
            "RASA_TRACKER_DB": str(self.var_dir / "rasa_tracker.db"),
            "TICKETS_DB": str(self.var_dir / "tickets.db"),
            "RASA_PORT": str(rasa_port), "ACTION_PORT": str(action_port), "AGENT_API_PORT": str(agent_port),
            "AGENT_API_TOKEN": AGENT_TOKEN, "RASA_TOKEN": RASA_TOKEN,
            "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3",
            # A developer's shell must not change what these servers do.
            "ACTION_SERVER_TOKEN": ACTION_SERVER_TOKEN, "METRICS_TOKEN": METRICS_TOKEN, "REST_RATE_PER_SECOND": "", "REST_RATE_BURST": "", "REST_MAX_BODY_BYTES": "",
            "REDIS_KEY_PREFIX": "",
            **({"SANIC_WORKERS": str(self.workers)} if self.workers else {}),
            **self.extra_env,
        })

    def _add(self, name: str, kind: str, env: Dict[str, str], health_url: str) -> Service:
        service = Service(name, launcher_commands(env)[kind], env, health_url, self.var_dir / f"{name}.log")
        self.services[name] = service
        return service

    def action_server(self, name: str, port: Optional[int] = None) -> Service:
        port = port or free_port()
        env = self.env(free_port(), port, free_port())
        return self._add(name, "actions", env, f"http://127.0.0.1:{port}/health")

    def rasa_server(self, name: str, action_port: int, port: Optional[int] = None) -> Service:
        port = port or free_port()
        env = self.env(port, action_port, free_port())
        return self._add(name, "rasa", env, f"http://127.0.0.1:{port}/status?token={RASA_TOKEN}")

    def agent_api(self, name: str, rasa_port: int, port: Optional[int] = None) -> Service:
        port = port or free_port()
        env = self.env(rasa_port, free_port(), port)
        return self._add(name, "agent_api", env, f"http://127.0.0.1:{port}/health")

    def start_all(self, timeout: float = 240) -> "Cluster":
        for service in self.services.values():
            if service.proc is None or service.proc.poll() is not None:
                service.start()
        for service in self.services.values():
            service.wait_ready(timeout)
        return self

    def stop(self) -> None:
        for service in self.services.values():
            if service.proc is not None and service.proc.poll() is None:
                try:
                    os.killpg(service.proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for service in self.services.values():
            service.kill(signal.SIGKILL) if service.proc is not None and _still_running(service.proc, 20) else None

    def logs(self) -> str:
        return "\n".join(f"==== {s.name}\n{s.log_tail(3000)}" for s in self.services.values())


def _still_running(proc: subprocess.Popen, timeout: float) -> bool:
    try:
        proc.wait(timeout=timeout)
        return False
    except subprocess.TimeoutExpired:
        return True


# ---- small HTTP clients ---------------------------------------------------------------
def port_of(service: Service) -> int:
    return int(service.health_url.split(":")[2].split("/")[0])


def base_url(service: Service) -> str:
    return f"http://127.0.0.1:{port_of(service)}"


def say(rasa: Service, sender: str, text: str, timeout: float = 60, fault_expected: bool = False) -> List[Dict[str, Any]]:
    """One turn; the fault path's apology fails the test unless the test injected a fault."""
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(
        f"{base_url(rasa)}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return no_fault(json.loads(response.read()), text, fault_expected)


def scrape_metrics(rasa: Service) -> str:
    request = urllib.request.Request(f"{base_url(rasa)}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def tracker(rasa: Service, sender: str) -> Dict[str, Any]:
    url = f"{base_url(rasa)}/conversations/{sender}/tracker?token={RASA_TOKEN}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())
