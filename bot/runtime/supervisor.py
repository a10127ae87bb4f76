"""Keeps the launcher's services running: one that dies (an out-of-memory kill, a crash) is
started again after a growing back-off while the others keep serving; every restart is
logged, and the state of every service is written to a JSON file (bot/runtime/service_state.py)
that `/health` reports. Everything stops only when the launcher is told to stop.

A service that exits before it ever became ready stops the product instead: that is a
configuration error (a missing setting, a port in use), which restarting would only repeat.

Each service runs in its own process group, so that what a dead service leaves behind (the
Rasa server's Sanic workers) can be killed before it starts again, and gets SIGTERM if the
launcher itself dies (PR_SET_PDEATHSIG), so nothing outlives it.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

from bot.runtime import service_state

PR_SET_PDEATHSIG = 1
STABLE_AFTER_S = 60.0  # up this long: the next crash starts the back-off from the beginning
STOP_GRACE_S = 15.0

try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:  # not Linux
    _libc = None


def _own_group_dying_with_parent() -> None:
    """Runs in the child between fork and exec."""
    os.setpgrp()
    if _libc is not None:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Service:
    name: str
    cmd: List[str]
    health_url: str
    proc: Optional[subprocess.Popen] = None
    state: str = "stopped"  # starting | up | restarting | stopped
    ever_ready: bool = False
    restarts: int = 0
    failures: int = 0  # crashes in a row, for the back-off
    last_exit: Optional[int] = None
    since: float = 0.0  # when the state last changed (time.time())
    up_since: Optional[float] = None  # monotonic
    restart_at: Optional[float] = None  # monotonic


@dataclass
class Supervisor:
    services: List[Service]
    env: Dict[str, str]
    cwd: Path
    state_path: Optional[Path] = None
    backoff_s: float = 1.0
    backoff_max_s: float = 30.0
    log: Callable[[str], None] = lambda line: print(line, flush=True)
    failed: Optional[str] = None  # why the product stopped by itself
    _written: Optional[str] = field(default=None, repr=False)

    # ---- one service ---------------------------------------------------------------------
    def _start(self, service: Service, state: str = "starting") -> None:
        service.proc = subprocess.Popen(service.cmd, cwd=self.cwd, env=self.env,
                                        preexec_fn=_own_group_dying_with_parent)
        self._set(service, state)

    def _set(self, service: Service, state: str) -> None:
        if service.state != state:
            service.state, service.since = state, time.time()

    def _healthy(self, service: Service) -> bool:
        try:
            with urllib.request.urlopen(service.health_url, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, OSError, ValueError):
            return False

    def _kill_group(self, service: Service, sig: int) -> None:
        if service.proc is None:
            return
        try:
            os.killpg(service.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def backoff(self, failures: int) -> float:
        """Seconds before restart number `failures` of a crash run: 1, 2, 4 ... up to the max."""
        return min(self.backoff_max_s, self.backoff_s * (2 ** max(0, failures - 1)))

    def _exited(self, service: Service, code: int, now: float) -> None:
        # What the service left behind in its group (Sanic workers) would hold its port.
        self._kill_group(service, signal.SIGKILL)
        service.last_exit = code
        if not service.ever_ready:
            self.failed = f"{service.name} exited with code {code} before it was ready"
            return
        if service.up_since is not None and now - service.up_since >= STABLE_AFTER_S:
            service.failures = 0
        service.failures += 1
        delay = self.backoff(service.failures)
        service.restart_at, service.up_since = now + delay, None
        self._set(service, "restarting")
        self.log(f"{service.name} exited with code {code}; restarting it in {delay:g}s "
                 f"(restart {service.restarts + 1}); the other services keep serving")

    # ---- all of them -------------------------------------------------------------------
    def start_all(self) -> None:
        for service in self.services:
            self._start(service)
        self.write_state()

    def poll(self) -> None:
        """One round: notice exits, start what is due, see what became ready."""
        now = time.monotonic()
        for service in self.services:
            waiting = service.restart_at is not None  # dead, its restart not yet due
            if not waiting and service.state != "stopped" and service.proc is not None:
                code = service.proc.poll()
                if code is not None:
                    self._exited(service, code, now)
                    if self.failed:
                        break
                    continue
            if waiting and now >= service.restart_at:
                service.restarts += 1
                service.restart_at = None
                self._start(service, "restarting")  # until it answers its health check
            if service.state in ("starting", "restarting") and service.restart_at is None and self._healthy(service):
                if service.ever_ready:
                    self.log(f"{service.name} is back (restart {service.restarts})")
                service.ever_ready, service.up_since = True, time.monotonic()
                self._set(service, "up")
        self.write_state()

    def all_up(self) -> bool:
        return all(s.state == "up" for s in self.services)

    def snapshot(self) -> Dict[str, object]:
        return {
            "status": "ok" if self.all_up() else ("starting" if not all(s.ever_ready for s in self.services)
                                                  else "degraded"),
            "launcher_pid": os.getpid(),
            "services": {
                s.name: {"state": s.state, "pid": s.proc.pid if s.proc else None, "restarts": s.restarts,
                         "last_exit": s.last_exit, "since": round(s.since, 3)}
                for s in self.services
            },
        }

    def write_state(self) -> None:
        if self.state_path is None:
            return
        snapshot = self.snapshot()
        key = repr(snapshot)
        if key != self._written:
            service_state.write(self.state_path, snapshot)
            self._written = key

    def stop_all(self) -> None:
        """SIGTERM to every service's group, SIGKILL to what is left after the grace period."""
        running = [s for s in self.services if s.proc is not None and s.proc.poll() is None]
        for service in running:
            self._kill_group(service, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for service in running:
            try:
                service.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for service in self.services:
            self._kill_group(service, signal.SIGKILL)  # stragglers of each group, and any leader left
            if service.proc is not None:
                try:
                    service.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            self._set(service, "stopped")
        self.write_state()
