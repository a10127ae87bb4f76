"""How the console's server-rendered pages are made: their templates, their security headers,
and the page shell that console.js fills from /api and the live socket."""
from __future__ import annotations

import html
import json
from pathlib import Path
from string import Template
from typing import Dict, Optional

from aiohttp import web

from bot.service.browser import socket_sources
from bot.service.config import callback_max_attempts
from bot.service.middlewares import CURRENT_SESSION
from bot.service.typedefs import CONFIG_KEY, CONSOLE_KEY
from bot.tickets.model import STATUSES

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATES = HERE / "templates"


def template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def page_headers(request: web.Request, *, style_nonce: Optional[str] = None) -> Dict[str, str]:
    ws = socket_sources(request)
    style = f"'nonce-{style_nonce}'" if style_nonce else "'self'"
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        "Content-Security-Policy": (
            f"default-src 'none'; script-src 'self'; style-src {style}; img-src 'self' data:; "
            f"connect-src 'self'{' ' + ws if ws else ''}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
    }


def status_labels(app: web.Application) -> Dict[str, str]:
    """A ticket status in the agents' words (the catalog's statuses.*.for_agents)."""
    catalog = app[CONFIG_KEY].catalog()
    return catalog.status_labels("for_agents") if catalog is not None else {status: status for status in STATUSES}


def render_page(request: web.Request, *, page: str, title: str, main: str, ticket_id: str = "") -> web.Response:
    """A signed-in page: the shell (page.html) around `main`. What console.js needs from the
    catalog (status wording, calls per callback) rides on <body> as data attributes."""
    session = CURRENT_SESSION.get()
    app = request.app
    body = template("page.html").substitute(
        title=html.escape(title), page=page, ticket_id=html.escape(ticket_id), csrf=html.escape(session.csrf),
        user=html.escape(session.name), role=html.escape(session.role), main=main,
        calls_enabled="true" if app[CONSOLE_KEY].calls_enabled else "false",
        status_labels=html.escape(json.dumps(status_labels(app))),
        callback_attempts=callback_max_attempts(app[CONFIG_KEY].catalog()),
        nav_queue=' aria-current="page"' if page == "queue" else "",
        nav_callbacks=' aria-current="page"' if page == "callbacks" else "",
        nav_tickets=' aria-current="page"' if page == "tickets" else "",
    )
    return web.Response(text=body, headers=page_headers(request))


def not_found(request: web.Request, message: str) -> web.Response:
    main = f'<section class="panel"><h1>Not found</h1><p>{html.escape(message)}</p><p><a href="/console">Back to the queue</a></p></section>'
    response = render_page(request, page="missing", title="Not found", main=main)
    response.set_status(404)
    return response
