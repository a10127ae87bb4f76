"""Questions about the policy itself ("how long do I have to return it?", "do you price
match?") answered from the catalog's `policy_questions`, whose answers restate the policies'
own numbers (validated at load: bot/catalog_validation.py). A question no topic answers is
left to the caller, which notes it for the colleague as before.

A topic is a candidate when the question has a word of each of its `cues` lists (a typo of a
long word counts: "warrenty", "gaurantee"); of several, the one whose example questions are
the most similar on character n-grams. A message is compared by its question sentences only,
so "my kettle broke after a week. how long is the warranty?" is about the warranty. Pure
functions of the text and the catalog.
"""
from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import regex
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import linear_kernel

from actions.answers import is_question
from actions.parsing import extract_facts
from bot.catalog import Catalog

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def _fuzzy_word(word: str) -> str:
    """A cue word as a pattern: one typo allowed from six letters on, two from eight (a swap
    of two letters is two); none in shorter words ("cover" is one letter from "over")."""
    escaped = regex.escape(word)
    if len(word) >= 8:
        return f"(?:{escaped}){{e<=2}}"
    if len(word) >= 6:
        return f"(?:{escaped}){{e<=1}}"
    return escaped


def cue_pattern(phrases: Sequence[str]) -> "regex.Pattern":
    """Any of the phrases, word by word, on word boundaries."""
    alternatives = [r"\s+".join(_fuzzy_word(w) for w in phrase.lower().split()) for phrase in phrases]
    return regex.compile(r"(?<![\w'])(?:" + "|".join(alternatives) + r")(?![\w'])", regex.IGNORECASE | regex.BESTMATCH)


@dataclass(frozen=True)
class PolicyAnswer:
    topic: str
    text: str
    similarity: float


class _Matcher:
    """The topics' cues, and TF-IDF (sublinear tf, char_wb 2-5-grams) of their examples: a
    question's topic is the candidate holding its most similar example."""

    def __init__(self, topics: Dict[str, Dict], min_similarity: float):
        self.topics = topics
        self.min_similarity = min_similarity
        self.cues = {name: [cue_pattern(group) for group in spec.get("cues") or []] for name, spec in topics.items()}
        self.labels: List[str] = [name for name, spec in topics.items() for _ in spec["asked_like"]]
        examples = [example for spec in topics.values() for example in spec["asked_like"]]
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=True)
        self.examples = self.vectorizer.fit_transform(examples)

    def scores(self, question: str) -> Dict[str, float]:
        similarity = linear_kernel(self.vectorizer.transform([question]), self.examples)[0]
        best: Dict[str, float] = {}
        for label, value in zip(self.labels, similarity):
            best[label] = max(best.get(label, 0.0), float(value))
        return best

    def candidates(self, question: str) -> List[str]:
        return [name for name, groups in self.cues.items() if groups and all(g.search(question) for g in groups)]

    def answer(self, question: str) -> Optional[PolicyAnswer]:
        candidates = self.candidates(question)
        if not candidates:
            return None
        scores = self.scores(question)
        topic = max(candidates, key=lambda name: scores[name])
        if scores[topic] < self.min_similarity:
            return None
        return PolicyAnswer(topic, self.topics[topic]["answer"], scores[topic])


_matchers: "weakref.WeakKeyDictionary[Catalog, _Matcher]" = weakref.WeakKeyDictionary()


def _matcher(cat: Catalog) -> Optional[_Matcher]:
    spec = cat.data.get("policy_questions") or {}
    if not spec.get("topics"):
        return None
    if cat not in _matchers:
        _matchers[cat] = _Matcher(spec["topics"], float(spec.get("min_similarity", 0.2)))
    return _matchers[cat]


# A question asked without a question mark or a question's first word: "um so how long is the
# warranty", "I was wondering whether you price match", "need to know when the money comes back".
_ASKS = regex.compile(
    r"\b(?:how\s+(?:long|soon|quickly|many|much|do|does|can|would|will|is|are)|what(?:'?s|\s+(?:is|are|does|do|happens|about))"
    r"|when\s+(?:will|do|does|is|can|would|should)|is\s+there|are\s+there|wonder(?:ing)?|want(?:ed)?\s+to\s+know"
    r"|(?:like|need|needed)\s+to\s+know|tell\s+me|let\s+me\s+know|any\s+idea|(?:can|could|may|do|should|will|would)\s+i"
    r"|(?:do|does|did|can|could|will|would)\s+(?:you|u|ya|it|they|the|your|that|this)|is\s+(?:it|my|that|this|the)"
    r"|am\s+i|are\s+(?:you|u|they|my))\b", regex.IGNORECASE)


def asks_in_words(text: str) -> bool:
    """A sentence that asks something, in any of the ways customers ask."""
    return is_question(text or "") or bool(_ASKS.search(text or ""))


def asks(text: str) -> bool:
    """A message that asks something, or a few words that can only be asking about the
    policy once a topic's cues are in them ("warranty length pls", "price match argos")."""
    return asks_in_words(text) or len((text or "").split()) <= 5


def question_sentences(text: str) -> str:
    """The sentences of a message that ask something (all of it when none does)."""
    sentences = [s for s in _SENTENCE_END.split(text or "") if s.strip()]
    asking = [s for s in sentences if asks_in_words(s)]
    return " ".join(asking or sentences)


def policy_answer(text: str, cat: Catalog) -> Optional[PolicyAnswer]:
    """The catalog's answer to a question about its policy, or None (not a question, or one
    no topic answers)."""
    if not asks(text):
        return None
    matcher = _matcher(cat)
    if matcher is None:
        return None
    # The question's own sentences first; "It's been at the repair centre three weeks. How
    # long?" asks about the sentence before it.
    return matcher.answer(question_sentences(text).replace("-", " ")) or matcher.answer(text.replace("-", " "))


def only_asks(text: str, cat: Catalog, today) -> Optional[PolicyAnswer]:
    """The answer to a message that only asks about the policy: every sentence asks, one
    topic answers it, and it gives no order number or amount (a customer with a problem
    about an order says which; "can u price match currys" asks, "charged twice for 4417729,
    when do I get it back?" complains)."""
    answer = policy_answer(text, cat)
    if answer is None:
        return None
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    if len(sentences) > 1 and not all(asks_in_words(s) for s in sentences):
        return None
    facts = extract_facts(text, cat, today)
    if facts.get("order_id") or facts.get("amount") is not None:
        return None
    return answer


def answered_instead(decision, text: str, cat: Catalog, today, information_only: bool = False) -> Optional[PolicyAnswer]:
    """At the first message, a question about the policy the classifier took for no sure
    complaint ("do you price match Argos?", "how long is the warranty on a TV?") is answered
    and opens no complaint; so is any such question once the customer said they were only
    asking (`information_only`). A complaint it is sure of goes on as one, its question
    answered by the policy it is told (found in the role-play: a customer who had bought
    nothing was asked for an order number and a purchase date, and given a complaint reference)."""
    if decision.category is not None and not information_only:
        return None
    return only_asks(text, cat, today)
