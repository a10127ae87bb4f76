"""Signing in to the console and out: the sign-in page and form (login CSRF, the sign-in
throttle, bounded password checks) and sign-out."""
from __future__ import annotations

import asyncio
import html
import logging
import math
import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.service.client_address import client_key
from bot.service.console.accounts import check_login
from bot.service.console.auth import session_of
from bot.service.console.login_sessions import (
    COOKIE, CSRF_FIELD, LOGIN_COOKIE, clear_session_cookie, cookie_secure, set_session_cookie, tokens_equal,
)
from bot.service.console.rendering import STATIC_DIR, page_headers, template
from bot.service.console.throttle import ChecksBusy
from bot.service.typedefs import CHECKS_KEY, CONSOLE_KEY, SESSIONS_KEY, THROTTLE_KEY

log = logging.getLogger(__name__)

MAX_NAME = 64
MAX_PASSWORD = 1024


def whole_seconds(wait: float) -> int:
    """A wait (already to the millisecond, bot/service/console/throttle.py) in whole seconds, at least 1."""
    return max(1, math.ceil(wait))


def _safe_next(value: Any) -> str:
    """Only a path inside the console (no open redirect to another site)."""
    if not isinstance(value, str) or len(value) > 500:
        return "/console"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or "\\" in value or not re.fullmatch(r"/console(/[^/].*)?|/console/?", parts.path):
        return "/console"
    return value


def _login_page(request: web.Request, *, next_url: str, token: str, error: str = "", name: str = "",
                status: int = 200, retry_after: float = 0.0) -> web.Response:
    nonce = secrets.token_urlsafe(16)
    css = (STATIC_DIR / "console.css").read_text(encoding="utf-8")
    body = template("login.html").substitute(
        nonce=nonce, css=css, csrf=html.escape(token), next=html.escape(next_url), name=html.escape(name),
        error=f'<p class="login__error" role="alert">{html.escape(error)}</p>' if error else "",
        accounts_hint="" if request.app[CONSOLE_KEY].accounts else
        '<p class="login__error" role="alert">No console accounts are configured (AGENT_ACCOUNTS_FILE or AGENT_ACCOUNTS).</p>',
    )
    response = web.Response(text=body, status=status, headers=page_headers(request, style_nonce=nonce))
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
