"""Twilio Voice IVR channel for the complaints assistant.

Rasa's built-in `twilio_voice` keys conversations by the caller's number, takes speech
only, never checks Twilio's signature and can't transfer a call. This channel:

- checks `X-Twilio-Signature` on every request (403 and nothing processed otherwise; with
  no TWILIO_AUTH_TOKEN configured every request is refused);
- keeps one conversation per call (sender_id = CallSid) and passes the caller's number as
  message metadata {"caller": From, "channel": "voice"};
- takes speech and keypad: buttons become a spoken menu and a digit sends that button's
  payload; digits with no menu (an order number) are sent as text; digits said one by one
  or in groups ("five five one two zero nine three", "C 2026 1201 0015") or keyed are
  joined into the number they are before the assistant reads them (bot/speech.py);
- speaks for the ear (bot/rasa_ext/channels/twiml.py `for_the_ear`): no written labels, one idea
  per <Say>, the question and its menu last and short, "we're closed" said once;
- ends a call that has a ticket by saying its reference twice and offering "press 1 to
  hear it again" (POST reference, a one-key <Gather>) before the goodbye and <Hangup>;
- repeats the question after silence (twice), then hands the caller to a person;
- transfers the call when the assistant hands off (<Enqueue> to a queue, or <Dial> a number);
- answers a retried or concurrent delivery of the same turn (CallSid, ?turn=N) once.

Endpoints (under /webhooks/twilio_ivr/): POST webhook (the number's Voice URL and every
Gather action), POST status (call status callback), POST whisper (played to the agent
before a <Dial> transfer connects), POST transfer (after the transfer ends or fails),
POST reference (the last prompt's "press 1 to hear it again").

Here: the routes. What a turn says is ivr_call_flow.py; the signature check,
twilio_signature.py; the per-call state, ivr_state.py.

Settings: environment variables, overridden by non-empty values in credentials.yml under
`bot.rasa_ext.channels.twilio_ivr.TwilioIVRInput:` (auth_token, public_url, language, voice,
handoff_queue, handoff_dial, speech_hints, workflow_sid, redis_url; bot/rasa_ext/settings.py).
The speech hints are, unless TWILIO_SPEECH_HINTS says otherwise, the catalog's words
(bot/speech.py `speech_hints`). Building the channel installs the Rasa patches
(bot/rasa_ext/patches/__init__.py), which mask card numbers in callers' messages.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Awaitable, Callable, Dict, Optional, Text
from urllib.parse import urlencode

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.catalog import load_catalog
from bot.rasa_ext import patches
from bot.rasa_ext.channels import twiml
from bot.rasa_ext.channels.ivr_call_flow import CHANNEL, CallFlow
from bot.rasa_ext.channels.ivr_state import TurnBusy, create_state
from bot.rasa_ext.channels.twilio_signature import TwilioSignature, forbidden
from bot.rasa_ext.settings import IVRSettings, current
from bot.speech import CONVERSATION_HINTS, speech_hints

logger = logging.getLogger(__name__)

TERMINAL_CALL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
# A Twilio call SID: "CA" and 32 hex digits. It becomes the conversation's id, stored as it is
# written, so nothing else is taken for one (a fuzzed, signed request once stored a card
# number there).
CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")
# How long a retried delivery waits for its twin to finish before being told to come back.
# Twilio gives up on a webhook after 15 s.
DUPLICATE_WAIT_S = 10.0


def catalog_speech_hints() -> str:
    try:
        return speech_hints(load_catalog())
    except Exception:  # a broken catalog must not stop the phone line
        logger.exception("twilio_ivr: could not read the speech hints from the catalog")
        return ", ".join(CONVERSATION_HINTS)


class TwilioIVRInput(CallFlow, InputChannel):
    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        patches.install()  # card masking on every channel; refuses an unmeasured Rasa
        return cls(current().ivr.overridden_by(credentials or {}))

    def __init__(self, settings: Optional[IVRSettings] = None) -> None:
        self.settings = settings or IVRSettings()
        hints = self.settings.speech_hints or catalog_speech_hints()
        self.voice = twiml.Voice(self.settings.language, self.settings.voice, hints)
        self.state = create_state(self.settings.redis_url)
        self.signature = TwilioSignature(self.settings.auth_token, self.settings.public_url)
        if not self.signature.configured:
            logger.warning(
                "twilio_ivr: TWILIO_AUTH_TOKEN is not set, so every Twilio request will be refused "
                "with 403 (unsigned calls are never accepted). Set it to the auth token of the "
                "Twilio account that owns the number."
            )
        elif not self.settings.public_url:
            logger.warning(
                "twilio_ivr: PUBLIC_URL is not set; signatures are checked against the URL this "
                "server sees, which fails behind a proxy or tunnel. Set PUBLIC_URL to the base URL "
                "Twilio calls (e.g. https://example.ngrok.app)."
            )

    def url_for(self, endpoint: str, **query: Any) -> str:
        """Our own endpoint as Twilio should call it (absolute when PUBLIC_URL is known)."""
        path = f"/webhooks/{self.name()}/{endpoint}"
        base = self.settings.public_url or ""
        query = {k: v for k, v in query.items() if v is not None}
        return f"{base}{path}" + (f"?{urlencode(query)}" if query else "")

    # ---- routes ------------------------------------------------------------------------
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        ivr = Blueprint("twilio_ivr_webhook", __name__)

        @ivr.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @ivr.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if not self.signature.is_authentic(request):
                return forbidden(request)
            call_sid = request.form.get("CallSid")
            if not call_sid:
                return response.text("CallSid is required", status=400)
            if not CALL_SID.fullmatch(call_sid):
                return response.text("CallSid must be a Twilio call SID (CA and 32 hex digits)", status=400)
            turn = request.args.get("turn") or "0"
            if not turn.isdigit():
                return response.text("turn must be a number", status=400)
            try:
                answer = await self.state.once(
                    call_sid, turn, lambda: self.handle_turn(request, call_sid, int(turn), on_new_message),
                    wait=DUPLICATE_WAIT_S,
                )
            except TurnBusy:
                # The first delivery is still with the assistant: ask Twilio to come back.
                answer = twiml.pause_and_redirect(self.signature.signed_url(request))
            return _xml(answer)

        @ivr.route("/status", methods=["POST"])
        async def status(request: Request) -> HTTPResponse:
            if not self.signature.is_authentic(request):
                return forbidden(request)
            call_sid = request.form.get("CallSid")
            call_status = (request.form.get("CallStatus") or "").lower()
            if call_sid and call_status in TERMINAL_CALL_STATUSES:
                # The call is over. The conversation and its ticket stay as they are (the
                # ticket was saved as the conversation went); only the IVR's own state goes.
                await self.state.drop_call(call_sid)
                logger.info("twilio_ivr: call %s ended (%s)", call_sid, call_status)
            return response.empty(status=204)

        @ivr.route("/whisper", methods=["POST"])
        async def whisper(request: Request) -> HTTPResponse:
            if not self.signature.is_authentic(request):
                return forbidden(request)
            return _xml(self.whisper(request.args.get("ticket_id") or ""))

        @ivr.route("/transfer", methods=["POST"])
        async def transfer(request: Request) -> HTTPResponse:
            if not self.signature.is_authentic(request):
                return forbidden(request)
            return _xml(self.after_transfer(request.form, request.args.get("ticket_id")))

        @ivr.route("/reference", methods=["POST"])
        async def reference(request: Request) -> HTTPResponse:
            # The reference is the one in our own signed URL, never one the caller says.
            if not self.signature.is_authentic(request):
                return forbidden(request)
            return _xml(self.reference_again(request.form, request.args.get("ticket_id") or ""))

        @ivr.listener("after_server_stop")
        async def close_state(*_: Any) -> None:
            await self.state.close()

        return ivr


def _xml(body: str) -> HTTPResponse:
    return response.text(body, content_type="text/xml; charset=utf-8")
