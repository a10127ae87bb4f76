"""The two Rasa hot-spot fixes give the same answers as Rasa's own code."""
from __future__ import annotations

import pytest
import rasa.shared.utils.common as common
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event

from bot import rasa_speedups


@pytest.fixture(scope="module")
def originals():
    assert rasa_speedups.apply()
    return rasa_speedups.ORIGINALS["validate_action_result"], rasa_speedups.ORIGINALS["resolve_by_type"]


def test_action_replies_are_judged_as_before(originals):
    original_validate, _ = originals
    good = {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": [{"text": "hi"}]}
    bad = {"events": "not a list", "responses": []}
    action = RemoteAction.__new__(RemoteAction)
    assert RemoteAction._validate_action_result is not original_validate, "the fix is applied"
    assert action._validate_action_result(good) is True
    assert original_validate(action, good) is True
    with pytest.raises(ValidationError) as ours:
        action._validate_action_result(bad)
    with pytest.raises(ValidationError) as theirs:
        original_validate(action, bad)
    assert ours.value.message == theirs.value.message


def test_every_event_type_resolves_to_the_same_class(originals):
    _, original_resolve = originals
    for cls in common.all_subclasses(Event):
        assert Event.resolve_by_type(cls.type_name) is original_resolve(cls.type_name)
    assert Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError):
        Event.resolve_by_type("no-such-event")
