"""Rasa's socket.io channel with session persistence that works on python-socketio 5.x.

Rasa 3.6's ``SocketIOInput`` calls ``sio.enter_room(sid, room)`` without ``await``
(rasa issue #13027). In python-socketio 5 ``AsyncServer.enter_room`` is a coroutine, so the
socket never joins the session's room; with ``session_persistence: true`` every bot reply
is emitted to that room and the client receives nothing (and a reconnecting client cannot
pick its conversation up again).

``PersistentSocketIOInput`` re-registers the ``session_request`` handler with the ``await``.
It keeps ``name() == "socketio"`` (same /webhooks/socketio prefix, same "socketio" responses
and input channel name), so rasa-webchat and the like work unchanged.

It also fixes custom JSON messages (``dispatcher.utter_message(json_message=...)``): Rasa
passes the JSON's keys as keyword arguments to ``sio.emit``, so anything but
``{"data": ..., "room": ...}`` (our hand-off's ``{"handoff": {...}}``) raised ``TypeError``
in the middle of the action's side effects. Such JSON is now sent as the event's data.

Client metadata that asserts identity (``caller``, ``channel``, ...) is dropped
(bot/rasa_ext/channels/identity.py). Building the channel installs the Rasa patches
(bot/rasa_ext/patches/__init__.py), which mask card numbers in its messages too.

credentials.yml::

    bot.rasa_ext.channels.socketio.PersistentSocketIOInput:
      user_message_evt: user_uttered
      bot_message_evt: bot_uttered
      session_persistence: true
"""
from __future__ import annotations

import json
import logging
import uuid
from typing import Any, Awaitable, Callable, Dict, Optional, Text

import rasa.shared.utils.io
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint

from bot.rasa_ext import patches
from bot.rasa_ext.channels.identity import strip_identity

logger = logging.getLogger(__name__)

# Keyword arguments AsyncServer.emit accepts besides the event name.
_EMIT_KWARGS = frozenset({"data", "to", "room", "skip_sid", "namespace", "callback", "ignore_queue"})


class PersistentSocketIOOutput(SocketIOOutput):
    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        if json_message and set(json_message) <= _EMIT_KWARGS:
            # Rasa's documented form: {"data": ..., "room": ...} -> emit(event, data=..., room=...)
            json_message.setdefault("room", recipient_id)
            await self.sio.emit(self.bot_message_evt, **json_message)
        else:
            await self.sio.emit(self.bot_message_evt, json_message, room=recipient_id)


class PersistentSocketIOInput(SocketIOInput):
    """socket.io input whose session_request really joins the session's room."""

    @classmethod
    def name(cls) -> Text:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        patches.install()  # card masking on every channel; refuses an unmeasured Rasa
        return super().from_credentials(credentials)

    def get_output_channel(self) -> Optional[PersistentSocketIOOutput]:
        if self.sio is None:
            return super().get_output_channel()  # warns, returns None
        return PersistentSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        socketio_webhook = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None  # set by super().blueprint

        # Registering a handler again for the same event and namespace replaces Rasa's.
        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Optional[Dict]) -> None:
            if not isinstance(data, dict):
                data = {}
            if not data.get("session_id"):
                data["session_id"] = uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, data["session_id"], namespace=self.namespace)
            await sio.emit("session_confirm", data["session_id"], room=sid, namespace=self.namespace)
            logger.debug(f"User {sid} joined session {data['session_id']}.")

        # Same as Rasa's handler, but replies go through the fixed output channel.
        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: Text, data: Dict) -> None:
            if not isinstance(data, dict):
                return
            output_channel = PersistentSocketIOOutput(sio, self.bot_message_evt)
            if self.session_persistence:
                if not data.get("session_id"):
                    rasa.shared.utils.io.raise_warning(
                        "A message without a valid session_id was received. This message "
                        "will be ignored. Make sure to set a proper session id using the "
                        "`session_request` socketIO event."
                    )
                    return
                sender_id = data["session_id"]
            else:
                sender_id = sid

            metadata = data.get(self.metadata_key, {})
            if isinstance(metadata, Text):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            # A browser can claim anything: a whitelisted caller's number would give it high
            # priority and a callback to a number nobody confirmed. The channel is known
            # from the input channel's name ("socketio" -> web) instead.
            metadata = strip_identity(metadata)
            message = UserMessage(
                data.get("message", ""),
                output_channel,
                sender_id,
                input_channel=self.name(),
                metadata=metadata,
            )
            await on_new_message(message)

        return socketio_webhook
