"""The checks a policy catalog passes before the product uses it (bot/catalog.py calls
`validate` on load): a mistake in `policy/catalog.yml` is reported by where it is, at
start-up, instead of as a wrong answer to a customer later."""
from __future__ import annotations

import re
from datetime import date
from typing import Any, Dict, Iterable, List, Mapping

from bot.tickets.model import EMOTIONS, FACT_NAMES, RISK_FLAGS, STATUSES, STYLES, Emotion, RiskFlag

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
AUDIENCES = ("for_agents", "for_customers")
# The fixed button sets the actions offer (catalog `buttons:`), by question.
BUTTON_SETS = ("facts_confirmed", "explanation_response", "callback_offer", "decision_stands", "fact_skipped",
               "contact_details", "added_to_complaint", "callback_not_moved", "callback_still_booked", "nothing_to_correct",
               "fact_corrected")
# What a business must state: nothing in code assumes a country (docs/design.md#precise-facts).
# The `signals` cue list of the abusive-language risk flag (the others are named like their flag).
ABUSIVE_CUES = "abusive"
# A variant's `when` limits the time since purchase in days (a "30-day" return period) or in
# calendar months (a "2-year" warranty is 24 months: the same date two years on, whatever
# leap day falls inside; 730 days ended it a day early across a 29 February).
PURCHASE_LIMITS = {"max_days_since_purchase": "days", "max_months_since_purchase": "months"}
# What a policy variant may state, in the order it is said (docs/design.md#honesty).
STATEMENT_KINDS = ("will", "cannot", "why", "alternative")
REQUIRED_BUSINESS = ("name", "timezone", "currency", "locale", "default_phone_region", "ticket_id_prefix", "order_id")


class CatalogError(ValueError):
    """The catalog file is not usable; the message says where."""


def validate(data: Mapping[str, Any]) -> None:
    for check in (_business, _formats, _categories, _understanding, _second_explanation, _statuses, _priority,
                  _signals, _facts, _buttons, _phone, _policy_questions):
        check(data)


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _known(where: str, names: Iterable[str], known: Iterable[str], what: str) -> None:
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise CatalogError(f"{where}: unknown {what} {unknown} (known: {list(known)})")


def _business(data: Mapping[str, Any]) -> None:
    business = data.get("business") or {}
    missing = [key for key in REQUIRED_BUSINESS if business.get(key) in (None, "")]
    if missing:
        raise CatalogError(f"business: say {', '.join(missing)} (the code assumes no default)")
    for day in business.get("business_hours", {}):
        if day not in DAYS:
            raise CatalogError(f"business.business_hours: unknown day {day!r}")
    for closed in business.get("closed_on") or []:
        try:
            date.fromisoformat(str(closed))
        except ValueError:
            raise CatalogError(f"business.closed_on: {closed!r} is not a date like 2026-12-25") from None


def _formats(data: Mapping[str, Any]) -> None:
    """The business facts the fact parsers read (actions/parsing/spec.py)."""
    b = data["business"]
    if not re.fullmatch(r"[A-Z]{3}", str(b["currency"])):
        raise CatalogError("business.currency must be an ISO 4217 code such as GBP")
    if not re.fullmatch(r"[a-z]{2,3}(?:_[A-Z]{2})?", str(b["locale"])):
        raise CatalogError("business.locale must look like en_GB")
    if not re.fullmatch(r"[A-Z]{2}", str(b["default_phone_region"])):
        raise CatalogError("business.default_phone_region must be a two-letter region code such as GB")
    if not re.fullmatch(r"[A-Za-z]{1,6}-?", str(b["ticket_id_prefix"])):
        raise CatalogError("business.ticket_id_prefix must be 1-6 letters, optionally followed by '-'")
    if not _whole(b.get("ticket_id_counter_digits", 4), 1, 9):
        raise CatalogError("business.ticket_id_counter_digits must be a whole number from 1 to 9")


def _categories(data: Mapping[str, Any]) -> None:
    remedies: Dict[str, Any] = data.get("remedies", {})
    for rid, remedy in remedies.items():
        missing = [k for k in ("label", "speakable", "next_step") if not remedy.get(k)]
        if missing:
            raise CatalogError(f"remedies.{rid}: missing {', '.join(missing)}")
        by_email = remedy.get("by_email", False)
        if not isinstance(by_email, bool):
            raise CatalogError(f"remedies.{rid}.by_email: true or false")
        if "e-mail" in str(remedy["next_step"]).lower() and not by_email:
            # The promise of an e-mail needs an address to keep it (actions/closure.py).
            raise CatalogError(f"remedies.{rid}: its next_step promises an e-mail; set by_email: true")
    seen_ids: set = set()
    for code, cat in data["categories"].items():
        for key in ("in_plain_words", "in_few_words"):
            if not _text(cat.get(key)):
                raise CatalogError(f"categories.{code}.{key}: say the category in the customer's words")
        for fact in cat.get("required_facts", []):
            if fact not in FACT_NAMES:
                raise CatalogError(f"categories.{code}.required_facts: unknown fact {fact!r}")
        subs = cat.get("sub_reasons") or {}
        if cat.get("default_sub_reason") not in subs:
            raise CatalogError(f"categories.{code}.default_sub_reason must name one of its sub_reasons")
        for sub, spec in subs.items():
            variants = spec.get("variants") or []
            if not variants:
                raise CatalogError(f"categories.{code}.sub_reasons.{sub}: no variants")
            if "when" in variants[-1]:
                raise CatalogError(f"categories.{code}.sub_reasons.{sub}: the last variant must have no 'when' (it is the fallback)")
            for variant in variants:
                when = variant.get("when") or {}
                unknown_limits = set(when) - set(PURCHASE_LIMITS)
                if unknown_limits or len(when) > 1 or any(not isinstance(v, int) or v <= 0 for v in when.values()):
                    raise CatalogError(f"policy {variant.get('id')}: 'when' is one of {sorted(PURCHASE_LIMITS)}, "
                                       f"a whole number above 0 (got {dict(when)})")
                if not variant.get("id") or variant["id"] in seen_ids:
                    raise CatalogError(f"categories.{code}.sub_reasons.{sub}: every variant needs a unique id ({variant.get('id')!r})")
                seen_ids.add(variant["id"])
                offered = variant.get("remedies") or []
                unknown = [r for r in offered if r not in remedies]
                if unknown:
                    raise CatalogError(f"policy {variant.get('id')}: unknown remedies {unknown}")
                if offered and not 2 <= len(offered) <= 4:
                    raise CatalogError(f"policy {variant.get('id')}: offer 2-4 remedies (docs/design.md#empathy)")
            dated = any(purchase_limit(v) for v in variants)
            if dated and "purchase_date" not in cat.get("required_facts", []):
                raise CatalogError(f"categories.{code}: variants depend on purchase_date, so it must be a required fact")
    no_remedy = data.get("no_remedy") or {}
    if not (_text(no_remedy.get("label")) and _text(no_remedy.get("speakable"))):
        raise CatalogError("no_remedy: say the label and speakable of the 'none of these' choice")


def _understanding(data: Mapping[str, Any]) -> None:
    understanding = data.get("understanding") or {}
    for key in ("confidence_floor", "margin"):
        value = understanding.get(key, 0.0)
        if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise CatalogError(f"understanding.{key} must be a number between 0 and 1")
    if not 2 <= int(understanding.get("max_options", 3)) <= 3:
        raise CatalogError("understanding.max_options: offer 2 or 3 categories")
    unclear = understanding.get("when_unclear", [])
    if not isinstance(unclear, list) or not 0 <= len(unclear) <= 3 or any(c not in (data.get("categories") or {}) for c in unclear):
        raise CatalogError("understanding.when_unclear: up to 3 category codes of the catalog")


def _second_explanation(data: Mapping[str, Any]) -> None:
    second = data.get("second_explanation") or {}
    if not _whole(second.get("max_attempts", 2), 1, 5):
        raise CatalogError("second_explanation.max_attempts must be a whole number from 1 to 5")
    # Unset, each has its default in bot/catalog.py (4, all of them, 2).
    for key, high in (("windows_offered", 12), ("windows_per_day", 12), ("window_hours", 8)):
        if key in second and not _whole(second[key], 1, high):
            raise CatalogError(f"second_explanation.{key} must be a whole number from 1 to {high}")
    _known("second_explanation.strong_emotions", second.get("strong_emotions") or [], EMOTIONS, "emotion")


PHONE_PHRASES = ("silence", "no_state_prompt", "technical_transfer", "transfer_failed", "farewell")


def _phone(data: Mapping[str, Any]) -> None:
    phone = data.get("phone") or {}
    for name in PHONE_PHRASES:
        if not _text(phone.get(name)):
            raise CatalogError(f"phone.{name}: say what the phone line says here")
    _known("phone", phone, PHONE_PHRASES, "phone phrase")


def _statuses(data: Mapping[str, Any]) -> None:
    statuses = data.get("statuses") or {}
    for status in STATUSES:
        for audience in AUDIENCES:
            if not _text((statuses.get(status) or {}).get(audience)):
                raise CatalogError(f"statuses.{status}.{audience}: say how this status is put")
    _known("statuses", statuses, STATUSES, "status")


def _priority(data: Mapping[str, Any]) -> None:
    priority = data.get("priority") or {}
    levels = priority.get("levels") or {}
    risk = priority.get("risk") or {}
    _known("priority.emotion_urgency", priority.get("emotion_urgency") or {}, EMOTIONS, "emotion")
    _known("priority.risk.per_flag", risk.get("per_flag") or {}, RISK_FLAGS, "risk flag")
    _known("priority.risk.min_level", risk.get("min_level") or {}, RISK_FLAGS, "risk flag")
    for flag, level in (risk.get("min_level") or {}).items():
        if level not in levels:
            raise CatalogError(f"priority.risk.min_level.{flag}: unknown level {level!r} (levels: {sorted(levels)})")
    _known("handoff.auto_handoff_risk_flags", (data.get("handoff") or {}).get("auto_handoff_risk_flags") or [],
           RISK_FLAGS, "risk flag")


def _signals(data: Mapping[str, Any]) -> None:
    signals = data.get("signals") or {}
    # Cue lists per emotion and per risk flag, named like them, and the styles' (below).
    cue_lists = (set(EMOTIONS) - {Emotion.CALM}) | (set(RISK_FLAGS) - {RiskFlag.ABUSIVE_LANGUAGE}) | {ABUSIVE_CUES, "style"}
    _known("signals", signals, sorted(cue_lists), "cue list")
    _known("signals.style", signals.get("style") or {}, STYLES, "style")
    _known("style_tips", data.get("style_tips") or {}, STYLES, "style")


def _words(where: str, value: Any) -> List[str]:
    if not isinstance(value, list) or not value or not all(_text(w) for w in value):
        raise CatalogError(f"{where}: list the words (at least one)")
    return value


def _facts(data: Mapping[str, Any]) -> None:
    facts = data.get("facts") or {}
    if set(facts) != set(FACT_NAMES):
        raise CatalogError(f"facts: describe exactly the contract's facts {list(FACT_NAMES)} (found {sorted(facts)})")
    for name in FACT_NAMES:
        if not _text(facts[name].get("label")):
            raise CatalogError(f"facts.{name}.label: say how the read-back's button names it")
        _words(f"facts.{name}.named_by", facts[name].get("named_by"))
    _words("facts.product.kinds", facts["product"].get("kinds"))
    _words("facts.product.brands", facts["product"].get("brands"))
    topic = (data.get("read_back") or {}).get("topic") or {}
    if not _text(topic.get("label")):
        raise CatalogError("read_back.topic.label: say how the read-back's button names the topic")
    _words("read_back.topic.named_by", topic.get("named_by"))


def _buttons(data: Mapping[str, Any]) -> None:
    buttons = data.get("buttons") or {}
    for name in BUTTON_SETS:
        answers = buttons.get(name)
        # A list, so that the order shown is the order written (a mapping's order would not
        # survive a tool that sorts keys).
        if not isinstance(answers, list) or not answers:
            raise CatalogError(f"buttons.{name}: list the answers in the order shown, each intent: title")
        for answer in answers:
            if not isinstance(answer, dict) or len(answer) != 1:
                raise CatalogError(f"buttons.{name}: each answer is one intent: title ({answer!r})")
            intent, title = next(iter(answer.items()))
            if not re.fullmatch(r"[a-z_]+", str(intent)) or not _text(title):
                raise CatalogError(f"buttons.{name}.{intent}: an intent name and the button's title")
    _known("buttons", buttons, BUTTON_SETS, "button set")


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _policy_questions(data: Mapping[str, Any]) -> None:
    """Each answer restates the variants it is based on: a number the answer gives (days,
    years, business days) must be one of theirs, so an answer can't promise what no policy
    says (docs/design.md#honesty)."""
    spec = data.get("policy_questions")
    if spec is None:
        return
    value = spec.get("min_similarity", 0.2)
    if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise CatalogError("policy_questions.min_similarity must be a number between 0 and 1")
    variants = {v["id"]: v for cat in (data.get("categories") or {}).values()
                for sub in (cat.get("sub_reasons") or {}).values() for v in sub.get("variants") or []}
    topics = spec.get("topics")
    if not isinstance(topics, dict) or not topics:
        raise CatalogError("policy_questions.topics: name the topics answered")
    for name, topic in topics.items():
        where = f"policy_questions.topics.{name}"
        if not _text(topic.get("answer")):
            raise CatalogError(f"{where}.answer: say the answer")
        examples = _words(f"{where}.asked_like", topic.get("asked_like"))
        if len(examples) < 3:
            raise CatalogError(f"{where}.asked_like: at least 3 examples of the question")
        cues = topic.get("cues")
        if not isinstance(cues, list) or not cues:
            raise CatalogError(f"{where}.cues: list the lists of words the question has one of")
        for i, group in enumerate(cues):
            _words(f"{where}.cues[{i}]", group)
        based_on = _words(f"{where}.based_on", topic.get("based_on"))
        _known(f"{where}.based_on", based_on, variants, "policy variant")
        said = " ".join(str(variants[v].get(kind) or "") for v in based_on for kind in STATEMENT_KINDS)
        said += " " + " ".join(str(n) for v in based_on for n in (variants[v].get("when") or {}).values())
        unsupported = sorted(set(_NUMBER.findall(topic["answer"])) - set(_NUMBER.findall(said)))
        if unsupported:
            raise CatalogError(f"{where}.answer: {unsupported} appear in none of {based_on}")


def purchase_limit(variant: Mapping[str, Any]) -> "tuple[str, int] | None":
    """("days" | "months", n) of a variant's purchase-age limit, or None (the fallback)."""
    when = variant.get("when") or {}
    for key, unit in PURCHASE_LIMITS.items():
        if key in when:
            return unit, int(when[key])
    return None
