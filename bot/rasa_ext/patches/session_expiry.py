"""When the Rasa server starts a new conversation session.

Rasa 3.6 starts one after `session_expiration_time` minutes of silence (domain.yml). Two
changes, both in `MessageProcessor._has_session_expired`, the one place Rasa asks:

- A conversation handed to an agent never starts a new session by itself. `SessionStarted`
  resets the tracker, and the reset un-pauses it: a customer who wrote again an hour after
  the hand-off would get the assistant talking over the agent who holds the conversation.
  An agent hands it back explicitly (agent API `resume`; docs/design.md#handoff).
- A long conversation starts a new session once its current one holds `SESSION_MAX_TURNS`
  customer messages (default 10) and it is at rest: no form running, and the previous
  message was understood (the "not understood N times in a row" count reads this session).
  Every turn loads, replays, featurises and sends the action server the whole current
  session, so without this a turn's cost grows with the conversation (make bench: turn 200
  cost 3.6x turn 5). Slots carry over (`carry_over_slots_to_new_session`), so the ticket,
  the facts and the emotion stay; the tracker store keeps every session, and the API's
  tracker (web chat history, agent console) still shows the whole conversation.

A brand-new conversation starts its first session with Rasa's own `action_session_start`, run
in the Rasa server: there is nothing to carry over or to write to a ticket yet, and the
domain's custom one (actions/session_start.py, for later sessions) would cost an action-server
round trip per conversation.

Replaces (Rasa 3.6.21, private): `MessageProcessor._has_session_expired` and
`MessageProcessor._update_tracker_session`, which call Rasa's own first.
Tests: tests/unit/test_session_expiry.py, tests/live/test_sessions.py.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Optional

from rasa.core.actions.action import ActionSessionStart
from rasa.core.channels import OutputChannel
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.processor import MessageProcessor
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME, SESSION_START_METADATA_SLOT
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_ext.patches.patching import replace
from bot.rasa_ext.settings import DEFAULT_MAX_TURNS, current

__all__ = ["DEFAULT_MAX_TURNS", "install", "is_long_and_at_rest", "max_turns"]

logger = logging.getLogger(__name__)

FALLBACK_ACTION = "action_handle_fallback"


def max_turns() -> int:
    """SESSION_MAX_TURNS (bot/rasa_ext/settings.py); 0 turns the length limit off."""
    return current().session_max_turns


def is_long_and_at_rest(tracker: DialogueStateTracker, limit: int) -> bool:
    """The current session holds `limit` customer messages or more, no form is running,
    and the latest message was not one the assistant failed to understand."""
    if limit <= 0 or tracker.active_loop_name:
        return False
    messages = 0
    latest_action: Optional[str] = None
    for event in reversed(tracker.events):
        if isinstance(event, ActionExecuted):
            if event.action_name == ACTION_SESSION_START_NAME:
                break
            if latest_action is None and event.action_name != ACTION_LISTEN_NAME:
                latest_action = event.action_name
        elif isinstance(event, UserUttered):
            messages += 1
    return messages >= limit and latest_action != FALLBACK_ACTION


def _expiry_check(rasas: Callable[[Any, DialogueStateTracker], bool]) -> Callable[..., bool]:
    def _has_session_expired(self: MessageProcessor, tracker: DialogueStateTracker) -> bool:
        if tracker.is_paused():
            return False
        if rasas(self, tracker):
            return True
        if not self.domain.session_config.are_sessions_enabled():
            return False
        limit = max_turns()
        if is_long_and_at_rest(tracker, limit):
            logger.debug("conversation %r: new session after %d messages", tracker.sender_id, limit)
            return True
        return False

    return _has_session_expired


def _session_update(rasas: Callable[..., Any]) -> Callable[..., Any]:
    async def _update_tracker_session(self: MessageProcessor, tracker: DialogueStateTracker,
                                      output_channel: OutputChannel, metadata: Optional[dict] = None) -> None:
        if tracker.applied_events():
            return await rasas(self, tracker, output_channel, metadata)
        # What Rasa's _update_tracker_session does for a new conversation, with its own action.
        if metadata:
            tracker.update(SlotSet(SESSION_START_METADATA_SLOT, metadata), self.domain)
        await self._run_action(
            action=ActionSessionStart(), tracker=tracker, output_channel=output_channel, nlg=self.nlg,
            prediction=PolicyPrediction.for_action_name(self.domain, ACTION_SESSION_START_NAME),
        )

    return _update_tracker_session


def install() -> None:
    replace(MessageProcessor, "_has_session_expired", _expiry_check)
    replace(MessageProcessor, "_update_tracker_session", _session_update)
