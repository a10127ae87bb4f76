"""The customer's retry after a failed turn (bot/rasa_ext/channels/rest.py answers a failed turn with
an apology asking for the message again, and rewinds the conversation but keeps the
`ticket_id` the failed turn set: KEPT_SLOTS). The retry must continue with that ticket,
never open a second one."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker

# The apology's metadata key (bot/rasa_ext/channels/rest.py FAULT_MARKER; not imported, so the action
# server doesn't load Rasa's channel code; tests/unit/test_dialogue_actions.py ties the two).
FAULT_MARKER = "technical_problem"


def ticket_of_failed_turn(tracker: Tracker) -> Optional[str]:
    """The ticket the previous, failed turn opened or joined, when the latest message comes
    right after its apology and the rewind kept that ticket in `ticket_id`; else None (a
    turn that failed before saving a ticket leaves an earlier complaint's id, never this)."""
    kept = tracker.get_slot("ticket_id")
    events: List[Dict[str, Any]] = list(tracker.events or [])
    users = [i for i, e in enumerate(events) if e.get("event") == "user"]
    if not kept or len(users) < 2:
        return None
    failed, retry = users[-2], users[-1]
    bots = [e for e in events[failed:retry] if e.get("event") == "bot"]
    if not bots or not (bots[-1].get("metadata") or {}).get(FAULT_MARKER):
        return None
    # The failed turn's own last value, set before its apology (the rewind's restores come
    # after the apology and, for a kept slot, never set it back).
    apology = max(i for i in range(failed, retry) if events[i].get("event") == "bot")
    own = [e.get("value") for e in events[failed:apology] if e.get("event") == "slot" and e.get("name") == "ticket_id"]
    return kept if own and own[-1] == kept else None
