"""Event classes looked up in a dict instead of by walking every Event subclass.

`Event.resolve_by_type` walks every Event subclass for each stored event, on every turn (the
tracker store loads the whole session): 28 us per event. Now a dict, rebuilt on a miss,
giving the same class ("first subclass found wins", as before).

Replaces (Rasa 3.6.21): `rasa.shared.core.events.Event.resolve_by_type`.
Proven equal to Rasa's: tests/unit/test_rasa_speedups.py (every event type).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Text, Type

import rasa.shared.utils.common as common
from rasa.shared.core.events import Event

from bot.rasa_ext.patches.patching import replace


def _cached_event_lookup(original: Callable[..., Optional[Type[Event]]]) -> Any:
    by_name: Dict[Text, Type[Event]] = {}

    def resolve_by_type(type_name: Text, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
        found = by_name.get(type_name)
        if found is None:
            for candidate in common.all_subclasses(Event):
                by_name.setdefault(candidate.type_name, candidate)
            found = by_name.get(type_name)
        return found if found is not None else original(type_name, default)

    return staticmethod(resolve_by_type)


def install() -> None:
    replace(Event, "resolve_by_type", _cached_event_lookup)
