"""Security of the console's doors (issue 11): sign-in throttling per address and per
(name, address) with growing waits, a bound on concurrent password hashing, Secure cookies by
default, an absolute session lifetime, a webhook that follows no redirects and wants https,
and the C HTTP parser (the one without the request-smuggling CVEs) in the agent service.

Client addresses are set the way a reverse proxy sets them: X-Forwarded-For from a peer named
in TRUSTED_PROXIES (the test client connects from 127.0.0.1)."""
from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiohttp import web

import bot.service.console.accounts as accounts_module
from bot.service.app import create_app
from bot.service.console.accounts import Account, hash_password
from bot.service.console.config import ConsoleConfig
from tests.support.throttle_clock import use_clock
from bot.service.console.outbox import SQLiteOutbox
from bot.tickets.model import iso, new_ticket, utcnow
from tests.support.redis_server import free_port
from tests.support.console_sign_in import ACCOUNTS, PASSWORDS, TOKEN, form_token
from tests.support.console_stand_ins import WEBHOOK_SECRET, WebhookReceiver

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "admin-password-1"
ALL_ACCOUNTS = {**ACCOUNTS, "admin": Account("admin", hash_password(ADMIN_PASSWORD), "specialist")}
PASSWORDS = {**PASSWORDS, "admin": ADMIN_PASSWORD}
A, B, C, D = "198.51.100.10", "203.0.113.20", "192.0.2.30", "192.0.2.40"


def console(**changes) -> ConsoleConfig:
    return ConsoleConfig(accounts=ALL_ACCOUNTS, poll_interval=0.1, cookie_secure=False).with_(**changes)


@pytest.fixture
def make_client(aiohttp_client, sqlite_store):
    async def make(redis=None, trusted_proxies="127.0.0.1", console_config=None, **changes):
        config = {"token": TOKEN, "store": sqlite_store, "rasa_url": "http://127.0.0.1:9",
                  "trusted_proxies": trusted_proxies, "console": console_config or console(**changes)}
        if redis:
            config.update(redis_url=redis[0], redis_key_prefix=redis[1])
        return await aiohttp_client(create_app(config))

    return make


async def attempt(client, name: str, password: str, address: str = None):
    """One sign-in as a browser at `address` makes it: the form, then the post."""
    headers = {"X-Forwarded-For": address} if address else {}
    page = await client.get("/console/login", headers=headers)
    assert page.status == 200
    return await client.post("/console/login", allow_redirects=False, headers=headers,
                             data={"name": name, "password": password, "_csrf": form_token(await page.text())})


def retry_after(resp) -> int:
    assert resp.status == 429, resp.status
    return int(resp.headers["Retry-After"])


@pytest.fixture
def hash_runs(monkeypatch):
    """Counts password checks (scrypt runs) and the most ever running at once."""
    stats = {"runs": 0, "running": 0, "max_running": 0, "gate": threading.Event()}
    stats["gate"].set()  # a test clears it to hold every check until it lets them go
    lock = threading.Lock()
    real = accounts_module.verify_password

    def counted(password, password_hash):
        stats["gate"].wait(60)
        with lock:
            stats["runs"] += 1
            stats["running"] += 1
            stats["max_running"] = max(stats["max_running"], stats["running"])
        try:
            return real(password, password_hash)
        finally:
            with lock:
                stats["running"] -= 1

    monkeypatch.setattr(accounts_module, "verify_password", counted)
    return stats


# ---- item 7: throttling per address and per (name, address) ------------------------------------
@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_failures_on_a_name_from_one_address_do_not_lock_its_owner_out_elsewhere(
        backend, make_client, request):
    """5 wrong passwords on "admin" from address A; the real admin at B still signs in. With
    Redis, A's attempts and B's land on two different agent-service processes."""
    redis = (request.getfixturevalue("redis_url"), request.getfixturevalue("key_prefix")) if backend == "redis" else None
    first = await make_client(redis=redis)
    second = await make_client(redis=redis) if redis else first
    statuses = [(await attempt(first, "admin", f"guess-{n}", A)).status for n in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    signed_in = await attempt(second, "admin", ADMIN_PASSWORD, B)
    assert signed_in.status == 303, "the real admin, at B, is not locked out by A's guesses"
    assert (await second.get("/api/handoffs", headers={"X-Forwarded-For": B})).status == 200
    first.session.cookie_jar.clear()
    second.session.cookie_jar.clear()
    assert retry_after(await attempt(first, "admin", ADMIN_PASSWORD, A)) > 0, "A itself waits"
    if redis:
        assert retry_after(await attempt(second, "admin", ADMIN_PASSWORD, A)) > 0, "A waits on every process"


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_an_address_trying_many_names_waits_longer_after_each_failure(backend, make_client, hash_runs, request):
    redis = (request.getfixturevalue("redis_url"), request.getfixturevalue("key_prefix")) if backend == "redis" else None
    client = await make_client(redis=redis, login_address_max_failures=3, login_lockout=1.0, login_max_delay=8.0)
    clock = use_clock(client)
    assert [(await attempt(client, f"user{n}", "guess", C)).status for n in range(2)] == [401, 401]
    waits = [retry_after(await attempt(client, "user2", "guess", C))]
    runs = hash_runs["runs"]
    # While the wait lasts every attempt is refused without checking a password, whatever the
    # name, the right password included.
    for name in ("user3", "alice"):
        assert 0 < retry_after(await attempt(client, name, PASSWORDS.get(name, "guess"), C)) <= waits[0]
    assert hash_runs["runs"] == runs
    for n in range(4):
        clock.now += waits[-1]
        waits.append(retry_after(await attempt(client, f"next{n}", "guess", C)))
    assert waits == [1, 2, 4, 8, 8], "doubling, up to CONSOLE_LOGIN_MAX_DELAY"
    # Another address is not held up.
    assert (await attempt(client, "alice", PASSWORDS["alice"], D)).status == 303


async def test_one_name_guessed_from_one_address_waits_longer_each_time(make_client):
    client = await make_client(login_max_failures=3, login_lockout=2.0, login_max_delay=60.0)
    clock = use_clock(client)
    assert [(await attempt(client, "alice", f"guess-{n}", C)).status for n in range(2)] == [401, 401]
    waits = [retry_after(await attempt(client, "alice", "guess-2", C))]
    for n in range(3):
        clock.now += waits[-1]
        waits.append(retry_after(await attempt(client, "alice", f"guess-{n + 3}", C)))
    assert waits == [2, 4, 8, 16]
    clock.now += waits[-1]
    assert (await attempt(client, "alice", PASSWORDS["alice"], C)).status == 303, "after the wait, the right password"


async def test_a_forged_x_forwarded_for_from_an_untrusted_peer_does_not_reset_the_address(make_client):
    client = await make_client(trusted_proxies="", login_address_max_failures=3)
    use_clock(client)
    statuses = [(await attempt(client, f"user{n}", "guess", f"10.0.0.{n}")).status for n in range(5)]
    assert statuses == [401, 401, 429, 429, 429], "one peer is one address, whatever the header says"


async def test_sixty_simultaneous_sign_ins_run_at_most_two_password_checks_at_once(make_client, hash_runs):
    client = await make_client()  # the defaults: 2 checks at once, 32 waiting
    page = await client.get("/console/login")
    token = form_token(await page.text())

    async def guess(n: int):
        return await client.post("/console/login", allow_redirects=False, headers={"X-Forwarded-For": f"10.1.0.{n}"},
                                 data={"name": "alice", "password": f"guess-{n}", "_csrf": token})

    # The checks are held until the flood has arrived, so what is refused at once doesn't
    # depend on how fast this machine hashes.
    hash_runs["gate"].clear()
    tasks = [asyncio.ensure_future(guess(n)) for n in range(60)]
    deadline = asyncio.get_running_loop().time() + 60
    while sum(t.done() for t in tasks) < 60 - 2 - 32 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    hash_runs["gate"].set()
    answers = await asyncio.gather(*tasks)
    statuses = [r.status for r in answers]
    assert hash_runs["max_running"] <= 2, hash_runs
    assert set(statuses) <= {401, 429}, statuses
    assert all(int(r.headers["Retry-After"]) >= 1 for r in answers if r.status == 429)
    assert hash_runs["runs"] == statuses.count(401), "a refused attempt checks no password"
    assert statuses.count(401) == 2 + 32 and statuses.count(429) == 60 - 2 - 32, "beyond 32 waiting: refused at once"
    # The flood over, a sign-in goes through.
    assert (await attempt(client, "alice", PASSWORDS["alice"], A)).status == 303


def test_the_client_address_comes_from_x_forwarded_for_only_through_trusted_proxies():
    from aiohttp.test_utils import make_mocked_request

    from bot.service.client_address import client_key
    from bot.service.config import AgentApiConfig
    from bot.service.typedefs import CONFIG_KEY

    def key(peer: str, forwarded=None, trusted: str = "127.0.0.1, 10.0.0.0/8") -> str:
        app = web.Application()
        app[CONFIG_KEY] = AgentApiConfig.build({"trusted_proxies": trusted})
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}

        class Transport:
            def get_extra_info(self, name, default=None):
                return (peer, 1234) if name == "peername" else default

        return client_key(make_mocked_request("GET", "/", headers=headers, app=app, transport=Transport()))

    assert key("192.0.2.1") == "192.0.2.1"
    assert key("192.0.2.1", "198.51.100.7") == "192.0.2.1", "not from a trusted proxy: the header is ignored"
    assert key("127.0.0.1", "198.51.100.7") == "198.51.100.7"
    # The nearest untrusted hop: what the client wrote on the left does not count.
    assert key("127.0.0.1", "6.6.6.6, 198.51.100.7, 10.1.2.3") == "198.51.100.7"
    assert key("127.0.0.1", "not-an-address") == "127.0.0.1", "a mangled header: the proxy's (shared) address"
    assert key("127.0.0.1") == "127.0.0.1"
    # An IPv6 client counts by its /64: a fresh address per request is one client still.
    assert key("2001:db8:1:2::5") == key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert key("::ffff:192.0.2.1") == "192.0.2.1"


# ---- Secure cookies by default, an absolute session lifetime ----------------------------------
def test_cookies_are_secure_unless_explicitly_opted_out():
    assert ConsoleConfig().cookie_secure is True
    assert ConsoleConfig.from_env({}).cookie_secure is True
    assert ConsoleConfig.from_env({"CONSOLE_COOKIE_SECURE": "0"}).cookie_secure is False
    with pytest.raises(ValueError):
        ConsoleConfig.from_env({"CONSOLE_COOKIE_SECURE": "maybe"})


async def test_the_session_cookie_is_secure_by_default_behind_a_tls_proxy(make_client):
    """A TLS-terminating proxy talks plain http to us: the cookie is Secure all the same."""
    client = await make_client(console_config=ConsoleConfig(accounts=ALL_ACCOUNTS, poll_interval=0.1))
    page = await client.get("/console/login")
    assert "Secure" in page.headers["Set-Cookie"]
    token = form_token(await page.text())
    # The test client keeps Secure cookies for https, so the login cookie goes by hand.
    resp = await client.post("/console/login", allow_redirects=False, headers={"Cookie": f"console_login={token}"},
                             data={"name": "alice", "password": PASSWORDS["alice"], "_csrf": token})
    assert resp.status == 303
    [cookie] = [c for c in resp.headers.getall("Set-Cookie") if c.startswith("console_session=")]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_a_session_ends_at_its_maximum_lifetime_even_when_used_constantly(backend, make_client, request):
    redis = (request.getfixturevalue("redis_url"), request.getfixturevalue("key_prefix")) if backend == "redis" else None
    client = await make_client(redis=redis, session_ttl=60.0, session_max_age=1.5)
    started = time.time()
    assert (await attempt(client, "alice", PASSWORDS["alice"])).status == 303
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = (await client.get("/api/handoffs")).status
        seen.append((time.time() - started, status))
        if status != 200:
            break
        await asyncio.sleep(0.1)  # an agent clicking about: never idle for long
    assert seen[-1][1] == 401, "still signed in 20 s after a 1.5 s lifetime"
    # Used until the end (how many times depends on the machine's speed, not on the rule).
    assert all(status == 200 for _, status in seen[:-1]) and len(seen) > 1
    assert seen[-1][0] >= 1.5
    assert (await client.get("/console", allow_redirects=False)).status == 303, "back to the sign-in page"


# ---- the ticketing webhook: no redirects, https only ------------------------------------------
def test_an_http_webhook_url_is_refused_at_configuration_unless_allowed(monkeypatch, capsys):
    env = {"TICKETING_WEBHOOK_URL": "http://tickets.example/hooks", "TICKETING_WEBHOOK_SECRET": "s"}
    with pytest.raises(ValueError, match="https"):
        ConsoleConfig.from_env(env)
    with pytest.raises(ValueError, match="https"):
        ConsoleConfig(webhook_url="http://tickets.example/hooks", webhook_secret="s")
    assert ConsoleConfig.from_env({**env, "TICKETING_WEBHOOK_ALLOW_HTTP": "1"}).webhook_enabled
    assert ConsoleConfig.from_env({**env, "TICKETING_WEBHOOK_URL": "https://tickets.example/hooks"}).webhook_enabled
    for bad in ("ftp://tickets.example/hooks", "tickets.example/hooks", "https:///hooks"):
        with pytest.raises(ValueError):
            ConsoleConfig.from_env({**env, "TICKETING_WEBHOOK_URL": bad, "TICKETING_WEBHOOK_ALLOW_HTTP": "1"})
    # The agent service refuses to start with it.
    from bot.service.__main__ import console_config

    for name, value in {**env, "AGENT_ACCOUNTS": f"alice:{ACCOUNTS['alice'].password_hash}"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TICKETING_WEBHOOK_ALLOW_HTTP", raising=False)
    assert console_config() is None
    assert "TICKETING_WEBHOOK_URL must be an https:// URL" in capsys.readouterr().err


@pytest.mark.parametrize("status", [302, 307])
async def test_a_redirecting_receiver_is_not_followed_and_the_hand_off_is_retried(
        status, make_client, sqlite_store, sqlite_path, aiohttp_server):
    receiver = WebhookReceiver()
    app = receiver.app()
    moved = {"hits": [], "redirect": True}
    elsewhere = []

    async def moved_handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        moved["hits"].append(request.headers.get("X-Delivery-Attempt"))
        if moved["redirect"]:
            raise web.HTTPFound("/elsewhere") if status == 302 else web.HTTPTemporaryRedirect("/elsewhere")
        return await receiver._receive(request)

    async def elsewhere_handler(request: web.Request) -> web.Response:
        elsewhere.append((request.method, await request.read()))
        return web.json_response({"ok": True})

    app.router.add_post("/hooks/moved", moved_handler)
    app.router.add_route("*", "/elsewhere", elsewhere_handler)
    server = await aiohttp_server(app)
    ticket = new_ticket("C-20240305-0001", "conv-1", "web")
    ticket["status"] = "handed_off"
    ticket["history"] = [{"at": iso(utcnow()), "by": "assistant", "action": "handed_off", "note": None}]
    await sqlite_store.save(ticket)
    await make_client(webhook_url=str(server.make_url("/hooks/moved")), webhook_secret=WEBHOOK_SECRET,
                      webhook_allow_http=True, webhook_retry_base=0.1, webhook_retry_max=0.3, webhook_timeout=2.0)
    deadline = time.monotonic() + 15
    while len(moved["hits"]) < 3 and not elsewhere:
        assert time.monotonic() < deadline, moved
        await asyncio.sleep(0.05)
    assert elsewhere == [], "the signed hand-off went nowhere but the configured URL"
    assert moved["hits"][:3] == ["1", "2", "3"], "each redirect counted as a failed delivery, retried"
    outbox = SQLiteOutbox(sqlite_path)
    try:
        assert (await outbox.stats())["delivered"] == 0
        moved["redirect"] = False  # the receiver sorted itself out: the next retry delivers
        while not receiver.processed:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        assert elsewhere == []
    finally:
        await outbox.close()


# ---- aiohttp's C HTTP parser is the one parsing requests ---------------------------------------
# aiohttp stays at 3.9.x (rasa 3.6 pins aiohttp<3.10). CVE-2024-52304 (LF inside a chunk
# extension) and CVE-2025-53643 (chunked trailer sections) are request-smuggling bugs in its
# pure-Python parser only; llhttp, the C parser, refuses both requests.
SMUGGLING = {
    "CVE-2024-52304": b"POST /api/handoffs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"1;a\nb\r\nX\r\n0\r\n\r\n",
    "CVE-2025-53643": b"POST /api/handoffs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"1\r\nX\r\n0\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n",
}


def test_the_c_parser_is_the_one_aiohttp_uses():
    from aiohttp import helpers, http_parser, web_protocol

    assert "AIOHTTP_NO_EXTENSIONS" not in os.environ and helpers.NO_EXTENSIONS is False
    assert http_parser.HttpRequestParser is http_parser.HttpRequestParserC
    assert http_parser.HttpRequestParserC.__module__ == "aiohttp._http_parser"
    assert web_protocol.HttpRequestParser is http_parser.HttpRequestParserC  # what the server builds


async def test_a_request_to_the_agent_app_is_parsed_by_the_c_parser(aiohttp_client, sqlite_store):
    app = create_app({"token": TOKEN, "store": sqlite_store, "console": console()})
    parsers = []

    @web.middleware
    async def record(request, handler):
        parsers.append(type(request.protocol._request_parser))
        return await handler(request)

    app.middlewares.insert(0, record)
    client = await aiohttp_client(app)
    assert (await client.get("/health")).status == 200
    assert [p.__module__ for p in parsers] == ["aiohttp._http_parser"]


def _raw_exchange(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(payload)
        received = b""
        sock.settimeout(3)
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        except socket.timeout:
            pass
    return received


def _smuggling_answers(tmp_path: Path, extra_env: dict) -> dict:
    """`python -m bot.service`, as `make run` starts it; each payload's raw answer."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AGENT_API_TOKEN": "t", "AGENT_API_PORT": str(port),
           "AGENT_API_HOST": "127.0.0.1", "TICKETS_DB": str(tmp_path / "tickets.db"), "LOG_LEVEL": "WARNING",
           "AGENT_ACCOUNTS": f"alice:{ACCOUNTS['alice'].password_hash}", **extra_env}
    for name in ("AGENT_ACCOUNTS_FILE", "REDIS_URL", "TICKETING_WEBHOOK_URL", "AIOHTTP_NO_EXTENSIONS"):
        if name not in extra_env:
            env.pop(name, None)
    log = tmp_path / f"agent-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bot.service"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        return {cve: _raw_exchange(port, payload) for cve, payload in SMUGGLING.items()}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)


def _statuses(raw: bytes) -> list:
    return [int(s) for s in re.findall(rb"HTTP/1\.[01] (\d{3}) ", raw)]


def test_the_running_agent_service_refuses_the_smuggling_requests_of_the_python_parser_cves(tmp_path):
    answers = _smuggling_answers(tmp_path, {})
    for cve, raw in answers.items():
        assert _statuses(raw) == [400], (cve, raw[:300])
    # The check can tell: the same service on the pure-Python parser accepts both requests
    # (401 from /api, and for the trailer one no 400 at all).
    control = _smuggling_answers(tmp_path, {"AIOHTTP_NO_EXTENSIONS": "1"})
    for cve, raw in control.items():
        assert 400 not in _statuses(raw) and _statuses(raw), (cve, raw[:300])
