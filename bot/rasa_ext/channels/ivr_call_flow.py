"""What the IVR does with each turn of a call: from Twilio's form to the assistant, and from
the assistant's answer to the TwiML the caller hears (bot/rasa_ext/channels/twiml.py).

- The call has just been answered: the assistant speaks first (/greet).
- A digit picks a button of the last menu; digits with no menu, and digits said one by one
  or in groups, reach the assistant as the number they are (bot/speech.py), a reference in
  the catalog's ticket-id format.
- Silence repeats the question (twice), then the caller is handed to a person.
- A hand-off transfers the call (<Enqueue>, or <Dial> a number), or, while nobody is there
  to answer, tells the caller their reference; a call that ends with a ticket hears its
  reference twice and "press 1 to hear it again" (docs/design.md#handoff,
  docs/design.md#tracking).

`CallFlow` is the Twilio channel's half that speaks; the channel (twilio_ivr.py) gives it
`settings`, `voice`, `state` (ivr_state.py) and `url_for`.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from sanic.request import Request

from bot.catalog import load_catalog
from bot.rasa_ext.channels import twiml
from bot.speech import heard_numbers, keyed_number, speakable_digits, speakable_order_id
from bot.tickets.ids import TicketIdFormat

logger = logging.getLogger(__name__)

CHANNEL = "twilio_ivr"
GREET = "/greet"
REQUEST_HUMAN = "/request_human"
END_OF_CALL_RESPONSES = {"utter_goodbye"}  # said last in a turn: say it and hang up
MAX_REPROMPTS = 2  # the third silence in a row hands the caller to a person
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def line_says(name: str) -> str:
    """What the line itself says (silence, transfers, farewell): the catalog's `phone:` section."""
    return load_catalog().phone_phrase(name)

_GOODBYE = re.compile(r"\b(?:good)?bye\b", re.IGNORECASE)
# Said at the last prompt instead of pressing 1.
_REPEAT = re.compile(r"\b(?:repeat|again|one|1|pardon)\b", re.IGNORECASE)
# Twilio's answers after <Enqueue> / <Dial> that mean the caller spoke to someone.
_BRIDGED = ("bridged", "bridging-in-process", "hangup", "redirected-from-bridged")
_ANSWERED = ("completed", "answered")


class IVROutputChannel(CollectingOutputChannel):
    """Collects the bot's replies; its name selects the `channel: twilio_ivr` response
    variants. Each collected message keeps the response it came from (`utter_action`)."""

    _utter_action: Optional[str] = None

    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        self._utter_action = message.get("utter_action")
        await super().send_response(recipient_id, message)

    async def _persist_message(self, message: Dict[Text, Any]) -> None:
        if self._utter_action:
            message["utter_action"] = self._utter_action
        await super()._persist_message(message)


class CallFlow:
    settings: Any
    voice: twiml.Voice
    state: Any
    url_for: Callable[..., str]

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
                text = keyed_number(digits, self.ticket_format())
        elif speech:
            # Digits said one by one reach the assistant as the number they are.
            text = heard_numbers(speech, self.ticket_format())
        else:
            silences = int(state.get("silences") or 0) + 1
            if silences <= MAX_REPROMPTS:
                state["silences"] = silences
                await self.state.save_call(call_sid, state)
                return self.reprompt(state, line_says("silence"), next_action)
            text = REQUEST_HUMAN  # third silence: offer a person (the assistant saves the ticket first)
        state["silences"] = 0

        caller = (form.get("From") or "").strip()
        metadata: Dict[str, Any] = {"channel": "voice"}
        if E164.match(caller):  # a withheld number ("anonymous") is no number to call back
            metadata["caller"] = caller
        collector = IVROutputChannel()
        try:
            await on_new_message(UserMessage(
                text, collector, call_sid, input_channel=CHANNEL, metadata=metadata,
            ))
        except Exception:
            logger.exception("twilio_ivr: the assistant failed on call %s; transferring", call_sid)
            state.update(buttons=[], handed_off=True)
            await self.state.save_call(call_sid, state)
            return self.transfer([line_says("technical_transfer")], ticket_id=None, call_sid=call_sid, caller=caller)
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

    def ticket_format(self) -> TicketIdFormat:
        """The catalog's ticket references, read at every turn (the catalog may change)."""
        try:
            return load_catalog().ticket_ids
        except Exception:  # a broken catalog must not break understanding a caller
            logger.exception("twilio_ivr: could not read the ticket id format from the catalog")
            return TicketIdFormat()

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

    # ---- the other requests of a call --------------------------------------------------
    def whisper(self, ticket_id: str) -> str:
        """Played to the agent who answers a <Dial> transfer, before the caller is connected."""
        text = "Complaint call from the assistant."
        if ticket_id:
            text += f" Ticket reference {speakable_order_id(ticket_id)}. Again, {speakable_order_id(ticket_id)}."
        return twiml.say_response(self.voice, [text], hangup=False)

    def after_transfer(self, form: Any, ticket_id: Optional[str]) -> str:
        """Twilio's request after <Enqueue>/<Dial> ends: hang up after a conversation with
        an agent; if nobody took the call, say so honestly and give the reference."""
        queue_result = (form.get("QueueResult") or "").lower()
        dial_status = (form.get("DialCallStatus") or "").lower()
        if queue_result in _BRIDGED or dial_status in _ANSWERED:
            return twiml.hangup_response()
        logger.warning("twilio_ivr: transfer of call %s failed (%s)", form.get("CallSid"), queue_result or dial_status)
        return self.closing([line_says("transfer_failed")], ticket_id, [line_says("farewell")])

    def reference_again(self, form: Any, ticket_id: str) -> str:
        """The last prompt's answer: 1 (or "repeat") hears the reference again; anything
        else ends the call."""
        digits = (form.get("Digits") or "").strip()
        speech = (form.get("SpeechResult") or "").strip()
        if ticket_id and (digits == "1" or (not digits and _REPEAT.search(speech))):
            return self.closing([], ticket_id, [line_says("farewell")])
        return twiml.say_response(self.voice, [line_says("farewell")])

    # ---- the TwiML of a turn's end ------------------------------------------------------
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
        return self.closing(keep, ticket_id, farewell or [line_says("farewell")])

    def closing(self, texts: List[str], ticket_id: Optional[str], farewell: List[str]) -> str:
        if not ticket_id:
            return twiml.say_response(self.voice, list(texts) + list(farewell), hangup=True)
        action = self.url_for("reference", ticket_id=ticket_id)
        return twiml.closing_response(self.voice, texts, ticket_id, action, farewell)

    def reprompt(self, state: Dict[str, Any], prefix: str, next_action: str) -> str:
        question = state.get("prompt") or [line_says("no_state_prompt")]
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
