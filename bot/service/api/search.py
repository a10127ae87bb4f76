"""``GET /api/tickets/search``: the agents' ticket list (bearer token or console session).

Query (all optional): ``q`` (a reference, order number, phone number or e-mail as the
customer quotes it, or words from the demand, transcript or notes), ``status``,
``category``, ``channel``, ``from`` / ``to`` (``YYYY-MM-DD``, creation day in the business's
timezone, both inclusive), ``page`` (from 1), ``per_page`` (1-100, default 25). Newest first.
A bad value is a 400 naming it. The match itself is ``bot.tickets.store.search_matches``.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Dict, Optional, Tuple

from aiohttp import web

from bot.service.middlewares import ApiError
from bot.service.typedefs import CONFIG_KEY, STORE_KEY
from bot.tickets.model import STATUSES
from bot.tickets.store import MAX_SEARCH_PAGE, TicketSearch

MAX_QUERY_LEN = 200
MAX_PAGE = 1000
DEFAULT_PER_PAGE = 25
_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")


def _number(query, name: str, default: int, high: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[0-9]{1,7}", raw) or not 1 <= int(raw) <= high:
        raise ApiError(400, f"'{name}' must be an integer from 1 to {high}")
    return int(raw)


def _day(query, name: str) -> Optional[date]:
    raw = (query.get(name) or "").strip()
    if not raw:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, f"'{name}' must be a date like 2026-11-22, not {raw[:40]!r}") from None


def _code(query, name: str, allowed) -> Optional[str]:
    raw = (query.get(name) or "").strip()
    if not raw:
        return None
    if not _CODE.fullmatch(raw) or (allowed is not None and raw not in allowed):
        expected = f"; expected one of {sorted(allowed)}" if allowed is not None else ""
        raise ApiError(400, f"unknown {name} {raw[:40]!r}{expected}")
    return raw


def parse_search(request: web.Request) -> Tuple[TicketSearch, int, int]:
    """The validated search, the page and the page size."""
    query = request.query
    # The catalog's categories, and the timezone a "day" is counted in.
    catalog = request.app[CONFIG_KEY].catalog()
    text = " ".join((query.get("q") or "").split())
    if len(text) > MAX_QUERY_LEN:
        raise ApiError(400, f"'q' is longer than {MAX_QUERY_LEN} characters")
    status = _code(query, "status", STATUSES)
    category = _code(query, "category", set(catalog.categories) if catalog is not None else None)
    channel = _code(query, "channel", None)  # web, voice, or a Rasa channel's name
    first, last = _day(query, "from"), _day(query, "to")
    if first and last and first > last:
        raise ApiError(400, "'from' is after 'to'")
    tz = catalog.tz if catalog is not None else timezone.utc

    def start_of(day: Optional[date]) -> Optional[float]:
        return datetime.combine(day, time(0), tz).timestamp() if day else None

    page = _number(query, "page", 1, MAX_PAGE)
    per_page = _number(query, "per_page", DEFAULT_PER_PAGE, MAX_SEARCH_PAGE)
    search = TicketSearch(
        text=text or None, status=status, category=category, channel=channel,
        created_from=start_of(first), created_to=start_of(last + timedelta(days=1)) if last else None,
        offset=(page - 1) * per_page, limit=per_page,
    )
    return search, page, per_page


async def search_tickets(request: web.Request) -> web.Response:
    search, page, per_page = parse_search(request)
    found: Dict[str, Any] = await request.app[STORE_KEY].search(search)
    return web.json_response({
        "tickets": found["tickets"], "total": found["total"], "page": page, "per_page": per_page,
        "pages": max(1, -(-found["total"] // per_page)), "truncated": found["truncated"],
    })
