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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "complaints.tar.gz"
CATALOG = ROOT / "policy" / "catalog.yml"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS_OPEN = {day: ["00:00", "23:59"] for day in DAYS}
NEVER_OPEN: Dict[str, Any] = {}


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


def catalog_with_hours(directory: Path, business_hours: Dict[str, Any]) -> str:
    """The shipped catalog with other opening hours, so a test's outcome doesn't depend
    on the hour CI happens to run at. Returns its path (for CATALOG_PATH)."""
    import yaml

    data = yaml.safe_load(CATALOG.read_text())
    data["business"]["business_hours"] = business_hours
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
            "PYTHONPATH": str(ROOT),
            "READY_TIMEOUT": str(timeout),
            **self.extra_env,
        }
        self.env.pop("REDIS_URL", None) if "REDIS_URL" not in self.extra_env else None
        self.log_path = self.var_dir / "stack.log"
        self.var_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")  # a stale "Ready in" line must not count
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.launcher"], cwd=ROOT, env=self.env,
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
    def say(self, sender: str, text: str, metadata: Optional[dict] = None) -> List[Dict[str, Any]]:
        """One customer turn through Rasa's REST channel; the bot's replies."""
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
                    return json.loads(response.read())
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

    def tracker(self, sender: str) -> Dict[str, Any]:
        url = f"{self.rasa_url}/conversations/{sender}/tracker?token={self.env['RASA_TOKEN']}"
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.loads(response.read())


def texts(replies: List[Dict[str, Any]]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def buttons(replies: List[Dict[str, Any]]) -> List[Dict[str, str]]:
    return [b for r in replies for b in (r.get("buttons") or [])]
