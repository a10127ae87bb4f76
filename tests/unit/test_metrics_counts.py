"""The Rasa server's business counters (bot/rasa_ext/metrics.py) from a turn's events,
in-process. Scraped around real conversations: tests/live/test_metrics.py."""
from __future__ import annotations

from typing import Dict, FrozenSet, Tuple

from rasa.shared.core.events import ActionExecuted, ConversationPaused, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_ext import metrics

Sample = Tuple[str, FrozenSet[Tuple[str, str]]]


def test_hand_offs_are_labelled_by_what_triggered_them():
    def counted(*turn_events) -> Dict[Sample, float]:
        before = {(m.name, frozenset(m.labels.items())): m.value
                  for family in metrics.REGISTRY.collect() for m in family.samples}
        tracker = DialogueStateTracker.from_events("unit", [
            ActionExecuted("action_listen"), UserUttered("earlier"),
            SlotSet("requested_slot", "callback_choice"),  # asked in an earlier turn: not a new offer
            ActionExecuted("action_listen"), UserUttered("now"), *turn_events,
        ])
        metrics.count_business_events("other", tracker)
        after = {(m.name, frozenset(m.labels.items())): m.value
                 for family in metrics.REGISTRY.collect() for m in family.samples}
        return {k: after[k] - before.get(k, 0.0) for k in after
                if k[0].startswith("complaints_") and k[0].endswith("_total") and after[k] != before.get(k, 0.0)}

    assert counted(ActionExecuted("action_handle_fallback"), ConversationPaused()) == {
        ("complaints_fallbacks_total", frozenset({("channel", "other")})): 1.0,
        ("complaints_handoffs_total", frozenset({("channel", "other"), ("trigger", "not_understood")})): 1.0,
    }
    assert counted(ActionExecuted("action_start_complaint"), ConversationPaused()) == {
        ("complaints_handoffs_total", frozenset({("channel", "other"), ("trigger", "high_risk")})): 1.0,
    }
    assert counted(ActionExecuted("complaint_form"), SlotSet("requested_slot", "callback_choice")) == {}, \
        "a re-ask of the same question is not another offer"
    assert counted(ActionExecuted("complaint_form"), SlotSet("callback_choice", "opted_out")) == {
        ("complaints_callback_decisions_total", frozenset({("channel", "other"), ("choice", "opted_out")})): 1.0,
    }
