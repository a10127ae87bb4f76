"""The storage contract both backends implement, plus the pure helpers they share.

Backends keep the whole ticket as one JSON document and index a handful of
derived values; `index_fields` is the single place those values are derived,
so SQLite and Redis cannot disagree about what "open callback" or "issue key" means.
"""
from __future__ import annotations

import abc
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from bot.tickets.model import issue_key

# Outcomes after which a callback no longer belongs on the specialists' list.
FINAL_CALLBACK_OUTCOMES = ("done", "cancelled")


class TicketStore(abc.ABC):
    """Async ticket storage. Documents go in and come out as plain JSON-able dicts."""

    def __init__(self, prefix: str = "C-") -> None:
        self.prefix = prefix

    @abc.abstractmethod
    async def next_ticket_id(self, now: datetime) -> str:
        """'C-YYYYMMDD-NNNN': per-UTC-day counter from 0001, unique across processes."""

    @abc.abstractmethod
    async def save(self, ticket: Dict[str, Any]) -> Dict[str, Any]:
        """Upsert the whole document by ticket_id; sets updated_at to now and returns it."""

    @abc.abstractmethod
    async def get(self, ticket_id: str) -> Optional[Dict[str, Any]]:
        ...

    @abc.abstractmethod
    async def find(
        self, conversation_id: Optional[str] = None, status: Optional[str] = None, limit: int = 100
    ) -> List[Dict[str, Any]]:
        """Newest created first."""

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
        return f"{self.prefix}{day_of(now)}-{number:04d}"


def day_of(now: datetime) -> str:
    # Naive datetimes are taken as UTC so a server in another zone can't shift the day.
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc).strftime("%Y%m%d")


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
        "callback_pending": callback_status == "opted_in" and outcome not in FINAL_CALLBACK_OUTCOMES
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

