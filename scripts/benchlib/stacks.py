"""The systems under test: our product (as `make run` starts it, via tests.support.live.LiveStack)
and the stock `rasa init` assistant (trained once and cached). The lever runs' redis-server
is tests.support.redis_server.RedisServer."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Optional

from tests.support.live import stop_process_group
from tests.support.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
RASA = str(VENV_BIN / "rasa")

# Settings a developer's shell might carry must not change what the benchmarked stack does
# (the same neutral values tests/live/test_twilio_ivr.py uses).
NEUTRAL_IVR_ENV = {"TWILIO_HANDOFF_DIAL": "", "TWILIO_WORKFLOW_SID": "", "TWILIO_HANDOFF_QUEUE": "complaints",
                   "TWILIO_LANGUAGE": "en-GB", "TWILIO_VOICE": "", "TWILIO_SPEECH_HINTS": ""}
IVR_TOKEN = "bench-twilio-token"
PUBLIC_URL = "https://ivr.bench.test"
QUIET_ENV = {"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}


def rasa_version() -> str:
    from importlib.metadata import version

    return version("rasa")


# ---- our product -------------------------------------------------------------------
class OurStack:
    """The product started by bot.runtime.launcher on free ports in its own directory, with the IVR
    configured (auth token, PUBLIC_URL) and always-open business hours so that the
    conversation scripts take the same path at any hour."""

    def __init__(self, var_dir: Path, extra_env: Optional[Dict[str, str]] = None) -> None:
        from tests.support.live import ALWAYS_OPEN, LiveStack, catalog_with_hours

        var_dir.mkdir(parents=True, exist_ok=True)
        env = {**QUIET_ENV, **NEUTRAL_IVR_ENV, "TWILIO_AUTH_TOKEN": IVR_TOKEN, "PUBLIC_URL": PUBLIC_URL,
               "CATALOG_PATH": catalog_with_hours(var_dir, ALWAYS_OPEN), "SANIC_WORKERS": "1"}
        env.update(extra_env or {})
        self.live = LiveStack(var_dir, extra_env=env)

    def start(self, timeout: float = 240) -> "OurStack":
        started = time.monotonic()
        self.live.start(timeout=timeout)
        self.startup_s = time.monotonic() - started
        return self

    def stop(self) -> None:
        self.live.stop()

    @property
    def rasa_url(self) -> str:
        return self.live.rasa_url

    @property
    def root_pid(self) -> int:
        return self.live.proc.pid

    def log_tail(self, chars: int = 3000) -> str:
        return self.live.log_tail(chars)


# ---- the stock `rasa init` assistant ----------------------------------------------------
def stock_project(cache_root: Path, log=print, timeout: float = 900) -> Dict[str, object]:
    """A trained `rasa init --no-prompt` project, cached under cache_root/rasa-<version>/.

    Trained in a temporary directory and moved into place only when complete, so an
    interrupted run never leaves a half-trained cache behind."""
    version = rasa_version()
    target = cache_root.resolve() / f"rasa-{version}"
    marker = target / "bench-trained.json"
    if marker.exists() and list((target / "models").glob("*.tar.gz")):
        info = json.loads(marker.read_text())
        return {**info, "path": str(target), "cached": True}
    cache_root = cache_root.resolve()
    cache_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="stock-", dir=cache_root))
    project = work / "project"
    project.mkdir()  # `rasa init --init-dir` wants an existing (empty) directory
    log(f"training the stock `rasa init` assistant (rasa {version}) in {project} ...")
    started = time.monotonic()
    with open(work / "init.log", "wb") as out:
        proc = subprocess.run(
            [RASA, "init", "--no-prompt", "--init-dir", str(project)], cwd=work,
            env={**os.environ, **QUIET_ENV}, stdout=out, stderr=subprocess.STDOUT, timeout=timeout,
        )
    seconds = time.monotonic() - started
    if proc.returncode != 0 or not list((project / "models").glob("*.tar.gz")):
        tail = (work / "init.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"`rasa init --no-prompt` failed (exit {proc.returncode}):\n{tail}")
    info = {"rasa_version": version, "train_seconds": round(seconds, 1), "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    (project / "bench-trained.json").write_text(json.dumps(info, indent=2))
    if target.exists():
        shutil.rmtree(target)
    project.rename(target)
    shutil.rmtree(work, ignore_errors=True)
    return {**info, "path": str(target), "cached": False}


class StockStack:
    """`rasa run` of the stock project (its default endpoints: in-memory tracker and lock
    stores, no action server - its stories and rules use responses only)."""

    def __init__(self, project: Path, log_dir: Path) -> None:
        self.project, self.log_dir = project, log_dir
        self.proc: Optional[subprocess.Popen] = None
        self.port = free_port()

    def start(self, timeout: float = 240) -> "StockStack":
        started = time.monotonic()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.log_dir / "stock-rasa.log"
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [RASA, "run", "--port", str(self.port), "--interface", "127.0.0.1", "--model", "models"],
            cwd=self.project, env={**os.environ, **QUIET_ENV, "SANIC_WORKERS": "1"},
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"stock rasa exited:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.rasa_url}/", timeout=2) as response:
                    if response.status == 200 and self._answers():
                        self.startup_s = time.monotonic() - started
                        return self
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"stock rasa not ready in {timeout}s:\n{self.log_tail()}")

    def _answers(self) -> bool:
        request = urllib.request.Request(
            f"{self.rasa_url}/webhooks/rest/webhook", data=json.dumps({"sender": "bench-ready", "message": "hello"}).encode(),
            headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return bool(json.loads(response.read()))
        except (urllib.error.URLError, ConnectionError, OSError, ValueError):
            return False

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def root_pid(self) -> int:
        return self.proc.pid

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        stop_process_group(self.proc)
