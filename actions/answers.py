"""Typed answers to the questions the assistant asks with buttons.

Every question with buttons also accepts what a customer would type: "yeah go on",
"the voucher i guess", "the first one", "tomorrow morning", "the 11 o'clock one", "i don't
have the order number". Pure functions of the text and the options offered, so each is
tested on its own; the form (actions/complaint.py) decides what to do with the answer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Dict, List, Optional, Sequence, Set

YES = "yes"
NO = "no"

# Whole-message forms only: "no" inside "no, it was the 5th" is a correction, not a refusal.
_YES = re.compile(
    r"(?:yes|yeah|yea|yeh|yh|ye|yep|yup|ya|aye|sure thing|sure|ok|okay|k|fine|correct|right|that'?s right|that'?s correct|"
    r"spot on|exactly|absolutely|definitely|of course|please|yes please|go on|go ahead|go for it|that is (?:right|correct|it)|"
    r"correct yes|all (?:of it is )?right|it is|it's right|that'?s all (?:right|correct)|"
    r"sounds good|that works|perfect|great|lovely|that'?s fine|(?:that'?s|it'?s|thats|its) ok(?:ay)?|that'?s it|all correct|all good|"
    r"looks right|looks good|i do|i would|i'?d like that|why not)"
)
_NO = re.compile(
    r"(?:no|nope|nah|naw|not really|no thanks|no thank you|no ta|not now|never|negative|"
    r"i don'?t think so|don'?t|do not|not interested|no need|i'?m ok|i'?m fine|that'?s wrong|wrong|"
    r"incorrect|not right|not quite|that'?s not right)"
)
_FILLER = re.compile(r"\b(?:um+|erm+|er|uh+|hmm+|well|so|oh|ah|like|just|then|i guess|i think|i suppose|thanks|thank you|ta|cheers|mate|please|pls)\b")


def _lowered(text: str) -> str:
    """Lower case, with a typographic apostrophe as a plain one."""
    return (text or "").lower().replace("’", "'")


def _normalise(text: str) -> str:
    lowered = re.sub(r"[^\w' ]+", " ", _lowered(text))
    return re.sub(r"\s+", " ", lowered).strip()


def yes_or_no(text: str, intent: Optional[str] = None) -> Optional[str]:
    """YES, NO or None (not a plain yes/no). The intent decides where the classifier is
    sure of one; the lexicon catches the short forms it may not have seen."""
    if intent in ("affirm", "request_callback"):
        return YES
    if intent in ("deny", "decline_callback"):
        return NO
    plain = _normalise(text)
    stripped = re.sub(r"\s+", " ", _FILLER.sub(" ", plain)).strip() or plain
    for candidate in (plain, stripped):
        if _YES.fullmatch(candidate) or re.fullmatch(rf"{_YES.pattern}(?: {_YES.pattern})*", candidate):
            return YES
        if _NO.fullmatch(candidate) or re.fullmatch(rf"{_NO.pattern}(?: {_NO.pattern})*", candidate):
            return NO
    return None


# "ok but ...", "fine, however ...": a yes that goes on to object is not one.
_OBJECTION_AFTER = re.compile(r"(?i)\b(?:but|however|although|though|except)\b")


def yes_then_more(text: str) -> bool:
    """The reply's first clause is a yes and nothing after it objects ("ya. sent it back 3
    wks ago", "yes. and is the other one logged too?"), so the yes stands."""
    return first_words_answer(text) == YES and not _OBJECTION_AFTER.search(text or "")


def first_words_answer(text: str) -> Optional[str]:
    """YES or NO when the reply's first clause is one ("Not really. It's been three weeks",
    "no - that doesn't work for me"), whatever follows; else None."""
    return yes_or_no(re.split(r"[,.;!?]| - ", text or "", maxsplit=1)[0])


_ORDINALS = {"first": 1, "1st": 1, "one": 1, "second": 2, "2nd": 2, "two": 2, "third": 3, "3rd": 3,
             "three": 3, "fourth": 4, "4th": 4, "four": 4, "fifth": 5, "5th": 5, "five": 5,
             "last": -1, "bottom": -1, "top": 1}


def ordinal_pick(text: str, count: int) -> Optional[int]:
    """'2', 'option 2', 'the second one', 'the first one please', 'the last one' -> index."""
    plain = _normalise(text)
    match = re.fullmatch(r"(?:option|number|no|press|choice)?\s*(\d)", plain)
    if match:
        index = int(match.group(1))
        return index - 1 if 1 <= index <= count else None
    stripped = re.sub(r"\s+", " ", _FILLER.sub(" ", plain)).strip()
    match = re.fullmatch(r"(?:i'?ll (?:take|have|go for) |i want |give me )?(?:the |option |number )?(\w+)(?: one| option| choice)?", stripped)
    if match and match.group(1) in _ORDINALS:
        index = _ORDINALS[match.group(1)]
        index = count if index == -1 else index
        return index - 1 if 1 <= index <= count else None
    return None


_STOP = {"a", "an", "the", "of", "for", "my", "me", "i", "it", "to", "and", "or", "please", "want",
         "would", "like", "prefer", "id", "i'd", "take", "have", "go", "with", "that", "one", "option",
         "guess", "think", "just", "from", "off", "your", "you", "when", "while", "its", "it's", "get",
         "pound", "pounds", "quid", "£10", "10"}
_SYNONYMS = {"money back": "refund", "moneyback": "refund", "new one": "replacement", "replace": "replacement",
             "swap": "exchange", "fix": "repair", "fixed": "repair", "mend": "repair", "credit": "voucher",
             "gift card": "voucher", "coupon": "voucher", "sorry letter": "apology", "apologise": "apology",
             "postage": "delivery", "shipping": "delivery", "courier fee": "delivery"}


def _words(text: str) -> List[str]:
    plain = _normalise(text)
    for phrase, word in _SYNONYMS.items():
        plain = re.sub(rf"\b{phrase}\b", word, plain)
    return [w[:-1] if w.endswith("s") and len(w) > 4 else w for w in plain.split()]


_WH_START = re.compile(r"^(?:how|what|whats|what's|why|when|where|which|who|if)\b")
_QUESTION_START = re.compile(rf"{_WH_START.pattern}|^(?:is|are|does|do|will|would|should)\b")
_REFUSAL = re.compile(r"\b(?:not|no|don'?t|didn'?t|doesn'?t|won'?t|wouldn'?t|wasn'?t|weren'?t|isn'?t|aren'?t|never|neither|nor|instead|rather than"
                      r"|pointless|meaningless|useless|rubbish|insult|insulting|joke|pathetic|derisory|laughable"
                      r"|ridiculous|measly|paltry|disgrace|disgraceful|is that it|is that all|more than that)\b")


def is_question(text: str) -> bool:
    """A message that asks something: a question mark, or a question's first word ("will it
    come by post", "what happens now")."""
    return "?" in (text or "") or bool(_QUESTION_START.match(_normalise(text)))


def asks_or_refuses(text: str) -> bool:
    """A typed reply that asks something or pushes an option away rather than choosing one:
    a question ("what happens if I say no", a "?" after more than six words) or a negation
    ("not the voucher", "I didn't pick that", "... is pointless")."""
    plain = _normalise(text)
    if _QUESTION_START.match(plain) or ("?" in (text or "") and len(plain.split()) > 6):
        return True
    return bool(_REFUSAL.search(plain))


_DISAGREES = re.compile(
    r"\b(?:i (?:totally |completely |strongly )?disagree|disagree with|(?:i )?don'?t (?:think (?:that'?s|thats|this is|it'?s) "
    r"(?:right|fair|ok|okay|acceptable)|accept (?:that|this|it)|agree)|(?:that'?s|thats|this is|it'?s|its) not "
    r"(?:right|fair|acceptable|good enough|ok|okay|on)|not (?:acceptable|good enough|fair)|unacceptable|unfair)\b")


def disagrees(text: str) -> bool:
    """A reply that disagrees in words rather than with a no: "sorry but i don't think that's
    right", "I disagree with this decision", "that's not good enough"."""
    return bool(_DISAGREES.search(_normalise(text)))


_UNDECIDED = re.compile(r"^(?:maybe|perhaps|possibly|not sure|i'?m not sure|unsure|dunno|i don'?t know|idk|"
                        r"it depends|depends|depends when|depends on when|what times?|when would (?:it|that) be)\b")


def undecided(text: str) -> bool:
    """A reply to the callback offer that neither takes nor refuses it: "maybe", "not sure,
    depends when. i work 9 to 5"."""
    return bool(_UNDECIDED.match(_normalise(text)))


def asks_back(text: str) -> bool:
    """A reply to a yes/no question that is a question of its own ("what happens if I say
    no?", "why would I want that"): no answer, whatever the classifier heard in it."""
    return bool(_WH_START.match(_normalise(text)))


def content_words(text: str) -> Set[str]:
    """The words of an answer that can name an option (stop words out, plurals and
    synonyms folded as in the options' own words)."""
    return {w for w in _words(text) if w not in _STOP}


def options_named_by(said: Set[str], options: Sequence[Dict[str, str]]) -> Set[str]:
    """The ids of the options whose label, spoken form or id share the most of these words
    with them (several when they tie); none when no option shares any."""
    scores = {option["id"]: len(said & content_words(" ".join(
        [option.get("label", ""), option.get("speakable", ""), option["id"].replace("_", " ")]))) for option in options}
    best = max(scores.values(), default=0)
    return {oid for oid, score in scores.items() if score == best} if best else set()


def option_named_by(said: Set[str], options: Sequence[Dict[str, str]]) -> Optional[str]:
    """The id of the one option whose label, spoken form or id shares the most of these
    words with them; None when none shares any, or two share as many."""
    named = options_named_by(said, options)
    return next(iter(named)) if len(named) == 1 else None


def match_option(text: str, options: Sequence[Dict[str, str]]) -> Optional[str]:
    """The id of the option a typed answer names: by position, by the option's exact label or
    id, or by the words only that option's label and spoken form share with the answer
    ("the voucher i guess", "refund please"). None when no option, or more than one, fits."""
    if not options:
        return None
    index = ordinal_pick(text, len(options))
    if index is not None:
        return options[index]["id"]
    plain = _normalise(text)
    for option in options:
        if plain in (_normalise(option.get("label", "")), option["id"].replace("_", " ")):
            return option["id"]
    if asks_or_refuses(text):
        # "how much would the voucher be?", "refunding the delivery is pointless, could I just
        # cancel?": the words name an option without choosing it, so nothing is recorded for
        # the customer and the question is put again. A sentence of its own that chooses
        # still counts ("I take the refund, please. Must I be at home?", "a written apology
        # would be nice. its not really about a voucher"; found in the role-play, round 3).
        sentences = [part for part in re.split(r"(?<=[.!?;])\s+", text.strip()) if part.strip()]
        choosing = [part for part in sentences if not asks_or_refuses(part) and "?" not in part]
        if choosing and len(choosing) < len(sentences):
            return match_option(" ".join(choosing), options)
        return None
    said = content_words(text)
    if not said:
        return None
    by_words = option_named_by(said, options)
    if by_words:
        return by_words
    # "10 pound voucher": numbers count where the words alone tie.
    numbers = set(re.findall(r"\d+", plain))
    if numbers:
        hits = [o["id"] for o in options if numbers & set(re.findall(r"\d+", o.get("label", "") + " " + o["id"]))]
        if len(hits) == 1:
            return hits[0]
    return None


_PARTS = {"morning": (8, 12), "lunchtime": (12, 14), "lunch": (12, 14), "afternoon": (12, 17),
          "evening": (17, 22), "am": (0, 12), "pm": (12, 24)}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_HOUR_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
               "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "noon": 12, "midday": 12}


def match_window(text: str, offered: Sequence[Dict[str, Any]], now: datetime,
                 named_day_only: bool = False) -> Optional[int]:
    """The offered callback window a typed answer names: 'tomorrow morning', 'the 11 o'clock
    one', 'monday at 2pm', 'friday afternoon'. Windows are dicts with ISO 'start'/'end' in
    the business's timezone; `now` is in that timezone too. None unless exactly one fits
    (then the earliest one that fits is taken only if the answer named a day); with
    `named_day_only`, None unless the answer named a day ("3pm" among two weeks of windows
    names none)."""
    plain = _normalise(text)
    today = now.date()
    day: Optional[date] = None
    if re.search(r"\btoday\b|\bthis (?:morning|afternoon|evening)\b", plain):
        day = today
    elif re.search(r"\b(?:tomorrow|tmrw|tmr|tomoz)\b", plain):
        day = today + timedelta(days=1)
    else:
        for offset, name in enumerate(_WEEKDAYS):
            if re.search(rf"\b{name}|\b{name[:3]}\b", plain):
                ahead = (offset - today.weekday()) % 7
                day = today + timedelta(days=ahead)
                break
    hour: Optional[int] = None
    match = re.search(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|o'?clock|oclock)?\b", plain)
    if match and (match.group(3) or match.group(2) or re.search(r"\bone\b|\bat\b|o'?clock|\bthe\b", plain)):
        hour = int(match.group(1))
        if match.group(3) == "pm" and hour < 12:
            hour += 12
    else:
        word = re.search(r"\b(" + "|".join(_HOUR_WORDS) + r")\s*(?:o'?clock|am|pm)\b|\b(noon|midday)\b", plain)
        if word:
            hour = _HOUR_WORDS[word.group(1) or word.group(2)]
            if "pm" in plain and hour < 12:
                hour += 12
    part = next((span for name, span in _PARTS.items() if re.search(rf"\b{name}\b", plain)), None)
    if hour is not None and part is None and hour < 8:
        hour += 12  # "the 2 o'clock one": nobody books a call for 2 in the morning

    fits = []
    for index, window in enumerate(offered):
        start = datetime.fromisoformat(window["start"])
        end = datetime.fromisoformat(window["end"])
        if day is not None and start.date() != day:
            continue
        if hour is not None and not (start.hour <= hour < end.hour or (start.hour == hour)):
            continue
        if part is not None and not (part[0] <= start.hour < part[1]):
            continue
        fits.append(index)
    if (day is None and hour is None and part is None) or (named_day_only and day is None):
        return None
    if len(fits) == 1:
        return fits[0]
    if fits and day is not None:
        return fits[0]
    return None


_UNAVAILABLE = re.compile(
    r"\b(?:(?:i )?(?:do ?n'?t|dont|do not|didn'?t|did not|never) (?:have|got|get|know|remember|keep|kept|receive[d]?)|"
    r"(?:i )?(?:have|ve) ?n'?t got|haven'?t (?:got|kept)|no idea|not sure|can'?t (?:find|remember|recall)|cannot (?:find|remember)|"
    r"lost (?:it|the|my)|threw (?:it|the) (?:away|out)|no receipt|no order (?:number|no)|without (?:a|the) receipt|"
    r"(?:bought|got|paid) (?:it )?(?:in|at) (?:the |a |your )?(?:store|shop)|in store|in[- ]store|"
    r"not to hand|no clue|dunno|don'?t know)\b"
)


def says_unavailable(text: str) -> bool:
    """'i dont have the order number, i bought it in store', 'i lost the receipt',
    'no idea' -> the customer can't give the fact asked for."""
    return bool(_UNAVAILABLE.search(_normalise(text)))


# Leaving in the middle ("gotta go, my bus is here. bye", "forget it", "cancel"), found in the
# role-play (round 3): each was answered "was that a yes or a no?".
_BYE_AT_THE_END = re.compile(r"\b(?:bye|goodbye|bye\s*bye|cya|ciao)(?:\W+(?:then|now|for\s+now|thanks|thank\s+you|x+))*\W*$")
_LEAVING = re.compile(r"\b(?:gotta|got\s+to|have\s+to|need\s+to|must)\s+go(?:\s+now)?\b(?!\s+(?:to|and|back|through|thr|in|into|over|on)\b)")
_GIVING_UP = re.compile(r"^\W*(?:(?:ok(?:ay)?|right|sorry|actually|just|oh|no|nah)\W+)*(?:forget\s+it|forget\s+about\s+it|cancel(?:\s+it|\s+that|\s+this)?"
                        r"|stop|i(?:'?m|\s+am)\s+done|leave\s+it|not\s+now|i(?:'ll|\s+will)\s+come\s+back(?:\s+later)?)\W*$")


# "I haven't bought them", "nothing's gone wrong", "I'm just asking", "before I order": no
# complaint at all (found in the role-play: asked twice for an order number and a purchase date).
_NOTHING_WRONG = re.compile(
    r"\b(?:i\s+(?:have\s*n'?t|havent|have\s+not)\s+(?:even\s+|actually\s+|yet\s+)?(?:bought|ordered|purchased)(?!\s+(?:a|an|the|this|that)\b)"
    r"|i\s+(?:did\s*n'?t|didnt|did\s+not)\s+(?:even\s+|actually\s+)?buy\s+(?:it|them|one|anything)(?!\s+(?:from|for|as)\b)"
    r"|not\s+(?:bought|ordered|purchased)\s+(?:it|them|one|anything)\s+yet"
    r"|there(?:'?s|\s+is)\s+no\s+order(?!\s*(?:number|no|ref|confirmation|e-?mail))\b(?!\s+(?:yet|in|on))"
    r"|nothing(?:'?s|\s+has)\s+(?:gone|went)\s+wrong|nothing\s+went\s+wrong|no(?:thing)?\s+to\s+complain\s+about"
    r"|(?:it'?s|this\s+is|its)\s+not\s+(?:really\s+)?a\s+complaint|not\s+making\s+a\s+complaint|i\s+(?:do\s*n'?t|dont)\s+have\s+a\s+complaint"
    r"|(?:just|only)\s+(?:a\s+question|(?:asking|enquiring)(?!\s+(?:where|when|why|how|if|whether|about|for|what)\b))"
    r"|not\s+a\s+customer(?:\s+yet)?|before\s+i\s+(?:buy|order|purchase)|thinking\s+(?:of|about)\s+(?:buying|ordering|getting))\b")


# ... but "a payment from you and I haven't ordered anything" is a complaint about the charge.
_MONEY_TAKEN = re.compile(r"\b(?:charg\w*|payments?|paid|taken|took|debit\w*|statement|card|account|bank|transactions?)\b")


def about_money_taken(text: str) -> bool:
    """The message is about a charge, a payment or money taken."""
    return bool(_MONEY_TAKEN.search((text or "").lower()))


def just_asking(text: str) -> bool:
    """The customer says there is no complaint: nothing bought, nothing wrong, only asking;
    never when the message is about money taken ("I haven't ordered anything" then complains)."""
    plain = _lowered(text)
    return bool(_NOTHING_WRONG.search(plain)) and not about_money_taken(plain)


# "never mind, let's carry on here", "actually I'll just continue with you": a person asked for is
# no longer wanted, the conversation goes on with the assistant (found in the role-play, round 3).
_CARRIES_ON = re.compile(
    r"\b(?:(?:let'?s|lets|we\s+can|i'?ll|i\s+will|can\s+we|i'?d\s+rather)\s+(?:just\s+)?(?:carry\s+on|continue|keep\s+going|go\s+on)(?!\s+(?:waiting|to\s+wait|holding))"
    r"(?:\s+(?:here|with\s+you|then|now|instead))?|carry\s+on\s+(?:here|with\s+you)|continue\s+(?:here|with\s+you)"
    r"|(?:i'?ll|i\s+will)\s+(?:stay|stick)\s+(?:here|with\s+you)|forget\s+(?:the|a)\s+(?:person|human|agent|colleague|call)"
    r"|(?:don'?t|do\s+not)\s+need\s+(?:a|the)\s+(?:person|human|agent|colleague)\s+(?:then|after\s+all|any\s*more))\b")


def carries_on(text: str) -> bool:
    """The customer would rather go on here than wait for a person."""
    return bool(_CARRIES_ON.search(_lowered(text)))


# "no thanks", "that's ok", "I'm fine thanks", "nothing for me": the offers declined politely,
# the decision not disputed (a whole message, nothing else in it).
_POLITE_DECLINE = re.compile(
    r"^(?:(?:no|nah|nope|oh|ok|okay|well)\s+)*(?:thanks|thank you|thank u|ta|cheers|(?:i'?m|im|i am)\s+(?:fine|ok|okay|good|alright)(?:\s+thanks)?"
    r"|(?:that'?s|thats|it'?s|its)\s+(?:ok|okay|fine|alright|all right)(?:\s+thanks)?|no need|not needed|none needed"
    r"|nothing(?:\s+for\s+me)?(?:\s+thanks)?|(?:i\s+)?(?:don'?t|do\s+not)\s+need\s+(?:anything|any of (?:those|these|them))(?:\s+thanks)?)"
    r"(?:\s+(?:bye|goodbye|cheers))?$")


def polite_decline(text: str) -> bool:
    """The offers declined politely ("no thanks", "that's ok"), nothing disputed."""
    return bool(_POLITE_DECLINE.match(_normalise(text)))


def leaves(text: str) -> bool:
    """The customer is leaving the conversation now ("bye", "gotta go", "forget it")."""
    lowered = _normalise(text)
    return bool(_BYE_AT_THE_END.search(lowered) or _LEAVING.search(lowered) or _GIVING_UP.search(lowered))


@dataclass(frozen=True)
class DayCorrection:
    """'no, it was the 5th': a new day of the month for a date already given."""

    day: int


def day_of_month_correction(text: str) -> Optional[DayCorrection]:
    """Only a bare day ('the 5th', 'it was the 5th not the 3rd' -> 5): a full date is parsed
    as a date by the fact parsers instead."""
    plain = _normalise(text)
    # (the months' own words: "maybe the 10th" names no May)
    if re.search(r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?"
                 r"|nov(?:ember)?|dec(?:ember)?)\b|\d{1,4}[/.\-]\d", plain):
        return None
    match = re.search(r"\bthe (\d{1,2})(?:st|nd|rd|th)\b|\b(\d{1,2})(?:st|nd|rd|th)\b", plain)
    if not match:
        return None
    day = int(match.group(1) or match.group(2))
    return DayCorrection(day) if 1 <= day <= 31 else None


def with_day(iso_day: str, correction: DayCorrection, today: date) -> Optional[str]:
    """The date already given with its day of the month replaced; None if that day doesn't
    exist in that month or lies in the future."""
    try:
        changed = date.fromisoformat(iso_day).replace(day=correction.day)
    except ValueError:
        return None
    return changed.isoformat() if changed <= today else None


# "it was £398 not £389", "the 3rd, not the 13th", "£60 instead of £50", "not 4400918 but
# 4400981": the value after "not" is the one read back wrongly; the other is the correction.
_REJECTED_VALUE = re.compile(
    r"(?i)\b(?:not|instead\s+of|rather\s+than)\s+(?:the\s+|a\s+|an\s+)?(?:ord(?:er)?\W{0,2})?"
    r"(?:[£$€]\s?\d[\d,.]*(?:\s?(?:pounds?|quid|p|k))?|\d[\d,.:/-]*(?:st|nd|rd|th)?(?:\s?(?:pounds?|quid|euros?|dollars?|gbp|p))?)"
    r"(?:\s+(?:of\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?:\s+\d{4})?)?")


def without_rejected_values(text: str) -> str:
    """The text without the values it says are wrong ("£398 not £389" -> "£398"), so that
    a correction gives one value, never two to choose from."""
    return _REJECTED_VALUE.sub(" ", text or "")

