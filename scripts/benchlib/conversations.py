"""Realistic conversations, played turn by turn through the product's real entry points.

- web: Rasa's REST channel, POST /webhooks/rest/webhook {"sender", "message"}; a button
  is clicked by sending its payload (as the web widget does);
- ivr: the Twilio Voice IVR webhook, signed as Twilio signs it (X-Twilio-Signature over
  PUBLIC_URL + path + query, RequestValidator), one CallSid per call, SpeechResult or
  Digits, following the <Gather action> URL (?turn=N) of each answer.

Each conversation has a fresh sender id / CallSid. A turn's latency is measured on the
client: from sending the request to having read the whole response.
"""
from __future__ import annotations

import asyncio
import json
import random
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import aiohttp

from .stats import TurnResult


@dataclass(frozen=True)
class Step:
    kind: str                      # what the turn is (greet, complaint, confirm, remedy, ...)
    text: Optional[str] = None     # web message / IVR speech (may use {order}, {phone} ...)
    button: Optional[int] = None   # web: send the payload of the last reply's button #n (0-based)
    digits: Optional[str] = None   # IVR keypad
    expect: Optional[str] = None   # text the reply should contain (case-insensitive); else "unexpected"
    answer: bool = False           # IVR: the call is answered (no input: the assistant speaks first)


@dataclass(frozen=True)
class Script:
    name: str
    channel: str                   # web | ivr
    steps: Tuple[Step, ...]
    weight: float = 1.0


# ---- our assistant's conversations ------------------------------------------------------
DELIVERY = "hello, my parcel ord {order} is {days} days late and nobody tells me anything"
DAMAGED = "my order {order} arrived broken, the screen is cracked"
WARRANTY = "you refused to repair my {appliance} under warranty, bought {bought}, I want it fixed for free"
BILLING = "I was charged twice for my order!!"
WASHER = "the washing machine came damaged from the van, order {order}"

WEB_SCRIPTS: Tuple[Script, ...] = (
    Script("web-delivery-remedy", "web", (
        Step("greet", "hi", expect="complaints assistant"),
        Step("complaint", DELIVERY, expect="read that back"),
        Step("confirm", "/affirm", expect="what we will do"),
        Step("remedy", button=1, expect="your reference is"),
        Step("goodbye", "no", expect="goodbye"),
    ), weight=3),
    Script("web-damaged-remedy", "web", (
        Step("complaint", DAMAGED, expect="read that back"),
        Step("confirm", "/affirm", expect="what we will do"),
        Step("remedy", button=0, expect="your reference is"),
        Step("goodbye", "bye", expect="goodbye"),
    ), weight=2),
    Script("web-warranty-rejection-callback", "web", (
        Step("greet", "hi", expect="complaints assistant"),
        Step("complaint", WARRANTY, expect="read that back"),
        Step("confirm", "/affirm", expect="can't repair it free of charge"),
        Step("reject", "None of these", expect="will not change"),
        Step("callback", "/request_callback", expect="when would suit"),
        Step("window", button=1, expect="phone number"),
        Step("phone", "{phone_local}", expect="will call"),
        Step("thanks", "thanks", expect="welcome"),
    ), weight=2),
    Script("web-handoff", "web", (
        Step("greet", "hi", expect="complaints assistant"),
        Step("complaint", BILLING, expect="order number"),
        Step("handoff", "just let me talk to a real person", expect="colleague"),
    ), weight=2),
)

IVR_SCRIPTS: Tuple[Script, ...] = (
    Script("ivr-damaged-remedy", "ivr", (
        Step("answer", answer=True, expect="complaints assistant"),
        Step("complaint", WASHER, expect="press 1"),
        Step("confirm", digits="1", expect="what we will do"),
        Step("remedy", digits="2", expect="complaint is recorded"),
        Step("goodbye", "no", expect="goodbye"),
    ), weight=3),
    Script("ivr-warranty-rejection-callback", "ivr", (
        Step("answer", answer=True, expect="complaints assistant"),
        Step("complaint", WARRANTY, expect="press 1"),
        Step("confirm", digits="1", expect="can't repair it free of charge"),
        Step("reject", digits="3", expect="will not change"),
        Step("callback", digits="1", expect="when would suit"),
        Step("window", digits="2", expect="will call you"),
        Step("goodbye", "no", expect="goodbye"),
    ), weight=2),
    Script("ivr-handoff", "ivr", (
        Step("answer", answer=True, expect="complaints assistant"),
        Step("complaint", WASHER, expect="press 1"),
        Step("handoff", "I want to speak to a person", expect="colleague"),
    ), weight=2),
)

# ---- the stock `rasa init` assistant (texts from its own NLU data) -------------------------
STOCK_SCRIPTS: Tuple[Script, ...] = (
    Script("stock-happy", "web", (
        Step("greet", "hello", expect="how are you"),
        Step("mood", "I am feeling very good", expect="great"),
        Step("goodbye", "bye", expect="bye"),
    ), weight=1),
    Script("stock-sad-helped", "web", (
        Step("greet", "hey there", expect="how are you"),
        Step("mood", "I am very sad", expect="did that help"),
        Step("affirm", "yes", expect="great"),
        Step("goodbye", "goodbye", expect="bye"),
    ), weight=1),
    Script("stock-sad-not-helped", "web", (
        Step("greet", "good morning", expect="how are you"),
        Step("mood", "my day was horrible", expect="did that help"),
        Step("deny", "no", expect="bye"),
    ), weight=1),
)


def fill(text: str, facts: Dict[str, str]) -> str:
    return text.format(**facts) if "{" in text else text


APPLIANCES = ("bosch fridge", "samsung washing machine", "lg dishwasher", "bosch fridge freezer",
              "beko tumble dryer", "hotpoint oven")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
# The customer's facts differ in every conversation, whatever the seed: the product keys
# repeat complaints and the callback limit per issue on them (order, product, date, phone),
# so replayed facts would turn later conversations into repeat complaints.
_FACTS = random.SystemRandom()


def random_facts(rng: random.Random) -> Dict[str, str]:
    return {
        "order": str(_FACTS.randint(4_000_000, 9_999_999)),
        "days": str(_FACTS.randint(3, 9)),
        "phone_local": f"020 7946 {_FACTS.randint(0, 9999):04d}",
        "appliance": _FACTS.choice(APPLIANCES),
        # out of the 2-year warranty, so the read-back is followed by "can't repair it free"
        "bought": f"{_FACTS.randint(1, 28)} {_FACTS.choice(MONTHS)} {_FACTS.randint(2018, 2022)}",
        "caller": f"+447700{_FACTS.randint(0, 999_999):06d}",
    }


class Conversation:
    """One conversation: the script's steps, taken one at a time."""

    channel = "web"

    def __init__(self, script: Script, rng: random.Random) -> None:
        self.script = script
        self.facts = random_facts(rng)
        self.index = 0

    @property
    def done(self) -> bool:
        return self.index >= len(self.script.steps)

    async def turn(self, session: aiohttp.ClientSession, timeout: float = 30.0) -> TurnResult:
        step = self.script.steps[self.index]
        self.index += 1
        sent = time.monotonic()
        try:
            ok, error, reply_text = await asyncio.wait_for(self._send(session, step), timeout)
        except asyncio.TimeoutError:
            ok, error, reply_text = False, "timeout", ""
        except (aiohttp.ClientError, ValueError, OSError) as exc:  # incl. a body that isn't JSON
            ok, error, reply_text = False, type(exc).__name__, ""
        latency = time.monotonic() - sent
        if not ok:
            self.index = len(self.script.steps)  # a broken conversation is not continued
        unexpected = bool(ok and step.expect and step.expect.lower() not in reply_text.lower())
        return TurnResult(self.channel, step.kind, self.script.name, sent, latency, ok, error, unexpected,
                          detail=reply_text[:300] if unexpected else None)

    async def _send(self, session: aiohttp.ClientSession, step: Step) -> Tuple[bool, Optional[str], str]:
        raise NotImplementedError

    async def finish(self, session: aiohttp.ClientSession) -> None:
        """What the channel does when the conversation is over (not measured as a turn)."""


class WebConversation(Conversation):
    channel = "web"

    def __init__(self, base_url: str, script: Script, rng: random.Random, prefix: str = "bench") -> None:
        super().__init__(script, rng)
        self.url = f"{base_url}/webhooks/rest/webhook"
        self.sender = f"{prefix}-{uuid.uuid4().hex}"
        self.buttons: List[Dict[str, str]] = []

    async def _send(self, session: aiohttp.ClientSession, step: Step) -> Tuple[bool, Optional[str], str]:
        if step.button is not None:
            if step.button >= len(self.buttons):
                return False, "button not offered", ""
            message = self.buttons[step.button].get("payload") or self.buttons[step.button].get("title")
        else:
            message = fill(step.text or "", self.facts)
        async with session.post(self.url, json={"sender": self.sender, "message": message}) as response:
            body = await response.read()
            if response.status != 200:
                return False, f"HTTP {response.status}", ""
        replies = json.loads(body)
        if not isinstance(replies, list) or not replies:
            return False, "no reply", ""
        self.buttons = [b for r in replies for b in (r.get("buttons") or [])]
        return True, None, "\n".join(r.get("text") or "" for r in replies)


class IVRConversation(Conversation):
    """A phone call as Twilio makes it (see tests/live/test_twilio_ivr.py)."""

    channel = "ivr"

    def __init__(self, base_url: str, public_url: str, token: str, script: Script, rng: random.Random,
                 caller: Optional[str] = None) -> None:
        from twilio.request_validator import RequestValidator

        super().__init__(script, rng)
        self.base_url, self.public_url = base_url, public_url.rstrip("/")
        self.validator = RequestValidator(token)
        self.sid = "CA" + uuid.uuid4().hex
        self.caller = caller or self.facts["caller"]
        self.next_url = self.public_url + "/webhooks/twilio_ivr/webhook"  # the number's Voice URL
        self.hung_up = False

    def params(self, **inputs: str) -> Dict[str, str]:
        return {
            "CallSid": self.sid, "AccountSid": "AC" + "0" * 32, "From": self.caller, "Caller": self.caller,
            "To": "+442071234567", "Called": "+442071234567", "CallStatus": "in-progress",
            "Direction": "inbound", "ApiVersion": "2010-04-01", **inputs,
        }

    def local(self, url: str) -> str:
        """Twilio calls PUBLIC_URL; the request is delivered to the local server."""
        if url.startswith(self.public_url):
            return self.base_url + url[len(self.public_url):]
        if url.startswith("/"):
            return self.base_url + url
        raise ValueError(f"not our URL: {url}")

    async def post(self, session: aiohttp.ClientSession, url: str, params: Dict[str, str]) -> Tuple[int, str]:
        headers = {"X-Twilio-Signature": self.validator.compute_signature(url, params)}
        async with session.post(self.local(url), data=params, headers=headers) as response:
            return response.status, (await response.read()).decode()

    async def _send(self, session: aiohttp.ClientSession, step: Step) -> Tuple[bool, Optional[str], str]:
        if step.answer:
            params = self.params(CallStatus="ringing")
        elif step.digits is not None:
            params = self.params(Digits=step.digits)
        else:
            params = self.params(SpeechResult=fill(step.text or "", self.facts), Confidence="0.91")
        status, body = await self.post(session, self.next_url, params)
        if status != 200:
            return False, f"HTTP {status}", ""
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            return False, "not TwiML", ""
        said = " ".join(say.text or "" for say in root.iter("Say")).strip()
        if root.tag != "Response" or not said:
            return False, "nothing said", ""
        gather = root.find("Gather")
        if gather is not None and gather.get("action"):
            self.next_url = urllib.parse.urljoin(self.next_url, gather.get("action"))
        elif self.index < len(self.script.steps):
            # Hang-up or transfer before the script's end: the call is over.
            self.index = len(self.script.steps)
        return True, None, said

    async def finish(self, session: aiohttp.ClientSession) -> None:
        """Twilio's status callback when the call ends (frees the IVR's per-call state)."""
        if self.hung_up:
            return
        self.hung_up = True
        url = self.public_url + "/webhooks/twilio_ivr/status"
        try:
            await asyncio.wait_for(self.post(session, url, self.params(CallStatus="completed", CallDuration="60")), 30)
        except (asyncio.TimeoutError, aiohttp.ClientError):
            pass


ConversationFactory = Callable[[random.Random], Conversation]


def mix(scripts: Sequence[Script], make: Callable[[Script, random.Random], Conversation]) -> ConversationFactory:
    weights = [s.weight for s in scripts]

    def factory(rng: random.Random) -> Conversation:
        return make(rng.choices(list(scripts), weights)[0], rng)

    return factory


def our_factory(base_url: str, public_url: str, token: str, ivr_share: float = 0.3,
                web_scripts: Sequence[Script] = WEB_SCRIPTS, ivr_scripts: Sequence[Script] = IVR_SCRIPTS) -> ConversationFactory:
    """Conversations with our assistant: a share of phone calls, the rest web chats."""
    web = mix(web_scripts, lambda s, rng: WebConversation(base_url, s, rng))
    ivr = mix(ivr_scripts, lambda s, rng: IVRConversation(base_url, public_url, token, s, rng))

    def factory(rng: random.Random) -> Conversation:
        return ivr(rng) if rng.random() < ivr_share else web(rng)

    return factory


def stock_factory(base_url: str) -> ConversationFactory:
    return mix(STOCK_SCRIPTS, lambda s, rng: WebConversation(base_url, s, rng, prefix="stock"))
