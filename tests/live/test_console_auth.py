"""Console sign-in, sessions, CSRF and the refusal of everything without credentials, against
the real agent-service app (in process) over a real SQLite store (and Redis where sessions are
shared)."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import aiohttp
import pytest

from bot.runtime import secrets_file

from bot.service.app import create_app
from bot.service.console.accounts import (
    Account, AccountError, check_login, hash_password, load_accounts, parse_accounts_env, parse_accounts_yaml,
    verify_password,
)
from bot.service.console.config import ConsoleConfig
from bot.tickets.model import new_ticket
from tests.support.console_sign_in import ACCOUNTS, PASSWORDS, TOKEN, form_token, sign_in, signed_in
from tests.support.redis_server import free_port
from tests.support.throttle_clock import use_clock

ROOT = Path(__file__).resolve().parents[2]
TICKET = "C-20240305-0001"
CONVERSATION = "3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"


def console(**changes) -> ConsoleConfig:
    # cookie_secure=False: the test client speaks plain http, like a local run with
    # CONSOLE_COOKIE_SECURE=0 (the default, Secure, is tested in test_console_security.py).
    return ConsoleConfig(accounts=ACCOUNTS, poll_interval=0.1, cookie_secure=False).with_(**changes)


@pytest.fixture
def make_client(aiohttp_client, sqlite_store):
    async def make(store=None, **changes):
        app = create_app({"token": TOKEN, "store": store or sqlite_store, "rasa_url": "http://127.0.0.1:9",
                          "console": console(**changes)})
        return await aiohttp_client(app)

    return make


@pytest.fixture
async def client(make_client, sqlite_store):
    ticket = new_ticket(TICKET, CONVERSATION, "web")
    ticket["status"] = "handed_off"
    await sqlite_store.save(ticket)
    return await make_client()


# ---- accounts ---------------------------------------------------------------------------
def test_password_hashes_are_salted_scrypt_and_verify_in_constant_time():
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second, "a random salt per hash"
    assert re.fullmatch(r"scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}", first)
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("correct hors", first)
    assert not verify_password("correct horse", "scrypt$16384$8$1$bad")
    assert not verify_password("correct horse", "plain-text")
    assert check_login(ACCOUNTS, "alice", PASSWORDS["alice"]) is ACCOUNTS["alice"]
    assert check_login(ACCOUNTS, "alice", "nope") is None
    assert check_login(ACCOUNTS, "mallory", PASSWORDS["alice"]) is None


def test_accounts_from_the_environment_and_from_a_yaml_file(tmp_path):
    h = ACCOUNTS["alice"].password_hash
    accounts = parse_accounts_env(f"alice:{h}, bob:{h}:specialist:+447700900002")
    assert accounts["alice"] == Account("alice", h, "agent", None)
    assert accounts["bob"] == Account("bob", h, "specialist", "+447700900002")
    path = tmp_path / "agents.yml"
    path.write_text(f"agents:\n  - {{name: carol, password_hash: '{h}', role: specialist, phone: '+44 7700 900003'}}\n")
    accounts = load_accounts({"AGENT_ACCOUNTS_FILE": str(path), "AGENT_ACCOUNTS": f"dave:{h}"})
    assert set(accounts) == {"carol", "dave"} and accounts["carol"].phone == "+447700900003"
    for bad in (f"alice:{h}:boss", "alice:plaintext", f"al ice:{h}", f"alice:{h},alice:{h}", f"alice:{h}:agent:0123"):
        with pytest.raises(AccountError):
            parse_accounts_env(bad)
    with pytest.raises(AccountError):
        parse_accounts_yaml("agents: {name: x}")
    with pytest.raises(AccountError):
        load_accounts({"AGENT_ACCOUNTS_FILE": str(tmp_path / "missing.yml")})


def test_hash_cli_prints_a_hash_that_verifies():
    out = subprocess.run([sys.executable, "-m", "bot.service.console.accounts", "hash"], input="s3cret-pass\n",
                         capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert out.returncode == 0, out.stderr
    assert verify_password("s3cret-pass", out.stdout.strip())
    short = subprocess.run([sys.executable, "-m", "bot.service.console.accounts", "hash"], input="short\n",
                           capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert short.returncode == 2


# ---- nothing works without credentials -------------------------------------------------------
PUBLIC = {"health", "console_login", "console_login_post"}


def concrete(path: str) -> str:
    return (path.replace("{ticket_id}", TICKET).replace("{conversation_id}", CONVERSATION)
            .replace("{call_sid}", "CA" + "0" * 32).replace("{name}", "console.js"))


async def test_every_page_and_api_call_is_refused_without_sign_in(client):
    app = client.server.app
    checked = 0
    for resource in app.router.resources():
        path = concrete(resource.canonical)
        methods = {route.method for route in resource if route.method != "HEAD"}
        if resource.name in PUBLIC or path == "/chat" or path.startswith("/chat/"):
            continue  # public by design (the customer's chat and the sign-in page)
        for method in methods:
            resp = await client.request(method, path, allow_redirects=False, json={})
            checked += 1
            if path.startswith("/api/"):
                assert resp.status == 401, (method, path, resp.status)
                assert (await resp.json())["error"]
            elif method == "GET" and resource.name not in ("console_ws", "console_static"):
                assert resp.status == 303, (method, path, resp.status)
                location = resp.headers["Location"]
                assert location.startswith("/console/login?next="), location
                assert urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["next"] == [path]
            else:
                assert resp.status == 401, (method, path, resp.status)
    assert checked >= 20
    # Unrouted paths, and a session cookie that is not ours, get nowhere either.
    assert (await client.get("/console/nothing-here", allow_redirects=False)).status == 303
    assert (await client.get("/api/nothing-here")).status == 401
    client.session.cookie_jar.update_cookies({"console_session": "forged-session-id"})
    assert (await client.get("/api/handoffs")).status == 401
    assert (await client.get("/console", allow_redirects=False)).status == 303
    # What is public stays so.
    assert (await client.get("/health")).status == 200
    assert (await client.get("/console/login")).status == 200


# ---- sign-in ----------------------------------------------------------------------------------
async def test_sign_in_sets_a_strict_http_only_session_cookie_and_goes_where_asked(client):
    page = await client.get("/console/login?next=/console/tickets/" + TICKET)
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    resp = await client.post("/console/login", allow_redirects=False, data={
        "name": "alice", "password": PASSWORDS["alice"], "_csrf": form_token(await page.text()),
        "next": "/console/tickets/" + TICKET})
    assert resp.status == 303 and resp.headers["Location"] == "/console/tickets/" + TICKET
    [cookie] = [c for c in resp.headers.getall("Set-Cookie") if c.startswith("console_session=")]
    flags = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert "httponly" in flags and flags["samesite"] == "SameSite=Strict" and flags["path"] == "Path=/"
    assert "secure" not in flags, "opted out (CONSOLE_COOKIE_SECURE=0) on plain http; the default or https adds it"
    session_id = cookie.split(";")[0].split("=", 1)[1]
    assert len(session_id) >= 40
    page = await client.get("/console/tickets/" + TICKET)
    assert page.status == 200 and 'data-user="alice"' in await page.text()
    # Signed in, the login page sends you on.
    again = await client.get("/console/login?next=/console/callbacks", allow_redirects=False)
    assert again.status == 303 and again.headers["Location"] == "/console/callbacks"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/console", "/api/tickets", "/console\\@evil", "javascript:alert(1)"])
async def test_sign_in_never_redirects_off_the_console(client, target):
    resp = await sign_in(client, next_url=target)
    assert resp.status == 303 and resp.headers["Location"] == "/console"


async def test_secure_cookie_when_configured(make_client):
    client = await make_client(cookie_secure=True)
    page = await client.get("/console/login")
    assert "Secure" in page.headers["Set-Cookie"]
    token = form_token(await page.text())
    # A browser sends Secure cookies over https only; this test client is on http, so by hand.
    resp = await client.post("/console/login", allow_redirects=False, headers={"Cookie": f"console_login={token}"},
                             data={"name": "alice", "password": PASSWORDS["alice"], "_csrf": token})
    [cookie] = [c for c in resp.headers.getall("Set-Cookie") if c.startswith("console_session=")]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


async def test_wrong_password_and_unknown_name_are_refused_alike(client):
    wrong = await sign_in(client, password="not-it")
    unknown = await sign_in(client, name="mallory", password="not-it")
    assert wrong.status == unknown.status == 401
    assert "Wrong name or password." in await wrong.text() and "Wrong name or password." in await unknown.text()
    assert not [c for c in wrong.headers.getall("Set-Cookie", []) if c.startswith("console_session=")]
    assert (await client.get("/api/handoffs")).status == 401


async def test_five_failures_lock_the_name_for_the_lockout_then_it_recovers(make_client):
    client = await make_client(login_lockout=1.0)
    clock = use_clock(client)  # a slow password check must not use up the lockout meanwhile
    for attempt in range(4):
        assert (await sign_in(client, password=f"guess-{attempt}")).status == 401
    fifth = await sign_in(client, password="guess-5")
    assert fifth.status == 429 and "Too many failed sign-ins" in await fifth.text()
    # Locked: even the right password is refused, for this name only.
    assert (await sign_in(client)).status == 429
    assert (await sign_in(client, name="sam")).status == 303
    client.session.cookie_jar.clear()  # sam's browser was another one
    clock.now += 0.9
    assert (await sign_in(client)).status == 429, "still locked before the lockout ends"
    clock.now += 0.2
    assert (await sign_in(client)).status == 303


async def test_login_form_without_its_token_is_refused(client):
    await client.get("/console/login")
    for token in (None, "", "forged-token-forged-token"):
        data = {"name": "alice", "password": PASSWORDS["alice"]}
        if token is not None:
            data["_csrf"] = token
        resp = await client.post("/console/login", data=data, allow_redirects=False)
        assert resp.status == 403
    assert (await client.get("/api/handoffs")).status == 401


# ---- sessions and CSRF -----------------------------------------------------------------------
STATE_CHANGES = [
    ("POST", f"/api/tickets/{TICKET}/claim", {}),
    ("POST", f"/api/tickets/{TICKET}/notes", {"note": "called the customer"}),
    ("POST", f"/api/tickets/{TICKET}/resolve", {}),
    ("POST", f"/api/tickets/{TICKET}/handback", {}),
    ("POST", f"/api/callbacks/{TICKET}/done", {"outcome": "done"}),
    ("POST", f"/api/callbacks/{TICKET}/attempt", {"outcome": "done"}),
    ("POST", f"/api/callbacks/{TICKET}/call", {}),
    ("POST", f"/api/conversations/{CONVERSATION}/messages", {"text": "hello"}),
]


async def test_every_state_changing_call_with_a_session_needs_the_csrf_token(client, sqlite_store):
    csrf = await signed_in(client, "sam")
    before = await sqlite_store.get(TICKET)
    for method, path, body in STATE_CHANGES:
        for headers in ({}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": ""}):
            resp = await client.request(method, path, json=body, headers=headers)
            assert resp.status == 403, (path, headers, resp.status)
            assert (await resp.json())["error"] == "missing or invalid CSRF token"
    assert await sqlite_store.get(TICKET) == before, "nothing changed"
    # Sign-out is a form post: its hidden field or the header, nothing else.
    assert (await client.post("/console/logout", data={}, allow_redirects=False)).status == 403
    assert (await client.post("/console/logout", data={"_csrf": "wrong"}, allow_redirects=False)).status == 403
    # With the token, the same call goes through, as the signed-in agent.
    resp = await client.post(f"/api/tickets/{TICKET}/claim", json={}, headers={"X-CSRF-Token": csrf})
    assert resp.status == 200 and (await resp.json())["assignee"] == "sam"


async def test_a_session_reads_the_api_and_acts_only_as_itself(client):
    csrf = await signed_in(client, "alice")
    handoffs = await client.get("/api/handoffs")
    assert handoffs.status == 200 and [t["ticket_id"] for t in (await handoffs.json())["handoffs"]] == [TICKET]
    resp = await client.post(f"/api/tickets/{TICKET}/claim", json={"agent": "sam"}, headers={"X-CSRF-Token": csrf})
    assert resp.status == 403 and "signed-in" in (await resp.json())["error"]
    resp = await client.post(f"/api/tickets/{TICKET}/notes", json={"agent": "alice", "note": "checked the order"},
                             headers={"X-CSRF-Token": csrf})
    entry = (await resp.json())["history"][-1]
    assert entry["by"] == "alice" and entry["action"] == "note" and entry["note"] == "checked the order" and entry["at"]


async def test_the_bearer_token_still_works_without_a_session_or_csrf(client):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert (await client.get("/api/handoffs", headers=auth)).status == 200
    resp = await client.post(f"/api/tickets/{TICKET}/claim", json={"agent": "api-user"}, headers=auth)
    assert resp.status == 200 and (await resp.json())["assignee"] == "api-user"
    # ... but not for console pages, which are for people.
    assert (await client.get("/console", headers=auth, allow_redirects=False)).status == 303


async def test_sign_out_ends_the_session_on_the_server(client):
    csrf = await signed_in(client)
    old_cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))["console_session"].value
    resp = await client.post("/console/logout", data={"_csrf": csrf}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/console/login"
    assert (await client.get("/api/handoffs")).status == 401
    # Replaying the old cookie does not bring it back.
    client.session.cookie_jar.update_cookies({"console_session": old_cookie})
    assert (await client.get("/api/handoffs")).status == 401


async def test_the_live_socket_needs_a_session_and_our_origin(client):
    resp = await client.get("/console/ws", headers={"Upgrade": "websocket", "Connection": "Upgrade",
                                                     "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert resp.status == 401
    await signed_in(client)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/console/ws", headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403  # refused for its origin, not for some other failure
    ws = await client.ws_connect("/console/ws", headers={"Origin": str(client.make_url("")).rstrip("/")})
    hello = await ws.receive_json(timeout=5)
    assert hello["type"] == "hello" and hello["user"] == {"name": "alice", "role": "agent"}
    await ws.close()


async def test_sessions_and_lockouts_are_shared_over_redis(aiohttp_client, sqlite_store, redis_url, key_prefix):
    """Two agent-service processes behind one load balancer: signed in on one, known to both."""
    apps = [create_app({"token": TOKEN, "store": sqlite_store, "redis_url": redis_url, "redis_key_prefix": key_prefix,
                        "console": console(login_lockout=30.0)}) for _ in range(2)]
    first, second = [await aiohttp_client(app) for app in apps]
    csrf = await signed_in(first, "alice")
    cookie = first.session.cookie_jar.filter_cookies(first.make_url("/"))["console_session"].value
    second.session.cookie_jar.update_cookies({"console_session": cookie})
    assert (await second.get("/api/handoffs")).status == 200
    assert (await second.post(f"/api/tickets/{TICKET}/notes", json={"note": "x"})).status == 403
    # Redis holds a digest of the session id, never the id itself.
    import redis as redis_lib

    raw = redis_lib.Redis.from_url(redis_url)
    keys = [k.decode() for k in raw.scan_iter(match=f"{key_prefix}console:session:*")]
    raw.close()
    assert keys and all(cookie not in k for k in keys) and csrf
    first.session.cookie_jar.clear()
    second.session.cookie_jar.clear()
    for attempt in range(5):
        await sign_in(first, "sam", password=f"guess-{attempt}")
    assert (await sign_in(second, "sam")).status == 429, "the lockout holds on every process"


# ---- make run with nothing configured --------------------------------------------------------
def test_make_run_without_accounts_creates_admin_with_a_private_password(tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AGENT_API_TOKEN": "t", "AGENT_API_PORT": str(port), "VAR_DIR": str(tmp_path / "var"),
           "AGENT_API_HOST": "127.0.0.1", "TICKETS_DB": str(tmp_path / "tickets.db"), "LOG_LEVEL": "WARNING",
           "CONSOLE_COOKIE_SECURE": "0"}  # plain http here, as `make run` locally
    for name in ("AGENT_ACCOUNTS", "AGENT_ACCOUNTS_FILE", "REDIS_URL", "TICKETING_WEBHOOK_URL"):
        env.pop(name, None)
    log = tmp_path / "out.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bot.service"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        password = None
        secrets = tmp_path / "var" / "secrets.env"
        while time.monotonic() < deadline and password is None:
            if "readable only by you" in log.read_text() and secrets.exists():
                password = secrets_file.read(secrets)["CONSOLE_ADMIN_PASSWORD"]
            time.sleep(0.1)
        assert password, log.read_text()
        assert password not in log.read_text(), "the password is never printed"
        assert secrets.stat().st_mode & 0o777 == 0o600
        base = f"http://127.0.0.1:{port}"
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        while True:
            try:
                page = opener.open(f"{base}/console/login", timeout=5).read().decode()
                break
            except urllib.error.URLError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        data = urllib.parse.urlencode({"name": "admin", "password": password, "_csrf": form_token(page)}).encode()
        landed = opener.open(f"{base}/console/login", data=data, timeout=30)
        assert landed.geturl() == f"{base}/console" and 'data-role="specialist"' in landed.read().decode()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)


def test_a_webhook_without_its_secret_refuses_to_start(monkeypatch, capsys):
    from bot.service.__main__ import console_config

    monkeypatch.setenv("TICKETING_WEBHOOK_URL", "http://127.0.0.1:9/hooks")
    monkeypatch.setenv("TICKETING_WEBHOOK_ALLOW_HTTP", "1")  # a local receiver; the secret is what's missing
    monkeypatch.delenv("TICKETING_WEBHOOK_SECRET", raising=False)
    monkeypatch.setenv("AGENT_ACCOUNTS", f"alice:{ACCOUNTS['alice'].password_hash}")
    assert console_config() is None
    assert "TICKETING_WEBHOOK_SECRET" in capsys.readouterr().err


async def test_an_open_socket_ends_when_its_session_does(client, monkeypatch):
    from bot.service.console import live_socket as views

    monkeypatch.setattr(views, "SESSION_CHECK", 0.1)
    csrf = await signed_in(client)
    ws = await client.ws_connect("/console/ws")
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    # Signed out in another tab.
    other = client.session.cookie_jar.filter_cookies(client.make_url("/"))["console_session"].value
    await client.server.app[views.SESSIONS_KEY].delete(other)
    assert csrf
    from aiohttp import WSMsgType

    deadline = time.monotonic() + 5
    while True:
        message = await ws.receive(timeout=max(0.05, deadline - time.monotonic()))
        if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
            break
    assert message.type == WSMsgType.CLOSE and message.data == views.SIGNED_OUT
