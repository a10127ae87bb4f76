"""The console's pages (server-rendered shells that console.js fills from /api and the live
socket) and its static files."""
from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Iterable, List, Optional, Tuple

from aiohttp import web

from bot.catalog import Catalog
from bot.service.browser import static_files
from bot.service.console.login_sessions import Session
from bot.service.console.rendering import STATIC_DIR, not_found, render_page, status_labels, template
from bot.service.middlewares import CURRENT_SESSION, ApiError
from bot.service.request_input import ticket_id_param
from bot.service.typedefs import CONFIG_KEY, CONSOLE_KEY, STORE_KEY
from bot.tickets.ids import TicketIdFormat
from bot.tickets.model import Channel

_CALL_SID = re.compile(r"[A-Za-z0-9]{2,64}")
CHANNELS = ((Channel.WEB, "Web chat"), (Channel.VOICE, "Phone"), (Channel.REST, "REST"))  # ticket channels, as console.js names them

static_file = static_files(STATIC_DIR, {"console.js": "application/javascript", "console.css": "text/css"})


async def home(request: web.Request) -> web.Response:
    return render_page(request, page="queue", title="Hand-off queue", main=template("queue.html").substitute())


async def home_slash(request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently(location="/console")


async def ticket_page(request: web.Request) -> web.Response:
    try:
        ticket_id = ticket_id_param(request)
    except ApiError:
        raise web.HTTPNotFound(text="no such ticket") from None
    if await request.app[STORE_KEY].get(ticket_id) is None:
        return not_found(request, f"There is no ticket {ticket_id}.")
    main = template("ticket.html").substitute(ticket_id=html.escape(ticket_id))
    return render_page(request, page="ticket", title=ticket_id, main=main, ticket_id=ticket_id)


async def call_page(request: web.Request) -> web.Response:
    """A transferred call's CallSid (what the agent's phone or Flex shows) -> its ticket."""
    call_sid = request.match_info["call_sid"]
    if not _CALL_SID.fullmatch(call_sid):
        return not_found(request, "That is not a call id.")
    tickets = await request.app[STORE_KEY].find(conversation_id=call_sid, limit=1)
    if not tickets:
        return not_found(request, f"No ticket belongs to call {call_sid} (yet).")
    raise web.HTTPFound(location=f"/console/tickets/{tickets[0]['ticket_id']}")


async def callbacks_page(request: web.Request) -> web.Response:
    session: Session = CURRENT_SESSION.get()  # type: ignore[assignment]
    reason = calls_unavailable(request.app[CONSOLE_KEY], session)
    notice = (f'<p class="notice" id="calls-unavailable" role="note">{html.escape(reason)}</p>' if reason else "")
    return render_page(request, page="callbacks", title="Callbacks",
                       main=template("callbacks.html").substitute(calls_notice=notice))


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


def _options(pairs: Iterable[Tuple[str, str]]) -> str:
    return "".join(f'<option value="{html.escape(v)}">{html.escape(label)}</option>' for v, label in pairs)


def _search_examples(ticket_ids: TicketIdFormat, catalog: Optional[Catalog]) -> List[str]:
    """What the search box's placeholder offers: references and order numbers as this business writes them."""
    order = ((catalog.business.get("order_id") or {}).get("example") if catalog is not None else None)
    return [ticket_ids.make(datetime(2026, 11, 22), 7), *([order] if order else []), "07700 900123", "broken fridge"]


async def tickets_page(request: web.Request) -> web.Response:
    """All tickets, searchable (reference, order, phone, e-mail, words) and filtered; the
    results come from GET /api/tickets/search (bot.service.api.search)."""
    config = request.app[CONFIG_KEY]
    catalog = config.catalog()
    categories = sorted(((code, (cat or {}).get("label") or code) for code, cat in (catalog.categories.items() if catalog else ())),
                        key=lambda item: item[1].lower())
    main = template("tickets.html").substitute(
        status_options=_options(status_labels(request.app).items()),
        category_options=_options(categories),
        channel_options=_options(CHANNELS),
        search_examples=html.escape(", ".join(_search_examples(config.ticket_ids, catalog))),
    )
    return render_page(request, page="tickets", title="Tickets", main=main)
