"""Tickets and sockets for the console's in-process tests (tests/unit/test_console_*.py) and
the outbox fault test: a handed-off ticket, an opted-in callback, the next socket message."""
from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any, Dict

from bot.tickets.model import iso, new_ticket, utcnow
from tests.support.console_sign_in import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}
CONVERSATION = "0c4b7f0e-2a55-4d0c-9a53-7c8f3b2d1e6a"
CUSTOMER_PHONE = "+442079460958"


# A handed-off conversation (paused), with what the customer and the assistant said.
HANDED_OFF_HISTORY = [
    {"event": "user", "text": "my fridge broke and you refuse to repair it", "timestamp": 1700000000.0},
    {"event": "bot", "text": "I'm sorry to hear that.", "timestamp": 1700000001.0, "data": {}, "metadata": {}},
]


def handed_off(ticket_id: str, *, conversation_id: str = CONVERSATION, score: int = 40, channel: str = "web",
               minutes_ago: int = 1, **extra) -> Dict[str, Any]:
    at = utcnow() - timedelta(minutes=minutes_ago)
    doc = new_ticket(ticket_id, conversation_id, channel, now=at)
    doc.update({
        "status": "handed_off", "category": "repair_warranty", "sub_reason": "warranty_claim",
        "customer_demand": "I want my fridge fixed for free", "style_hint": "assertive",
        "emotion": {"label": "angry", "score": 0.82}, "risk_flags": ["legal"],
        "priority": {"score": score, "level": "P2" if score >= 45 else "P3", "reasons": ["urgency 0.7"]},
        "facts": {"order_id": None, "purchase_date": "2023-01-10", "amount": None, "product": "bosch fridge"},
        "facts_confirmed": True,
        "disclosures": [{"policy_id": "REP-OUT-OF-WARRANTY.cannot", "text": "We can't repair it free of charge.", "at": iso(at)}],
        "remedy": {"offered": ["paid_repair_quote", "trade_in_discount"], "chosen": None},
        "history": [{"at": iso(at), "by": "assistant", "action": "handed_off", "note": "customer asked for a person"}],
    })
    doc.update(extra)
    return doc


def opted_in(ticket_id: str, start: datetime, **extra) -> Dict[str, Any]:
    doc = new_ticket(ticket_id, f"conv-{ticket_id}", "web")
    doc["customer"]["phone"] = CUSTOMER_PHONE
    doc["category"] = "repair_warranty"
    doc["callback"] = {"status": "opted_in", "decided_at": iso(),
                       "window": {"start": iso(start), "end": iso(start + timedelta(hours=2))}}
    doc.update(extra)
    return doc


async def next_of(ws, kind: str, predicate=lambda m: True, timeout: float = 5.0) -> Dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        message = await ws.receive_json(timeout=max(0.05, deadline - time.monotonic()))
        if message.get("type") == kind and predicate(message):
            return message
