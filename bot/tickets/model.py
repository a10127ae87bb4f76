"""The ticket document: the agent-side contract (field names are fixed, see README)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, Optional

from bot import clock

STATUSES = ("open", "handed_off", "resolved", "closed")
CALLBACK_STATUSES = ("not_offered", "offered", "opted_in", "opted_out", "cancelled")
# Outcomes a specialist records on an opted-in callback (kept apart from the fixed status enum).
CALLBACK_OUTCOMES = ("done", "no_answer", "cancelled")
# A key fact the customer said they don't have ("I bought it in store, no order number"):
# the slot holds this so the question isn't asked again; the ticket keeps null and lists
# the fact under facts_unavailable.
FACT_UNAVAILABLE = "unavailable"


def utcnow() -> datetime:
    return clock.now()


def iso(moment: Optional[datetime] = None) -> str:
    return (moment or utcnow()).astimezone(timezone.utc).isoformat(timespec="seconds")


def new_ticket(ticket_id: str, conversation_id: str, channel: str, now: Optional[datetime] = None) -> Dict[str, Any]:
    stamp = iso(now)
    return {
        "ticket_id": ticket_id,
        "conversation_id": conversation_id,
        "channel": channel,
        "created_at": stamp,
        "updated_at": stamp,
        "status": "open",
        "category": None,
        "sub_reason": None,
        "customer_demand": None,
        "facts": {"order_id": None, "purchase_date": None, "amount": None, "product": None},
        "facts_confirmed": False,
        "disclosures": [],
        "remedy": {"offered": [], "chosen": None},
        "emotion": {"label": "calm", "score": 0.0},
        "risk_flags": [],
        "style_hint": None,
        "callback": {"status": "not_offered", "window": None, "decided_at": None},
        "priority": {"score": 0, "level": "P4", "reasons": []},
        "exemption_evidence": False,
        "transcript": [],
        # Beyond the fixed contract: who the customer is, and what agents did.
        "customer": {"phone": None, "email": None},
        "assignee": None,
        "history": [],
    }


def issue_key(ticket: Dict[str, Any]) -> str:
    """What makes two complaints 'the same issue' for the callback limit (docs/design.md#second-explanation)."""
    facts = ticket.get("facts") or {}
    who = (ticket.get("customer") or {}).get("phone") or ticket.get("conversation_id")
    what = facts.get("order_id") or ticket.get("category") or "unknown"
    return f"{what}|{who}" if not facts.get("order_id") else str(what)
