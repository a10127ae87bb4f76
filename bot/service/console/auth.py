"""Who is signed in (the console session behind a request) and the CSRF check."""
from __future__ import annotations

from typing import Optional

from aiohttp import web

from bot.service.console.login_sessions import COOKIE, CSRF_FIELD, CSRF_HEADER, Session, tokens_equal
from bot.service.typedefs import CONSOLE_KEY, SESSIONS_KEY

_CACHE = "console_session"


async def session_of(request: web.Request) -> Optional[Session]:
    """The request's valid session, or None. An account removed from the configuration (and
    the service restarted) loses its sessions; its role always comes from the configuration."""
    if _CACHE in request:
        return request[_CACHE]
    session = None
    store = request.app.get(SESSIONS_KEY)
    cookie = request.cookies.get(COOKIE)
    if store is not None and cookie:
        found = await store.get(cookie)
        account = request.app[CONSOLE_KEY].accounts.get(found.name) if found else None
        if found is not None and account is not None:
            found.role = account.role
            session = found
    request[_CACHE] = session
    return session


async def csrf_ok(request: web.Request, session: Session, *, allow_form: bool) -> bool:
    """The synchronizer token, from the X-CSRF-Token header (fetch) or, for console form
    posts, the _csrf field."""
    if tokens_equal(request.headers.get(CSRF_HEADER), session.csrf):
        return True
    if allow_form and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()  # cached on the request: the handler can read it again
        value = form.get(CSRF_FIELD)
        return isinstance(value, str) and tokens_equal(value, session.csrf)
    return False
