"""Which complaint category the assistant may act on, and when it must ask instead (issue 12).

The category chooses the policy stated at first contact, so a category that is neither
confident nor confirmed by the customer must never reach a policy statement. The thresholds
come from the catalog's `understanding:` section (chosen by cross-validation with
scripts/compare_classifiers.py --thresholds), not from code.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from actions.parsing import describes_problem

PREFIX = "complain_"
FALLBACK = "nlu_fallback"
REQUEST_HUMAN = "request_human"
# The intent of a message that gives facts (an order number, a date, an answer to a question).
FACTS_INTENT = "inform"
# Intents after which the text may still carry a complaint worth classifying: the classifier
# heard mostly facts ("ORD-4400918 arrived broken") or was unsure of everything.
MAYBE_COMPLAINT = {FACTS_INTENT, FALLBACK}
# Intents that only answer a question. Before any complaint they answer nothing and no rule
# takes them: unsure of everything (nlu_fallback), "no, it never came" (deny), "yes, my parcel
# is late" (affirm), "not acceptable, nobody has sorted my return" (reject). The dialogue gives
# them to the fallback or the disagreement, which start the complaint when it outweighs the
# rest, instead of saying "I didn't understand" to one (opens_complaint).
ANSWER_INTENTS = {FALLBACK, "deny", "affirm", "reject_explanation"}
# "It's a new problem" after something was added to the recorded complaint (a button).
NEW_COMPLAINT = "new_complaint"
# Intents whose rule itself starts the complaint form (data/rules/complaint.yml).
RULE_STARTED = {FACTS_INTENT, NEW_COMPLAINT}


@dataclass(frozen=True)
class CategoryDecision:
    """`category`: the category code to act on, set only when confident. `options`: when not
    confident, the 2-3 likeliest codes to offer the customer (best first); empty when
    confident or when the message describes no problem."""

    category: Optional[str] = None
    options: Tuple[str, ...] = ()
    # The message names no category at all (so mid-conversation it is no new complaint).
    unclear: bool = False


NO_DECISION = CategoryDecision()


def category_ranking(parse_data: Dict[str, Any]) -> List[Dict[str, Any]]:
    """[{name, confidence}] of complaint categories, best first: the category classifier's
    ranking (parse data `complaint_category`) or else the complain_* intents of the intent
    ranking, renormalised so that the confidences compare across messages."""
    own = (parse_data.get("complaint_category") or {}).get("ranking")
    if own:
        return sorted(own, key=lambda e: -e["confidence"])
    ranked = [r for r in parse_data.get("intent_ranking") or [] if (r.get("name") or "").startswith(PREFIX)]
    total = sum(r["confidence"] for r in ranked) or 1.0
    return sorted(({"name": r["name"][len(PREFIX):], "confidence": r["confidence"] / total} for r in ranked),
                  key=lambda e: -e["confidence"])


def decide_category(parse_data: Dict[str, Any], text: str, catalog) -> CategoryDecision:
    """The category decision for one customer message.

    - A message whose intent is `request_human` never becomes a category decision (no
      category, no options), whatever else it says: the caller honours the request for a
      person first and must not ask a clarifying question in its way.
    - Only complaints are classified (`is_complaint`): a `complain_*` intent; or, when the
      text also says what went wrong, `inform`/`nlu_fallback` or complaint intents that
      together outweigh the winning intent. Anything else (affirm, deny, greetings, bare
      facts) gets no category and no options.
    - Confident = the best category's confidence >= `understanding.confidence_floor` and
      it leads the second by >= `understanding.margin`. Otherwise the decision carries the
      `understanding.max_options` likeliest categories (at least 2) to offer, and no category.
    - A message that names no category (the classifier's `unclear` share above every
      category's) is asked about with the catalog's `understanding.when_unclear` categories.
    - Categories unknown to the catalog are left out.
    """
    intent = ((parse_data.get("intent") or {}).get("name")) or ""
    if intent == REQUEST_HUMAN:
        return NO_DECISION
    if not is_complaint(parse_data, intent, text):
        return NO_DECISION
    settings = understanding_settings(catalog)
    ranking = [r for r in category_ranking(parse_data) if r["name"] in catalog.categories]
    if not ranking:
        fallback = intent[len(PREFIX):] if intent.startswith(PREFIX) else "other"
        return CategoryDecision(fallback if fallback in catalog.categories else "other")
    top = ranking[0]["confidence"]
    second = ranking[1]["confidence"] if len(ranking) > 1 else 0.0
    unclear = float((parse_data.get("complaint_category") or {}).get("unclear") or 0.0)
    if unclear > top and settings.get("when_unclear"):
        # The message names no category: offer the commonest ones, not near-random guesses.
        return CategoryDecision(None, tuple(settings["when_unclear"])[: settings["max_options"]], unclear=True)
    if top >= settings["confidence_floor"] and top - second >= settings["margin"]:
        return CategoryDecision(ranking[0]["name"])
    return CategoryDecision(None, tuple(r["name"] for r in ranking[: settings["max_options"]]))


def opens_complaint(parse_data: Dict[str, Any], text: str) -> bool:
    """Whether this message, with no complaint under way, starts one: a complaint intent or
    facts (their rule starts the form); or an answer intent (ANSWER_INTENTS) whose text says
    what went wrong and whose complaint intents together outweigh every other intent. Any
    other intent is answered by its own rule (greeting, thanks, a ticket's status), so it
    opens none. scripts/evaluate_heldout.py counts a held-out complaint as classified only
    when this holds, as the dialogue does."""
    if started_by_rule(parse_data):
        return True
    intent = ((parse_data.get("intent") or {}).get("name")) or ""
    if intent not in ANSWER_INTENTS or not describes_problem(text):
        return False
    # The complaint intents together outweigh every other intent (nlu_fallback is only the
    # classifier's doubt): "hmm" or "ok so" stay not understood.
    ranking = parse_data.get("intent_ranking") or []
    rival = max((r["confidence"] for r in ranking
                 if not (r.get("name") or "").startswith(PREFIX) and r.get("name") != FALLBACK), default=0.0)
    return complaint_mass(ranking) > rival


def started_by_rule(parse_data: Dict[str, Any]) -> bool:
    """The complaint form's start rule took this message (else an answer intent was handed
    over by the fallback or the disagreement, and the form must be started by the action)."""
    intent = ((parse_data.get("intent") or {}).get("name")) or ""
    return intent.startswith(PREFIX) or intent in RULE_STARTED


def is_complaint(parse_data: Dict[str, Any], intent: str, text: str) -> bool:
    """A complaint intent won; or the classifier heard mostly facts or nothing it knew; or
    the complaint intents together outweigh the winning conversation intent (nine categories
    split the complaint's probability, so 'thanks so much for charging me twice' can lose to
    `thank` one category at a time but not as a complaint). Only when the text says what
    went wrong, beyond facts and greetings."""
    if intent.startswith(PREFIX):
        return True
    if not describes_problem(text):
        return False
    if intent in MAYBE_COMPLAINT:
        return True
    return complaint_outweighs_intent(parse_data)


# What a complaint told in a request for a person keeps of the ranking: PersonRequestGuard
# (bot/rasa_ext/nlu/person_request.py) halves the intent it overrides, so this is a complaint
# the classifier read at 0.5 or more ("the driver was rude to my mum. let me speak to your
# manager"), not the crumbs every message has ("put me through to someone").
TOLD_WITH_A_REQUEST = 0.25


def category_told_with_request(parse_data: Dict[str, Any], text: str, catalog) -> Optional[str]:
    """The category of a complaint told in the same message as a request for a person,
    decided as if the request were not there, and only when confident. The hand-off records
    it, so the agent's ticket is classified and prioritised as that complaint; nothing is said
    to the customer from it (no policy is stated at a hand-off). None for any other message."""
    if ((parse_data.get("intent") or {}).get("name")) != REQUEST_HUMAN:
        return None
    rest = [r for r in parse_data.get("intent_ranking") or [] if r.get("name") != REQUEST_HUMAN]
    if not rest or complaint_mass(rest) < TOLD_WITH_A_REQUEST:
        return None
    top = max(rest, key=lambda r: r.get("confidence") or 0.0)
    return decide_category({**parse_data, "intent": top, "intent_ranking": rest}, text, catalog).category


def complaint_outweighs_intent(parse_data: Dict[str, Any]) -> bool:
    """The complaint intents together outweigh the winning intent."""
    return complaint_mass(parse_data.get("intent_ranking") or []) > ((parse_data.get("intent") or {}).get("confidence") or 0.0)


def complaint_mass(ranking: List[Dict[str, Any]]) -> float:
    """The complaint intents' confidence together (nine categories split a complaint's)."""
    return sum(r["confidence"] for r in ranking if (r.get("name") or "").startswith(PREFIX))


DEFAULTS = {"confidence_floor": 0.5, "margin": 0.1, "max_options": 3}


def understanding_settings(catalog) -> Dict[str, Any]:
    return {**DEFAULTS, **(catalog.data.get("understanding") or {})}
