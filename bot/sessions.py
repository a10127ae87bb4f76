"""When the Rasa server starts a new conversation session.

Rasa 3.6 starts one after `session_expiration_time` minutes of silence (domain.yml). Two
changes, both in `MessageProcessor._has_session_expired`, the one place Rasa asks:

- A conversation handed to an agent never starts a new session by itself. `SessionStarted`
  resets the tracker, and the reset un-pauses it: a customer who wrote again an hour after
  the hand-off would get the assistant talking over the agent who holds the conversation.
  An agent hands it back explicitly (agent API `resume`).
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
domain's custom one (actions/session.py, for later sessions) would cost an action-server
round trip per conversation.

Installed by the Rasa server when it loads our channels (bot/channels/rest.py).
"""
from __future__ import annotations

import logging
import os
from typing import Any, Callable, Optional

from rasa.core.actions.action import ActionSessionStart
from rasa.core.channels import OutputChannel
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.processor import MessageProcessor
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME, SESSION_START_METADATA_SLOT
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

DEFAULT_MAX_TURNS = 10
FALLBACK_ACTION = "action_handle_fallback"
_original: Optional[Callable[[MessageProcessor, DialogueStateTracker], bool]] = None
_original_update: Optional[Callable[..., Any]] = None


def max_turns() -> int:
    """SESSION_MAX_TURNS from the environment; 0 turns the length limit off."""
    raw = os.environ.get("SESSION_MAX_TURNS", "").strip()
    try:
        return max(int(raw), 0) if raw else DEFAULT_MAX_TURNS
    except ValueError:
        logger.warning("SESSION_MAX_TURNS=%r is not a whole number; using %d", raw, DEFAULT_MAX_TURNS)
        return DEFAULT_MAX_TURNS


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


def has_session_expired(processor: MessageProcessor, tracker: DialogueStateTracker) -> bool:
    if tracker.is_paused():
        return False
    assert _original is not None
    if _original(processor, tracker):
        return True
    if not processor.domain.session_config.are_sessions_enabled():
        return False
    limit = max_turns()
    if is_long_and_at_rest(tracker, limit):
        logger.debug("conversation %r: new session after %d messages", tracker.sender_id, limit)
        return True
    return False


async def update_tracker_session(processor: MessageProcessor, tracker: DialogueStateTracker,
                                 output_channel: OutputChannel, metadata: Optional[dict] = None) -> None:
    if tracker.applied_events():
        assert _original_update is not None
        return await _original_update(processor, tracker, output_channel, metadata)
    # What Rasa's _update_tracker_session does for a new conversation, with its own action.
    if metadata:
        tracker.update(SlotSet(SESSION_START_METADATA_SLOT, metadata), processor.domain)
    await processor._run_action(
        action=ActionSessionStart(), tracker=tracker, output_channel=output_channel, nlg=processor.nlg,
        prediction=PolicyPrediction.for_action_name(processor.domain, ACTION_SESSION_START_NAME),
    )


def install() -> None:
    """Idempotent: the originals are kept once, whatever calls this."""
    global _original, _original_update
    if _original is None:
        _original = MessageProcessor._has_session_expired
        _original_update = MessageProcessor._update_tracker_session

        def _has_session_expired(self: Any, tracker: DialogueStateTracker) -> bool:
            return has_session_expired(self, tracker)

        async def _update_tracker_session(self: Any, tracker: DialogueStateTracker, output_channel: OutputChannel,
                                          metadata: Optional[dict] = None) -> None:
            await update_tracker_session(self, tracker, output_channel, metadata)

        MessageProcessor._has_session_expired = _has_session_expired
        MessageProcessor._update_tracker_session = _update_tracker_session
