"""The whole product started for real (Rasa server, action server, agent API) on free
ports with its own SQLite files, the way `make run` starts it."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from tests.support.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "complaints.tar.gz"
CATALOG = ROOT / "policy" / "catalog.yml"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OPEN_INSTANT = "2026-12-01T10:30:00+00:00"    # Tuesday, inside opening hours
CLOSED_INSTANT = "2026-12-01T21:30:00+00:00"  # Tuesday evening, after closing
ALWAYS_OPEN = {day: ["00:00", "23:59"] for day in DAYS}
NEVER_OPEN: Dict[str, Any] = {}
LIVE_AGENT_PASSWORD = "sam-live-stack-password"
# hash_password(LIVE_AGENT_PASSWORD, salt=b"live-stack-salt"): fixed, so nothing to compute per run.
LIVE_AGENT_HASH = "scrypt$16384$8$1$bGl2ZS1zdGFjay1zYWx0$NJT5-NX4cyEe71Z7QXHI2FQxsJ3tFetq7te4LzSY2G4"


def stop_process_group(proc: Optional[subprocess.Popen], sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    """Signal the whole group of a process started with start_new_session=True (its
    children must go too); SIGKILL the group if it is still running after `timeout`."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def catalog_with_hours(directory: Path, business_hours: Dict[str, Any], **business: Any) -> str:
    """The shipped catalog with other opening hours, so a test's outcome doesn't depend
    on the hour CI happens to run at, and any other `business` settings changed. Returns its
    path (for CATALOG_PATH)."""
    data = yaml.safe_load(CATALOG.read_text())
    data["business"].update(business, business_hours=business_hours)
    path = Path(directory) / "catalog.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return str(path)


@dataclass
class LiveStack:
    var_dir: Path
    extra_env: Dict[str, str] = field(default_factory=dict)
    proc: Optional[subprocess.Popen] = None
    env: Dict[str, str] = field(default_factory=dict)

    def start(self, timeout: float = 240) -> "LiveStack":
        if not MODEL.exists():
            raise RuntimeError(f"{MODEL} is missing: run `make model` (make test does it)")
        self.env = {
            **os.environ,
            "VAR_DIR": str(self.var_dir),
            "RASA_TRACKER_DB": str(self.var_dir / "rasa_tracker.db"),
            "TICKETS_DB": str(self.var_dir / "tickets.db"),
            "RASA_PORT": str(free_port()),
            "ACTION_PORT": str(free_port()),
            "AGENT_API_PORT": str(free_port()),
            "AGENT_API_TOKEN": "test-agent-token",
            "RASA_TOKEN": "test-rasa-token",
            "METRICS_TOKEN": "test-metrics-token",
            "ACTION_SERVER_TOKEN": "test-action-server-token",
            # Every stack starts its clock at a Tuesday mid-morning in London (bot/clock.py):
            # what is open, what a warranty's age is, never depend on when CI runs.
            # A test that needs another instant passes its own CLOCK_START in extra_env.
            "CLOCK_START": OPEN_INSTANT,
            "PYTHONPATH": str(ROOT),
            "READY_TIMEOUT": str(timeout),
            # Every test talks from 127.0.0.1: the per-client web chat limits would add up
            # across tests (tests/unit/test_webchat_security.py checks them on an app of its own).
            "CLIENT_LIMITS": "off",
            # The agent the web chat tests write as (agent messages need a real account).
            "AGENT_ACCOUNTS": f"Sam:{LIVE_AGENT_HASH}",
            **self.extra_env,
        }
        self.env.pop("REDIS_URL", None) if "REDIS_URL" not in self.extra_env else None
        self.log_path = self.var_dir / "stack.log"
        self.var_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")  # a stale "Ready in" line must not count
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.runtime.launcher"], cwd=ROOT, env=self.env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"stack exited:\n{self.log_tail()}")
            if b"Ready in" in self.log_path.read_bytes():
                return self
            time.sleep(0.5)
        raise RuntimeError(f"stack not ready in {timeout}s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        stop_process_group(self.proc)

    # ---- addresses ----------------------------------------------------------
    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.env['RASA_PORT']}"

    @property
    def agent_url(self) -> str:
        return f"http://127.0.0.1:{self.env['AGENT_API_PORT']}"

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.env['ACTION_PORT']}"

    # ---- small synchronous clients -----------------------------------------
    def say(self, sender: str, text: str, metadata: Optional[dict] = None, fault_expected: bool = False) -> List[Dict[str, Any]]:
        """One customer turn through Rasa's REST channel; the bot's replies. A turn that took
        the fault path (the apology) fails the test unless the test injected the fault."""
        body = {"sender": sender, "message": text}
        if metadata:
            body["metadata"] = metadata
        request = urllib.request.Request(
            f"{self.rasa_url}/webhooks/rest/webhook", data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        # A script types faster than a person: like a well-behaved client, it waits out
        # the per-conversation rate limit (429 + Retry-After) instead of failing.
        for _ in range(10):
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    return no_fault(json.loads(response.read()), text, fault_expected)
            except urllib.error.HTTPError as error:
                if error.code != 429:
                    raise
                time.sleep(float(error.headers.get("Retry-After") or 1))
        raise RuntimeError(f"still rate-limited after 10 tries: {text[:60]!r}")

    def agent(self, path: str, method: str = "GET", body: Optional[dict] = None) -> Any:
        request = urllib.request.Request(
            f"{self.agent_url}{path}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.env['AGENT_API_TOKEN']}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def failed_turns(self) -> int:
        """Turns that took the fault path since the Rasa server started, every channel
        (complaints_turns_total{outcome="error"} on /metrics)."""
        request = urllib.request.Request(f"{self.rasa_url}/metrics", headers={"Authorization": f"Bearer {self.env['METRICS_TOKEN']}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            lines = response.read().decode().splitlines()
        return int(sum(float(line.rsplit(" ", 1)[1]) for line in lines
                       if line.startswith("complaints_turns_total{") and 'outcome="error"' in line))

    def tracker(self, sender: str) -> Dict[str, Any]:
        url = f"{self.rasa_url}/conversations/{sender}/tracker?token={self.env['RASA_TOKEN']}"
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.loads(response.read())

    def only_ticket(self, conversation_id: str) -> Dict[str, Any]:
        """The conversation's one ticket, as the agent API lists it (fails if there are more)."""
        found = self.agent(f"/api/tickets?conversation_id={conversation_id}")["tickets"]
        assert len(found) == 1, found
        return found[0]


def new_sender(kind: str = "test") -> str:
    """A conversation no other test has used."""
    return f"{kind}-{uuid.uuid4()}"


def through_clarification(say, replies: List[Dict[str, Any]], category: str) -> List[Dict[str, Any]]:
    """When the assistant wasn't sure what the complaint is about it asks, with a button per
    likely category: answer as the customer would, by clicking `category` (if offered), and
    return what the assistant says next. `say` sends one message, e.g. lambda t: stack.say(sender, t)."""
    wanted = f'/inform{{"category": "{category}"}}'
    if any(b.get("payload") == wanted for r in replies for b in (r.get("buttons") or [])):
        return say(wanted)
    return replies


def took_fault_path(replies: List[Dict[str, Any]]) -> bool:
    """The REST channel marks its apology for a failed turn (bot/rasa_ext/channels/rest.py)."""
    return any((r.get("custom") or {}).get("technical_problem") for r in replies)


def no_fault(replies: List[Dict[str, Any]], text: str, fault_expected: bool = False) -> List[Dict[str, Any]]:
    if took_fault_path(replies) and not fault_expected:
        raise AssertionError(f"the turn {text[:60]!r} failed and got the apology; no fault was injected")
    return replies


def texts(replies: List[Dict[str, Any]]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def user_texts(events: List[Dict[str, Any]]) -> List[str]:
    """What the customer said, in order, from a tracker's events."""
    return [e["text"] for e in events if e["event"] == "user"]


def buttons(replies: List[Dict[str, Any]]) -> List[Dict[str, str]]:
    return [b for r in replies for b in (r.get("buttons") or [])]
