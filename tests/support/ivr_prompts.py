"""How long the IVR talks: every <Say> of every TwiML answer, measured as a caller hears it.

A prompt is one <Say>; a turn is everything said in one answer before the caller can act
on it. Speaking time is estimated at 150 words a minute (an unhurried TTS voice; Twilio's
Polly and basic voices speak at about 150-170), which is what matters on the phone: a
caller cannot skim.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import List, Optional

WORDS_PER_MINUTE = 150
MENU = re.compile(r"\bpress\s+\d\b", re.IGNORECASE)


def word_count(text: str) -> int:
    return len(re.findall(r"[A-Za-z0-9£€$][\w'’£€$.,-]*", text or ""))


def seconds(words: int) -> float:
    return round(words * 60.0 / WORDS_PER_MINUTE, 1)


@dataclass(frozen=True)
class Prompt:
    text: str
    words: int
    is_menu: bool

    @property
    def seconds(self) -> float:
        return seconds(self.words)


def prompts_of(root: ET.Element) -> List[Prompt]:
    return [
        Prompt(text=" ".join((say.text or "").split()), words=word_count(say.text or ""),
               is_menu=bool(MENU.search(say.text or "")))
        for say in root.iter("Say")
    ]


@dataclass
class PromptLog:
    """Every answer the simulated Twilio received in a test module."""

    turns: List[List[Prompt]] = field(default_factory=list)

    def record(self, root: ET.Element) -> None:
        said = prompts_of(root)
        if said:
            self.turns.append(said)

    def longest_prompt(self) -> Optional[Prompt]:
        return max((p for turn in self.turns for p in turn), key=lambda p: p.words, default=None)

    def longest_turn_words(self) -> int:
        return max((sum(p.words for p in turn) for turn in self.turns), default=0)

    def summary(self) -> str:
        longest = self.longest_prompt()
        if longest is None:
            return "IVR prompts: none recorded"
        turn = self.longest_turn_words()
        longest_turn = max(self.turns, key=lambda t: sum(p.words for p in t))
        menu = max((p for t in self.turns for p in t if p.is_menu), key=lambda p: p.words, default=None)
        return (
            f"IVR prompts: {sum(len(t) for t in self.turns)} in {len(self.turns)} answers; longest prompt "
            f"{longest.words} words (~{longest.seconds} s): {longest.text[:160]!r}; longest menu prompt "
            f"{menu.words if menu else 0} words: {(menu.text if menu else '')[:160]!r}; longest answer "
            f"{turn} words (~{seconds(turn)} s), starting {longest_turn[0].text[:80]!r}"
        )
