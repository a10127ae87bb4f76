"""A fault in the middle of a turn, exactly where a test wants it: a pass-through in front of
the real action server that makes the call of one named action fail, once.

A Rasa server pointed at it (its ACTION_PORT) runs every action on the real action server,
against the real ticket store; when the armed action's turn comes, Rasa gets a 500 (what
the action server answers when an action raises), so the actions before it in the same
turn have run and saved, and the turn still fails. Killing the action server can't place
a fault that precisely: the turn's first action and the next one are milliseconds apart.
"""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import List, Optional

from tests.support.redis_server import free_port


class ActionFaults:
    """Forwards Rasa's action calls to `upstream` (http://host:port); `fail_once(name)`
    makes the next call of action `name` fail. `calls` lists every action called, in order."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.port = free_port()
        self.calls: List[str] = []
        self._armed: Optional[str] = None
        self._fired = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="action-faults", daemon=True)

    def __enter__(self) -> "ActionFaults":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail_once(self, action: str) -> None:
        with self._lock:
            self._armed, self._fired = action, threading.Event()

    @property
    def fired(self) -> bool:
        """The armed action was called and failed (else the test didn't test what it says)."""
        return self._fired.is_set()

    def _take(self, action: str) -> bool:
        with self._lock:
            self.calls.append(action)
            if action != self._armed:
                return False
            self._armed = None
            self._fired.set()
            return True

    def _handler(self) -> type:
        faults = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet: the test output is for assertions
                pass

            def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _forward(self, body: Optional[bytes]) -> None:
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
                request = urllib.request.Request(faults.upstream + self.path, data=body, headers=headers, method=self.command)
                try:
                    with urllib.request.urlopen(request, timeout=60) as response:
                        self._reply(response.status, response.read(), response.headers.get("Content-Type", "application/json"))
                except urllib.error.HTTPError as error:
                    self._reply(error.code, error.read(), error.headers.get("Content-Type", "application/json"))

            def do_GET(self) -> None:
                self._forward(None)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    action = json.loads(body).get("next_action") or ""
                except ValueError:
                    action = ""
                if faults._take(action):
                    self._reply(500, json.dumps({"error": f"injected fault in {action}"}).encode())
                    return
                self._forward(body)

        return Handler
