"""What the IVR says, and the TwiML that says it.

`speakable` is the channel's safety net for text written for screens: no emoji, links or
markdown reach <Say>, and references, amounts, dates and times are put in a form a
caller can follow by ear. The builders use the twilio library's TwiML classes only.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Optional, Sequence

from twilio.twiml.voice_response import Dial, Enqueue, Gather, Number, VoiceResponse

from bot.speech import speakable_order_id

# ---- speakable text -----------------------------------------------------------------
_MD_LINK = re.compile(r"\[([^\]]+)\]\((?:https?://|www\.)[^)\s]*\)")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|`+)(?=\S)(.+?)(?<=\S)\1")
_MD_UNDERSCORE = re.compile(r"(?<![\w])_(?=\S)(.+?)(?<=\S)_(?![\w])")
_MD_LINE_MARK = re.compile(r"^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+)", re.MULTILINE)
# A reference or order number such as C-20261122-0007 or ORD-4400918: letters, then digits.
_REFERENCE = re.compile(r"\b[A-Z]{1,4}-\d{4,}(?:-\d+)*\b")
# "499.00 GBP" is read letter by letter; "£499" is read as money by every TTS voice.
_CURRENCY_SYMBOL = {"GBP": "£", "EUR": "€", "USD": "$"}
_AMOUNT_CODE = re.compile(r"\b(\d[\d,]*)(?:\.(\d{2}))?\s?(GBP|EUR|USD)\b")
_DAYS = {"Mon": "Monday", "Tue": "Tuesday", "Wed": "Wednesday", "Thu": "Thursday",
         "Fri": "Friday", "Sat": "Saturday", "Sun": "Sunday"}
_MONTHS = {"Jan": "January", "Feb": "February", "Mar": "March", "Apr": "April", "May": "May",
           "Jun": "June", "Jul": "July", "Aug": "August", "Sep": "September", "Sept": "September",
           "Oct": "October", "Nov": "November", "Dec": "December"}
_DAY = r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_DAY_RANGE = re.compile(rf"\b{_DAY}\s?[-–]\s?{_DAY}\b")
_WEEKDAY = re.compile(rf"\b{_DAY}\b(?=,? \d)")
_DAY_MONTH = re.compile(r"\b(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\b")
_TIME_RANGE = re.compile(r"\b(\d{1,2}:\d{2})\s?[-–]\s?(\d{1,2}:\d{2})\b")
_TIME = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b")


def _is_emoji(char: str) -> bool:
    if char in "\u200d\ufe0e\ufe0f\u20e3":  # joiners, variation selectors, keycap
        return True
    code = ord(char)
    if 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F:  # skin tones, tag sequences
        return True
    # Symbols from the arrows block upwards (dingbats, pictographs, emoji); not £ or °.
    return unicodedata.category(char) in ("So", "Cs", "Co") and code >= 0x2190


def _money(units: str, cents: Optional[str], code: str) -> str:
    return f"{_CURRENCY_SYMBOL[code]}{units}" + (f".{cents}" if cents and cents != "00" else "")


def _clock(hours: str, minutes: str) -> str:
    """'09:00' -> '9 AM', '13:30' -> '1:30 PM' (what a UK caller expects to hear)."""
    h, m = int(hours), int(minutes)
    suffix = "AM" if h < 12 else "PM"
    h12 = h % 12 or 12
    if h == 12 and m == 0:
        return "midday"
    return f"{h12} {suffix}" if m == 0 else f"{h12}:{m:02d} {suffix}"


def speakable(text: Optional[str]) -> str:
    """Text for <Say>: screen-only things removed, facts in a form that can be heard."""
    if not text:
        return ""
    out = _MD_LINK.sub(r"\1", text)
    out = _URL.sub("", out)
    out = _MD_LINE_MARK.sub("", out)
    out = _MD_EMPHASIS.sub(r"\2", out)
    out = _MD_UNDERSCORE.sub(r"\1", out)
    out = "".join(c for c in out if not _is_emoji(c))
    out = _REFERENCE.sub(lambda m: speakable_order_id(m.group(0)), out)
    out = _AMOUNT_CODE.sub(lambda m: _money(m.group(1), m.group(2), m.group(3)), out)
    out = _DAY_RANGE.sub(lambda m: f"{_DAYS[m.group(1)]} to {_DAYS[m.group(2)]}", out)
    out = _WEEKDAY.sub(lambda m: _DAYS[m.group(1)], out)
    out = _DAY_MONTH.sub(lambda m: f"{m.group(1)} {_MONTHS[m.group(2)]}", out)
    out = _TIME_RANGE.sub(lambda m: f"{m.group(1)} to {m.group(2)}", out)
    out = _TIME.sub(lambda m: _clock(m.group(1), m.group(2)), out)
    out = out.replace("*", "").replace("#", "").replace("`", "")
    out = re.sub(r"\(\s*\)|\[\s*\]", "", out)          # brackets emptied by the removals
    out = re.sub(r"\s+([,.;:!?])", r"\1", out)
    return re.sub(r"\s+", " ", out).strip()


def button_menu(buttons: Iterable[Dict[str, Any]]) -> str:
    """Buttons as a keypad menu: 'Press 1 for Yes, that's right. Press 2 for ...'"""
    parts = []
    for number, button in enumerate(buttons, start=1):
        title = speakable(button.get("title") or button.get("payload") or "").rstrip(".")
        parts.append(f"Press {number} for {title}.")
    return " ".join(parts)


def mentions_keypad(text: str) -> bool:
    """The response already tells the caller which key to press (voice variants do)."""
    return bool(re.search(r"\bpress\s+1\b", text or "", re.IGNORECASE))


# ---- TwiML ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Voice:
    language: str = "en-GB"
    voice: Optional[str] = None
    hints: Optional[str] = None

    def say(self, parent, text: str) -> None:
        text = speakable(text)
        if text:
            # A Polly/Google voice speaks its own language; `language` is for the basic voices.
            basic = not self.voice or self.voice in ("man", "woman", "alice")
            parent.say(text, voice=self.voice or None, language=self.language if basic else None)


def gather_response(voice: Voice, texts: Sequence[str], action_url: str, menu_size: int = 0) -> str:
    """Everything said inside one <Gather>, so the caller can interrupt (bargeIn) by
    speaking or keying; Twilio posts to action_url even after silence."""
    response = VoiceResponse()
    gather = Gather(
        input="speech dtmf",
        action=action_url,
        method="POST",
        language=voice.language,
        hints=voice.hints or None,
        # "auto" ends the turn at the caller's natural pause. Twilio rejects "auto" when a
        # speechModel is set (warning 13335), so none is set: Twilio picks the model.
        speech_timeout="auto",
        barge_in=True,
        action_on_empty_result=True,
        # A keypad menu answers with one key; anything else (an order number) ends on # or a pause.
        num_digits=1 if 0 < menu_size <= 9 else None,
    )
    for text in texts:
        voice.say(gather, text)
    response.append(gather)
    return str(response)


def enqueue_response(
    voice: Voice, texts: Sequence[str], queue: str, action_url: str,
    task: Optional[Dict[str, Any]] = None, workflow_sid: Optional[str] = None,
) -> str:
    response = VoiceResponse()
    for text in texts:
        voice.say(response, text)
    if workflow_sid:
        # TaskRouter (Flex): the ticket travels as the Task's attributes, which is what the
        # agent's screen shows when the task is offered.
        enqueue = Enqueue(action=action_url, method="POST", workflow_sid=workflow_sid)
        enqueue.task(json.dumps(task or {}, separators=(",", ":")))
    else:
        # A plain queue has no attributes: the agent side identifies the queued call by its
        # CallSid (Queue Members API, or the CallSid Twilio posts to <Dial><Queue url>),
        # which is this conversation's id and the ticket's conversation_id.
        enqueue = Enqueue(queue, action=action_url, method="POST")
    response.append(enqueue)
    return str(response)


def dial_response(voice: Voice, texts: Sequence[str], number: str, action_url: str, whisper_url: str) -> str:
    response = VoiceResponse()
    for text in texts:
        voice.say(response, text)
    # answerOnBridge: the caller hears ringing until the agent has heard the whisper
    # (<Number url>, played to the agent only) and the two are connected.
    dial = Dial(action=action_url, method="POST", answer_on_bridge=True)
    dial.append(Number(number, url=whisper_url, method="POST"))
    response.append(dial)
    return str(response)


def say_response(voice: Voice, texts: Sequence[str], hangup: bool = True) -> str:
    response = VoiceResponse()
    for text in texts:
        voice.say(response, text)
    if hangup:
        response.hangup()
    return str(response)


def hangup_response() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


def pause_and_redirect(url: str, seconds: int = 1) -> str:
    """Answer for a delivery whose twin is still being processed: come back shortly."""
    response = VoiceResponse()
    response.pause(length=seconds)
    response.redirect(url, method="POST")
    return str(response)
