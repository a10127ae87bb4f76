"""Two hot spots of Rasa 3.6's server, fixed in place (measured by `make bench`, README).

- Every action-server reply is checked with `jsonschema.validate(result, spec)`, which
  re-checks the schema itself against its metaschema and builds a new resolver on every
  call: 17.8 ms of CPU per action call here, about half of the server's CPU. The checker
  is now built once; the same replies pass and fail, with the same error message.
- `Event.resolve_by_type` walks every Event subclass for each stored event, on every turn
  (the tracker store loads the whole session): 28 us per event. Now a dict, rebuilt on a
  miss, giving the same class ("first subclass found wins", as before).

Applied by the Rasa server when it loads our channels (bot/channels/rest.py); pinned to
the Rasa version it was measured on.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Optional, Text, Type

import rasa
import rasa.shared.utils.common as common
from jsonschema import ValidationError, validators
from rasa.core.actions import action as action_module
from rasa.shared.core.events import Event

logger = logging.getLogger(__name__)
MEASURED_ON = "3.6."
_applied = False
# Rasa's own versions, kept for comparison (tests) before they are replaced.
ORIGINALS: Dict[str, Any] = {}


def _compiled_action_validation() -> Any:
    spec = action_module.RemoteAction.action_response_format_spec()
    checker_class = validators.validator_for(spec)
    checker_class.check_schema(spec)
    checker = checker_class(spec)
    docs = getattr(action_module, "DOCS_BASE_URL", "https://rasa.com/docs/rasa")

    def _validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
        try:
            checker.validate(result)
            return True
        except ValidationError as error:
            error.message += (
                ". Failed to validate Action server response from API, make sure your response "
                "from the Action endpoint is valid. For more information about the format visit "
                f"{docs}/custom-actions"
            )
            raise error

    return _validate_action_result


def _cached_event_lookup() -> Any:
    original = Event.resolve_by_type
    by_name: Dict[Text, Type[Event]] = {}

    def resolve_by_type(type_name: Text, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
        found = by_name.get(type_name)
        if found is None:
            for candidate in common.all_subclasses(Event):
                by_name.setdefault(candidate.type_name, candidate)
            found = by_name.get(type_name)
        return found if found is not None else original(type_name, default)

    return resolve_by_type


def apply() -> bool:
    """Patch once; refuse on a Rasa version these fixes were not measured on."""
    global _applied
    if _applied:
        return True
    if not rasa.__version__.startswith(MEASURED_ON):
        logger.warning("rasa %s: speed-ups measured on %sx not applied", rasa.__version__, MEASURED_ON)
        return False
    ORIGINALS["validate_action_result"] = action_module.RemoteAction._validate_action_result
    ORIGINALS["resolve_by_type"] = Event.resolve_by_type
    action_module.RemoteAction._validate_action_result = _compiled_action_validation()
    Event.resolve_by_type = staticmethod(_cached_event_lookup())
    _applied = True
    return True
