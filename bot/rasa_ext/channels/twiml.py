"""What the IVR says, and the TwiML that says it.

`speakable` is the channel's safety net for text written for screens: no emoji, links or
markdown reach <Say>, and references, amounts, dates and times are put in a form a
caller can follow by ear. `for_the_ear` turns a turn's texts into prompts a caller can
follow: no written labels ("What we will do:"), one idea per <Say>, the question with
its menu as the last, short prompt, and "we're closed" said once. The builders use the
twilio library's TwiML classes only.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence

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
# "for example C-20261122-0007": read out in digits it sounds like the caller's own number.
_EXAMPLE_REFERENCE = re.compile(r",?\s*\(?\b(?:for example|for instance|e\.g\.|such as)\s+[A-Z]{1,4}-\d{4,}(?:-\d+)*\b\)?")
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
    if h == 0 and m == 0:
        return "midnight"
    return f"{h12} {suffix}" if m == 0 else f"{h12}:{m:02d} {suffix}"


def _spoken_reference(match: re.Match) -> str:
    """'ORD-4400918' is said as "order four four zero, zero nine one eight" (the letters are
    the written label: the word "order" is said unless the sentence already says it)."""
    written = match.group(0)
    spoken = speakable_order_id(written)
    label = written.split("-", 1)[0]
    if len(label) > 1 and not re.search(r"\border\s*(?:number\s*)?$", match.string[:match.start()], re.IGNORECASE):
        return f"order {spoken}"
    return spoken


def _time_range(match: re.Match) -> str:
    """'09:00-11:00' -> '9 to 11 AM' (the half of the day said once); '11:00-13:00' ->
    '11 AM to 1 PM'."""
    start, end = (_clock(*t.split(":")) for t in (match.group(1), match.group(2)))
    for suffix in (" AM", " PM"):
        if start.endswith(suffix) and end.endswith(suffix):
            return f"{start[:-len(suffix)]} to {end}"
    return f"{start} to {end}"


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
    out = _EXAMPLE_REFERENCE.sub("", out)
    out = _REFERENCE.sub(_spoken_reference, out)
    out = _AMOUNT_CODE.sub(lambda m: _money(m.group(1), m.group(2), m.group(3)), out)
    out = _DAY_RANGE.sub(lambda m: f"{_DAYS[m.group(1)]} to {_DAYS[m.group(2)]}", out)
    out = _WEEKDAY.sub(lambda m: _DAYS[m.group(1)], out)
    out = _DAY_MONTH.sub(lambda m: f"{m.group(1)} {_MONTHS[m.group(2)]}", out)
    out = _TIME_RANGE.sub(_time_range, out)
    out = _TIME.sub(lambda m: _clock(m.group(1), m.group(2)), out)
    out = out.replace("*", "").replace("#", "").replace("`", "")
    out = re.sub(r"\(\s*\)|\[\s*\]", "", out)          # brackets emptied by the removals
    out = re.sub(r"\s+([,.;:!?])", r"\1", out)
    return re.sub(r"\s+", " ", out).strip()


def button_menu(buttons: Iterable[Dict[str, Any]]) -> str:
    """Buttons as one short keypad menu: 'Press 1 for yes, or 2 for no.' ('Press' is said
    once: the caller listens for the option, then its key)."""
    titles = [speakable(b.get("title") or b.get("payload") or "").rstrip(".") for b in buttons]
    if not titles:
        return ""
    if len(titles) == 1:
        return f"Press 1 for {titles[0]}."
    # "Monday 2 December, 9 to 11 AM" four times: the day once, then only the times.
    heads = {t.split(", ", 1)[0] for t in titles}
    lead = ""
    if len(heads) == 1 and all(", " in t for t in titles):
        lead = f"On {heads.pop()}, "
        titles = [t.split(", ", 1)[1] for t in titles]
    keyed = [f"{n} for {t}" for n, t in enumerate(titles, start=1)]
    # Semicolons when the options have commas of their own ("Monday 23 November, 9 AM").
    sep = "; " if any("," in t for t in titles) else ", "
    press = "press" if lead else "Press"
    return f"{lead}{press} {sep.join(keyed[:-1])}{sep.rstrip()} or {keyed[-1]}."


# ---- prompts for the ear --------------------------------------------------------------
# Labels that structure a screen; read aloud they are noise. kind -> what the ear hears.
_LABELS = [
    (re.compile(r"^\s*what we will do\s*:\s*", re.IGNORECASE), ""),
    (re.compile(r"^\s*to be upfront about what we can(?:'|’)?t do\s*:\s*", re.IGNORECASE), ""),
    (re.compile(r"^\s*what we can(?:'|’)?t do\s*:\s*", re.IGNORECASE), ""),
    (re.compile(r"^\s*why\s*:\s*", re.IGNORECASE), "That's because "),
    (re.compile(r"^\s*what you can do instead\s*:\s*", re.IGNORECASE), ""),
    (re.compile(r"^\s*what happens next\s*:\s*", re.IGNORECASE), ""),
]
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'£])")
_CLOSED = re.compile(
    r"\b(?:we(?:'|’)?re closed|we are closed|(?:isn(?:'|’)?t|is not|aren(?:'|’)?t|are not|not) available right now"
    r"|outside (?:our )?(?:opening|business) hours)\b", re.IGNORECASE)
_WHEN_OPEN = re.compile(r"\bwhen we (?:next )?open\b|\d", re.IGNORECASE)


def without_label(text: str) -> str:
    """'Why: The carrier ...' -> "That's because the carrier ..."; 'What we will do: We
    will ...' -> 'We will ...'. Text without a label is returned as it is."""
    for label, lead in _LABELS:
        match = label.match(text or "")
        if match:
            rest = text[match.end():]
            if lead and rest[:1].isupper() and not rest[:2].isupper():
                rest = rest[:1].lower() + rest[1:]  # "I" and acronyms keep their capital
            return lead + rest
    return text


def sentences(text: str) -> List[str]:
    return [s.strip() for s in _SENTENCE.split(text or "") if s.strip()]


def about_closing(sentence: str) -> bool:
    return bool(_CLOSED.search(sentence or ""))


def say_closed_once(prompts: List[str]) -> List[str]:
    """Of the sentences of one answer that say we're closed ("Our team isn't available
    right now", "We're closed right now, so ... when we open (Monday ...)"), keep one:
    the one that says when we open, else the first."""
    split = [sentences(p) for p in prompts]
    closing = [(i, j) for i, ss in enumerate(split) for j, s in enumerate(ss) if about_closing(s)]
    if len(closing) < 2:
        return prompts
    keep = next(((i, j) for i, j in closing if _WHEN_OPEN.search(split[i][j])), closing[0])
    kept = [" ".join(s for j, s in enumerate(ss) if (i, j) == keep or (i, j) not in closing) for i, ss in enumerate(split)]
    return [p for p in kept if p]


def for_the_ear(texts: Sequence[str]) -> List[str]:
    """A turn's texts as prompts: labels off, each message its own <Say>, closed said once."""
    return say_closed_once([t for t in (without_label(t).strip() for t in texts) if t])


def with_menu(prompts: List[str], menu: str) -> List[str]:
    """The question (the last question said) and its menu become the last prompt on their
    own, so the caller hears the choice in one short breath: 'Let me read that back: ...'
    is one prompt, 'Is that correct? Press 1 ...' the next."""
    if not prompts:
        return [menu] if menu else []
    *before, last = prompts
    parts = sentences(last)
    asks = [i for i, part in enumerate(parts) if part.endswith("?")]
    if menu:
        # The channel's menu: it goes with the question only if the question is said last.
        start = len(parts) - 1 if parts and parts[-1].endswith("?") else len(parts)
    elif asks and mentions_keypad(" ".join(parts[asks[-1]:])):
        start = asks[-1]  # the response says its keys itself, after its question
    else:
        return list(prompts)
    rest, question = " ".join(parts[:start]), " ".join(parts[start:])
    return before + ([rest] if rest else []) + [f"{question} {menu}".strip()]


def drop_reference(text: str, reference: str) -> str:
    """text without the sentences' mentions of the reference (the closing says it twice,
    then offers to repeat it): ', and your reference is X', 'Your reference is X.', 'Again,
    that's X.'"""
    forms = sorted({reference, speakable_order_id(reference)}, key=len, reverse=True)
    alternatives = "|".join(re.escape(f) for f in forms)
    out = re.sub(rf"(?i)\bagain,?\s*(?:that(?:'|’)?s\s*)?(?:{alternatives})\.?", "", text)
    out = re.sub(rf"(?i)(?:,?\s*and\s+)?\byour (?:complaint )?reference is\s*(?:{alternatives})\s*(?::[^.]*)?\.?", ".", out)
    out = re.sub(r"\s*\.(?:\s*\.)+", ".", out)
    out = re.sub(r"^\s*\.\s*", "", out)
    return re.sub(r"\s+", " ", out).strip()


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


def closing_response(
    voice: Voice, texts: Sequence[str], reference: str, action_url: str, farewell: Sequence[str],
) -> str:
    """The end of a call with a reference: what is left to say, the reference twice and
    "press 1 to hear it again" (a one-key <Gather> to action_url), then the farewell and
    <Hangup> when the caller keys nothing (no actionOnEmptyResult: Twilio goes on to the
    next verb)."""
    response = VoiceResponse()
    for text in texts:
        voice.say(response, text)
    spoken = speakable_order_id(reference)
    gather = Gather(
        input="dtmf speech", action=action_url, method="POST", num_digits=1, timeout=5,
        language=voice.language, hints="repeat, again, one", speech_timeout="auto",
    )
    voice.say(gather, f"Your reference is {spoken}.")
    voice.say(gather, f"Again, that's {spoken}.")
    voice.say(gather, "To hear it again, press 1.")
    response.append(gather)
    for text in farewell:
        voice.say(response, text)
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
