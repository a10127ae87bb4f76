"""The storage contract both backends implement, plus the pure helpers they share.

Backends keep the whole ticket as one JSON document and index a handful of
derived values; `index_fields` is the single place those values are derived,
so SQLite and Redis cannot disagree about what "open callback" or "issue key" means.
"""
from __future__ import annotations

import abc
import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional

from bot.tickets.ids import TicketIdFormat, utc_day
from bot.tickets.model import FINAL_CALLBACK_OUTCOMES, CallbackState, issue_key

# Outcomes after which a callback no longer belongs on the specialists' list.


class TicketStore(abc.ABC):
    """Async ticket storage. Documents go in and come out as plain JSON-able dicts.

    `id_format`: how new references are built; pass the catalog's
    (`catalog.ticket_ids`), the contract's default is "C-" and 4 digits.
    `prefix` is a shorthand that changes only the format's prefix."""

    def __init__(self, id_format: Optional[TicketIdFormat] = None, prefix: Optional[str] = None) -> None:
        id_format = id_format or TicketIdFormat()
        self.id_format = replace(id_format, prefix=prefix) if prefix else id_format

    @abc.abstractmethod
    async def next_ticket_id(self, now: datetime) -> str:
        """prefix + YYYYMMDD + "-" + the per-UTC-day counter from 1 (zero-padded to the
        format's width), unique across processes."""

    @abc.abstractmethod
    async def save(self, ticket: Dict[str, Any]) -> Dict[str, Any]:
        """Upsert the whole document by ticket_id; sets updated_at to now and returns it.
        ValueError for a status or callback status outside the contract (model.check)."""

    @abc.abstractmethod
    async def get(self, ticket_id: str) -> Optional[Dict[str, Any]]:
        ...

    @abc.abstractmethod
    async def find(
        self, conversation_id: Optional[str] = None, status: Optional[str] = None, limit: int = 100
    ) -> List[Dict[str, Any]]:
        """Newest created first."""

    @abc.abstractmethod
    async def search(self, search: "TicketSearch") -> Dict[str, Any]:
        """The agents' ticket list: tickets matching `search` (see `search_matches`), newest
        created first, one page of them. Returns {"tickets": [...], "total": matches counted,
        "offset", "limit", "truncated": True if the scan stopped at MAX_SEARCH_SCAN documents}."""

    @abc.abstractmethod
    async def handoffs(self) -> List[Dict[str, Any]]:
        """status == handed_off; priority.score desc, then created_at asc."""

    @abc.abstractmethod
    async def callbacks(self) -> List[Dict[str, Any]]:
        """Opted-in callbacks still to do, earliest window start first (no window last)."""

    @abc.abstractmethod
    async def count_callbacks(self, issue_key: str, since: datetime) -> int:
        """Opted-in callbacks (any outcome) for this issue decided at or after `since`."""

    @abc.abstractmethod
    async def close(self) -> None:
        ...

    def format_id(self, now: datetime, number: int) -> str:
        return self.id_format.make(now, number)


# The day a ticket counter counts (bot/tickets/ids.py: the same day as in the reference).
day_of = utc_day


def to_ts(value: Any) -> Optional[float]:
    """Epoch seconds for a datetime or ISO string, None if absent or unparsable.

    Indexes order by number, not by the ISO text, because writers differ in
    'Z' vs '+00:00' and in sub-second precision, which breaks string ordering.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"  # fromisoformat on 3.10 rejects 'Z'
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def index_fields(ticket: Dict[str, Any]) -> Dict[str, Any]:
    """The derived values both backends index, computed from one document."""
    callback = ticket.get("callback") or {}
    window = callback.get("window") or {}
    priority = ticket.get("priority") or {}
    try:
        score = float(priority.get("score") or 0)
    except (TypeError, ValueError):
        score = 0.0
    callback_status = callback.get("status")
    outcome = callback.get("outcome")
    return {
        "ticket_id": ticket["ticket_id"],
        "conversation_id": ticket.get("conversation_id"),
        "status": ticket.get("status"),
        "priority_score": score,
        "callback_status": callback_status,
        "callback_outcome": outcome,
        # `closed`: a specialist gave up after the last unanswered attempt (outcome no_answer).
        "callback_pending": callback_status == CallbackState.OPTED_IN and outcome not in FINAL_CALLBACK_OUTCOMES
        and not callback.get("closed"),
        "callback_window_start": to_ts(window.get("start") if isinstance(window, dict) else None),
        "callback_decided_at": to_ts(callback.get("decided_at")),
        "issue_key": issue_key(ticket),
        "created_at": to_ts(ticket.get("created_at")),
        "updated_at": to_ts(ticket.get("updated_at")),
    }


def handoff_sort_key(ticket: Dict[str, Any]):
    fields = index_fields(ticket)
    return (-fields["priority_score"], fields["created_at"] or 0.0, fields["ticket_id"])


def callback_sort_key(ticket: Dict[str, Any]):
    start = index_fields(ticket)["callback_window_start"]
    return (start is None, start or 0.0, ticket["ticket_id"])



# -- the agents' ticket search (both backends) -----------------------------------------------
MAX_SEARCH_PAGE = 100      # tickets per page, at most
MAX_SEARCH_SCAN = 20_000   # documents examined per search, at most (then "truncated")


@dataclass(frozen=True)
class TicketSearch:
    """What an agent looks for. `text`: a reference, order number, phone number or e-mail as a
    customer quotes it, or words from the demand, transcript or notes. Dates are epoch seconds:
    created_from inclusive, created_to exclusive."""
    text: Optional[str] = None
    status: Optional[str] = None
    category: Optional[str] = None
    channel: Optional[str] = None
    created_from: Optional[float] = None
    created_to: Optional[float] = None
    offset: int = 0
    limit: int = 25


def _digits(value: Any) -> str:
    return re.sub(r"\D", "", value if isinstance(value, str) else "")


def _compact(value: Any) -> str:
    """'C 2026 1122 0007', 'c-20261122-0007' -> 'c202611220007'; 'ORD 4400918' -> 'ord4400918'."""
    return re.sub(r"[\s\-_./]", "", value.lower()) if isinstance(value, str) else ""


def _haystack(ticket: Dict[str, Any]) -> str:
    facts = ticket.get("facts") or {}
    customer = ticket.get("customer") or {}
    parts: List[Any] = [ticket.get("ticket_id"), ticket.get("customer_demand"), ticket.get("category"),
                        ticket.get("sub_reason"), customer.get("phone"), customer.get("email"),
                        *facts.values()]
    parts += [line.get("text") for line in ticket.get("transcript") or [] if isinstance(line, dict)]
    parts += [h.get("note") for h in ticket.get("history") or [] if isinstance(h, dict)]
    return "\n".join(str(p) for p in parts if p).lower()


def _quotes_identifier(ticket: Dict[str, Any], text: str) -> bool:
    """A reference, order number or phone number typed with other spacing or punctuation."""
    compact, digits = _compact(text), _digits(text)
    facts = ticket.get("facts") or {}
    ticket_id, order_id = _compact(ticket.get("ticket_id")), _compact(facts.get("order_id"))
    if len(compact) >= 6 and compact in ticket_id:
        return True
    if order_id and (compact == order_id or (len(digits) >= 5 and digits == _digits(order_id))):
        return True
    phone = _digits((ticket.get("customer") or {}).get("phone"))
    national = digits.lstrip("0")  # "07700 900123" is "+44 7700 900123"
    if phone and len(national) >= 6 and len(digits) >= len(compact) - 1 and phone.endswith(national):
        return True
    return False


def text_matches(ticket: Dict[str, Any], text: Optional[str]) -> bool:
    terms = (text or "").lower().split()
    if not terms:
        return True
    if _quotes_identifier(ticket, text or ""):
        return True
    haystack = _haystack(ticket)
    return all(term in haystack for term in terms)


def search_matches(ticket: Dict[str, Any], search: TicketSearch) -> bool:
    """The one definition of a match, so SQLite and Redis cannot disagree (each backend may
    narrow the candidates first, e.g. by status or creation time in an index)."""
    if search.status is not None and ticket.get("status") != search.status:
        return False
    if search.category is not None and ticket.get("category") != search.category:
        return False
    if search.channel is not None and ticket.get("channel") != search.channel:
        return False
    created = to_ts(ticket.get("created_at"))
    if search.created_from is not None and (created is None or created < search.created_from):
        return False
    if search.created_to is not None and (created is None or created >= search.created_to):
        return False
    return text_matches(ticket, search.text)


class SearchCollector:
    """Feeds on candidates newest first; keeps the requested page and counts the matches."""

    def __init__(self, search: TicketSearch) -> None:
        self.search = search
        self.limit = max(1, min(int(search.limit), MAX_SEARCH_PAGE))
        self.offset = max(0, int(search.offset))
        self.page: List[Dict[str, Any]] = []
        self.total = 0
        self.scanned = 0
        self.truncated = False

    def add(self, tickets: Iterable[Dict[str, Any]]) -> bool:
        """False once no more candidates should be read (the scan cap)."""
        for ticket in tickets:
            if self.scanned >= MAX_SEARCH_SCAN:
                self.truncated = True
                return False
            self.scanned += 1
            if not search_matches(ticket, self.search):
                continue
            if self.offset <= self.total < self.offset + self.limit:
                self.page.append(ticket)
            self.total += 1
        return True

    def result(self) -> Dict[str, Any]:
        return {"tickets": self.page, "total": self.total, "offset": self.offset, "limit": self.limit,
                "truncated": self.truncated}
