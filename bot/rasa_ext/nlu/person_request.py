"""A request for a person is never lost to a look-alike intent (docs/design.md#handoff).

The classifier can read "hi, is this a bot? get me a real person" as a greeting or a bot
question, and "yes, put me through to someone" as a yes: the customer asked for a person and
was not heard. After the intent classifier, a message that asks for a person in so many words
(the `patterns` in config.yml) is a request for a person, whatever look-alike intent won. A
complaint the classifier is sure of keeps its intent: "I asked to speak to a manager and he
hung up" tells what went wrong, it asks for nobody now. So does a negated request ("I don't
want to speak to anyone, just ..."), and a request the classifier was unsure of, in none of the
patterns' words, that the complaint intents together outweigh ("your agent said a manager
would ring me"). A complaint that also asks for a person now, in the stricter `asks_now`
words ("the driver was rude to my mum. let me speak to your manager"), is a request: the
customer is handed off at once, and the hand-off records what the message told (its facts,
and its category when confident: actions/handoff.py, told_with_the_request).

The regexes share their vocabularies (who may be asked for, how a clause starts, ...): each is
written once under `words` and used as `{{name}}`, so widening one list widens every pattern
that uses it.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

REQUEST_HUMAN = "request_human"
# What is left of an overridden intent's confidence in the ranking.
LOOK_ALIKE_SHARE = 0.5
# A named piece used in a regex as {{name}} (double braces mean nothing else in a regex).
WORD = re.compile(r"\{\{(\w+)\}\}")


def _demoted(entries: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Ranking entries an override set aside, each left with LOOK_ALIKE_SHARE of its confidence."""
    return [{**r, "confidence": (r.get("confidence") or 0.0) * LOOK_ALIKE_SHARE} for r in entries]


def assemble(pattern: str, words: Mapping[str, str]) -> str:
    """The regex `pattern` with each {{name}} replaced by the piece `words[name]`."""

    def piece(match: re.Match) -> str:
        name = match.group(1)
        if name not in words:
            raise ValueError(f"PersonRequestGuard: {{{{{name}}}}} is used but not defined under `words`")
        return words[name]

    return WORD.sub(piece, pattern)


def expand_words(words: Mapping[str, str]) -> Dict[str, str]:
    """Each piece with the earlier pieces it uses written out (a later one is an error, so
    there can be no cycle)."""
    expanded: Dict[str, str] = {}
    for name, piece in (words or {}).items():
        expanded[name] = assemble(piece, expanded)
    return expanded


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class PersonRequestGuard(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # Regexes (case-insensitive) of "asks for a person"; none: the guard does nothing.
            "patterns": [],
            # A regex (case-insensitive) that, matching the text right before a pattern's
            # match, makes that match ask for nobody ("I don't want to speak to anyone, ...").
            "negated_before": None,
            # Intents never overridden: "call me back" (handed off too). A request the classifier
            # chose itself is made sure, not kept as it is: at 0.46 against a rejection's 0.45
            # the FallbackClassifier called it ambiguous, and it was lost.
            "keep": ["request_callback"],
            # Intents starting with this keep their place when at least this confident.
            "complaint_prefix": "complain_",
            "complaint_confidence": 0.5,
            # A request the classifier chose below this, in no words of the patterns, that the
            # complaint intents together outweigh is the complaint ("your agent said a manager
            # would ring me" at 0.43 against complaints at 0.45); None: never.
            "unsure_request_confidence": None,
            # Regexes (case-insensitive) of asking for a person now ("I want to speak to a
            # manager", "put me through to someone"), not of telling that one asked ("I asked
            # to speak to a manager and ..."): they override a complaint intent, even one the
            # classifier is sure of. None: a sure complaint keeps its intent.
            "asks_now": [],
            # Regexes (case-insensitive) of a request put off ("I'll maybe want a person later"):
            # matching the text right after / before a pattern's match, that match asks for
            # nobody now. None: never.
            "deferred_after": None,
            "deferred_before": None,
            # A regex (case-insensitive) that, matching right before a pattern's match, declines
            # that person outright ("I don't need to speak to a person"): narrower than
            # negated_before, because it overrides the classifier's own request. None: never.
            "declined_before": None,
            # Regexes (case-insensitive) of declining a person outright, in words no pattern
            # has ("no need for a human"): with no request in the message, the classifier's
            # request gives way. None: never.
            "declines": [],
            # Named pieces ({name: regex}) the regexes above use as {{name}}.
            "words": {},
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._config = config
        words = expand_words(config.get("words") or {})

        def compiled(pattern: str) -> re.Pattern:
            return re.compile(assemble(pattern, words), re.IGNORECASE)

        try:
            # A broken pattern fails the training and the start-up, never a customer's message.
            self._patterns = [compiled(p) for p in config["patterns"]]
            self._asks_now = [compiled(p) for p in config.get("asks_now") or []]
            negated = config.get("negated_before")
            self._negated_before = compiled(negated) if negated else None
            self._deferred = [compiled(config[key]) if config.get(key) else None for key in ("deferred_after", "deferred_before")]
            declined = config.get("declined_before")
            self._declined_before = compiled(declined) if declined else None
            self._declines = [compiled(p) for p in config.get("declines") or []]
        except re.error as error:
            raise ValueError(f"PersonRequestGuard: a pattern in config.yml is not a regex: {error}") from error

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "PersonRequestGuard":
        return cls(config)

    def asks_for_person(self, text: str) -> bool:
        return any(not self._negated(text[:match.start()]) and not self._put_off(text, match)
                   for pattern in self._patterns for match in pattern.finditer(text))

    def declines_person(self, text: str) -> bool:
        """Names a person only to say no, or not now: "I don't need to speak to a person, can
        I just ...", "I'll maybe want a person later" (every match declined or put off), or
        declines one in words no pattern has ("no need for a human")."""
        matches = [match for pattern in self._patterns for match in pattern.finditer(text)]
        if not matches:
            return any(pattern.search(text) for pattern in self._declines)
        return bool(self._declined_before) and all(
            self._declined_before.search(text[:match.start()]) or self._put_off(text, match) for match in matches)

    def _put_off(self, text: str, match: re.Match) -> bool:
        after, before = self._deferred
        return bool((after and after.search(text[match.end():])) or (before and before.search(text[:match.start()])))

    def asks_for_person_now(self, text: str) -> bool:
        # No negation test: these words start with their own subject or at a clause's start,
        # so a "not" before them is another clause's ("the engineer never showed, I need to
        # talk to a supervisor"), and "I don't want to ..." is not in them.
        return any(pattern.search(text) for pattern in self._asks_now)

    def _negated(self, before: str) -> bool:
        return bool(self._negated_before and self._negated_before.search(before))

    def _keeps(self, intent: Dict[str, Any]) -> bool:
        name, confidence = intent.get("name") or "", intent.get("confidence") or 0.0
        if name in self._config["keep"]:
            return True
        return self._is_complaint(intent) and confidence >= self._config["complaint_confidence"]

    def _is_complaint(self, intent: Dict[str, Any]) -> bool:
        prefix = self._config["complaint_prefix"]
        return bool(prefix) and (intent.get("name") or "").startswith(prefix)

    def _complaints(self, ranking: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        return [r for r in ranking if self._is_complaint(r)]

    def _complaint_outweighs_unsure_request(self, intent: Dict[str, Any], ranking: List[Dict[str, Any]]) -> bool:
        unsure = self._config.get("unsure_request_confidence")
        confidence = intent.get("confidence") or 0.0
        if unsure is None or intent.get("name") != REQUEST_HUMAN or confidence >= unsure:
            return False
        return sum(r.get("confidence") or 0.0 for r in self._complaints(ranking)) > confidence

    def _as_complaint(self, message: Message, ranking: List[Dict[str, Any]]) -> None:
        """The likeliest complaint intent wins, as sure as the complaint intents together (the
        category is ranked by its own classifier; nine categories split a complaint's share)."""
        complaints = self._complaints(ranking)
        chosen = {"name": complaints[0]["name"], "confidence": sum(r["confidence"] for r in complaints)}
        self._choose(message, chosen, [r for r in ranking if r.get("name") != chosen["name"]])

    def _as_request(self, message: Message, ranking: List[Dict[str, Any]]) -> None:
        """The request wins. The look-alike stays in the ranking, demoted: left at its own
        confidence (a sure "are you a bot?" at 0.996) it sits within the FallbackClassifier's
        ambiguity threshold of the request, and the request became "not understood"."""
        demoted = _demoted([r for r in ranking if r.get("name") != REQUEST_HUMAN])
        self._choose(message, {"name": REQUEST_HUMAN, "confidence": 1.0}, demoted)

    @staticmethod
    def _choose(message: Message, chosen: Dict[str, Any], rest: List[Dict[str, Any]]) -> None:
        message.set(INTENT, chosen, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [chosen, *rest], add_to_output=True)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/"):
                continue  # a button's payload is never reread
            intent = message.get(INTENT) or {}
            ranking = sorted(message.get(INTENT_RANKING_KEY) or [], key=lambda r: -(r.get("confidence") or 0.0))
            asks = self.asks_for_person(text)
            # Only a complaint is overridden by these words: at the callback offer "yes, could
            # someone ring me" is the yes, and the callback must be booked, not handed off.
            asks_now = self._is_complaint(intent) and self.asks_for_person_now(text)
            if asks_now or (asks and not self._keeps(intent)):
                self._as_request(message, ranking)
            elif not asks and self._complaint_outweighs_unsure_request(intent, ranking):
                self._as_complaint(message, ranking)
            elif intent.get("name") == REQUEST_HUMAN and self.declines_person(text):
                # Found in the role-play: "I don't need to speak to a person. Can I just drop it
                # at the store?" was handed off mid-choice. The request gives way to the next
                # intent (the FallbackClassifier judges it as any other).
                self._as_not_request(message, ranking)
        return messages

    def _as_not_request(self, message: Message, ranking: List[Dict[str, Any]]) -> None:
        rest = [r for r in ranking if r.get("name") != REQUEST_HUMAN]
        if rest:
            self._choose(message, rest[0], rest[1:] + _demoted([r for r in ranking if r.get("name") == REQUEST_HUMAN]))
