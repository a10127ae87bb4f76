"""What a customer's words say beyond the facts: emotion, risk flags and style
(docs/design.md#precise-facts; the labels are the ticket contract's, bot/tickets/model.py).

VADER (vaderSentiment) gives the lexicon-based negativity, tuned for short informal
text with caps and exclamation marks; the catalog's cue lists add what a general
lexicon can't know (a regulator's name, "third time I've called").
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Dict, Iterable, List, Optional, Tuple

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.catalog import ABUSIVE_CUES
from bot.tickets.model import RISK_FLAGS, STYLES, Emotion, RiskFlag

# The catalog's `signals` has a cue list per emotion but calm and per risk flag, named like
# it, except the abusive-language flag's (ABUSIVE_CUES), which also makes a message angry.


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def _hits(text: str, cues: Iterable[str]) -> int:
    lowered = text.lower()
    return sum(
        1 for cue in cues
        if re.search(r"(?<![a-z0-9])" + re.escape(cue.lower()) + r"(?![a-z0-9])", lowered)
    )


def _shouting(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 8:
        return 0.0
    return sum(c.isupper() for c in letters) / len(letters)


def message_emotion(text: str, signals: Dict[str, List[str]]) -> Tuple[str, float]:
    """(label, score 0..1) for one message."""
    if not text or not text.strip():
        return Emotion.CALM, 0.0
    compound = _analyzer().polarity_scores(text[:2000])["compound"]
    negativity = max(0.0, -compound)
    distress = _hits(text, signals.get(Emotion.DISTRESSED, []))
    anger = _hits(text, signals.get(Emotion.ANGRY, [])) + _hits(text, signals.get(ABUSIVE_CUES, []))
    frustration = _hits(text, signals.get(Emotion.FRUSTRATED, []))
    shouting = _shouting(text) > 0.6 or text.count("!") >= 3
    if distress:
        return Emotion.DISTRESSED, round(min(1.0, 0.6 + 0.15 * distress + 0.2 * negativity), 2)
    if anger or (shouting and negativity > 0.2):
        return Emotion.ANGRY, round(min(1.0, 0.55 + 0.1 * anger + 0.25 * negativity + (0.1 if shouting else 0)), 2)
    if frustration or negativity >= 0.3:
        return Emotion.FRUSTRATED, round(min(0.6, 0.3 + 0.05 * frustration + 0.3 * negativity), 2)
    return Emotion.CALM, round(0.3 * negativity, 2)


def overall_emotion(texts: Iterable[str], signals: Dict[str, List[str]]) -> Dict[str, object]:
    """The strongest emotion shown so far: a customer who was angry and then typed
    'ok' is still an angry customer for whoever calls them back."""
    best = (Emotion.CALM, 0.0)
    for text in texts:
        label, score = message_emotion(text, signals)
        if score > best[1] or (label != Emotion.CALM and best[0] == Emotion.CALM):
            best = (label, score)
    return {"label": best[0], "score": best[1]}


def risk_flags(texts: Iterable[str], signals: Dict[str, List[str]]) -> List[str]:
    joined = "\n".join(texts)
    flags = [flag for flag in RISK_FLAGS if flag != RiskFlag.ABUSIVE_LANGUAGE and _hits(joined, signals.get(flag, []))]
    if _hits(joined, signals.get(ABUSIVE_CUES, [])):
        flags.append(RiskFlag.ABUSIVE_LANGUAGE)
    return flags


def style_hint(texts: List[str], style_cues: Dict[str, List[str]]) -> Optional[str]:
    """The four customer styles (docs/design.md#precise-facts), from word choice and rhythm;
    None when unclear."""
    joined = "\n".join(texts)
    if not joined.strip():
        return None
    scores = {style: _hits(joined, style_cues.get(style, [])) for style in STYLES}
    scores["expressive"] += joined.count("!") // 2
    scores["analytical"] += joined.count("?") // 2
    words = len(joined.split())
    if words and words / max(1, len(texts)) < 6 and not any(scores.values()):
        scores["reserved"] += 1
    style, score = max(scores.items(), key=lambda item: item[1])
    return style if score > 0 else None


# A request about the customer's personal data (what is held, a copy, deleting it) is the
# privacy team's, never a complaint to record (found in the role-play: "delete my data"
# opened a complaint record holding that very request).
_PRIVACY_REQUEST = re.compile(
    r"(?i)\b(?:(?:delete|erase|remove|wipe)\s+(?:all\s+)?(?:of\s+)?my\s+(?:personal\s+)?(?:data|details|information|info)"
    r"|what\s+(?:personal\s+)?(?:data|information|info|details)\s+(?:do\s+)?you\s+(?:hold|have|store|keep)"
    r"|what\s+(?:do\s+)?you\s+(?:hold|have|store|keep)\s+(?:on|about)\s+me"
    r"|(?:subject|data)\s+access\s+request|\bsar\b|\bgdpr\b|right\s+to\s+be\s+forgotten"
    r"|(?:a\s+)?copy\s+of\s+(?:all\s+)?(?:my|the)\s+(?:personal\s+)?data)")


def privacy_request(text: str) -> bool:
    """Whether a message asks about the customer's personal data (docs/design.md#handoff)."""
    return bool(_PRIVACY_REQUEST.search(text or ""))
