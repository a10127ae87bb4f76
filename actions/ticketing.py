"""Builds the ticket (the agent-side contract) from the conversation.

The Rasa tracker is the source of truth for what was said; slots hold the facts
and choices; the ticket is the snapshot an agent reads. `sync_ticket` derives
every field from those, so any action can persist an up-to-date ticket.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any, Dict, Iterable, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from bot.catalog import NO_REMEDY_ID, Statement
from bot.privacy import mask_secrets
from bot.tickets.model import FACT_NAMES, FACT_UNAVAILABLE, Actor, CallbackState, Channel, HistoryAction, RiskFlag, iso, new_ticket, record
from actions import context
from actions.parsing import dated_events, other_references
from actions.priority import assess_priority
from actions.signals import overall_emotion, risk_flags, style_hint

logger = logging.getLogger(__name__)

CHANNELS = {"twilio_ivr": Channel.VOICE, "socketio": Channel.WEB, "webchat": Channel.WEB}
# The tickets another conversation proved are its own (actions/ticket_proof.py).
VERIFIED_SLOT = "verified_tickets"
# A customer's words on the ticket (customer_demand, transcript lines): as much as the web chat
# sends in one message (bot/service/webchat/customer_api.py MAX_MESSAGE_CHARS), so the whole complaint reaches
# the agent; anything longer is cut there and the customer is told.
MAX_TEXT = 10_000


def latest_metadata(tracker: Tracker) -> Dict[str, Any]:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return event.get("metadata") or {}
    return {}


def channel_of(tracker: Tracker) -> str:
    meta = latest_metadata(tracker)
    if meta.get("channel") in (Channel.WEB, Channel.VOICE):
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
    conversation starts new sessions, bot/rasa_ext/patches/session_expiry.py): the action server sees only the
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
    """The key facts as the ticket records them: a fact the customer doesn't have is null
    (and listed by unavailable_facts), never the slot's marker. An amount is recorded with
    the currency the customer gave it in (the catalog's when unsaid)."""
    facts = {name: (None if tracker.get_slot(name) == FACT_UNAVAILABLE else tracker.get_slot(name)) for name in FACT_NAMES}
    if facts["amount"] is not None:
        facts["currency"] = tracker.get_slot("amount_currency") or context.catalog().currency
    return facts


# The days a complaint is dated by are few; a long rant's every "yesterday" is not wanted.
MAX_DATES_MENTIONED = 10
MAX_REFERENCES_MENTIONED = 10


def dates_mentioned(ticket: Dict[str, Any], tracker: Tracker) -> List[Dict[str, str]]:
    """Beside the purchase date, the days the customer tied to what happened ({"date": ISO,
    "what": "arrived" | "broke" | "returned" | "rang" ...}), the first ones kept: a
    delivery's due day or a breakdown's is a key fact for the agent too (docs/design.md#precise-facts).
    Read from this session's messages, counted from today; earlier sessions' stay as recorded."""
    cat = context.catalog()
    today = context.today(cat)
    dates = [dict(d) for d in ticket.get("dates_mentioned") or []]
    for text in customer_texts(tracker):
        for day, what in dated_events(text, today):
            entry = {"date": day, "what": what}
            if entry not in dates:
                dates.append(entry)
    month = tracker.get_slot("purchase_month")
    if month and tracker.get_slot("purchase_date") == FACT_UNAVAILABLE:
        # "March 2025, I don't know the day": the month, as the customer gave it
        entry = {"date": month, "what": "bought (month only)"}
        if entry not in dates:
            dates.insert(0, entry)
    return dates[:MAX_DATES_MENTIONED]


def references_mentioned(ticket: Dict[str, Any], tracker: Tracker) -> List[Dict[str, str]]:
    """The customer's references besides the order number ({"what": "repair", "value":
    "R-55821"}, an invoice, a tracking number): the colleague looks the case up by them
    (role-play round 3: a repair reference and an invoice number were never recorded)."""
    found = [dict(r) for r in ticket.get("references_mentioned") or []]
    for text in customer_texts(tracker):
        for what, value in other_references(text):
            entry = {"what": what, "value": mask_secrets(value)}
            if entry not in found:
                found.append(entry)
    return found[:MAX_REFERENCES_MENTIONED]


def unavailable_facts(tracker: Tracker) -> List[str]:
    return [name for name in FACT_NAMES if tracker.get_slot(name) == FACT_UNAVAILABLE]


def verified_ids(tracker: Tracker) -> List[str]:
    return [str(t) for t in tracker.get_slot(VERIFIED_SLOT) or [] if t]


def may_act_on(ticket: Dict[str, Any], tracker: Tracker, rewrite: bool = False) -> bool:
    """The one ownership check of every action that loads or saves a ticket by id.

    A ticket belongs to the conversation that opened it. Another conversation (the customer
    phoned, and now writes in chat) may read it or cancel its callback once the customer
    proved it is theirs: that grant is in this conversation's slot AND on the ticket, because
    whoever posts to the action server writes every slot, but only a real proof writes the
    ticket. `rewrite`: the caller derives the ticket from this conversation (`sync_ticket`
    replaces its transcript), which only the conversation that opened it may do."""
    if ticket.get("conversation_id") == tracker.sender_id:
        return True
    if rewrite:
        return False
    return ticket.get("ticket_id") in verified_ids(tracker) and tracker.sender_id in (ticket.get("granted_conversations") or [])


async def owned_ticket(tracker: Tracker, ticket_id: Optional[str], rewrite: bool = False) -> Optional[Dict[str, Any]]:
    """The ticket, if this conversation may act on it; None for another's or a missing one,
    indistinguishably (the caller must not tell a customer which it was)."""
    if not ticket_id:
        return None
    store = await context.ticket_store()
    ticket = await store.get(ticket_id)
    if ticket is None:
        return None
    if not may_act_on(ticket, tracker, rewrite):
        logger.warning("ignoring ticket %s: this conversation may not act on it", ticket_id)
        return None
    return ticket


def grant(ticket: Dict[str, Any], tracker: Tracker, proof: str) -> List[EventType]:
    """Record on the ticket that this conversation proved it is the customer's (saved by the
    caller), and return the slot event that lets the conversation use it."""
    granted = ticket.setdefault("granted_conversations", [])
    if tracker.sender_id not in granted:
        granted.append(tracker.sender_id)
    record(ticket, Actor.CUSTOMER, HistoryAction.OWNERSHIP_CONFIRMED, f"from another conversation, with the {proof}")
    ids = verified_ids(tracker)
    return [SlotSet(VERIFIED_SLOT, ids + [ticket["ticket_id"]] if ticket["ticket_id"] not in ids else ids)]


async def load_or_create(tracker: Tracker) -> Dict[str, Any]:
    """This conversation's ticket, or a new one: a `ticket_id` slot naming a ticket of
    another conversation (a forged call to the action server) is ignored, never overwritten."""
    store = await context.ticket_store()
    ticket = await owned_ticket(tracker, tracker.get_slot("ticket_id"), rewrite=True)
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
    ticket["facts_unavailable"] = unavailable_facts(tracker)
    ticket["dates_mentioned"] = dates_mentioned(ticket, tracker)
    ticket["references_mentioned"] = references_mentioned(ticket, tracker)
    ticket["facts_confirmed"] = tracker.get_slot("facts_confirmed") is True
    ticket["remedy"]["chosen"] = _remedy_chosen(tracker.get_slot("remedy_choice"))
    phone = caller_phone(tracker)
    if phone:
        ticket["customer"]["phone"] = phone

    ticket["emotion"] = overall_emotion(texts, signals)
    # A repeat complaint stays one once known (an agent may have flagged it).
    flags = set(risk_flags(texts, signals)) | {f for f in ticket.get("risk_flags", []) if f == RiskFlag.REPEAT_COMPLAINT}
    ticket["risk_flags"] = sorted(flags)
    ticket["style_hint"] = style_hint(texts, signals.get("style", {}))

    rejected = tracker.get_slot("explanation_response") == "rejected"
    said_cannot = any(d["policy_id"].endswith(".cannot") for d in ticket.get("disclosures", []))
    ticket["exemption_evidence"] = bool(rejected and said_cannot)

    choice = tracker.get_slot("callback_choice")
    callback = ticket["callback"]
    if choice in (CallbackState.OPTED_IN, CallbackState.OPTED_OUT) and callback.get("status") != CallbackState.CANCELLED:
        callback["status"] = choice
        callback["decided_at"] = tracker.get_slot("callback_decided_at") or callback.get("decided_at")
        callback["window"] = tracker.get_slot("callback_window") if choice == CallbackState.OPTED_IN else None

    whitelisted = cat.is_whitelisted(ticket["customer"].get("phone"), ticket["customer"].get("email"))
    ticket["priority"] = assess_priority(ticket, cat, whitelisted)
    ticket["transcript"] = earlier + transcript(tracker, said_now)
    return ticket


def _remedy_chosen(value: Optional[str]) -> Optional[str]:
    return None if value in (None, NO_REMEDY_ID) else value


def record_disclosures(ticket: Dict[str, Any], statements: Iterable[Statement]) -> List[Statement]:
    """Add statements not yet on the ticket (one disclosure per policy_id, however often it
    is said); return the statements newly said."""
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
