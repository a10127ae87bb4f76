"""Availability (issue 11): when one of the services `make run` starts dies, the launcher
starts it again after a growing back-off, logs it, keeps the others serving and says so on
/health; it stops everything only when told to (SIGTERM / Ctrl-C).

First bot.runtime.supervisor with small stand-in services (fast), then the real product
(tests.support.live.LiveStack: the real bot.runtime.launcher) with its action server killed by SIGKILL, as
an out-of-memory kill would.
"""
from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Callable, List

import pytest

from bot.runtime.supervisor import Service, Supervisor
from scripts.benchlib.procs import children, cmdline
from tests.support.live import LiveStack, texts
from tests.support.redis_server import free_port

SERVE = ("import http.server, sys, threading, os\n"
         "server = http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), http.server.BaseHTTPRequestHandler)\n"
         "server.RequestHandlerClass.do_GET = lambda self: (self.send_response(200), self.end_headers())\n"
         "if len(sys.argv) > 2: threading.Timer(float(sys.argv[2]), lambda: os._exit(3)).start()\n"
         "server.serve_forever()\n")


def stand_in(name: str, crash_after: float = 0.0) -> Service:
    port = free_port()
    cmd = [sys.executable, "-c", SERVE, str(port)] + ([str(crash_after)] if crash_after else [])
    return Service(name, cmd, f"http://127.0.0.1:{port}/")


def until(condition: Callable[[], bool], step: Callable[[], None], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        step()
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


# ---- the supervisor ----------------------------------------------------------------------
def test_a_crashing_service_is_restarted_with_growing_back_off_while_the_others_serve(tmp_path):
    lines: List[str] = []
    steady, crasher = stand_in("steady"), stand_in("crasher", crash_after=0.3)
    sup = Supervisor([steady, crasher], dict(os.environ), tmp_path, state_path=tmp_path / "state.json",
                     backoff_s=0.2, backoff_max_s=0.8, log=lines.append)
    states = set()
    try:
        sup.start_all()
        until(lambda: steady.state == "up", sup.poll)
        steady_pid = steady.proc.pid

        def poll() -> None:
            sup.poll()
            states.add(json.loads((tmp_path / "state.json").read_text())["status"])

        until(lambda: crasher.restarts >= 4, poll)
        assert sup.failed is None
        delays = [float(m.group(1)) for m in (re.search(r"crasher exited with code 3; restarting it in ([\d.]+)s", line)
                                              for line in lines) if m]
        assert delays[:4] == [0.2, 0.4, 0.8, 0.8], lines
        assert steady.proc.pid == steady_pid and steady.state == "up" and steady.restarts == 0
        assert "degraded" in states, "the state file said so while the crasher was down"
    finally:
        sup.stop_all()
    assert not alive(steady.proc.pid) and not alive(crasher.proc.pid)
    assert json.loads((tmp_path / "state.json").read_text())["services"]["steady"]["state"] == "stopped"


def test_a_service_that_never_became_ready_stops_the_product(tmp_path):
    steady = stand_in("steady")
    broken = Service("broken", [sys.executable, "-c", "raise SystemExit(2)"], "http://127.0.0.1:9/")
    sup = Supervisor([steady, broken], dict(os.environ), tmp_path, backoff_s=0.1, log=lambda line: None)
    try:
        sup.start_all()
        until(lambda: sup.failed is not None, sup.poll)
        assert "broken exited with code 2 before it was ready" in sup.failed
        assert broken.restarts == 0
    finally:
        sup.stop_all()
    assert not alive(steady.proc.pid)


# ---- the real product ------------------------------------------------------------------
@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    live = LiveStack(tmp_path_factory.mktemp("launcher-restart"), extra_env={"RESTART_BACKOFF_SECONDS": "2"}).start()
    yield live
    live.stop()


def health(stack: LiveStack) -> dict:
    with urllib.request.urlopen(f"{stack.agent_url}/health", timeout=10) as response:
        assert response.status == 200
        return json.loads(response.read())


def service_pids(stack: LiveStack) -> dict:
    """The launcher's children by what they run."""
    found = {}
    for pid in children(stack.proc.pid):
        text = " ".join(cmdline(pid))
        name = "actions" if " run actions" in text else "agent_api" if "bot.service" in text else "rasa"
        found[name] = pid
    return found


def rasa_up(stack: LiveStack) -> bool:
    with urllib.request.urlopen(f"{stack.rasa_url}/status?token={stack.env['RASA_TOKEN']}", timeout=10) as response:
        return response.status == 200


def test_sigkill_of_the_action_server_restarts_it_and_the_rest_keeps_serving(stack):
    sender = f"restart-{uuid.uuid4()}"
    assert "complaints assistant" in texts(stack.say(sender, "hi"))
    assert health(stack)["status"] == "ok"
    before = service_pids(stack)
    assert set(before) == {"actions", "rasa", "agent_api"}

    os.kill(before["actions"], signal.SIGKILL)

    seen = []
    until(lambda: seen and seen[-1]["status"] == "degraded", lambda: seen.append(health(stack)), timeout=30)
    assert seen[-1]["services"]["actions"]["state"] == "restarting"
    assert rasa_up(stack), "the Rasa server stays up"
    # While the action server is away the assistant answers (politely) instead of failing.
    assert texts(stack.say(sender, "hi", fault_expected=True))

    until(lambda: seen[-1]["status"] == "ok", lambda: seen.append(health(stack)), timeout=240)
    assert seen[-1]["services"]["actions"] == {"state": "up", "restarts": 1}
    after = service_pids(stack)
    assert after["actions"] != before["actions"]
    assert after["rasa"] == before["rasa"] and after["agent_api"] == before["agent_api"], "the others kept serving"
    assert stack.proc.poll() is None, "the launcher did not stop the product"
    log = stack.log_tail(100000)
    assert "actions exited with code -9; restarting it in 2s (restart 1)" in log
    assert "actions is back (restart 1)" in log

    # The conversation goes on, through the new action server.
    replies = stack.say(sender, "hello, my parcel ord 4400918 is 5 days late and nobody tells me anything")
    assert "technical problem" not in texts(replies)


def test_sigterm_stops_every_service(stack):
    pids = list(service_pids(stack).values())
    assert len(pids) == 3
    stack.stop()  # SIGTERM to the launcher
    assert stack.proc.returncode == 0
    assert not [pid for pid in pids if alive(pid)]
