"""The key facts the complaint form asks for, and the read-back: each answer is parsed
precisely (actions/parsing/), "I don't have it" is an answer, no question is asked more than
twice, and a correction changes only what it names (docs/design.md#precise-facts).

A mixin of ValidateComplaintForm (actions/complaint.py), which provides `_recategorised`:
a new complaint given instead of an answer re-classifies.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import context
from actions.answers import (
    NO, YES, asks_back, content_words, day_of_month_correction, is_question, option_named_by, ordinal_pick, says_unavailable, with_day,
    disagrees, without_rejected_values, yes_or_no, yes_then_more,
)
from actions.form_state import (
    AFFIRM, DENY, FACT_SLOTS, TOPIC, correctable_details, facts_not_yet_given, intent_of, text_of, words_of,
)
from actions.parsing import (
    AMBIGUOUS, clean_free_text, day_in_month, extract_facts, month_named, month_with_year, parse_date, parse_order_id, parse_product, read_amounts,
    read_facts,
)
from actions.policy_answers import policy_answer
from actions.understanding import category_ranking, understanding_settings
from bot.catalog import human_month
from bot.tickets.model import FACT_UNAVAILABLE

# Intents a free-text product answer never has: what the customer asked or said instead.
_NOT_A_PRODUCT = {"new_complaint", "check_status", "ask_next_steps", "goodbye", "thank", "cancel_callback",
                  "request_callback", "greet", "bot_challenge"}
# A question is asked at most this often; then the flow goes on without the answer
# (marked unavailable) and the customer is reminded a person is there.
MAX_ASKS = 2


# Pounds and pence written as a number alone ("129.99"), never a date such as 12.11.2026.
_PENCE = re.compile(r"(?<![\d.,/])\d{1,6}\.\d{2}(?![\d.])")
# A reply to the read-back that begins by disputing it: "no - ...", "not quite, ...", "wrong, ...".
_DISPUTE = re.compile(r"(?i)^\W*(?:no|nope|nah|not (?:quite|really|right|correct)|wrong|that'?s (?:wrong|not right)|incorrect)\b")


# Words of a dispute that say only *that* the topic is wrong, not what it is instead (folded
# as an answer's words are: "that's" and "that'" alike).
_DISPUTE_WORDS = content_words(
    "no nope nah not wrong incorrect correct right is was isn't wasn't what that's thats what's whats this "
    "different else something actually really quite totally completely all at sorry mate about")


_NOTHING_WRONG = re.compile(r"(?i)\b(?:nothing(?:'?s| is)? wrong|nothing to (?:correct|change)|(?:it'?s |its |they'?re |that'?s )?all "
                            r"(?:correct|right|fine|good)|neither|none of them|it was (?:all )?(?:correct|right))\b")


def _set_by_an_action(value: Any, tracker: Tracker) -> bool:
    """The fact was set this turn by an action, from a message it holds (the message added to
    the recorded complaint, for "It's a new problem"), while the latest message is a button
    click: no payload states a fact, so there is nothing in the click to read it from again.
    The click itself is never a fact: Rasa's from_text mapping puts the payload into the slot
    being asked (found in the role-play: '/inform{"category": ...}' kept as the purchase
    date broke every later turn)."""
    text = text_of(tracker)
    return value not in (None, FACT_UNAVAILABLE) and text.startswith("/") and value != text


# "change the amount, it was £60 not £50", "no I bought it 5 June 2024, correct the date":
# words that say a recorded fact is wrong, not that another one is added.
_CORRECTING = re.compile(r"(?i)\b(?:correct\w*|change|wrong|mistake|not|actually|should\s+(?:be|say)|update|meant|typo|instead)\b")
CORRECTABLE = ("order_id", "purchase_date", "amount")


def fact_corrections(text: str, tracker: Tracker) -> Dict[str, Any]:
    """The recorded facts this message corrects, with their new values: a fact it states
    that differs from the one recorded, in words that say the record is wrong."""
    if not text or text.startswith("/") or not _CORRECTING.search(text):
        return {}
    cat = context.catalog()
    found = extract_facts(without_rejected_values(text), cat, context.today(cat))
    changed = {name: found[name] for name in CORRECTABLE
               if found.get(name) is not None and tracker.get_slot(name) not in (None, "", found[name])}
    if "amount" in changed and not _corrects_the_price(text, tracker.get_slot("amount")):
        del changed["amount"]
    if "amount" in changed:
        changed["amount_currency"] = found.get("amount_currency")
    return changed


# Another sum in the conversation is not the price corrected (role-play round 3): "the delivery
# was £39" (a remedy changed), "the quote for the floor is £650" (a new claim), "2 x 14.99".
_PRICE_CUE = re.compile(r"(?i)\b(?:paid|pay|price|cost|costs|total|spent|amount|charged|it\s+(?:was|is)|it'?s)\b")
_OTHER_SUM = re.compile(r"(?i)\b(?:delivery\s+(?:charge|fee|cost)|postage|damage|quote|compensation|each|per|x\s*\d|lots?\s+of)\b")


def _corrects_the_price(text: str, recorded: Any) -> bool:
    """A new amount corrects the recorded price when the message says it is the price ("I
    actually paid £254") or names the recorded one as wrong ("£398 not £389"), and is no
    question and no other sum."""
    if is_question(text) or _OTHER_SUM.search(text):
        return False
    rejected = re.search(r"(?i)\bnot\s+[£$€]?\s*(\d[\d,]*(?:\.\d+)?)", text)
    if rejected and recorded is not None:
        try:
            if abs(float(rejected.group(1).replace(",", "")) - float(recorded)) < 0.005:
                return True
        except ValueError:
            pass
    return bool(_PRICE_CUE.search(text))


def _told_before(tracker: Tracker) -> List[str]:
    """What the customer wrote for this complaint before the latest message: the complaint
    itself and the answers since it started (a month named there may be the day's)."""
    said: List[str] = []
    latest = True
    for event in reversed(tracker.events or []):
        if event.get("event") == "action" and event.get("name") == "action_start_complaint":
            break
        if event.get("event") == "user":
            if not latest and not (event.get("text") or "").startswith("/"):
                said.append(event.get("text") or "")
            latest = False
    demand = tracker.get_slot("customer_demand")
    return ([demand] if demand and demand not in said else []) + said[::-1]


class FactAnswers:
    # ---- key facts --------------------------------------------------------------
    def _other_facts(self, text: str, tracker: Tracker, skip: str) -> Dict[str, Any]:
        """Facts volunteered alongside the one asked for ('ORD-1234567, bought 2 Jan 2023')."""
        cat = context.catalog()
        return facts_not_yet_given(extract_facts(text, cat, context.today(cat)), tracker, skip=skip)

    async def _not_read(self, slot: str, response: str, dispatcher: CollectingDispatcher, tracker: Tracker, **kwargs: Any) -> Dict[Text, Any]:
        """An answer that didn't give the fact. A new complaint instead ("actually it's the
        invoice...") re-classifies; a question about the policy is answered. "I don't have it" is an answer: the fact is marked
        unavailable and the flow goes on; so is a second miss, with a person offered,
        because asking a third time only tells the customer we aren't listening."""
        answer = policy_answer(text_of(tracker), context.catalog())
        if answer is not None and not says_unavailable(text_of(tracker)):
            # "How long is the guarantee anyway?" while the date is asked: the policy answers
            # it, and the fact is asked again without counting a miss; never a new category
            # for the word "guarantee" (found live: a faulty kettle became a warranty claim).
            dispatcher.utter_message(response="utter_policy_answer_plain", answer=answer.text)
            return {slot: None}
        recategorised = await self._recategorised(tracker)
        if recategorised is not None:
            return recategorised
        asked = dict(tracker.get_slot("times_asked") or {})
        asked[slot] = asked.get(slot, 0) + 1
        if says_unavailable(text_of(tracker)):
            dispatcher.utter_message(response=f"utter_fact_unavailable_{slot}")
            return {slot: FACT_UNAVAILABLE, "times_asked": asked}
        if asked[slot] >= MAX_ASKS:
            dispatcher.utter_message(response="utter_fact_skipped", buttons=context.catalog().buttons("fact_skipped"))
            return {slot: FACT_UNAVAILABLE, "times_asked": asked}
        dispatcher.utter_message(response=response, **kwargs)
        return {slot: None, "times_asked": asked}

    async def validate_order_id(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if _set_by_an_action(value, tracker):
            return {"order_id": value}
        cat = context.catalog()
        text = text_of(tracker)
        order = parse_order_id(text, cat.order_pattern, cat.order_prefix, cat.order_bare_pattern)
        if not order:
            return await self._not_read("order_id", "utter_invalid_order_id", dispatcher, tracker,
                                  example=cat.business["order_id"].get("example", ""))
        return {"order_id": order, **self._other_facts(text, tracker, "order_id")}

    async def validate_purchase_date(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if _set_by_an_action(value, tracker):
            return {"purchase_date": value}
        cat = context.catalog()
        text = text_of(tracker)
        today = context.today(cat)
        bare_day = day_of_month_correction(text)
        told = month_named(" ".join(_told_before(tracker)), today) if bare_day and month_named(text, today) is None else None
        if told is not None:
            # "Bought June 2024" ... "the 5th": the day of the month already named, never the
            # latest 5th (found in the role-play: 5 December 2026 for a 2024 purchase, and a
            # 30-day refund promised on it). A day that month doesn't have is asked again.
            day = day_in_month(bare_day.day, *told, today)
        else:
            day = parse_date(text, today)
        if not day:
            month = self._month_without_day(text, tracker, today)
            if month is not None:
                return await self._month_only(month, dispatcher, tracker)
            return await self._not_read("purchase_date", "utter_invalid_purchase_date", dispatcher, tracker)
        return {"purchase_date": day, **self._other_facts(text, tracker, "purchase_date")}

    @staticmethod
    def _month_without_day(text: str, tracker: Tracker, today) -> Optional[str]:
        """"March 2025 I think", "in feb 2025": the month ("2025-03") a purchase date answer
        names without its day (not one still to come); else the month already noted when this
        answer says the day isn't known."""
        named = month_named(text, today)
        if named is not None and named[1] is not None:
            return month_with_year(text, today)  # None for a month still to come
        if says_unavailable(text) and tracker.get_slot("purchase_month"):
            return tracker.get_slot("purchase_month")
        return None

    async def _month_only(self, month: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
        """A month without its day: the day is asked for once ("Which day in March 2025?"),
        not counted as a miss; not known, the month is noted (the ticket's dates_mentioned)
        and the date marked unavailable, and the month decides the policy when every day of
        it would (found in the role-play, round 3: "March 2025 I think" got "you don't have
        the date" and no policy, though any day of March 2025 is inside the warranty)."""
        words = human_month(month)
        if says_unavailable(text_of(tracker)) or tracker.get_slot("purchase_month") == month:
            dispatcher.utter_message(response="utter_fact_month_only", month=words)
            return {"purchase_date": FACT_UNAVAILABLE, "purchase_month": month}
        dispatcher.utter_message(response="utter_ask_day_in_month", month=words)
        return {"purchase_date": None, "purchase_month": month}

    async def validate_amount(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if _set_by_an_action(value, tracker):
            return {"amount": value}
        money = read_amounts(text_of(tracker), answering=True).value
        if money is None:
            return await self._not_read("amount", "utter_invalid_amount", dispatcher, tracker)
        return {"amount": money.amount, "amount_currency": money.currency}

    async def validate_product(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        text = text_of(tracker)
        if says_unavailable(text):
            return await self._not_read("product", "utter_invalid_product", dispatcher, tracker)
        # "yes", "ok", "no" answer something else (found in the role-play: read back as
        # "product: yes"); a product is asked for again, in words.
        if yes_or_no(text) is not None and not parse_product(text):
            return await self._not_read("product", "utter_invalid_product", dispatcher, tracker)
        if not parse_product(text) and (asks_back(text) or text.rstrip().endswith("?") or intent_of(tracker) in _NOT_A_PRODUCT):
            # "whats my reference number?", "It's a new problem" (found in the role-play: each
            # was stored as the product and read back): a question or a request is no product.
            return await self._not_read("product", "utter_invalid_product", dispatcher, tracker)
        product = parse_product(text) or clean_free_text(text)
        if not product:
            return await self._not_read("product", "utter_invalid_product", dispatcher, tracker)
        return {"product": product}

    def _corrections(self, text: str, tracker: Tracker) -> Dict[str, Any]:
        """What a correction at the read-back names: a fact in the same breath ("no, the
        order is 4400918"), or a bare day of the month for the date already given ("no, it
        was the 5th"). Only the facts it names change; the rest are kept."""
        if text.startswith("/"):
            return {}
        cat = context.catalog()
        today = context.today(cat)
        # "it was £398 not £389": the value said to be wrong is not read (found in the
        # role-play: two amounts, so none was, and the "£" re-classified it as a price complaint).
        text = without_rejected_values(text)
        found = extract_facts(text, cat, today, answering=True)
        if "amount" not in found and _PENCE.search(text):
            # "you havent put the price i paid. 129.99" (found in the role-play): pounds and
            # pence alone are an amount, here where a fact is being corrected or added.
            money = read_amounts(text, answering=True).value
            if money is not None:
                found.update(amount=money.amount, amount_currency=money.currency)
        day = day_of_month_correction(text)
        current = tracker.get_slot("purchase_date")
        if day and current and current != FACT_UNAVAILABLE:
            corrected = with_day(current, day, today)
            if corrected:
                found["purchase_date"] = corrected
        return {k: v for k, v in found.items() if v is not None and v != tracker.get_slot(k)}

    async def validate_facts_confirmed(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        intent, text = intent_of(tracker), text_of(tracker)
        # A plain yes or no first; a longer "no, ..." may carry a correction or a new topic.
        answer = yes_or_no(text, intent if intent in AFFIRM | DENY and (text.startswith("/") or len(words_of(text)) <= 3) else None)
        if answer == YES or intent == "thank":
            return {"facts_confirmed": True, "facts_disputed": False, "fact_to_correct": None}
        if answer is None and intent == "affirm" and not self._corrections(text, tracker):
            return {"facts_confirmed": True, "facts_disputed": False, "fact_to_correct": None}  # "Yes, that is correct."
        corrections = self._corrections(text, tracker)
        if corrections:
            # A correction names what it corrects: change that, keep the rest, read back again.
            return {**corrections, "facts_confirmed": None, "facts_disputed": False}
        given = self._fact_forms(text, tracker)
        if given:
            # A fact written twice differently in the reply ("£398 or £389?"), so not read:
            # that fact is asked again; a fact correction never re-classifies the complaint.
            return self._to_correct(given[0], tracker)
        if yes_then_more(text) and not disagrees(text):
            # "ya. sent it back 3 wks ago. no money yet" (found in the role-play: "Sorry, was
            # that a yes or a no?"): the yes stands; what follows tells, it corrects nothing.
            return {"facts_confirmed": True, "facts_disputed": False, "fact_to_correct": None}
        recategorised = await self._recategorised(tracker)
        if recategorised is not None:
            # "No, it's about the charge": the category changes, the policy will be chosen again.
            return recategorised
        disputes = answer == NO or intent in DENY or bool(_DISPUTE.match(text))
        named = self._named_detail(text, tracker)
        if named is not None and disputes:
            # "no, it's about the charge, not a return", "not quite, the date is wrong": the
            # detail it names is asked again, as if its button had been clicked.
            return self._to_correct(named, tracker)
        if disputes:
            return {"facts_confirmed": None, "facts_disputed": True, "fact_to_correct": None}
        dispatcher.utter_message(response="utter_please_yes_no")
        return {"facts_confirmed": None}

    async def validate_fact_to_correct(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        """Which detail is wrong, after a bare "no": a button, a word ("the date", catalog
        `facts.*.named_by`), or the corrected fact itself ("it's ORD-4400918")."""
        text = text_of(tracker)
        corrections = self._corrections(text, tracker)
        if corrections:
            return {**corrections, "fact_to_correct": next(iter(corrections)), "facts_disputed": False, "facts_confirmed": None}
        named = self._named_detail(text, tracker)
        if named is None and not text.startswith("/"):
            offered = correctable_details(tracker)
            index = ordinal_pick(text, len(offered))  # "the first one", "2"
            named = offered[index] if index is not None else None
        if named is None:
            if yes_or_no(text, intent_of(tracker) if text.startswith("/") else None) == YES or _NOTHING_WRONG.search(text):
                # "actually it's fine", "nothing is wrong", the "Nothing, it's all correct" button
                return {"fact_to_correct": None, "facts_disputed": False, "facts_confirmed": True}
            dispatcher.utter_message(response="utter_please_choose")
            return {"fact_to_correct": None}
        return self._to_correct(named, tracker)

    @staticmethod
    def _fact_forms(text: str, tracker: Tracker) -> List[str]:
        """The facts this reply writes more than one value of (two amounts, two dates, two
        order numbers), so that none could be read; one value is a correction or a repeat."""
        if text.startswith("/"):
            return []
        cat = context.catalog()
        readings = read_facts(without_rejected_values(text), cat, context.today(cat), answering="order_id")
        return [name for name in ("order_id", "purchase_date", "amount") if readings[name].status == AMBIGUOUS]

    @staticmethod
    def _named_detail(text: str, tracker: Tracker) -> Optional[str]:
        """The detail of the read-back a message names: its button (the `fact` entity), or a
        word of the catalog's `facts.*.named_by` / `topic.named_by` ("the date", "it's about")."""
        cat = context.catalog()
        named = next(tracker.get_latest_entity_values("fact"), None)
        words = set(words_of(text))
        if named == TOPIC or (named is None and words & set(cat.topic["named_by"])):
            return TOPIC
        if named not in FACT_SLOTS:
            named = next((fact for fact in FACT_SLOTS if words & set(cat.facts[fact]["named_by"])), None)
        return named

    @staticmethod
    def _topic_options(tracker: Tracker) -> List[str]:
        """The categories to offer when the read-back's topic is disputed, never the one read
        back. "No, it's about the charge": the category whose label or name the words give
        first, then those the classifier ranks this message under; a bare "no, that's not
        what it's about" says nothing of the right one, so every other category is offered
        (found in the role-play: a correction that named the charge got all nine buttons)."""
        cat = context.catalog()
        text = text_of(tracker)
        current = tracker.get_slot("category")
        others = [code for code in cat.categories if code not in (current, "other")]
        said = content_words(text) - _DISPUTE_WORDS - content_words(" ".join(cat.topic["named_by"]))
        if text.startswith("/") or not said:
            return others
        labels = [{"id": code, "label": cat.categories[code]["in_plain_words"]} for code in others]
        by_words = option_named_by(said, labels)
        ranked = [r["name"] for r in category_ranking(tracker.latest_message or {}) if r["name"] in others]
        options = ([by_words] if by_words else []) + [code for code in ranked if code != by_words]
        return options[: understanding_settings(cat)["max_options"]] or others

    @staticmethod
    def _to_correct(named: str, tracker: Tracker) -> Dict[Text, Any]:
        """Slots that put the named detail up for correction (the category is asked again)."""
        if named == TOPIC:
            return {"fact_to_correct": TOPIC, "facts_disputed": False, "facts_confirmed": None,
                    "category": None, "sub_reason": None, "category_options": FactAnswers._topic_options(tracker),
                    "category_choice": None}
        asked = dict(tracker.get_slot("times_asked") or {})
        asked.pop(named, None)
        return {"fact_to_correct": named, named: None, "facts_disputed": False, "facts_confirmed": None, "times_asked": asked}
