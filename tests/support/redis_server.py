"""A real redis-server of our own, for tests and for `make bench`.

One place for starting it: a free port (or a fixed one, so it can be stopped and started
again on the same port and append-only file), output to a file in its own directory (a
full pipe nobody reads would stall redis), and ready only once it answers PING.
"""
from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import redis

INSTALL_HINT = "redis-server not found: run scripts/install_system_deps.sh (as root)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_binary() -> Optional[str]:
    return shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if Path(p).exists()), None
    )


@dataclass
class RedisServer:
    directory: Path
    port: int = 0  # 0: a free one, chosen at the first start and kept for restarts
    appendonly: bool = False  # True: every write fsynced to the append-only file
    proc: Optional[subprocess.Popen] = None

    def _command(self, binary: str) -> List[str]:
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.appendonly else ["--appendonly", "no"]
        return [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *persistence,
                "--dir", str(self.directory), "--daemonize", "no"]

    def start(self, timeout: float = 10) -> "RedisServer":
        binary = redis_binary()
        if binary is None:
            raise RuntimeError(INSTALL_HINT)
        self.directory.mkdir(parents=True, exist_ok=True)
        # A free port can be taken by someone else before redis binds it: try another one.
        attempts = 1 if self.port else 5
        for _ in range(attempts):
            self.port = self.port or free_port()
            with open(self.directory / "redis.log", "ab") as log:
                self.proc = subprocess.Popen(self._command(binary), stdout=log, stderr=subprocess.STDOUT,
                                             start_new_session=True)
            if self._answers(timeout):
                return self
            self.stop(signal.SIGKILL)
            if attempts > 1:
                self.port = 0
        log_tail = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"redis-server did not start:\n{log_tail}")

    def _answers(self, timeout: float) -> bool:
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    if client.ping():
                        return True
                except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError):
                    time.sleep(0.05)
        finally:
            client.close()
        return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True)

    def flush(self) -> None:
        client = self.client()
        try:
            client.flushdb()
        finally:
            client.close()
