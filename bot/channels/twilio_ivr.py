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
- speaks for the ear (bot/channels/twiml.py `for_the_ear`): no written labels, one idea
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

Settings: environment variables, overridden by non-empty values in credentials.yml under
`bot.channels.twilio_ivr.TwilioIVRInput:` (auth_token, public_url, language, voice,
handoff_queue, handoff_dial, speech_hints, workflow_sid, redis_url).
"""
from __future__ import annotations

import logging
import os
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text
from urllib.parse import urlencode

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request, RequestParameters
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot.channels import twiml
from bot.channels.ivr_state import TurnBusy, create_state
from bot.catalog import load_catalog
from bot.speech import heard_numbers, keyed_number, speakable_digits, speakable_order_id

logger = logging.getLogger(__name__)

GREET = "/greet"
REQUEST_HUMAN = "/request_human"
END_OF_CALL_RESPONSES = {"utter_goodbye"}  # said last in a turn: say it and hang up
MAX_REPROMPTS = 2  # the third silence in a row hands the caller to a person
TERMINAL_CALL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
# How long a retried delivery waits for its twin to finish before being told to come back.
# Twilio gives up on a webhook after 15 s.
DUPLICATE_WAIT_S = 10.0
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
DEFAULT_HINTS = (
    "agent, person, human, complaint, order number, refund, replacement, delivery, "
    "repair, warranty, invoice, bill, voucher, yes, no"
)
SILENCE_PREFIX = "Sorry, I didn't hear anything."
NO_STATE_PROMPT = "Please tell me what went wrong, or say agent to speak to a person."
TECHNICAL_TRANSFER = "Sorry, I'm having a technical problem. I'm passing you to a colleague now. Please hold."
TRANSFER_FAILED = (
    "Sorry, none of my colleagues could take your call just now. Your complaint is recorded "
    "with everything you've told me, and a colleague will pick it up from there."
)
FAREWELL = "Thank you for calling. Goodbye."
_GOODBYE = re.compile(r"\b(?:good)?bye\b", re.IGNORECASE)
# Said at the last prompt instead of pressing 1.
_REPEAT = re.compile(r"\b(?:repeat|again|one|1|pardon)\b", re.IGNORECASE)


@dataclass(frozen=True)
class IVRSettings:
    auth_token: Optional[str] = None
    public_url: Optional[str] = None
    language: str = "en-GB"
    voice: Optional[str] = None
    handoff_queue: str = "complaints"
    handoff_dial: Optional[str] = None
    speech_hints: Optional[str] = DEFAULT_HINTS
    workflow_sid: Optional[str] = None
    redis_url: Optional[str] = None


class IVROutputChannel(CollectingOutputChannel):
    """Collects the bot's replies; its name selects the `channel: twilio_ivr` response
    variants. Each collected message keeps the response it came from (`utter_action`)."""

    _utter_action: Optional[str] = None

    @classmethod
    def name(cls) -> Text:
        return TwilioIVRInput.name()

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        self._utter_action = message.get("utter_action")
        await super().send_response(recipient_id, message)

    async def _persist_message(self, message: Dict[Text, Any]) -> None:
        if self._utter_action:
            message["utter_action"] = self._utter_action
        await super()._persist_message(message)


class TwilioIVRInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "twilio_ivr"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}

        def setting(key: str, env: str, default: Optional[str] = None) -> Optional[str]:
            value = credentials.get(key)
            if value is None or str(value).strip() == "":
                value = os.environ.get(env)
            value = str(value).strip() if value is not None else ""
            return value or default

        return cls(IVRSettings(
            auth_token=setting("auth_token", "TWILIO_AUTH_TOKEN"),
            public_url=(setting("public_url", "PUBLIC_URL") or "").rstrip("/") or None,
            language=setting("language", "TWILIO_LANGUAGE", "en-GB"),
            voice=setting("voice", "TWILIO_VOICE"),
            handoff_queue=setting("handoff_queue", "TWILIO_HANDOFF_QUEUE", "complaints"),
            handoff_dial=setting("handoff_dial", "TWILIO_HANDOFF_DIAL"),
            speech_hints=setting("speech_hints", "TWILIO_SPEECH_HINTS", DEFAULT_HINTS),
            workflow_sid=setting("workflow_sid", "TWILIO_WORKFLOW_SID"),
            redis_url=setting("redis_url", "REDIS_URL"),
        ))

    def __init__(self, settings: Optional[IVRSettings] = None) -> None:
        self.settings = settings or IVRSettings()
        self.voice = twiml.Voice(self.settings.language, self.settings.voice, self.settings.speech_hints)
        self.state = create_state(self.settings.redis_url)
        self._validator = RequestValidator(self.settings.auth_token) if self.settings.auth_token else None
        if self._validator is None:
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

    # ---- Twilio's signature ----------------------------------------------------------
    def signed_url(self, request: Request) -> str:
        """The URL Twilio signed: PUBLIC_URL + path + query behind a proxy, else our own."""
        if self.settings.public_url:
            url = self.settings.public_url + request.path
            return f"{url}?{request.query_string}" if request.query_string else url
        return request.url

    def is_authentic(self, request: Request) -> bool:
        signature = request.headers.get("X-Twilio-Signature")
        if self._validator is None or not signature:
            return False
        try:
            return self._validator.validate(self.signed_url(request), signed_params(request), signature)
        except Exception:  # a malformed request is simply not authentic
            logger.exception("twilio_ivr: signature check failed")
            return False

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
            if not self.is_authentic(request):
                return _forbidden(request)
            call_sid = request.form.get("CallSid")
            if not call_sid:
                return response.text("CallSid is required", status=400)
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
                answer = twiml.pause_and_redirect(self.signed_url(request))
            return _xml(answer)

        @ivr.route("/status", methods=["POST"])
        async def status(request: Request) -> HTTPResponse:
            if not self.is_authentic(request):
                return _forbidden(request)
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
            """Played to the agent who answers a <Dial> transfer, before the caller is connected."""
            if not self.is_authentic(request):
                return _forbidden(request)
            ticket_id = request.args.get("ticket_id") or ""
            text = "Complaint call from the assistant."
            if ticket_id:
                text += f" Ticket reference {speakable_order_id(ticket_id)}. Again, {speakable_order_id(ticket_id)}."
            return _xml(twiml.say_response(self.voice, [text], hangup=False))

        @ivr.route("/transfer", methods=["POST"])
        async def transfer(request: Request) -> HTTPResponse:
            """Twilio's request after <Enqueue>/<Dial> ends: hang up after a conversation with
            an agent; if nobody took the call, say so honestly and give the reference."""
            if not self.is_authentic(request):
                return _forbidden(request)
            queue_result = (request.form.get("QueueResult") or "").lower()
            dial_status = (request.form.get("DialCallStatus") or "").lower()
            if queue_result in ("bridged", "bridging-in-process", "hangup", "redirected-from-bridged") or dial_status in ("completed", "answered"):
                return _xml(twiml.hangup_response())
            ticket_id = request.args.get("ticket_id")
            logger.warning("twilio_ivr: transfer of call %s failed (%s)", request.form.get("CallSid"), queue_result or dial_status)
            return _xml(self.closing([TRANSFER_FAILED], ticket_id, [FAREWELL]))

        @ivr.route("/reference", methods=["POST"])
        async def reference(request: Request) -> HTTPResponse:
            """The last prompt's answer: 1 (or "repeat") hears the reference again; anything
            else ends the call. The reference is the one in our own signed URL."""
            if not self.is_authentic(request):
                return _forbidden(request)
            ticket_id = request.args.get("ticket_id") or ""
            digits = (request.form.get("Digits") or "").strip()
            speech = (request.form.get("SpeechResult") or "").strip()
            if ticket_id and (digits == "1" or (not digits and _REPEAT.search(speech))):
                return _xml(self.closing([], ticket_id, [FAREWELL]))
            return _xml(twiml.say_response(self.voice, [FAREWELL]))

        @ivr.listener("after_server_stop")
        async def close_state(*_: Any) -> None:
            await self.state.close()

        return ivr

    # ---- one turn of the call ----------------------------------------------------------
    async def handle_turn(
        self, request: Request, call_sid: str, turn: int,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> str:
        form = request.form
        speech = (form.get("SpeechResult") or "").strip()
        digits = re.sub(r"[#*\s]", "", form.get("Digits") or "")
        state = await self.state.load_call(call_sid)
        next_action = self.url_for("webhook", turn=turn + 1)

        if turn == 0 and not speech and not digits:
            text = GREET  # the call has just been answered: the assistant speaks first
        elif digits:
            buttons = state.get("buttons") or []
            if buttons:
                if not (digits.isdigit() and 1 <= int(digits) <= len(buttons)):
                    state["silences"] = 0
                    await self.state.save_call(call_sid, state)
                    heard = speakable_digits(digits)
                    return self.reprompt(state, f"Sorry, {heard} isn't one of the options.", next_action)
                text = buttons[int(digits) - 1].get("payload") or buttons[int(digits) - 1].get("title")
            else:
                text = keyed_number(digits, self.ticket_prefix())
        elif speech:
            # Digits said one by one reach the assistant as the number they are.
            text = heard_numbers(speech, self.ticket_prefix())
        else:
            silences = int(state.get("silences") or 0) + 1
            if silences <= MAX_REPROMPTS:
                state["silences"] = silences
                await self.state.save_call(call_sid, state)
                return self.reprompt(state, SILENCE_PREFIX, next_action)
            text = REQUEST_HUMAN  # third silence: offer a person (the assistant saves the ticket first)
        state["silences"] = 0

        caller = (form.get("From") or "").strip()
        metadata: Dict[str, Any] = {"channel": "voice"}
        if E164.match(caller):  # a withheld number ("anonymous") is no number to call back
            metadata["caller"] = caller
        collector = IVROutputChannel()
        try:
            await on_new_message(UserMessage(
                text, collector, call_sid, input_channel=self.name(), metadata=metadata,
            ))
        except Exception:
            logger.exception("twilio_ivr: the assistant failed on call %s; transferring", call_sid)
            state.update(buttons=[], handed_off=True)
            await self.state.save_call(call_sid, state)
            return self.transfer([TECHNICAL_TRANSFER], ticket_id=None, call_sid=call_sid, caller=caller)
        return await self.reply(
            call_sid, caller, state, collector.messages, next_action,
            ticket_of=lambda: self.conversation_ticket(request, call_sid),
        )

    async def reply(
        self, call_sid: str, caller: str, state: Dict[str, Any],
        messages: List[Dict[str, Any]], next_action: str,
        ticket_of: Optional[Callable[[], Awaitable[Optional[str]]]] = None,
    ) -> str:
        handoff = next(
            (m["custom"]["handoff"] for m in messages
             if isinstance(m.get("custom"), dict) and isinstance(m["custom"].get("handoff"), dict)),
            None,
        )
        texts = twiml.for_the_ear([m["text"] for m in messages if m.get("text")])
        if handoff is not None:
            # The assistant saved the ticket before replying, so the agent can open it now.
            state.update(buttons=[], prompt=[], handed_off=handoff.get("ticket_id") or True)
            await self.state.save_call(call_sid, state)
            if handoff.get("open") is False:
                # Nobody is there to answer a queue: the caller has been told when we open
                # and hears their reference; the handed-off ticket waits in the agents' queue.
                return self.ending(texts, handoff.get("ticket_id"))
            return self.transfer(texts, handoff.get("ticket_id"), call_sid, caller)

        if messages and messages[-1].get("utter_action") in END_OF_CALL_RESPONSES:
            state.update(buttons=[], prompt=[])
            await self.state.save_call(call_sid, state)
            return self.ending(texts, await ticket_of() if ticket_of else None)

        buttons = next((m["buttons"] for m in reversed(messages) if m.get("buttons")), [])
        if not texts and not buttons:
            return self.reprompt(state, "", next_action)  # nothing new to say: ask again
        menu = twiml.button_menu(buttons) if buttons else ""
        if menu and twiml.mentions_keypad(" ".join(texts)):
            menu = ""  # the response says its keys itself (voice variants do)
        said = twiml.with_menu(texts, menu)
        # What to repeat after silence: the last message, its question and menu.
        question = twiml.with_menu(texts[-1:], menu)
        state.update(buttons=buttons, prompt=question)
        await self.state.save_call(call_sid, state)
        return twiml.gather_response(self.voice, said, next_action, menu_size=len(buttons))

    def ticket_prefix(self) -> str:
        try:
            return load_catalog().business.get("ticket_id_prefix", "C-")
        except Exception:  # a broken catalog must not break understanding a caller
            logger.exception("twilio_ivr: could not read the ticket prefix from the catalog")
            return "C-"

    async def conversation_ticket(self, request: Request, call_sid: str) -> Optional[str]:
        """The reference of this call's complaint (the conversation's `ticket_id` slot)."""
        agent = getattr(request.app.ctx, "agent", None)
        try:
            tracker = await agent.tracker_store.retrieve(call_sid) if agent else None
        except Exception:  # the goodbye is said either way, without the reference
            logger.exception("twilio_ivr: could not read the tracker of call %s", call_sid)
            return None
        value = tracker.get_slot("ticket_id") if tracker is not None else None
        return str(value) if value else None

    def ending(self, texts: List[str], ticket_id: Optional[str]) -> str:
        """The last words of a call: with a ticket, its reference twice and "press 1 to hear
        it again" before the goodbye (which moves after it); else the texts and <Hangup>."""
        if not ticket_id:
            return twiml.say_response(self.voice, texts, hangup=True)
        keep: List[str] = []
        farewell: List[str] = []
        for text in texts:
            text = twiml.drop_reference(text, ticket_id)
            for sentence in twiml.sentences(text):
                (farewell if _GOODBYE.search(sentence) else keep).append(sentence)
        return self.closing(keep, ticket_id, farewell or [FAREWELL])

    def closing(self, texts: List[str], ticket_id: Optional[str], farewell: List[str]) -> str:
        if not ticket_id:
            return twiml.say_response(self.voice, list(texts) + list(farewell), hangup=True)
        action = self.url_for("reference", ticket_id=ticket_id)
        return twiml.closing_response(self.voice, texts, ticket_id, action, farewell)

    def reprompt(self, state: Dict[str, Any], prefix: str, next_action: str) -> str:
        question = state.get("prompt") or [NO_STATE_PROMPT]
        said = ([prefix] if prefix else []) + list(question)
        return twiml.gather_response(self.voice, said, next_action, menu_size=len(state.get("buttons") or []))

    def transfer(self, texts: List[str], ticket_id: Optional[str], call_sid: str, caller: str) -> str:
        """Say the hand-off text, then put the caller through to a person.

        How the agent finds the ticket:
        - <Dial> (TWILIO_HANDOFF_DIAL): <Number url> is a "whisper" Twilio plays to the person
          who answers, before connecting; ours reads the ticket reference out
          (/whisper?ticket_id=...).
        - <Enqueue> with TWILIO_WORKFLOW_SID (TaskRouter/Flex): the ticket id is in the
          <Task> attributes, which the agent's screen shows with the offered call.
        - plain <Enqueue>: a queue carries no data, but every queued call is known by its
          CallSid (Queue Members API; the CallSid Twilio posts to <Dial><Queue url>), and the
          CallSid is this conversation's id: GET /api/tickets?conversation_id={CallSid}.
        In every case the action URL (/transfer?ticket_id=...) tells the caller their
        reference if nobody could take the call.
        """
        action = self.url_for("transfer", ticket_id=ticket_id)
        if self.settings.handoff_dial:
            whisper = self.url_for("whisper", ticket_id=ticket_id)
            return twiml.dial_response(self.voice, texts, self.settings.handoff_dial, action, whisper)
        task = {"type": "complaint", "ticket_id": ticket_id, "conversation_id": call_sid,
                "caller": caller or None, "channel": "voice"}
        return twiml.enqueue_response(
            self.voice, texts, self.settings.handoff_queue, action,
            task=task, workflow_sid=self.settings.workflow_sid,
        )


def signed_params(request: Request) -> RequestParameters:
    """The posted form as Twilio signed it: blank values included (Sanic's request.form
    drops them, and a UK caller's CallerZip= would then fail the check)."""
    if "application/x-www-form-urlencoded" not in (request.content_type or ""):
        return request.form
    body = (request.body or b"").decode("utf-8", errors="replace")
    return RequestParameters(urllib.parse.parse_qs(body, keep_blank_values=True))


def _xml(body: str) -> HTTPResponse:
    return response.text(body, content_type="text/xml; charset=utf-8")


def _forbidden(request: Request) -> HTTPResponse:
    logger.warning("twilio_ivr: refused %s %s: missing or invalid X-Twilio-Signature", request.method, request.path)
    return response.text("Forbidden: invalid or missing Twilio signature", status=403)
