"""The ticket document: the agent-side contract (field names are fixed, see README)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, Optional

from bot import clock
from bot.settings import DEFAULT_REDIS_KEY_PREFIX


class Status:
    """A ticket's status (the fixed enum of the contract)."""
    OPEN = "open"
    HANDED_OFF = "handed_off"
    RESOLVED = "resolved"
    CLOSED = "closed"


STATUSES = (Status.OPEN, Status.HANDED_OFF, Status.RESOLVED, Status.CLOSED)


class CallbackState:
    """ticket["callback"]["status"]: where the second-explanation callback stands."""
    NOT_OFFERED = "not_offered"
    OFFERED = "offered"
    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"
    CANCELLED = "cancelled"


CALLBACK_STATES = (CallbackState.NOT_OFFERED, CallbackState.OFFERED, CallbackState.OPTED_IN,
                   CallbackState.OPTED_OUT, CallbackState.CANCELLED)


class HistoryAction:
    """ticket["history"][i]["action"]: what happened to a ticket, in order."""
    # written by the action server (the customer, or the assistant itself)
    HANDED_OFF = "handed_off"
    ADDED_COMPLAINT = "added_complaint"
    CALLBACK_CANCELLED = "callback_cancelled"
    CONTACT_GIVEN = "contact_given"
    OWNERSHIP_CONFIRMED = "ownership_confirmed"
    REJECTED_EXPLANATION = "rejected_explanation"
    CATEGORY_CHOSEN = "category_chosen"        # the customer picked it when the assistant asked
    CATEGORY_CORRECTED = "category_corrected"  # the customer changed the one understood
    ADDED_BY_CUSTOMER = "added_by_customer"    # written after the record; the note is what they wrote
    FACT_CORRECTED = "fact_corrected"          # a recorded fact corrected after the record: "name: old -> new"
    STAYED_WITH_ASSISTANT = "stayed_with_assistant"  # a hand-off the customer took back before a person replied
    WITHDRAWN = "withdrawn"                    # closed: the customer said nothing had gone wrong (the note is what they wrote)
    # by an agent (the agent service)
    CLAIMED = "claimed"
    RESOLVED = "resolved"
    HANDED_BACK = "handed_back"
    NOTE = "note"
    CALLBACK_CALL_STARTED = "callback_call_started"

    @staticmethod
    def callback_outcome(outcome: str) -> str:
        """A specialist's recorded outcome (one of CALLBACK_OUTCOMES): "callback_no_answer"."""
        if outcome not in CALLBACK_OUTCOMES:
            raise ValueError(f"unknown callback outcome {outcome!r} (the contract's: {list(CALLBACK_OUTCOMES)})")
        return f"callback_{outcome}"


class Actor:
    """ticket["history"][i]["by"] when it isn't an agent (then it is the agent's name)."""
    CUSTOMER = "customer"
    ASSISTANT = "assistant"


# The key facts of the contract, in the order they are asked and read back.
FACT_NAMES = ("order_id", "purchase_date", "amount", "product")


class Emotion:
    """ticket["emotion"]["label"]: the strongest the customer showed (docs/design.md#precise-facts)."""
    CALM = "calm"
    FRUSTRATED = "frustrated"
    ANGRY = "angry"
    DISTRESSED = "distressed"


EMOTIONS = (Emotion.CALM, Emotion.FRUSTRATED, Emotion.ANGRY, Emotion.DISTRESSED)  # mildest first


class RiskFlag:
    """ticket["risk_flags"]: what raises the priority, or hands off at once (docs/design.md#tracking)."""
    REGULATOR = "regulator"
    MEDIA = "media"
    LEGAL = "legal"
    ABUSIVE_LANGUAGE = "abusive_language"
    REPEAT_COMPLAINT = "repeat_complaint"
    # A product that caught fire, sparked, gave a shock or hurt someone: safety advice first,
    # a person at once, P1 (docs/design.md#tracking).
    SAFETY = "safety"


RISK_FLAGS = (RiskFlag.REGULATOR, RiskFlag.MEDIA, RiskFlag.LEGAL, RiskFlag.ABUSIVE_LANGUAGE, RiskFlag.REPEAT_COMPLAINT,
              RiskFlag.SAFETY)
# ticket["style_hint"]: how the customer writes, for the agent (docs/design.md#precise-facts).
# The catalog's cue lists and weights name emotions, risk flags and styles: they are checked
# against these (bot/catalog_validation.py), so a misspelt one can't switch a rule off.
STYLES = ("analytical", "assertive", "expressive", "reserved")
# Where both backends keep their keys in Redis (tickets, rate limits, hub channels);
# REDIS_KEY_PREFIX overrides it (bot/settings.py).
DEFAULT_KEY_PREFIX = DEFAULT_REDIS_KEY_PREFIX


class CallbackOutcome:
    """What a specialist records on an opted-in callback (kept apart from the fixed status enum)."""
    DONE = "done"
    NO_ANSWER = "no_answer"
    CANCELLED = "cancelled"


CALLBACK_OUTCOMES = (CallbackOutcome.DONE, CallbackOutcome.NO_ANSWER, CallbackOutcome.CANCELLED)
# Outcomes that end a callback (a no_answer is tried again while attempts remain).
FINAL_CALLBACK_OUTCOMES = (CallbackOutcome.DONE, CallbackOutcome.CANCELLED)


class Channel:
    """ticket["channel"]: where the customer reached us."""
    WEB = "web"
    VOICE = "voice"
    REST = "rest"


CHANNELS = (Channel.WEB, Channel.VOICE, Channel.REST)
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
        "status": Status.OPEN,
        "category": None,
        "sub_reason": None,
        "customer_demand": None,
        "facts": dict.fromkeys(FACT_NAMES),
        "facts_confirmed": False,
        # Days tied to what happened besides buying ("arrived", "broke", "rang"): actions/ticketing.py.
        "dates_mentioned": [],
        # The customer's other references ("repair", "R-55821"), as given: actions/ticketing.py.
        "references_mentioned": [],
        "disclosures": [],
        "remedy": {"offered": [], "chosen": None},
        "emotion": {"label": Emotion.CALM, "score": 0.0},
        "risk_flags": [],
        "style_hint": None,
        "callback": {"status": CallbackState.NOT_OFFERED, "window": None, "decided_at": None},
        "priority": {"score": 0, "level": "P4", "reasons": []},
        "exemption_evidence": False,
        "transcript": [],
        # Beyond the fixed contract: who the customer is, and what agents did.
        "customer": {"phone": None, "email": None},
        "assignee": None,
        "history": [],
    }


def record(ticket: Dict[str, Any], by: str, action: str, note: Optional[str] = None,
           at: Optional[datetime] = None) -> Dict[str, Any]:
    """Append one step to the ticket's history (who, what, when) and return the entry."""
    entry = {"at": iso(at), "by": by, "action": action, "note": note}
    ticket.setdefault("history", []).append(entry)
    return entry


def check(ticket: Dict[str, Any]) -> None:
    """ValueError unless the ticket's status and callback status are the contract's: a
    misspelt one would drop the ticket from the agents' queue or the specialists' list."""
    status = ticket.get("status")
    if status is not None and status not in STATUSES:
        raise ValueError(f"ticket {ticket.get('ticket_id')}: unknown status {status!r} (the contract's: {list(STATUSES)})")
    callback = (ticket.get("callback") or {}).get("status")
    if callback is not None and callback not in CALLBACK_STATES:
        raise ValueError(f"ticket {ticket.get('ticket_id')}: unknown callback status {callback!r} "
                         f"(the contract's: {list(CALLBACK_STATES)})")


def issue_key(ticket: Dict[str, Any]) -> str:
    """What makes two complaints 'the same issue' for the callback limit (docs/design.md#second-explanation)."""
    facts = ticket.get("facts") or {}
    who = (ticket.get("customer") or {}).get("phone") or ticket.get("conversation_id")
    what = facts.get("order_id") or ticket.get("category") or "unknown"
    return f"{what}|{who}" if not facts.get("order_id") else str(what)
