"""A request for a person in so many words is never lost to a look-alike intent (a
greeting, "are you a bot?", a yes or a no), while complaints that only tell of asking for a
manager, and "don't ring me", keep their own intent (bot/rasa_ext/nlu/person_request.py,
with the patterns config.yml gives it)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier

from bot.rasa_ext.nlu import pipeline
from bot.rasa_ext.nlu.person_request import PersonRequestGuard
from scripts.check_nlu_duplicates import examples, nlu_examples, normalise

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def guard() -> PersonRequestGuard:
    names = pipeline.names()
    # After the intent classifier (whose look-alike it corrects), before the fallback.
    assert names.index("PersonRequestGuard") == names.index("FallbackClassifier") - 1
    return PersonRequestGuard(pipeline.settings(PersonRequestGuard))


def guarded(guard: PersonRequestGuard, text: str, intent: str, confidence: float = 0.98,
            runner_up: str = "request_human") -> Dict[str, Any]:
    message = Message({TEXT: text, INTENT: {"name": intent, "confidence": confidence},
                       INTENT_RANKING_KEY: [{"name": intent, "confidence": confidence},
                                            {"name": runner_up, "confidence": 0.01 if runner_up == "request_human" else 0.02}]})
    guard.process([message])
    return message.get(INTENT)


@pytest.mark.parametrize("text, look_alike", [
    ("hiya, gimme a real person", "greet"),
    ("is this a robot? I need a human being", "bot_challenge"),
    ("good morning, can I speak with one of your advisors", "greet"),
    ("yes, put me through to a manager", "affirm"),
    ("no. I want an actual person", "deny"),
    ("ORD-4400918, now can I talk 2 an agent", "inform"),
    ("HUMAN PLEASE", "nlu_fallback"),
    ("is there a real person I can chat with", "bot_challenge"),
    # Refusing the machine asks for a person.
    ("I'm not talking to a machine", "bot_challenge"),
    ("i refuse to type to a stupid robot", "bot_challenge"),
    ("dont want a bot", "deny"),
    # A negation elsewhere in the message does not cancel the request.
    ("I don't know the order number, just put me through to someone", "inform"),
    ("why can't I just talk to a real person", "bot_challenge"),
    ("I don't want the bot, I want to speak to a human", "deny"),
    ("why don't you put me through to someone", "bot_challenge"),
    ("I'd like to discuss this with a staff member", "greet"),
])
def test_a_request_for_a_person_wins_over_a_look_alike_intent(guard, text, look_alike):
    assert guarded(guard, text, look_alike) == {"name": "request_human", "confidence": 1.0}


@pytest.mark.parametrize("text, intent, confidence", [
    # A complaint the classifier is sure of tells what happened; it asks for nobody now.
    ("the man on the phone hung up when I asked to speak to a manager", "complain_staff_conduct", 0.9),
    ("I just want someone to actually turn up and repair it", "complain_repair_warranty", 0.8),
    # Not wanting a person is no request for one.
    ("I don't want anyone to ring me", "decline_callback", 0.9),
    # A negated request asks for nobody, even read as a request by the classifier.
    ("I don't want to speak to anyone, I want my refund", "decline_callback", 0.4),
    ("no need to put me through to a manager, just fix the app", "complain_other", 0.3),
    ("not asking to talk to a human, the kettle leaks", "nlu_fallback", 0.3),
    ("don't put me through to anybody, I just need the tracking link", "complain_delivery", 0.4),
    ("I'd rather not talk to a person, just process the return", "complain_refund_return", 0.4),
    # Words that ask for nobody.
    ("hello there", "greet", 0.99),
    ("am I talking to a machine?", "bot_challenge", 0.99),
    # A button's payload is never reread.
    ('/inform{"remedy": "apology_letter"}', "inform", 1.0),
])
def test_what_asks_for_nobody_keeps_its_intent(guard, text, intent, confidence):
    assert guarded(guard, text, intent, confidence)["name"] == intent


def test_a_request_read_as_a_sure_look_alike_is_not_made_a_fallback_after_the_guard(guard):
    # Rasa's FallbackClassifier, with config.yml's thresholds, runs right after the guard:
    # the request must survive it even when the look-alike was near-certain.
    fallback = FallbackClassifier(pipeline.settings(FallbackClassifier))
    message = Message({TEXT: "I'm not talking to a machine",
                       INTENT: {"name": "bot_challenge", "confidence": 0.996},
                       INTENT_RANKING_KEY: [{"name": "bot_challenge", "confidence": 0.996},
                                            {"name": "request_human", "confidence": 0.003}]})
    fallback.process(guard.process([message]))
    assert message.get(INTENT)["name"] == "request_human"
    ranking = message.get(INTENT_RANKING_KEY)
    assert [r["name"] for r in ranking[:2]] == ["request_human", "bot_challenge"]


def test_a_request_the_classifier_was_unsure_of_is_made_sure(guard):
    message = Message({TEXT: "I've said it twice, I want a member of staff",
                       INTENT: {"name": "request_human", "confidence": 0.46},
                       INTENT_RANKING_KEY: [{"name": "request_human", "confidence": 0.46},
                                            {"name": "reject_explanation", "confidence": 0.45}]})
    guard.process([message])
    ranking = message.get(INTENT_RANKING_KEY)
    assert ranking[0] == {"name": "request_human", "confidence": 1.0}
    assert ranking[1]["name"] == "reject_explanation" and ranking[1]["confidence"] < 0.5


def unsure_request(text: str, complaints: float) -> Message:
    share = complaints / 3
    return Message({TEXT: text, INTENT: {"name": "request_human", "confidence": 0.43},
                    INTENT_RANKING_KEY: [{"name": "request_human", "confidence": 0.43},
                                         {"name": "complain_staff_conduct", "confidence": share + 0.01},
                                         {"name": "complain_delivery", "confidence": share},
                                         {"name": "complain_other", "confidence": share - 0.01}]})


def test_an_unsure_request_outweighed_by_the_complaint_intents_is_the_complaint(guard):
    message = unsure_request("your agent said a manager would ring me and nobody did", 0.5)
    guard.process([message])
    assert message.get(INTENT)["name"] == "complain_staff_conduct"
    assert message.get(INTENT)["confidence"] == pytest.approx(0.5)
    assert "request_human" in [r["name"] for r in message.get(INTENT_RANKING_KEY)]


@pytest.mark.parametrize("text, complaints", [
    # The complaint intents together are less sure than the request.
    ("your agent said a manager would ring me and nobody did", 0.3),
    # In so many words, a request is a request.
    ("the parcel is late, put me through to a manager", 0.5),
])
def test_an_unsure_request_stays_a_request_unless_the_complaint_outweighs_it(guard, text, complaints):
    message = unsure_request(text, complaints)
    guard.process([message])
    assert message.get(INTENT)["name"] == "request_human"


def test_an_unsure_complaint_that_asks_for_a_person_is_a_request(guard):
    assert guarded(guard, "my parcel, I want to talk to a real person", "complain_delivery", 0.35)["name"] == "request_human"


@pytest.mark.parametrize("text, intent", [
    ("the driver was rude to my mum. let me speak to your manager", "complain_staff_conduct"),
    ("the TV has dead pixels and I want to discuss it with a staff member", "complain_product_quality"),
    ("charged twice AGAIN, put me through to someone", "complain_billing"),
    ("engineer never showed i need to talk to a supervisor", "complain_repair_warranty"),
    ("my refund is three weeks late. can I speak to a real person please", "complain_refund_return"),
    ("I'd like to talk to a human about my broken kettle", "complain_product_quality"),
    ("is there a supervisor I can talk to? your driver threw my parcel over the gate", "complain_staff_conduct"),
    ("the sofa has a tear in it. someone needs to ring me today", "complain_product_quality"),
    ("could somebody from your billing team phone me, I was charged for an order I cancelled", "complain_billing"),
    ("please escalate this to a manager, the return was collected a month ago", "complain_refund_return"),
    ("FOURTH MISSED DELIVERY. I WANT A MANAGER", "complain_delivery"),
    ("the repair was botched, pls put me thru to some1", "complain_repair_warranty"),
    ("Supervisor. The washer has flooded my kitchen twice", "complain_product_quality"),
    ("human human human the refund never arrived", "complain_refund_return"),
    ("who can I talk to about this? the sofa legs snapped", "complain_product_quality"),
    ("any chance of an actual human? you billed me for a cancelled order", "complain_billing"),
    ("I insist on speaking to the branch manager, your staff ignored me for an hour", "complain_staff_conduct"),
    ("Kindly transfer me to a customer service advisor, the invoice total is wrong", "complain_invoice"),
    ("could I be put through to whoever handles returns, the courier never collected it", "complain_refund_return"),
    ("the price changed at checkout. Call me back please.", "complain_price"),
    ("My order says delivered but nothing came. I need someone to ring me back today.", "complain_delivery"),
    ("I'd like someone from your billing team to call me, you charged me twice", "complain_billing"),
    # Refusing the machine (the same patterns as the look-alike's, by YAML alias).
    ("my parcel is lost and I'm not typing to a robot about it", "complain_delivery"),
])
def test_a_sure_complaint_that_also_asks_for_a_person_now_is_a_request(guard, text, intent):
    # Handed off at once: the agent reads the complaint in the ticket's transcript.
    assert guarded(guard, text, intent, 0.97) == {"name": "request_human", "confidence": 1.0}


@pytest.mark.parametrize("text, intent", [
    ("I asked to speak to a manager and was cut off twice", "complain_staff_conduct"),
    ("every time I want to speak to a human I'm stuck in a queue for an hour", "complain_other"),
    ("they wouldn't put me through to a manager", "complain_staff_conduct"),
    ("I just want someone to turn up and fix the oven", "complain_repair_warranty"),
    ("I don't want to talk to a manager, I want my money back", "complain_refund_return"),
    ("I want the agent who lied to me to be disciplined", "complain_staff_conduct"),
    ("they refused to escalate it to a supervisor", "complain_staff_conduct"),
    ("when will someone contact me about the broken hinge", "complain_product_quality"),
    ("I need a manager's signature on the form and nobody will give it", "complain_other"),
    ("the agent, who was rude, hung up on me", "complain_staff_conduct"),
    ("no need to speak to a manager, just send the missing part", "complain_product_quality"),
    ("I never managed to speak to a person about my warranty claim", "complain_repair_warranty"),
    ("don't call me back, just email the corrected invoice", "complain_invoice"),
    ("I needed someone to ring me back on Monday and nobody did", "complain_other"),
    ("when I need someone to call me back nobody ever does", "complain_other"),
])
def test_a_sure_complaint_that_tells_of_asking_for_a_person_keeps_its_intent(guard, text, intent):
    assert guarded(guard, text, intent, 0.97)["name"] == intent


@pytest.mark.parametrize("text, intent", [
    ("yes ring me, I want to speak to a person", "request_callback"),
    ("yes please, could someone ring me tomorrow", "affirm"),
])
def test_the_words_of_asking_now_never_override_an_answer_to_the_callback_offer(guard, text, intent):
    # At the callback offer these are the yes: the callback is booked, not handed off.
    assert guarded(guard, text, intent, 0.9)["name"] == intent


PROBES = sorted((ROOT / "tests" / "data" / "person_probes").glob("*.yml"))


def probe_examples():
    for path in PROBES:
        yield from nlu_examples(path)


def test_the_words_of_asking_now_catch_the_probes_requests_and_none_of_their_mentions(guard):
    # Three helper-written probes (not held out): complaints that also ask for a person now,
    # and complaints that only mention one. The classifier itself takes some of the requests;
    # these words must take most of them, and never a mention. Counts only in the messages.
    examples = list(probe_examples())
    requests = [text for text, intent in examples if intent == "request_human"]
    mentions = [text for text, intent in examples if intent != "request_human"]
    assert (len(requests), len(mentions)) == (180, 175)
    caught = sum(guard.asks_for_person_now(text) for text in requests)
    taken = sum(guard.asks_for_person_now(text) for text in mentions)
    assert caught >= 150, f"only {caught} of {len(requests)} requests in the words of asking now"
    assert taken == 0, f"{taken} of {len(mentions)} mentions read as asking for a person now"


def test_the_probes_are_never_trained_on():
    trained = {normalise(text) for _, text, _ in examples()}
    copied = sum(1 for text, _ in probe_examples() if normalise(text) in trained)
    assert copied == 0, f"{copied} probe sentence(s) are in data/nlu"


def test_a_pattern_that_is_no_regex_fails_at_start_up():
    with pytest.raises(ValueError, match="not a regex"):
        PersonRequestGuard({**PersonRequestGuard.get_default_config(), "patterns": ["(unclosed"]})


def test_a_shared_word_list_widens_every_pattern_that_uses_it():
    config = {**PersonRequestGuard.get_default_config(),
              "words": {"who": "(?:manager|supervisor)", "someone": "(?:a\\s+)?{{who}}"},
              "patterns": ["\\bspeak\\s+to\\s+{{someone}}\\b"],
              "asks_now": ["\\bfetch\\s+me\\s+{{someone}}\\b"]}
    guard = PersonRequestGuard(config)
    assert guard.asks_for_person("can I speak to a supervisor")
    assert guard.asks_for_person_now("the driver was rude. fetch me a supervisor")
    assert not guard.asks_for_person("can I speak to a plumber")
    widened = PersonRequestGuard({**config, "words": {**config["words"], "who": "(?:manager|supervisor|plumber)"}})
    assert widened.asks_for_person("can I speak to a plumber")
    assert widened.asks_for_person_now("fetch me a plumber")


def test_a_word_used_but_not_defined_fails_at_start_up():
    with pytest.raises(ValueError, match="not defined"):
        PersonRequestGuard({**PersonRequestGuard.get_default_config(), "patterns": ["speak to {{nobody}}"]})
    # A piece may use only the pieces above it, so the pieces cannot form a cycle.
    with pytest.raises(ValueError, match="not defined"):
        PersonRequestGuard({**PersonRequestGuard.get_default_config(),
                            "words": {"a": "{{b}}", "b": "x"}, "patterns": ["{{a}}"]})


@pytest.mark.parametrize("text, after", [
    ("I don't need to speak to a person. Can I just drop it at the Bristol store instead of a collection?", "inform"),
    ("No thanks. I'll maybe want a person later but let's finish this first", "deny"),
    ("maybe later I'll want to speak to someone, first tell me about the refund", "inform"),
    ("no need to put me through to anyone, just tell me when the engineer comes", "inform"),
    # role-play round 2
    ("Please don't put me through to a person, I haven't got time for a phone call. I just want to log it", "inform"),
    ("No need for a human, I'm happy doing this with the bot. The glass in my oven door shattered", "complain_product_quality"),
    ("hold on let me find it, dont transfer me to a person ok, 2 mins", "inform"),
])
def test_a_person_named_only_to_decline_or_put_off_is_no_request(guard, text, after):
    """Found in the role-play: each was handed off, in the middle of choosing a remedy."""
    assert guarded(guard, text, "request_human", 0.97, runner_up=after)["name"] == after


@pytest.mark.parametrize("text", [
    "can someone call me back later today",
    "I want to speak to a manager, not later, now",
    "I don't want a bot, get me a person",
    "put me through to someone please, I'll explain afterwards",
    "why don't you just put me through to someone",
    "don't put me on hold again, put me through to a manager",
])
def test_a_request_now_is_still_a_request(guard, text):
    assert guarded(guard, text, "request_human", 0.97, runner_up="inform")["name"] == "request_human"
