"""Console pages (server-rendered shells; console.js fills them from /api and the live socket),
sign-in and sign-out, and the live WebSocket."""
from __future__ import annotations

import asyncio
import html
import logging
import math
import re
import secrets
import time
from pathlib import Path
from string import Template
from typing import Any, Dict, Optional
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, WSMsgType, web

from bot.agent_api.client import client_key
from bot.agent_api.config import STORE_KEY
from bot.agent_api.middlewares import CURRENT_SESSION, ApiError
from bot.console.accounts import check_login
from bot.console.auth import session_of
from bot.console.keys import CHECKS_KEY, CONSOLE_KEY, CONSOLE_SOCKETS_KEY, FEED_KEY, SESSIONS_KEY, THROTTLE_KEY
from bot.console.sessions import (
    COOKIE, CSRF_FIELD, LOGIN_COOKIE, Session, clear_session_cookie, cookie_secure, set_session_cookie, tokens_equal,
)
from bot.console.throttle import ChecksBusy

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATES = HERE / "templates"
STATIC_FILES = {"console.js": "application/javascript", "console.css": "text/css"}
MAX_NAME = 64
MAX_PASSWORD = 1024
_CALL_SID = re.compile(r"[A-Za-z0-9]{2,64}")
_HOST = re.compile(r"[A-Za-z0-9.\-:\[\]]{1,255}")



def whole_seconds(wait: float) -> int:
    """A wait (already to the millisecond, bot/console/throttle.py) in whole seconds, at least 1."""
    return max(1, math.ceil(wait))

def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def _headers(request: web.Request, *, style_nonce: Optional[str] = None) -> Dict[str, str]:
    host = request.host if _HOST.fullmatch(request.host or "") else ""
    ws = f" ws://{host} wss://{host}" if host else ""
    style = f"'nonce-{style_nonce}'" if style_nonce else "'self'"
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        "Content-Security-Policy": (
            f"default-src 'none'; script-src 'self'; style-src {style}; img-src 'self' data:; "
            f"connect-src 'self'{ws}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
    }


def _safe_next(value: Any) -> str:
    """Only a path inside the console (no open redirect to another site)."""
    if not isinstance(value, str) or len(value) > 500:
        return "/console"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or "\\" in value or not re.fullmatch(r"/console(/[^/].*)?|/console/?", parts.path):
        return "/console"
    return value


# -- sign-in ---------------------------------------------------------------------------
def _login_page(request: web.Request, *, next_url: str, token: str, error: str = "", name: str = "",
                status: int = 200, retry_after: float = 0.0) -> web.Response:
    nonce = secrets.token_urlsafe(16)
    css = (STATIC_DIR / "console.css").read_text(encoding="utf-8")
    body = _template("login.html").substitute(
        nonce=nonce, css=css, csrf=html.escape(token), next=html.escape(next_url), name=html.escape(name),
        error=f'<p class="login__error" role="alert">{html.escape(error)}</p>' if error else "",
        accounts_hint="" if request.app[CONSOLE_KEY].accounts else
        '<p class="login__error" role="alert">No console accounts are configured (AGENT_ACCOUNTS_FILE or AGENT_ACCOUNTS).</p>',
    )
    response = web.Response(text=body, status=status, headers=_headers(request, style_nonce=nonce))
    if retry_after > 0:
        response.headers["Retry-After"] = str(whole_seconds(retry_after))
    response.set_cookie(LOGIN_COOKIE, token, path="/console/login", httponly=True, samesite="Strict", max_age=3600,
                        secure=cookie_secure(request, request.app[CONSOLE_KEY].cookie_secure))
    return response


async def login_page(request: web.Request) -> web.Response:
    next_url = _safe_next(request.query.get("next"))
    if await session_of(request) is not None:
        raise web.HTTPSeeOther(location=next_url)
    token = request.cookies.get(LOGIN_COOKIE) or ""
    if not re.fullmatch(r"[A-Za-z0-9_\-]{20,64}", token):
        token = secrets.token_urlsafe(24)
    return _login_page(request, next_url=next_url, token=token)


async def login_post(request: web.Request) -> web.Response:
    form = await request.post()
    next_url = _safe_next(form.get("next"))
    expected = request.cookies.get(LOGIN_COOKIE)
    token = secrets.token_urlsafe(24)
    given = form.get(CSRF_FIELD)
    if not isinstance(given, str) or not tokens_equal(given, expected):
        # Login CSRF: the form must come from our page (double-submit of the login cookie).
        return _login_page(request, next_url=next_url, token=token, status=403,
                           error="This sign-in form has expired. Please try again.")
    name = form.get("name")
    password = form.get("password")
    if not isinstance(name, str) or not isinstance(password, str) or not name.strip() or not password:
        return _login_page(request, next_url=next_url, token=token, status=400, error="Enter your name and password.")
    name = name.strip()[:MAX_NAME]
    address = client_key(request)
    throttle = request.app[THROTTLE_KEY]

    def too_many(wait: float) -> web.Response:
        return _login_page(request, next_url=next_url, token=token, name=name, status=429, retry_after=wait,
                           error=f"Too many failed sign-ins. Try again in {whole_seconds(wait)} seconds.")

    wait = await throttle.wait(name, address)
    if wait > 0:
        return too_many(wait)  # refused before any password is checked
    accounts = request.app[CONSOLE_KEY].accounts
    try:
        async with request.app[CHECKS_KEY].slot():
            # Checked again, and the result recorded, while holding the slot: attempts queued
            # behind this one see its failure, so a burst of simultaneous guesses gets no more
            # tries than the same guesses one by one (give or take the slots running at once).
            wait = await throttle.wait(name, address)
            if wait > 0:
                return too_many(wait)
            account = await asyncio.get_running_loop().run_in_executor(
                None, check_login, accounts, name, password[:MAX_PASSWORD])
            if account is None:
                wait = await throttle.failed(name, address)
            else:
                await throttle.succeeded(name, address)
    except ChecksBusy:
        return _login_page(request, next_url=next_url, token=token, name=name, status=429, retry_after=1,
                           error="Too many sign-ins at once. Try again in a moment.")
    if account is None:
        log.warning("console: failed sign-in for %r from %s", name, address)
        if wait > 0:
            return too_many(wait)
        return _login_page(request, next_url=next_url, token=token, name=name, status=401,
                           error="Wrong name or password.")
    sessions = request.app[SESSIONS_KEY]
    old = request.cookies.get(COOKIE)
    if old:
        await sessions.delete(old)  # a fresh id at every sign-in (no session fixation)
    session = await sessions.create(account.name, account.role)
    log.info("console: %s signed in", account.name)
    response = web.HTTPSeeOther(location=next_url)
    set_session_cookie(response, request, session.id, request.app[CONSOLE_KEY].cookie_secure)
    response.del_cookie(LOGIN_COOKIE, path="/console/login")
    raise response


async def logout(request: web.Request) -> web.Response:
    cookie = request.cookies.get(COOKIE)
    if cookie:
        await request.app[SESSIONS_KEY].delete(cookie)
    response = web.HTTPSeeOther(location="/console/login")
    clear_session_cookie(response, request, request.app[CONSOLE_KEY].cookie_secure)
    raise response


# -- pages -----------------------------------------------------------------------------
def _page(request: web.Request, *, page: str, title: str, main: str, ticket_id: str = "") -> web.Response:
    session: Session = CURRENT_SESSION.get()  # type: ignore[assignment]
    config = request.app[CONSOLE_KEY]
    body = _template("page.html").substitute(
        title=html.escape(title), page=page, ticket_id=html.escape(ticket_id), csrf=html.escape(session.csrf),
        user=html.escape(session.name), role=html.escape(session.role), main=main,
        calls_enabled="true" if config.calls_enabled else "false",
        nav_queue=' aria-current="page"' if page == "queue" else "",
        nav_callbacks=' aria-current="page"' if page == "callbacks" else "",
        nav_tickets=' aria-current="page"' if page == "tickets" else "",
    )
    return web.Response(text=body, headers=_headers(request))


async def home(request: web.Request) -> web.Response:
    return _page(request, page="queue", title="Hand-off queue", main=_template("queue.html").substitute())


async def home_slash(request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently(location="/console")


async def ticket_page(request: web.Request) -> web.Response:
    from bot.agent_api.views import _ticket_id

    try:
        ticket_id = _ticket_id(request)
    except ApiError:
        raise web.HTTPNotFound(text="no such ticket") from None
    if await request.app[STORE_KEY].get(ticket_id) is None:
        return _not_found(request, f"There is no ticket {ticket_id}.")
    main = _template("ticket.html").substitute(ticket_id=html.escape(ticket_id))
    return _page(request, page="ticket", title=ticket_id, main=main, ticket_id=ticket_id)


async def call_page(request: web.Request) -> web.Response:
    """A transferred call's CallSid (what the agent's phone or Flex shows) -> its ticket."""
    call_sid = request.match_info["call_sid"]
    if not _CALL_SID.fullmatch(call_sid):
        return _not_found(request, "That is not a call id.")
    tickets = await request.app[STORE_KEY].find(conversation_id=call_sid, limit=1)
    if not tickets:
        return _not_found(request, f"No ticket belongs to call {call_sid} (yet).")
    raise web.HTTPFound(location=f"/console/tickets/{tickets[0]['ticket_id']}")


async def callbacks_page(request: web.Request) -> web.Response:
    session: Session = CURRENT_SESSION.get()  # type: ignore[assignment]
    reason = calls_unavailable(request.app[CONSOLE_KEY], session)
    notice = (f'<p class="notice" id="calls-unavailable" role="note">{html.escape(reason)}</p>' if reason else "")
    return _page(request, page="callbacks", title="Callbacks",
                 main=_template("callbacks.html").substitute(calls_notice=notice))


def calls_unavailable(config, session: Session) -> Optional[str]:
    """Why this specialist has no working "Call now", in words that say what to set; None if they have it."""
    if not session.is_specialist:
        return None  # agents make no callbacks; their buttons say so
    missing = [name for name, value in (("TWILIO_ACCOUNT_SID", config.twilio_account_sid),
                                        ("TWILIO_AUTH_TOKEN", config.twilio_auth_token),
                                        ("TWILIO_CALLER_ID", config.twilio_caller_id)) if not value]
    if missing:
        names = ", ".join(missing[:-1]) + (" and " if len(missing) > 1 else "") + missing[-1]
        return f"Outbound calls are not configured: set {names} to call customers from here."
    account = config.accounts.get(session.name)
    if account is None or not account.phone:
        return ("Your account has no phone number, so \u201cCall now\u201d cannot ring you first: "
                "add phone to your entry in AGENT_ACCOUNTS_FILE.")
    return None


STATUS_LABELS = {"open": "with the assistant", "handed_off": "waiting for a colleague", "resolved": "resolved",
                 "closed": "closed"}  # as console.js shows them


async def tickets_page(request: web.Request) -> web.Response:
    """All tickets, searchable (reference, order, phone, e-mail, words) and filtered; the
    results come from GET /api/tickets/search (bot.agent_api.search)."""
    from bot.console.present import catalog_or_none
    from bot.tickets.model import STATUSES

    catalog = catalog_or_none(request.app[CONSOLE_KEY].catalog_path)
    categories = sorted(((code, (cat or {}).get("label") or code) for code, cat in (catalog.categories.items() if catalog else ())),
                        key=lambda item: item[1].lower())

    def options(pairs) -> str:
        return "".join(f'<option value="{html.escape(v)}">{html.escape(label)}</option>' for v, label in pairs)

    main = _template("tickets.html").substitute(
        status_options=options((s, STATUS_LABELS.get(s, s)) for s in STATUSES),
        category_options=options(categories),
        channel_options=options((("web", "Web chat"), ("voice", "Phone"), ("rest", "REST"))),
    )
    return _page(request, page="tickets", title="Tickets", main=main)


def _not_found(request: web.Request, message: str) -> web.Response:
    main = f'<section class="panel"><h1>Not found</h1><p>{html.escape(message)}</p><p><a href="/console">Back to the queue</a></p></section>'
    response = _page(request, page="missing", title="Not found", main=main)
    response.set_status(404)
    return response


async def static_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in STATIC_FILES:
        raise ApiError(404, "not found")
    return web.FileResponse(STATIC_DIR / name, headers={
        "Content-Type": f"{STATIC_FILES[name]}; charset=utf-8", "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff"})


# -- live socket -----------------------------------------------------------------------
def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser (browsers always send Origin on WebSocket handshakes)
    return urlsplit(origin).netloc == request.host


async def live(request: web.Request) -> web.StreamResponse:
    """Pushes the queue, the callback list and (with ?ticket_id=) that ticket and its
    conversation's live messages: what the customer writes, and agents' replies."""
    from bot.agent_api.views import valid_ticket_id

    if not _same_origin(request):
        raise ApiError(403, "cross-origin WebSocket refused")
    ticket_id = request.query.get("ticket_id") or None
    if ticket_id is not None:
        ticket_id = valid_ticket_id(request.app, ticket_id)
    ws = web.WebSocketResponse(heartbeat=25.0)
    if not ws.can_prepare(request).ok:
        raise ApiError(400, "expected a WebSocket upgrade")
    session: Session = CURRENT_SESSION.get()  # type: ignore[assignment]
    feed = request.app[FEED_KEY]
    sockets = request.app[CONSOLE_SOCKETS_KEY]
    async with feed.listen(ticket_id) as listener:
        await ws.prepare(request)
        sockets.add(ws)
        tasks = []
        close_code = None
        try:
            await ws.send_json({"type": "hello", "user": session.public(), "poll_interval": feed.poll_interval,
                                "calls_enabled": request.app[CONSOLE_KEY].calls_enabled})
            for message in await feed.current(ticket_id):
                await ws.send_json(message)
            # Whichever ends first ends the socket: the page closing it, the feed ending
            # (shutdown, or this page fell behind: it reconnects and resyncs), the session ending.
            enders = [asyncio.create_task(_read(ws)), asyncio.create_task(_forward(listener, ws)),
                      asyncio.create_task(_end_with_session(request, session))]
            tasks.extend(enders)
            if ticket_id is not None:
                ticket = await request.app[STORE_KEY].get(ticket_id)
                if ticket is not None and ticket.get("conversation_id"):
                    tasks.append(asyncio.create_task(_relay_conversation(request.app, str(ticket["conversation_id"]), ws)))
            done, _ = await asyncio.wait(enders, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if not task.cancelled() and task.exception() is None and task.result() is not None:
                    close_code = task.result()
        finally:
            sockets.discard(ws)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if close_code is not None and not ws.closed:
            await ws.close(code=close_code, message=b"signed out" if close_code == SIGNED_OUT else b"resynchronise")
    return ws


async def _read(ws: web.WebSocketResponse) -> None:
    """Anything from the page but a ping is ignored: actions go through /api."""
    async for msg in ws:
        if msg.type == WSMsgType.TEXT and msg.data == "ping":
            await ws.send_json({"type": "pong"})


SESSION_CHECK = 15.0
SIGNED_OUT = 4401  # close code: the page goes to the sign-in page


async def _end_with_session(request: web.Request, session: Session) -> int:
    """A socket lives no longer than its session (signed out elsewhere, or expired)."""
    sessions = request.app[SESSIONS_KEY]
    while True:
        await asyncio.sleep(SESSION_CHECK)
        if not await sessions.alive(session.id):
            return SIGNED_OUT


async def _forward(listener, ws: web.WebSocketResponse) -> Optional[int]:
    try:
        async for message in listener:
            await ws.send_json(message)
    except (ConnectionResetError, RuntimeError):
        return None
    return WSCloseCode.TRY_AGAIN_LATER


async def _relay_conversation(app: web.Application, conversation_id: str, ws: web.WebSocketResponse) -> None:
    """The conversation as Rasa has it, then its live traffic from the web chat hub: the
    customer's messages (agents' feed) and what the customer's page receives (agent messages,
    status). Messages already in the snapshot are not sent twice."""
    from bot.webchat import rasa, transcript
    from bot.webchat.hub import HUB_KEY

    hub = app[HUB_KEY]
    try:
        async with hub.subscribe_agents(conversation_id) as to_agents, hub.subscribe(conversation_id) as to_customer:
            try:
                shown = readable(transcript.from_tracker(await rasa.get_tracker(app, conversation_id)))
                snapshot_at = time.time()
                await ws.send_json({"type": "conversation", "conversation_id": conversation_id, **shown})
            except rasa.RasaUnavailable:
                shown, snapshot_at = {"messages": []}, 0.0
                await ws.send_json({"type": "conversation", "conversation_id": conversation_id, "messages": [],
                                    "error": "The conversation could not be loaded from the assistant."})
            recent = {(m.get("role"), m.get("text")) for m in shown.get("messages", [])[-20:]}
            queue: "asyncio.Queue[Dict[str, Any]]" = asyncio.Queue()

            async def pump(subscription) -> None:
                async for message in subscription:
                    await queue.put(message)

            pumps = [asyncio.create_task(pump(to_agents)), asyncio.create_task(pump(to_customer))]
            try:
                while True:
                    message = await queue.get()
                    at = message.get("at") if isinstance(message.get("at"), (int, float)) else time.time()
                    if at <= snapshot_at and (message.get("role"), message.get("text")) in recent:
                        continue
                    if message.get("type") in ("message", "status"):
                        await ws.send_json({**message, "live": True})
            finally:
                for task in pumps:
                    task.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
    except (ConnectionResetError, RuntimeError):
        return


_PAYLOAD = re.compile(r"/\w+(\{.*\})?", re.DOTALL)


def readable(shown: Dict[str, Any]) -> Dict[str, Any]:
    """Without the intent payloads a channel sends for the customer (the IVR's /greet at call
    start, a button whose title is unknown): they are not something the customer said."""
    messages = [m for m in shown.get("messages", [])
                if not (m.get("role") == "customer" and _PAYLOAD.fullmatch((m.get("text") or "").strip()))]
    return {**shown, "messages": messages}


async def close_sockets(app: web.Application) -> None:
    for ws in list(app[CONSOLE_SOCKETS_KEY]):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
