"""When a new Rasa session starts (bot/rasa_ext/patches/session_expiry.py), in-process: a long
conversation at rest gets a new session, never in the middle of a form or of not being
understood, never while an agent holds it; a new conversation starts with Rasa's own
session start. The whole conversation across sessions: tests/live/test_sessions.py."""
from __future__ import annotations

import time
import uuid
from types import SimpleNamespace

import pytest
from rasa.core.processor import MessageProcessor
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted, ActiveLoop, BotUttered, ConversationPaused, SessionStarted, UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_ext.patches import session_expiry as sessions


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load("domain.yml")


@pytest.fixture(scope="module")
def processor(domain):
    sessions.install()
    # The patched method needs only the processor's domain (its session_config).
    return SimpleNamespace(domain=domain)


def turns(n: int, answered_by: str = "utter_greet", at: float | None = None) -> list:
    at = at or time.time()
    events = []
    for _ in range(n):
        events += [UserUttered("hi", {"name": "greet"}, timestamp=at), ActionExecuted(answered_by, timestamp=at),
                   BotUttered("Hello", timestamp=at), ActionExecuted("action_listen", timestamp=at)]
    return events


def session_start(at: float | None = None) -> list:
    at = at or time.time()
    return [ActionExecuted("action_session_start", timestamp=at), SessionStarted(timestamp=at),
            ActionExecuted("action_listen", timestamp=at)]


def tracker_of(domain, events) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(f"t-{uuid.uuid4().hex}", events, domain.slots)


def test_a_long_conversation_at_rest_starts_a_new_session(domain, processor):
    limit = sessions.DEFAULT_MAX_TURNS
    assert not MessageProcessor._has_session_expired(processor, tracker_of(domain, session_start() + turns(limit - 1)))
    assert MessageProcessor._has_session_expired(processor, tracker_of(domain, session_start() + turns(limit)))


def test_only_messages_of_the_current_session_count(domain, processor):
    limit = sessions.DEFAULT_MAX_TURNS
    events = session_start() + turns(limit + 5) + session_start() + turns(limit - 1)
    assert not MessageProcessor._has_session_expired(processor, tracker_of(domain, events))


def test_never_in_the_middle_of_a_form(domain, processor):
    events = session_start() + turns(3 * sessions.DEFAULT_MAX_TURNS) + [ActiveLoop("complaint_form")]
    assert not MessageProcessor._has_session_expired(processor, tracker_of(domain, events))


def test_never_while_counting_messages_it_did_not_understand(domain, processor):
    """The hand-off after N misunderstood messages in a row reads the current session."""
    events = session_start() + turns(3 * sessions.DEFAULT_MAX_TURNS) + turns(1, answered_by="action_handle_fallback")
    assert not MessageProcessor._has_session_expired(processor, tracker_of(domain, events))


def test_the_limit_comes_from_the_environment(domain, processor, monkeypatch):
    events = session_start() + turns(6)
    monkeypatch.setenv("SESSION_MAX_TURNS", "5")
    assert MessageProcessor._has_session_expired(processor, tracker_of(domain, events))
    monkeypatch.setenv("SESSION_MAX_TURNS", "0")  # off
    assert not MessageProcessor._has_session_expired(processor, tracker_of(domain, session_start() + turns(90)))
    monkeypatch.setenv("SESSION_MAX_TURNS", "lots")
    assert sessions.max_turns() == sessions.DEFAULT_MAX_TURNS


def test_a_quiet_conversation_still_expires_as_rasa_configures_it(domain, processor):
    two_hours_ago = time.time() - 2 * 3600  # domain.yml: session_expiration_time 60 minutes
    events = session_start(two_hours_ago) + turns(2, at=two_hours_ago)
    assert MessageProcessor._has_session_expired(processor, tracker_of(domain, events))


def test_a_conversation_held_by_an_agent_never_expires_by_itself(domain, processor):
    """A new session would un-pause it: the assistant would talk over the agent."""
    two_hours_ago = time.time() - 2 * 3600
    events = session_start(two_hours_ago) + turns(30, at=two_hours_ago) + [ConversationPaused(timestamp=two_hours_ago)]
    tracker = tracker_of(domain, events)
    assert tracker.is_paused()
    assert not MessageProcessor._has_session_expired(processor, tracker)


class RecordingProcessor(SimpleNamespace):
    """What MessageProcessor._update_tracker_session uses of its processor, recorded."""

    def _get_action(self, name):
        return f"domain's {name}"

    def _has_session_expired(self, tracker):
        return True

    async def _run_action(self, action, tracker, output_channel, nlg, prediction):
        self.ran.append(action)


async def test_a_new_conversation_starts_with_rasas_own_session_start(domain):
    from rasa.core.actions.action import ActionSessionStart as RasasSessionStart

    sessions.install()
    processor = RecordingProcessor(domain=domain, nlg=None, ran=[])
    new = DialogueStateTracker("new", domain.slots)
    await MessageProcessor._update_tracker_session(processor, new, None, {"caller": "web"})
    assert [type(a) for a in processor.ran] == [RasasSessionStart], "no action-server round trip for a new conversation"
    assert new.get_slot("session_started_metadata") == {"caller": "web"}

    processor.ran.clear()
    later = tracker_of(domain, session_start() + turns(2))
    await MessageProcessor._update_tracker_session(processor, later, None)
    assert processor.ran == ["domain's action_session_start"], "later sessions run the domain's (custom) one"
