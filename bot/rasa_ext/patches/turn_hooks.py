"""Every channel's turn, seen where they all meet: card numbers masked, the turn measured.

Every customer message, whichever channel brought it (the REST channel, the Twilio IVR,
Socket.IO, or a channel of Rasa's own), reaches the assistant through `Agent.handle_message`.
Wrapped here, it
- masks card numbers and the catalog's sensitive patterns in the message's text
  (bot/privacy.py `mask_secrets`) before anything of Rasa's reads it: the NLU, the tracker
  store and Rasa's logs never see them. This is why every custom channel and tracker store
  installs the patches (bot/rasa_ext/patches/__init__.py): masking must not depend on which
  channels credentials.yml lists;
- opens the turn's `metrics.Turn` (unless the REST channel opened it to answer a failed turn
  itself) and observes it when the turn ends.
`MessageProcessor.save_tracker` is wrapped to see the turn's events without reading the
tracker again, and a log handler notes the ERRORs logged while a turn runs.

Replaces (Rasa 3.6.21): `Agent.handle_message` and `MessageProcessor.save_tracker` (both
public, wrapped: Rasa's run unchanged inside).
Tests: tests/unit/test_rasa_patches.py, tests/live/test_metrics.py, tests/live/test_privacy.py.
"""
from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from rasa.core.agent import Agent
from rasa.core.processor import MessageProcessor

from bot.privacy import mask_secrets
from bot.rasa_ext import metrics
from bot.rasa_ext.patches.patching import replace


def _masked_and_measured(handle_message: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(handle_message)
    async def measured_handle_message(self: Any, message: Any) -> Any:
        outer = metrics.CURRENT_TURN.get()
        turn = outer or metrics.Turn(metrics.channel_label(getattr(message, "input_channel", None)))
        token = metrics.CURRENT_TURN.set(turn) if outer is None else None
        if isinstance(getattr(message, "text", None), str):
            message.text = mask_secrets(message.text)
        try:
            return await handle_message(self, message)
        except Exception as error:
            turn.errors.append(f"exception: {type(error).__name__}")
            raise
        finally:
            if token is not None:
                metrics.CURRENT_TURN.reset(token)
                metrics.observe_turn(turn)  # a turn the REST channel opened is observed by it

    return measured_handle_message


def _noted(save_tracker: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(save_tracker)
    async def noted_save_tracker(self: Any, tracker: Any) -> Any:
        turn = metrics.CURRENT_TURN.get()
        if turn is not None:
            turn.tracker = tracker
        return await save_tracker(self, tracker)

    return noted_save_tracker


def install() -> None:
    if replace(Agent, "handle_message", _masked_and_measured):
        logging.getLogger().addHandler(metrics.TurnErrors())
    replace(MessageProcessor, "save_tracker", _noted)
