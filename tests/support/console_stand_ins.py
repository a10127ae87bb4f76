"""Stand-ins the console tests talk to (tests/live/test_console_helpers.py checks that they
behave like the real thing):

* ``FakeTwilio``: Twilio's Calls API (POST /2010-04-01/Accounts/{AccountSid}/Calls.json,
  form-encoded, HTTP Basic auth with AccountSid:AuthToken, 201 with the call resource as JSON);
* ``WebhookReceiver``: a ticketing system's webhook endpoint that checks the signature and
  dedups on the idempotency key, counting raw deliveries and distinct hand-offs;
* ``ThreadedServer``: runs either in a background thread, for tests that are not async
  (Playwright, subprocess stacks).
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from typing import Any, Dict, List, Optional

from aiohttp import web

from bot.service.console.ticket_webhook import IDEMPOTENCY_HEADER, SIGNATURE_HEADER
from tests.support.redis_server import free_port

# HMAC-SHA256 of "The quick brown fox jumps over the lazy dog" with the key "key": the
# published test vector (RFC 2104 examples as quoted on Wikipedia), not our own code's output.
KNOWN_VECTOR = ("key", b"The quick brown fox jumps over the lazy dog",
                "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")


def receiver_accepts(secret: str, raw: bytes, header: Optional[str]) -> bool:
    """The check a real receiver makes, written here independently of bot.service.console.ticket_webhook:
    'sha256=' + hex HMAC-SHA256 of the raw body, compared in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256="):])


ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-twilio-token"
CALLER_ID = "+442071234567"
WEBHOOK_SECRET = "test-webhook-secret"


class FakeTwilio:
    """Answers like https://api.twilio.com for Calls.create; records every request."""

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.requests: List[Dict[str, Any]] = []
        self.fail_with: Optional[int] = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account_sid}/Calls.json", self.create_call)
        return app

    async def create_call(self, request: web.Request) -> web.Response:
        form = await request.post()
        record = {"path": request.path, "method": request.method, "authorization": request.headers.get("Authorization"),
                  "content_type": request.content_type, "form": {k: form.getall(k) for k in set(form.keys())}}
        self.requests.append(record)
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if record["authorization"] != expected or request.match_info["account_sid"] != self.account_sid:
            return web.json_response({"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003",
                                      "status": 401}, status=401)
        if self.fail_with:
            return web.json_response({"code": 21211, "message": "The 'To' number is not a valid phone number.",
                                      "more_info": "https://www.twilio.com/docs/errors/21211", "status": self.fail_with},
                                     status=self.fail_with)
        sid = "CA" + uuid.uuid4().hex
        now = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
        base = f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}"
        return web.json_response({
            "account_sid": self.account_sid, "annotation": None, "answered_by": None, "api_version": "2010-04-01",
            "caller_name": None, "date_created": now, "date_updated": now, "direction": "outbound-api",
            "duration": None, "end_time": None, "forwarded_from": None, "from": form.get("From"),
            "from_formatted": form.get("From"), "group_sid": None, "parent_call_sid": None,
            "phone_number_sid": "PN" + "2" * 32, "price": None, "price_unit": "USD", "sid": sid, "start_time": None,
            "status": "queued", "subresource_uris": {"notifications": f"{base}/Notifications.json",
                                                    "recordings": f"{base}/Recordings.json"},
            "to": form.get("To"), "to_formatted": form.get("To"), "trunk_sid": None, "uri": f"{base}.json",
            "queue_time": "0",
        }, status=201)


class WebhookReceiver:
    """A receiver that processes each hand-off once (by idempotency key)."""

    def __init__(self, secret: str = WEBHOOK_SECRET) -> None:
        self.secret = secret
        self.deliveries: List[Dict[str, Any]] = []   # every POST that reached us
        self.processed: Dict[str, Dict[str, Any]] = {}  # key -> the event, first delivery only
        self.duplicates = 0
        self.bad_signatures = 0
        self.fail_next = 0        # answer 503 to this many posts
        self.delay = 0.0          # seconds before answering (processing happens first)
        self.down = False         # answer 503 to everything
        self.refused = 0          # posts answered 503 because it was down
        self.in_flight = 0        # requests being answered right now

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hooks/tickets", self.receive)
        return app

    async def receive(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        try:
            return await self._receive(request)
        finally:
            self.in_flight -= 1

    async def _receive(self, request: web.Request) -> web.Response:
        raw = await request.read()
        signature = request.headers.get(SIGNATURE_HEADER)
        key = request.headers.get(IDEMPOTENCY_HEADER)
        self.deliveries.append({"key": key, "attempt": request.headers.get("X-Delivery-Attempt"),
                                "signature": signature, "at": time.time()})
        if self.down:
            self.refused += 1
            return web.json_response({"error": "maintenance"}, status=503)
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.json_response({"error": "try later"}, status=503)
        if not receiver_accepts(self.secret, raw, signature):
            self.bad_signatures += 1
            return web.json_response({"error": "bad signature"}, status=401)
        event = json.loads(raw)
        assert event["idempotency_key"] == key
        if key in self.processed:
            self.duplicates += 1
        else:
            self.processed[key] = event
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.json_response({"ok": True}, status=200)


class ThreadedServer:
    """An aiohttp app served from its own thread and event loop."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._runner: Optional[web.AppRunner] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            self._runner = web.AppRunner(self.app)
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

        self.loop.run_until_complete(start())
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self._runner.cleanup())
        self.loop.close()

    def start(self) -> "ThreadedServer":
        self._thread.start()
        assert self._ready.wait(10), "test server did not start"
        return self

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
