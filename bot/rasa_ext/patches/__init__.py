"""Everything this project changes inside Rasa's own code, one module per change:

    action_validation   action-server replies checked by compiled checks (1.5 ms -> 17 us)
    keep_alive          action-server calls on kept-alive connections
    dialogue_states     RulePolicy's second replay of the same tracker answered from a cache
    event_lookup        event classes by name from a dict (28 us per stored event)
    graph_runner        the model graph run in a cached order instead of through dask
    session_expiry      when a new conversation session starts (agent hand-off, long chats)
    turn_hooks          every channel's messages: card numbers masked, the turn measured
    typed_buttons       a button's words, typed, understood as the button clicked

`install()` applies them all, once per process, and only on the Rasa release they were
measured on (patching.MEASURED_ON). Every custom channel calls it from `from_credentials`
(the Rasa server builds its channels once, at start-up) and so does each of our tracker
stores (built when the model is loaded), so card masking holds whatever credentials.yml
lists, even a channel of Rasa's own.

On any other Rasa release nothing is applied and install() raises UnmeasuredRasa: the
Rasa server then refuses to start, with the error logged. This fails closed on purpose.
The speed-ups could safely be skipped, but the turn hook is what keeps card numbers out
of the tracker store and the NLU on the phone and Socket.IO channels; a server that runs
without it would store them silently, which is worse than one that does not start. An
upgrade of Rasa is deliberate (pyproject.toml pins it), so this stops the first start on
the new release, before any customer writes.
"""
from __future__ import annotations

import logging

from bot.rasa_ext.patches import (
    action_validation,
    dialogue_states,
    event_lookup,
    graph_runner,
    keep_alive,
    session_expiry,
    turn_hooks,
    typed_buttons,
)
from bot.rasa_ext.patches.patching import MEASURED_ON, UnmeasuredRasa, check_rasa_version

__all__ = ["MEASURED_ON", "PATCHES", "UnmeasuredRasa", "install"]

logger = logging.getLogger(__name__)

PATCHES = (action_validation, keep_alive, dialogue_states, event_lookup, graph_runner, session_expiry, turn_hooks,
           typed_buttons)


def install() -> bool:
    """Apply every patch (each at most once). True when they are in place; raises
    UnmeasuredRasa, having applied none, on a Rasa release they were not measured on."""
    try:
        check_rasa_version()
    except UnmeasuredRasa as refused:
        logger.error("%s", refused)
        raise
    for patch in PATCHES:
        patch.install()
    return True
