"""The chat page and its two static files (public, under /chat)."""
from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

from bot.service.browser import socket_sources, static_files
from bot.service.typedefs import WEBCHAT_KEY

STATIC_DIR = Path(__file__).resolve().parent / "static"

# The chat page only talks to its own origin.
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' {ws}; base-uri 'none'; form-action 'self'; object-src 'none'; "
    "frame-ancestors {frame_ancestors}"
)
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-:\[\]]{1,255}")

static_file = static_files(STATIC_DIR, {"chat.js": "application/javascript", "chat.css": "text/css"})


async def chat_page(request: web.Request) -> web.StreamResponse:
    # Nobody may frame the page (clickjacking) unless configured: CHAT_FRAME_ANCESTORS.
    ancestors = [a for a in request.app[WEBCHAT_KEY].frame_ancestors if _ORIGIN.fullmatch(a)]
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-cache",
        "Content-Security-Policy": _CSP.format(ws=socket_sources(request),
                                               frame_ancestors=" ".join(ancestors) or "'none'").replace(" ;", ";"),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if not ancestors:
        # For browsers without CSP frame-ancestors; it cannot express a list of origins.
        headers["X-Frame-Options"] = "DENY"
    return web.FileResponse(STATIC_DIR / "chat.html", headers=headers)


async def chat_page_slash(request: web.Request) -> web.StreamResponse:
    # The page uses relative URLs (so it also works behind a path prefix): one canonical address.
    raise web.HTTPMovedPermanently(location=str(request.rel_url.with_path(request.path.rstrip("/"))))
