"""Builds the ticket (the agent-side contract) from the conversation.

The Rasa tracker is the source of truth for what was said; slots hold the facts
and choices; the ticket is the snapshot an agent reads. `sync_ticket` derives
every field from those, so any action can persist an up-to-date ticket.
"""
from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Dict, Iterable, List, Optional

from rasa_sdk import Tracker

from bot.privacy import mask_secrets
from bot.tickets.model import iso, new_ticket
from actions import context
from actions.priority import assess_priority
from actions.signals import overall_emotion, risk_flags, style_hint

CHANNELS = {"twilio_ivr": "voice", "socketio": "web", "webchat": "web"}
MAX_TEXT = 2000  # a 10 KB message is kept in the tracker, not pasted into an agent's screen


def latest_metadata(tracker: Tracker) -> Dict[str, Any]:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return event.get("metadata") or {}
    return {}


def channel_of(tracker: Tracker) -> str:
    meta = latest_metadata(tracker)
    if meta.get("channel") in ("web", "voice"):
        return meta["channel"]
    name = tracker.get_latest_input_channel() or "rest"
    return CHANNELS.get(name, name)


def channel_phone(tracker: Tracker) -> Optional[str]:
    """The number the channel itself vouches for (the caller on the phone)."""
    for event in tracker.events:
        if event.get("event") == "user":
            meta = event.get("metadata") or {}
            if meta.get("caller"):
                return meta["caller"]
    return None


def caller_phone(tracker: Tracker) -> Optional[str]:
    return tracker.get_slot("callback_phone") or channel_phone(tracker)


def _since_complaint(tracker: Tracker) -> List[Dict[str, Any]]:
    """Events of the current complaint: from the latest complaint start on."""
    events = tracker.events
    start = 0
    for index, event in enumerate(events):
        if event.get("event") == "action" and event.get("name") == "action_start_complaint":
            # the customer's complaint message just before belongs to it
            start = index
            while start > 0 and events[start - 1].get("event") != "user":
                start -= 1
            start = max(0, start - 1)
    return events[start:]


def complaint_began_earlier(tracker: Tracker) -> bool:
    """The complaint started in an earlier Rasa session of this conversation (a long
    conversation starts new sessions, bot/sessions.py): the action server sees only the
    current one, so what was said before is on the ticket, not in this tracker."""
    return not any(
        e.get("event") == "action" and e.get("name") == "action_start_complaint" for e in tracker.events
    )


def _earlier_lines(ticket: Dict[str, Any], tracker: Tracker) -> List[Dict[str, Any]]:
    """Transcript lines the ticket holds from before this session."""
    if not complaint_began_earlier(tracker) or not ticket.get("transcript"):
        return []
    first = next((e["timestamp"] for e in tracker.events if e.get("timestamp")), None)
    if first is None:
        return list(ticket["transcript"])
    return [line for line in ticket["transcript"] if line.get("ts", 0) < first]


def _button_title(text: str, last_buttons: List[Dict[str, Any]]) -> str:
    for button in last_buttons or []:
        if button.get("payload") == text:
            return button.get("title") or text
    return text


def transcript(tracker: Tracker, said_now: Iterable[str] = ()) -> List[Dict[str, Any]]:
    lines: List[Dict[str, Any]] = []
    last_buttons: List[Dict[str, Any]] = []
    for event in _since_complaint(tracker):
        kind = event.get("event")
        # `ts` (the event's own time) tells this session's lines from earlier ones exactly.
        ts = event.get("timestamp") or time.time()
        at = iso(datetime.fromtimestamp(ts))
        if kind == "user":
            text = _button_title(event.get("text") or "", last_buttons)
            lines.append({"role": "customer", "text": mask_secrets(text)[:MAX_TEXT], "at": at, "ts": ts})
        elif kind == "bot" and event.get("text"):
            role = "agent" if (event.get("metadata") or {}).get("agent") else "bot"
            lines.append({"role": role, "text": mask_secrets(event["text"]), "at": at, "ts": ts})
            last_buttons = (event.get("data") or {}).get("buttons") or []
    for text in said_now:
        lines.append({"role": "bot", "text": text, "at": iso(), "ts": time.time()})
    return lines


def customer_texts(tracker: Tracker) -> List[str]:
    return [
        e.get("text") or "" for e in _since_complaint(tracker)
        if e.get("event") == "user" and not (e.get("text") or "").startswith("/")
    ]


def facts_from_slots(tracker: Tracker) -> Dict[str, Any]:
    return {name: tracker.get_slot(name) for name in ("order_id", "purchase_date", "amount", "product")}


async def load_or_create(tracker: Tracker) -> Dict[str, Any]:
    store = await context.ticket_store()
    ticket_id = tracker.get_slot("ticket_id")
    ticket = await store.get(ticket_id) if ticket_id else None
    if ticket is None:
        ticket_id = await store.next_ticket_id(context.now())
        ticket = new_ticket(ticket_id, tracker.sender_id, channel_of(tracker), context.now())
    return ticket


def sync_ticket(ticket: Dict[str, Any], tracker: Tracker, said_now: Iterable[str] = ()) -> Dict[str, Any]:
    """Derive every conversation-backed field of the ticket from the tracker."""
    cat = context.catalog()
    signals = cat.data.get("signals", {})
    earlier = _earlier_lines(ticket, tracker)
    texts = [line["text"] for line in earlier if line.get("role") == "customer"] + customer_texts(tracker)

    ticket["category"] = tracker.get_slot("category") or ticket.get("category")
    ticket["sub_reason"] = tracker.get_slot("sub_reason") or ticket.get("sub_reason")
    demand = tracker.get_slot("customer_demand")
    if demand:
        ticket["customer_demand"] = mask_secrets(demand)[:MAX_TEXT]
    ticket["facts"] = facts_from_slots(tracker)
    ticket["facts_confirmed"] = tracker.get_slot("facts_confirmed") is True
    ticket["remedy"]["chosen"] = _remedy_chosen(tracker.get_slot("remedy_choice"))
    phone = caller_phone(tracker)
    if phone:
        ticket["customer"]["phone"] = phone

    ticket["emotion"] = overall_emotion(texts, signals)
    flags = set(risk_flags(texts, signals)) | {f for f in ticket.get("risk_flags", []) if f == "repeat_complaint"}
    ticket["risk_flags"] = sorted(flags)
    ticket["style_hint"] = style_hint(texts, signals.get("style", {}))

    rejected = tracker.get_slot("explanation_response") == "rejected"
    said_cannot = any(d["policy_id"].endswith(".cannot") for d in ticket.get("disclosures", []))
    ticket["exemption_evidence"] = bool(rejected and said_cannot)

    choice = tracker.get_slot("callback_choice")
    callback = ticket["callback"]
    if choice in ("opted_in", "opted_out") and callback.get("status") != "cancelled":
        callback["status"] = choice
        callback["decided_at"] = tracker.get_slot("callback_decided_at") or callback.get("decided_at")
        callback["window"] = tracker.get_slot("callback_window") if choice == "opted_in" else None

    whitelisted = cat.is_whitelisted(ticket["customer"].get("phone"), ticket["customer"].get("email"))
    ticket["priority"] = assess_priority(ticket, cat, whitelisted)
    ticket["transcript"] = earlier + transcript(tracker, said_now)
    return ticket


def _remedy_chosen(value: Optional[str]) -> Optional[str]:
    return None if value in (None, "none") else value


def record_disclosures(ticket: Dict[str, Any], statements) -> List[str]:
    """Add statements not yet on the ticket; return the texts newly said."""
    known = {d["policy_id"] for d in ticket["disclosures"]}
    said = []
    for statement in statements:
        if statement.policy_id in known:
            continue
        ticket["disclosures"].append({"policy_id": statement.policy_id, "text": statement.text, "at": iso()})
        said.append(statement)
    return said


async def save(ticket: Dict[str, Any]) -> Dict[str, Any]:
    store = await context.ticket_store()
    return await store.save(ticket)
