"""Prometheus metrics of the Rasa server, served at GET /metrics on the Rasa port.

Design: everything is measured in the Rasa server, around the one call every channel's
turn goes through (`Agent.handle_message`: the REST channel, the Twilio IVR and Socket.IO
alike). The business counters are derived from the events the turn saved to the tracker,
so they need nothing from the action server and count the same whichever action server
ran the actions:

- a hand-off     = a `ConversationPaused` event (labelled by the action that paused:
                   action_hand_off -> customer_request, action_handle_fallback ->
                   not_understood, action_start_complaint -> high_risk);
- a fallback     = `action_handle_fallback` ran;
- a callback offer = the complaint form asking for `callback_choice` (its requested slot
                   moving to it; the form's ask action leaves no event of its own);
- opted in / out = the slot `callback_choice` set to `opted_in` / `opted_out`;
- an error       = the turn raised, or logged an ERROR while it ran (an action server that
                   can't be reached, a tracker store that failed: Rasa logs these and
                   carries on, which would otherwise look like a normal turn).

With several Sanic workers in one Rasa server, /metrics reports the sum over the workers
(prometheus_client's multiprocess mode). With several Rasa servers each exposes its own
counts: sum them in Prometheus (`sum by (channel) (rate(complaints_turns_total[5m]))`).

The turn is seen through the hooks of bot/rasa_ext/patches/turn_hooks.py (installed by
every custom channel and tracker store), which fill a `Turn` and hand it to `observe_turn`;
GET /metrics is served by the REST channel (bot/rasa_ext/channels/rest.py).
"""
from __future__ import annotations

import contextvars
import hmac
import logging
import time
from dataclasses import dataclass, field
from typing import Any, List, Optional, Set, Tuple

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from rasa.shared.core.events import ActionExecuted, ConversationPaused, SlotSet, UserUttered

from bot.tickets.model import CallbackState

logger = logging.getLogger(__name__)

CHANNELS = {"rest", "twilio_ivr", "socketio"}
HANDOFF_TRIGGERS = {
    "action_hand_off": "customer_request",
    "action_handle_fallback": "not_understood",
    "action_start_complaint": "high_risk",
}
ERROR_KINDS = (  # logger prefix -> what failed; a failed turn is counted once, by the first
    ("rasa.core.actions", "action_server"),  # kind in this order that it logged
    ("rasa.core.tracker_store", "tracker_store"),
    ("rasa.core.lock_store", "lock_store"),
    ("rasa.core.processor", "action"),  # an action failed (its server answered an error)
)
KIND_ORDER = [kind for _, kind in ERROR_KINDS] + ["exception", "other"]

TURN_SECONDS = Histogram(
    "complaints_turn_duration_seconds",
    "Time the Rasa server took to answer one customer message, by channel.",
    ["channel"], buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
TURNS = Counter("complaints_turns", "Customer messages handled, by channel and outcome (ok | error).", ["channel", "outcome"])
ERRORS = Counter(
    "complaints_errors", "Turns that failed, by channel and what failed first "
    "(action_server | tracker_store | lock_store | action | exception | other).", ["channel", "kind"],
)
HANDOFFS = Counter("complaints_handoffs", "Conversations handed to a person, by channel and trigger.", ["channel", "trigger"])
FALLBACKS = Counter("complaints_fallbacks", "Customer messages the assistant could not understand.", ["channel"])
CALLBACK_OFFERS = Counter("complaints_callback_offers", "Second-explanation callbacks offered.", ["channel"])
CALLBACK_DECISIONS = Counter(
    "complaints_callback_decisions", "Customers' answers to a callback offer (opted_in | opted_out).", ["channel", "choice"],
)
REST_REJECTED = Counter(
    "complaints_rest_rejected", "REST requests refused before reaching the assistant, by reason.", ["reason"],
)


def channel_label(name: Optional[str]) -> str:
    return name if name in CHANNELS else "other"


@dataclass
class Turn:
    """One customer message while the Rasa server handles it."""

    channel: str
    started: float = field(default_factory=time.perf_counter)
    errors: List[str] = field(default_factory=list)  # "kind: message" of each ERROR logged
    tracker: Any = None  # the tracker as the turn saved it

    @property
    def failed(self) -> bool:
        return bool(self.errors)


CURRENT_TURN: contextvars.ContextVar[Optional[Turn]] = contextvars.ContextVar("complaints_turn", default=None)


def error_kind(logger_name: str) -> str:
    for prefix, kind in ERROR_KINDS:
        if logger_name.startswith(prefix):
            return kind
    return "other"


class TurnErrors(logging.Handler):
    """Notes every ERROR logged while a turn runs (in the turn's own task) on that turn."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        turn = CURRENT_TURN.get()
        if turn is not None:
            try:
                turn.errors.append(f"{error_kind(record.name)}: {record.getMessage()[:300]}")
            except Exception:
                turn.errors.append(f"{error_kind(record.name)}: (unformattable)")


def split_turn(tracker: Any) -> Tuple[List[Any], List[Any]]:
    """(events before the turn's user message, events after it)."""
    events = list(getattr(tracker, "events", []) or [])
    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], UserUttered):
            return events[:index], events[index + 1:]
    return [], events


CALLBACK_CHOICES = (CallbackState.OPTED_IN, CallbackState.OPTED_OUT)


def count_business_events(channel: str, tracker: Any) -> None:
    earlier, events = split_turn(tracker)
    # The form asks its questions inside its own action (no ActionExecuted of the ask action):
    # a callback offer is the form moving its requested slot to `callback_choice`.
    requested = next((e.value for e in reversed(earlier) if isinstance(e, SlotSet) and e.key == "requested_slot"), None)
    last_action = None
    for event in events:
        if isinstance(event, ActionExecuted):
            last_action = event.action_name
            if last_action == "action_handle_fallback":
                FALLBACKS.labels(channel).inc()
        elif isinstance(event, ConversationPaused):
            HANDOFFS.labels(channel, HANDOFF_TRIGGERS.get(last_action or "", last_action or "unknown")).inc()
        elif isinstance(event, SlotSet) and event.key == "requested_slot":
            if event.value == "callback_choice" and requested != "callback_choice":
                CALLBACK_OFFERS.labels(channel).inc()
            requested = event.value
        elif isinstance(event, SlotSet) and event.key == "callback_choice" and event.value in CALLBACK_CHOICES:
            CALLBACK_DECISIONS.labels(channel, event.value).inc()


def observe_turn(turn: Turn) -> None:
    try:
        TURN_SECONDS.labels(turn.channel).observe(time.perf_counter() - turn.started)
        TURNS.labels(turn.channel, "error" if turn.failed else "ok").inc()
        kinds: Set[str] = {entry.split(":", 1)[0] for entry in turn.errors}
        if kinds:
            ERRORS.labels(turn.channel, min(kinds, key=lambda k: KIND_ORDER.index(k) if k in KIND_ORDER else 99)).inc()
        if turn.tracker is not None:
            count_business_events(turn.channel, turn.tracker)
    except Exception:  # metrics never break a conversation
        logger.warning("could not record the metrics of a turn", exc_info=True)


def authorized(header: Optional[str], token: Optional[str]) -> bool:
    """Whether an `Authorization` header may read /metrics: `Bearer <METRICS_TOKEN>`, compared
    in constant time. No token configured -> nobody (`make run` generates one): the counters
    tell an outsider how busy the service is and how often it fails."""
    if not token or not header:
        return False
    return hmac.compare_digest(header.encode(), f"Bearer {token}".encode())


def render(multiproc_dir: Optional[str]) -> tuple:
    """(body, content type) of the Prometheus text exposition: with several Sanic workers
    (PROMETHEUS_MULTIPROC_DIR, set by bot.runtime.launcher) the sum over all of them, whichever
    worker answers the scrape."""
    if multiproc_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=multiproc_dir)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
