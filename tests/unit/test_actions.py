"""Custom actions against a real SQLite ticket store (a temp file per test)."""
from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, List

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import context
from actions.closure import ActionSubmitComplaint
from actions.complaint import ActionStartComplaint, ValidateComplaintForm
from actions.form_state import FACT_SLOTS
from actions.questions import ActionAskCallbackChoice, ActionAskRemedyChoice
from actions.fallback import ActionHandleFallback, bad_input_kind
from actions.handoff import ActionHandOff
from actions.session_start import ActionSessionStart
from actions.ticket_requests import ActionCancelCallback, ActionCheckStatus
from bot import clock
from bot.tickets.model import FACT_UNAVAILABLE, iso, new_ticket
from tests.support.trackers import FIXED_NOW, dispatcher, domain, fixed_clock, make_tracker, responses, slot_events, store  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[2]



async def test_start_complaint_records_precise_facts_and_empathises(store, dispatcher, domain):
    tracker = make_tracker(
        "my repair is taking ages!! i bought my Bosch washing machine on 15 January 2023, ridiculous",
        "complain_repair_warranty",
    )
    events = await ActionStartComplaint().run(dispatcher, tracker, domain)
    slots = slot_events(events)
    assert slots["category"] == "repair_warranty"
    assert slots["sub_reason"] == "repair_delay"
    assert slots["purchase_date"] == "2023-01-15"
    assert slots["product"] == "Bosch washing machine"
    assert responses(dispatcher) == ["utter_empathy_angry"]
    ticket = await store.get(slots["ticket_id"])
    assert ticket["status"] == "open" and ticket["facts"]["purchase_date"] == "2023-01-15"
    assert ticket["emotion"]["label"] == "angry"
    assert ticket["customer_demand"].startswith("my repair is taking ages")


async def test_high_risk_complaint_is_handed_off_with_ticket_saved(store, dispatcher, domain):
    tracker = make_tracker("you never delivered my fridge ord 4400918, I'm going to the ombudsman", "complain_delivery")
    events = await ActionStartComplaint().run(dispatcher, tracker, domain)
    assert any(e["event"] == "pause" for e in events)
    ticket = await store.get(slot_events(events)["ticket_id"])
    assert ticket["status"] == "handed_off"
    assert "regulator" in ticket["risk_flags"]
    assert "risk: regulator" in ticket["priority"]["reasons"]
    # The fixed clock (tests/support/trackers.py) is inside opening hours.
    assert handoff_replies(dispatcher) == ["utter_handoff"]


def handoff_replies(dispatcher: CollectingDispatcher) -> List[str]:
    return [r for r in responses(dispatcher) if r and r.startswith("utter_handoff")]


@pytest.mark.parametrize("minutes_from_closing, reply", [(-1, "utter_handoff"), (0, "utter_handoff_closed")])
async def test_the_hand_off_reply_follows_closing_time(store, dispatcher, domain, minutes_from_closing, reply):
    # A caller (no contact question on the phone) handed off a minute before closing hears that
    # a colleague picks up; at closing time, that the centre is closed (docs/design.md#handoff).
    closing = context.catalog().opening(FIXED_NOW.date())[1]
    clock.set_now(closing + timedelta(minutes=minutes_from_closing))
    tracker = make_tracker("you never delivered my fridge ord 4400918, I'm going to the ombudsman", "complain_delivery",
                           metadata={"channel": "voice"})
    await ActionStartComplaint().run(dispatcher, tracker, domain)
    assert handoff_replies(dispatcher) == [reply]


async def test_form_asks_only_for_missing_facts_then_reads_back(store, dispatcher, domain):
    form = ValidateComplaintForm()
    slots = {"category": "delivery", "sub_reason": "late", "ticket_id": None}
    assert await form.required_slots([], dispatcher, make_tracker(slots=slots), domain) == ["order_id", "facts_confirmed"]
    slots["order_id"] = "ORD-4400918"
    required = await form.required_slots([], dispatcher, make_tracker(slots=slots), domain)
    assert required == ["order_id", "facts_confirmed"]
    slots["facts_confirmed"] = True
    required = await form.required_slots([], dispatcher, make_tracker(slots=slots), domain)
    # DEL-LATE offers remedies and states a limit; delivery is not a second-explanation category.
    assert required == ["order_id", "facts_confirmed", "remedy_choice", "explanation_response"]


@pytest.mark.parametrize("text,expected", [
    ("ord 4400918", "ORD-4400918"),
    ("order number 77120934", "ORD-77120934"),
    ("ORD 90817263", "ORD-90817263"),
    ("ord-00918273", "ORD-00918273"),
    ("it's 4400918", "ORD-4400918"),
])
async def test_order_number_answers_are_normalised(store, dispatcher, domain, text, expected):
    result = await ValidateComplaintForm().validate_order_id(text, dispatcher, make_tracker(text, "inform", requested_slot="order_id"), domain)
    assert result["order_id"] == expected
    assert dispatcher.messages == []


@pytest.mark.parametrize("text", ["12345", "call me on 07700 900123", "ORD-12"])
async def test_malformed_order_number_is_asked_again_not_stored(store, dispatcher, domain, text):
    result = await ValidateComplaintForm().validate_order_id(text, dispatcher, make_tracker(text, "inform", requested_slot="order_id"), domain)
    assert result["order_id"] is None  # asked again, nothing stored
    assert responses(dispatcher) == ["utter_invalid_order_id"]


@pytest.mark.parametrize("text", ["next year", "in January", "sometime", "31/02/2023"])
async def test_vague_or_impossible_dates_are_asked_again(store, dispatcher, domain, text):
    result = await ValidateComplaintForm().validate_purchase_date(text, dispatcher, make_tracker(text, "inform", requested_slot="purchase_date"), domain)
    assert result["purchase_date"] is None
    assert responses(dispatcher) == ["utter_invalid_purchase_date"]


@pytest.mark.parametrize("text", ["yes", "ok", "Yes.", "no", "yeah"])
async def test_a_yes_or_no_is_not_recorded_as_the_product(store, dispatcher, domain, text):
    result = await ValidateComplaintForm().validate_product(text, dispatcher, make_tracker(text, "affirm", requested_slot="product"), domain)
    assert result["product"] is None
    assert responses(dispatcher) == ["utter_invalid_product"]


async def test_a_product_answer_is_recorded(store, dispatcher, domain):
    text = "my Bosch washing machine"
    result = await ValidateComplaintForm().validate_product(text, dispatcher, make_tracker(text, "inform", requested_slot="product"), domain)
    assert result["product"] == "Bosch washing machine"


async def test_an_answer_with_two_facts_fills_both(store, dispatcher, domain):
    text = "ORD-5512390, bought 2 Jan 2023"
    result = await ValidateComplaintForm().validate_order_id(text, dispatcher, make_tracker(text, "inform", requested_slot="order_id"), domain)
    assert result == {"order_id": "ORD-5512390", "purchase_date": "2023-01-02"}


async def test_read_back_correction_replaces_the_wrong_fact(store, dispatcher, domain):
    slots = {"category": "product_quality", "order_id": "ORD-4400918", "purchase_date": "2024-01-03", "product": "kettle"}
    text = "no, I bought it on 3 January 2023"
    result = await ValidateComplaintForm().validate_facts_confirmed(text, dispatcher, make_tracker(text, "deny", slots, requested_slot="facts_confirmed"), domain)
    # Only the corrected fact changes; order number and product are kept; read back again.
    assert {k: v for k, v in result.items() if k in FACT_SLOTS} == {"purchase_date": "2023-01-03"}
    assert result["facts_confirmed"] is None


async def test_a_bare_day_corrects_the_day_of_the_date_given(store, dispatcher, domain):
    slots = {"category": "delivery", "order_id": "ORD-4400918", "purchase_date": "2026-11-03", "amount": 49.99}
    text = "no, it was the 5th"
    result = await ValidateComplaintForm().validate_facts_confirmed(text, dispatcher, make_tracker(text, "deny", slots, requested_slot="facts_confirmed"), domain)
    assert {k: v for k, v in result.items() if k in FACT_SLOTS} == {"purchase_date": "2026-11-05"}
    assert result["facts_confirmed"] is None
    assert responses(dispatcher) == []  # no "let's take the details again"


async def test_read_back_denied_without_correction_asks_which_detail(store, dispatcher, domain):
    slots = {"category": "delivery", "order_id": "ORD-4400918", "amount": 20.0}
    result = await ValidateComplaintForm().validate_facts_confirmed("/deny", dispatcher, make_tracker("/deny", "deny", slots, requested_slot="facts_confirmed"), domain)
    assert result["facts_disputed"] is True and result["facts_confirmed"] is None
    assert not any(k in result for k in FACT_SLOTS)  # nothing wiped


@pytest.mark.parametrize("text, fact", [("the date", "purchase_date"), ("/inform{\"fact\": \"amount\"}", "amount"), ("the order number", "order_id")])
async def test_which_detail_clears_only_that_one(store, dispatcher, domain, text, fact):
    slots = {"category": "delivery", "order_id": "ORD-4400918", "purchase_date": "2026-11-03", "amount": 20.0, "facts_disputed": True}
    entities = [{"entity": "fact", "value": fact}] if text.startswith("/") else []
    tracker = make_tracker(text, "inform", slots, requested_slot="fact_to_correct", entities=entities)
    result = await ValidateComplaintForm().validate_fact_to_correct(text, dispatcher, tracker, domain)
    assert result["fact_to_correct"] == fact and result[fact] is None
    assert [k for k in FACT_SLOTS if k in result] == [fact]


@pytest.mark.parametrize("text", ["no idea", "i dont have the order number, i bought it in store", "I lost the receipt"])
async def test_a_customer_without_the_order_number_goes_on(store, dispatcher, domain, text):
    result = await ValidateComplaintForm().validate_order_id(text, dispatcher, make_tracker(text, "inform", requested_slot="order_id"), domain)
    assert result["order_id"] == FACT_UNAVAILABLE
    assert responses(dispatcher) == ["utter_fact_unavailable_order_id"]


async def test_no_question_is_asked_a_third_time(store, dispatcher, domain):
    tracker = make_tracker("12345", "inform", {"times_asked": {"order_id": 1}}, requested_slot="order_id")
    result = await ValidateComplaintForm().validate_order_id("12345", dispatcher, tracker, domain)
    assert result["order_id"] == FACT_UNAVAILABLE
    assert responses(dispatcher) == ["utter_fact_skipped"]
    assert any(b["payload"] == "/request_human" for b in dispatcher.messages[0]["buttons"])


async def _start(store, domain, text, intent, sender="conv-1", metadata=None) -> Dict[str, Any]:
    events = await ActionStartComplaint().run(CollectingDispatcher(), make_tracker(text, intent, sender=sender, metadata=metadata), domain)
    return slot_events(events)


async def _eligible(domain, slots, metadata=None, sender="conv-1") -> bool:
    form = ValidateComplaintForm()
    tracker = make_tracker("/affirm", "affirm", slots, metadata=metadata, sender=sender)
    return "callback_choice" in await form.required_slots([], CollectingDispatcher(), tracker, domain)


async def test_callback_offered_only_when_rejected_or_strongly_dissatisfied(store, domain):
    base = await _start(store, domain, "my oven broke, bought 3 March 2023", "complain_repair_warranty")
    base.update(facts_confirmed=True, remedy_choice="paid_repair_quote", explanation_response="accepted")
    assert await _eligible(domain, base) is False, "a calm customer who accepted is not offered a callback"
    base.update(remedy_choice="none", explanation_response="rejected")
    assert await _eligible(domain, base) is True


async def test_callback_never_offered_for_ineligible_category(store, domain):
    slots = await _start(store, domain, "my invoice is wrong for order ORD-4400918, this is ridiculous and unacceptable", "complain_invoice")
    slots.update(facts_confirmed=True, explanation_response="rejected")
    assert await _eligible(domain, slots) is False


async def test_whitelisted_caller_is_offered_a_callback_even_when_calm(store, domain):
    metadata = {"caller": "+447700900123", "channel": "voice"}
    slots = await _start(store, domain, "my kettle stopped working, bought 3 March 2023", "complain_repair_warranty", metadata=metadata)
    slots.update(facts_confirmed=True, remedy_choice="paid_repair_quote", explanation_response="accepted")
    assert await _eligible(domain, slots, metadata=metadata) is True


async def test_no_third_callback_about_the_same_issue_within_30_days(store, domain):
    now = context.now()
    for index, days_ago in enumerate((3, 20)):
        ticket = new_ticket(f"C-20261101-00{index + 10}", f"old-{index}", "web")
        ticket["facts"]["order_id"] = "ORD-7777777"
        ticket["callback"] = {"status": "opted_in", "window": None, "decided_at": iso(now - timedelta(days=days_ago))}
        await store.save(ticket)
    slots = {"category": "refund_return", "sub_reason": "return_refused", "order_id": "ORD-7777777",
             "purchase_date": "2020-01-01", "facts_confirmed": True, "explanation_response": "rejected"}
    assert await _eligible(domain, slots) is False
    slots["order_id"] = "ORD-7777778"
    assert await _eligible(domain, slots) is True


async def test_callback_from_31_days_ago_does_not_count(store, domain):
    ticket = new_ticket("C-20261001-0001", "old", "web")
    ticket["facts"]["order_id"] = "ORD-7777779"
    for days_ago in (31, 40):
        ticket = dict(ticket, ticket_id=f"C-20261001-00{days_ago}")
        ticket["callback"] = {"status": "opted_in", "window": None, "decided_at": iso(context.now() - timedelta(days=days_ago))}
        await store.save(ticket)
    slots = {"category": "refund_return", "sub_reason": "return_refused", "order_id": "ORD-7777779",
             "purchase_date": "2020-01-01", "facts_confirmed": True, "explanation_response": "rejected"}
    assert await _eligible(domain, slots) is True


async def test_callback_offer_is_recorded_and_says_decision_will_not_change(store, dispatcher, domain):
    slots = await _start(store, domain, "my oven broke, bought 3 March 2023", "complain_repair_warranty")
    await ActionAskCallbackChoice().run(dispatcher, make_tracker("/reject_explanation", "reject_explanation", slots), domain)
    offer = dispatcher.messages[0]
    assert "will not change" in offer["text"]
    assert [b["payload"] for b in offer["buttons"]] == ["/request_callback", "/decline_callback"]
    ticket = await store.get(slots["ticket_id"])
    assert ticket["callback"]["status"] == "offered"
    assert ticket["disclosures"][-1]["policy_id"] == "SECOND-EXPLANATION.offer"


async def test_choice_is_timestamped(store, dispatcher, domain):
    result = await ValidateComplaintForm().validate_callback_choice("/decline_callback", dispatcher, make_tracker("/decline_callback", "decline_callback", requested_slot="callback_choice"), domain)
    assert result["callback_choice"] == "opted_out" and result["callback_decided_at"]


async def test_expectations_are_disclosed_once_with_remedies(store, domain):
    slots = await _start(store, domain, "my parcel is late, order ORD-4400918", "complain_delivery")
    slots["facts_confirmed"] = True
    for _ in range(2):
        dispatcher = CollectingDispatcher()
        await ActionAskRemedyChoice().run(dispatcher, make_tracker("/affirm", "affirm", slots), domain)
    ticket = await store.get(slots["ticket_id"])
    ids = [d["policy_id"] for d in ticket["disclosures"]]
    assert ids == ["DEL-LATE.will", "DEL-LATE.cannot", "DEL-LATE.why", "DEL-LATE.alternative"]
    assert ticket["remedy"]["offered"] == ["refund_delivery_fee", "voucher_10"]
    # the second time only the question is asked again, not the whole statement
    assert responses(dispatcher) == ["utter_ask_remedy_choice"]
    titles = [b["title"] for b in dispatcher.messages[-1]["buttons"]]
    assert titles == ["Refund the delivery charge", "£10 voucher", "None of these"]


async def test_marketplace_invoice_states_the_store_alternative_at_first_contact(store, domain):
    slots = await _start(store, domain, "I need an e-invoice for my marketplace order ORD-4400918", "complain_invoice")
    assert slots["sub_reason"] == "marketplace_e_invoice"
    slots["facts_confirmed"] = True
    dispatcher = CollectingDispatcher()
    await ActionSubmitComplaint().run(dispatcher, make_tracker("/affirm", "affirm", slots), domain)
    ticket = await store.get(slots["ticket_id"])
    texts = {d["policy_id"]: d["text"] for d in ticket["disclosures"]}
    assert "can't issue an electronic invoice online" in texts["INV-MARKETPLACE.cannot"]
    assert "Any Northwind store" in texts["INV-MARKETPLACE.alternative"] and "ORD-4400918" in texts["INV-MARKETPLACE.alternative"]


async def test_warranty_decision_follows_the_confirmed_purchase_date(store, domain):
    """Seed 003: a 2023 purchase recorded as 2024 decides a warranty wrongly."""
    decisions = {}
    for year in (2023, 2025):
        slots = await _start(store, domain, f"my fridge broke, bought 10 January {year}", "complain_repair_warranty", sender=f"c{year}")
        slots["facts_confirmed"] = True
        await ActionSubmitComplaint().run(CollectingDispatcher(), make_tracker("/affirm", "affirm", slots, sender=f"c{year}"), domain)
        ticket = await store.get(slots["ticket_id"])
        decisions[year] = ticket["disclosures"][0]["policy_id"]
    assert decisions == {2023: "REP-OUT-OF-WARRANTY.will", 2025: "REP-IN-WARRANTY.will"}


async def test_hand_off_persists_ticket_then_pauses(store, dispatcher, domain):
    slots = await _start(store, domain, "the delivery driver was rude to my mum", "complain_staff_conduct")
    events = await ActionHandOff().run(dispatcher, make_tracker("agent please", "request_human", slots, requested_slot="product"), domain)
    kinds = [e["event"] for e in events]
    assert "pause" in kinds and {"event": "active_loop", "name": None} in [{k: e.get(k) for k in ("event", "name")} for e in events if e["event"] == "active_loop"]
    ticket = await store.get(slots["ticket_id"])
    assert ticket["status"] == "handed_off"
    assert ticket["history"][-1]["action"] == "handed_off"
    message = dispatcher.messages[0]
    expected = "utter_handoff" if context.catalog().is_open(context.now()) else "utter_handoff_closed"
    assert message["response"] == expected and message["ticket_id"] == ticket["ticket_id"]
    assert message["custom"]["handoff"]["open"] is (expected == "utter_handoff")
    assert message["wait"], "the customer is told how long it usually takes"


async def test_hand_off_before_any_complaint_still_creates_a_ticket(store, dispatcher, domain):
    events = await ActionHandOff().run(dispatcher, make_tracker("human please", "request_human", sender="fresh"), domain)
    ticket_id = slot_events(events)["ticket_id"]
    ticket = await store.get(ticket_id)
    assert ticket["status"] == "handed_off" and ticket["conversation_id"] == "fresh"


def _request_with_complaint(complaint: str, complaint_confidence: float, category_confidence: float) -> Dict[str, Any]:
    """Parse data as PersonRequestGuard leaves it: the request sure, the complaint it
    overrode at half its confidence, the category classifier's ranking beside it."""
    return {"intent": {"name": "request_human", "confidence": 1.0},
            "intent_ranking": [{"name": "request_human", "confidence": 1.0},
                               {"name": complaint, "confidence": complaint_confidence / 2}],
            "complaint_category": {"ranking": [{"name": complaint[len("complain_"):], "confidence": category_confidence},
                                               {"name": "other", "confidence": 1 - category_confidence}], "unclear": 0.0}}


async def test_a_complaint_told_with_the_request_reaches_the_agents_ticket(store, dispatcher, domain):
    text = "ORD-4400918 bought on 2026-11-02 for £249.99 and it came smashed. let me speak to your manager"
    tracker = make_tracker(text, "request_human", sender="told", parse=_request_with_complaint("complain_delivery", 0.97, 0.98))
    events = await ActionHandOff().run(dispatcher, tracker, domain)
    slots = slot_events(events)
    ticket = await store.get(slots["ticket_id"])
    assert ticket["status"] == "handed_off"
    assert ticket["category"] == "delivery" and ticket["sub_reason"] == "damaged"
    assert ticket["facts"]["order_id"] == "ORD-4400918"
    assert ticket["facts"]["purchase_date"] == "2026-11-02"
    assert ticket["facts"]["amount"] == 249.99
    # As told, not confirmed: the read-back never happened.
    assert ticket["facts_confirmed"] is False
    # Slots too: every later save of the ticket derives its facts and category from them.
    assert slots["order_id"] == "ORD-4400918" and slots["category"] == "delivery"


@pytest.mark.parametrize("complaint_confidence, category_confidence", [
    (0.06, 0.98),  # the classifier heard a request with crumbs of a complaint
    (0.97, 0.55),  # a complaint, but its category is not confident
])
async def test_no_category_is_recorded_from_a_request_unless_it_told_a_sure_one(store, dispatcher, domain,
                                                                               complaint_confidence, category_confidence):
    tracker = make_tracker("it's about the thing, put me through to someone", "request_human", sender="unsure",
                           parse=_request_with_complaint("complain_delivery", complaint_confidence, category_confidence))
    events = await ActionHandOff().run(dispatcher, tracker, domain)
    ticket = await store.get(slot_events(events)["ticket_id"])
    assert ticket["status"] == "handed_off" and ticket["category"] is None
    assert "category" not in slot_events(events)


async def test_a_request_mid_complaint_keeps_the_complaint_as_recorded(store, dispatcher, domain):
    slots = await _start(store, domain, "the delivery driver was rude to my mum", "complain_staff_conduct")
    tracker = make_tracker("the invoice is wrong too, put me through to a manager", "request_human", slots, requested_slot="product",
                           parse=_request_with_complaint("complain_invoice", 0.9, 0.99))
    events = await ActionHandOff().run(dispatcher, tracker, domain)
    ticket = await store.get(slots["ticket_id"])
    assert ticket["category"] == "staff_conduct" and "category" not in slot_events(events)


@pytest.mark.parametrize("text,kind", [
    ("", "empty"), ("   ", "empty"), ("😡😡😡", "emoji"), ("👍", "emoji"),
    ("我的包裹没有到", "language"), ("Мой заказ не пришёл", "language"),
    ("asdfgh qwrtz xcvbn", "gibberish"), ("?!?!", "gibberish"), ("x" * 10_000, "too_long"),
    ("maybe tomorrow", "unclear"),
], ids=lambda value: value[:12] if isinstance(value, str) else value)
def test_bad_input_is_recognised(text, kind):
    assert bad_input_kind(text) == kind


def _not_understood(times: int, then_understood: bool = False) -> List[Dict]:
    events: List[Dict] = []
    for _ in range(times):
        events += [{"event": "user", "text": "qwrtz", "parse_data": {"intent": {"name": "nlu_fallback"}}},
                   {"event": "action", "name": "action_handle_fallback"},
                   {"event": "action", "name": "action_listen"}]
    if then_understood:
        events += [{"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet"}}},
                   {"event": "action", "name": "utter_greet"}, {"event": "action", "name": "action_listen"}]
    return events


async def test_repeated_fallback_hands_off(store, domain):
    limit = context.catalog().data["handoff"]["max_consecutive_fallbacks"]
    for count in range(limit):
        dispatcher = CollectingDispatcher()
        events = await ActionHandleFallback().run(dispatcher, make_tracker("qwrtz xcvbn", "nlu_fallback", events=_not_understood(count)), domain)
        assert responses(dispatcher) == ["utter_fallback_gibberish"]
        assert not any(e["event"] == "pause" for e in events)
    # an understood message in between resets the count
    dispatcher = CollectingDispatcher()
    events = await ActionHandleFallback().run(dispatcher, make_tracker("qwrtz", "nlu_fallback", events=_not_understood(limit, then_understood=True)), domain)
    assert responses(dispatcher) == ["utter_fallback_gibberish"]
    dispatcher = CollectingDispatcher()
    events = await ActionHandleFallback().run(dispatcher, make_tracker("qwrtz xcvbn", "nlu_fallback", events=_not_understood(limit)), domain)
    assert "pause" in [e["event"] for e in events]
    ticket = await store.get(slot_events(events)["ticket_id"])
    assert ticket["status"] == "handed_off" and "could not understand" in ticket["history"][-1]["note"]


async def test_status_by_reference(store, dispatcher, domain):
    slots = await _start(store, domain, "I was charged twice £49.99 for order ORD-4400918", "complain_billing", sender="s1")
    text = f"what's the status of {slots['ticket_id']}?"
    await ActionCheckStatus().run(dispatcher, make_tracker(text, "check_status", sender="s1"), domain)
    assert dispatcher.messages[0]["response"] == "utter_ticket_status"
    assert dispatcher.messages[0]["ticket_id"] == slots["ticket_id"]
    assert dispatcher.messages[0]["status"].startswith("open")


async def test_status_of_unknown_reference(store, dispatcher, domain):
    # Treated like another customer's reference (tests/live/test_ticket_ownership.py): proof first.
    events = await ActionCheckStatus().run(dispatcher, make_tracker("status of C-20200101-0001", "check_status"), domain)
    assert responses(dispatcher) == [] and events[-1]["name"] == "ticket_proof_form"


async def _with_booked_callback(store, domain):
    """A repair complaint whose customer opted in to a callback tomorrow: (slots, ticket)."""
    slots = await _start(store, domain, "my oven broke, bought 3 March 2023", "complain_repair_warranty")
    ticket = await store.get(slots["ticket_id"])
    ticket["callback"] = {"status": "opted_in", "window": {"start": iso(context.now() + timedelta(days=1)), "end": iso(context.now() + timedelta(days=1, hours=2))}, "decided_at": iso()}
    await store.save(ticket)
    return slots, ticket


async def test_cancel_callback_removes_it_from_the_specialists_list(store, dispatcher, domain):
    slots, ticket = await _with_booked_callback(store, domain)
    assert [t["ticket_id"] for t in await store.callbacks()] == [ticket["ticket_id"]]
    await ActionCancelCallback().run(dispatcher, make_tracker("cancel my callback", "cancel_callback", slots), domain)
    assert responses(dispatcher) == ["utter_callback_cancelled"]
    saved = await store.get(ticket["ticket_id"])
    assert saved["callback"]["status"] == "cancelled" and saved["callback"]["decided_at"]
    assert await store.callbacks() == []
    dispatcher = CollectingDispatcher()
    await ActionCancelCallback().run(dispatcher, make_tracker("cancel my callback", "cancel_callback", slots), domain)
    assert responses(dispatcher) == ["utter_no_callback_to_cancel"]


@pytest.mark.parametrize("text", ["I want to change my callback time", "can you move my call to thursday morning instead"])
async def test_a_callback_asked_to_move_is_not_cancelled(store, dispatcher, domain, text):
    slots, ticket = await _with_booked_callback(store, domain)
    await ActionCancelCallback().run(dispatcher, make_tracker(text, "cancel_callback", slots), domain)
    assert responses(dispatcher) == ["utter_callback_not_moved"]
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/request_human"
    assert (await store.get(ticket["ticket_id"]))["callback"]["status"] == "opted_in"


@pytest.mark.parametrize("text", ["did you cancel it??", "is my callback cancelled?", "so has the call been cancelled"])
async def test_asking_whether_a_callback_is_cancelled_does_not_cancel_it(store, dispatcher, domain, text):
    slots, ticket = await _with_booked_callback(store, domain)
    await ActionCancelCallback().run(dispatcher, make_tracker(text, "cancel_callback", slots), domain)
    assert responses(dispatcher) == ["utter_callback_still_booked"]
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/cancel_callback"
    assert (await store.get(ticket["ticket_id"]))["callback"]["status"] == "opted_in"
    # The button (or "can you cancel it?") does cancel it; asked again, the answer is yes.
    for said in ("/cancel_callback", text):
        dispatcher = CollectingDispatcher()
        await ActionCancelCallback().run(dispatcher, make_tracker(said, "cancel_callback", slots), domain)
        assert responses(dispatcher) == ["utter_callback_cancelled" if said.startswith("/") else "utter_callback_is_cancelled"]
    assert (await store.get(ticket["ticket_id"]))["callback"]["status"] == "cancelled"


async def test_card_numbers_never_reach_the_ticket(store, domain):
    slots = await _start(store, domain, "you charged my card 4111 1111 1111 1111 twice for ORD-4400918", "complain_billing")
    ticket = await store.get(slots["ticket_id"])
    assert "4111 1111 1111 1111" not in ticket["customer_demand"]
    assert "[card ending 1111]" in ticket["customer_demand"]
    assert all("4111 1111" not in line["text"] for line in ticket["transcript"])


async def test_new_session_carries_slots_and_keeps_what_was_said_on_the_ticket(store, dispatcher, domain):
    started = await _start(store, domain, "my parcel ord 4400918 is 5 days late, this is ridiculous", "complain_delivery")
    ticket_id = started["ticket_id"]
    later = time.time()
    chatter = [{"event": "user", "text": "are you still there? I'm losing patience", "timestamp": later},
               {"event": "bot", "text": "Hello", "timestamp": later + 0.1}]
    tracker = make_tracker("hi", "greet", slots={"ticket_id": ticket_id, "category": "delivery"},
                           events=[{"event": "slot", "name": "ticket_id", "value": ticket_id, "timestamp": later},
                                   {"event": "slot", "name": "category", "value": "delivery", "timestamp": later}] + chatter)

    events = await ActionSessionStart().run(dispatcher, tracker, domain)

    assert [e["event"] for e in events] == ["session_started", "slot", "slot", "action"]
    assert slot_events(events) == {"ticket_id": ticket_id, "category": "delivery"}
    assert events[-1]["name"] == "action_listen" and dispatcher.messages == []
    said = [line["text"] for line in (await store.get(ticket_id))["transcript"] if line["role"] == "customer"]
    assert said[-2:] == ["are you still there? I'm losing patience", "hi"], "the ending session's messages are on the ticket"


async def test_new_session_leaves_a_finished_ticket_alone(store, dispatcher, domain):
    ticket = new_ticket("C-20261122-0042", "conv-1", "rest")
    ticket["status"] = "resolved"
    await store.save(ticket)
    before = await store.get("C-20261122-0042")
    tracker = make_tracker("hi", "greet", slots={"ticket_id": "C-20261122-0042"})
    events = await ActionSessionStart().run(dispatcher, tracker, domain)
    assert events[0]["event"] == "session_started"
    assert await store.get("C-20261122-0042") == before


@pytest.mark.parametrize("slot", ["purchase_date", "order_id", "amount"])
async def test_a_button_clicked_while_a_fact_is_asked_is_not_kept_as_the_fact(store, dispatcher, domain, slot):
    """Rasa's from_text mapping puts a click's payload into the slot being asked; kept as the
    purchase date, it broke every later turn of the conversation."""
    payload = '/inform{"category": "delivery"}'
    tracker = make_tracker(payload, "inform", {slot: payload}, requested_slot=slot)
    result = await getattr(ValidateComplaintForm(), f"validate_{slot}")(payload, dispatcher, tracker, domain)
    assert result.get(slot) != payload


@pytest.mark.parametrize("text, fact", [("the first one", "order_id"), ("2", "purchase_date"), ("the last one", "category")])
async def test_which_detail_by_position(store, dispatcher, domain, text, fact):
    """The buttons' order: each fact given, then what it's about (as the question shows them)."""
    slots = {"category": "delivery", "order_id": "ORD-4400918", "purchase_date": "2026-11-03", "facts_disputed": True}
    tracker = make_tracker(text, "inform", slots, requested_slot="fact_to_correct")
    result = await ValidateComplaintForm().validate_fact_to_correct(text, dispatcher, tracker, domain)
    assert result["fact_to_correct"] == fact


@pytest.mark.parametrize("text, intent", [("/affirm", "affirm"), ("nothing is wrong", "deny"),
                                          ("neither, i said yes its all correct", "deny")])
async def test_nothing_to_correct_goes_back_to_a_confirmed_read_back(store, dispatcher, domain, text, intent):
    slots = {"category": "delivery", "order_id": "ORD-4400918", "facts_disputed": True}
    tracker = make_tracker(text, intent, slots, requested_slot="fact_to_correct")
    result = await ValidateComplaintForm().validate_fact_to_correct(text, dispatcher, tracker, domain)
    assert result["facts_confirmed"] is True and result["fact_to_correct"] is None
    assert "order_id" not in result  # nothing cleared


async def test_the_which_detail_question_has_a_way_back_out(dispatcher, domain):
    from actions.questions import ActionAskFactToCorrect

    tracker = make_tracker("/deny", "deny", {"category": "delivery", "order_id": "ORD-4400918"})
    await ActionAskFactToCorrect().run(dispatcher, tracker, domain)
    titles = [b["title"] for b in dispatcher.messages[-1]["buttons"]]
    assert titles[-1] == "Nothing, it's all correct" and len(titles) == 3


async def test_a_detail_the_category_does_not_need_is_asked_again_when_corrected(store, dispatcher, domain):
    slots = {"category": "delivery", "order_id": "ORD-4400918", "amount": None, "fact_to_correct": "amount",
             "facts_confirmed": None}
    required = await ValidateComplaintForm().required_slots([], dispatcher, make_tracker("", None, slots), domain)
    assert "amount" in required and required.index("amount") < required.index("facts_confirmed")
