"""The Twilio Voice IVR channel (bot/rasa_ext/channels/twilio_ivr.py) against the real product.

Calls are simulated the way Twilio makes them: form posts with Twilio's parameters,
signed with the account's auth token (X-Twilio-Signature over PUBLIC_URL + path + query),
to the channel's webhook, following the <Gather action> URL of each answer. Answers are
parsed as TwiML; what happened is checked in Rasa's tracker and through the agent API.
The pieces on their own (speakable text, numbers, per-call state): tests/unit/test_ivr_pieces.py.
"""
from __future__ import annotations

import os
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Tuple

import pytest
from twilio.request_validator import RequestValidator

from bot.rasa_ext.channels import twiml
from bot.speech import speakable_digits, speakable_order_id
from tests.support.ivr_prompts import PromptLog, word_count
from tests.support.live import ALWAYS_OPEN, NEVER_OPEN, LiveStack, catalog_with_hours

TOKEN = "test-twilio-token"
PUBLIC = "https://ivr.example.test"
VOICE_URL = f"{PUBLIC}/webhooks/twilio_ivr/webhook"  # what the Twilio number is configured with
STATUS_URL = f"{PUBLIC}/webhooks/twilio_ivr/status"
AGENT_NUMBER = "+442079460000"
CALLER = "+447700900123"
COMPLAINT = "the washing machine came damaged from the van, order 4400918"
# Settings a developer's shell might carry must not change what these stacks do.
NEUTRAL_ENV = {"TWILIO_HANDOFF_DIAL": "", "TWILIO_WORKFLOW_SID": "", "TWILIO_HANDOFF_QUEUE": "complaints",
               "TWILIO_LANGUAGE": "en-GB", "TWILIO_VOICE": "", "TWILIO_SPEECH_HINTS": ""}


# Every prompt the calls below hear, measured (tests/support/ivr_prompts.py); summed up at the end.
PROMPTS = PromptLog()


@pytest.fixture(scope="module", autouse=True)
def prompt_report(request):
    yield PROMPTS
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # a teardown's output is captured otherwise
            reporter.write_line("")
            reporter.write_line(PROMPTS.summary())


# ---- stacks -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ivr_stack(tmp_path_factory):
    """The product as `make run` starts it, with the IVR configured (SQLite, <Enqueue>)."""
    var = tmp_path_factory.mktemp("ivr")
    stack = LiveStack(
        var,
        extra_env={**NEUTRAL_ENV, "TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_URL": PUBLIC,
                   "CATALOG_PATH": catalog_with_hours(var, ALWAYS_OPEN)},
    ).start()
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def ivr_dial_stack(tmp_path_factory, redis_url):
    """Scale-out configuration: Redis for trackers, tickets and the IVR's call state;
    hand-off by <Dial> to an agent's number; no PUBLIC_URL (Twilio calls this server's
    own address, so that is the URL it signs, and our URLs are relative)."""
    var = tmp_path_factory.mktemp("ivr-dial")
    stack = LiveStack(
        var,
        extra_env={**NEUTRAL_ENV, "TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_URL": "",
                   "CATALOG_PATH": catalog_with_hours(var, ALWAYS_OPEN),
                   "TWILIO_HANDOFF_DIAL": AGENT_NUMBER, "REDIS_URL": redis_url,
                   "REDIS_KEY_PREFIX": f"ivr-test-{uuid.uuid4().hex[:8]}:"},
    ).start()
    yield stack
    stack.stop()


# ---- a simulated Twilio ------------------------------------------------------------
def sign(url: str, params: Dict[str, str], token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def post(stack: LiveStack, url: str, params: Dict[str, str], signature: Optional[str] = "sign") -> Tuple[int, str]:
    """POST as Twilio does to `url` (signed as is), delivered to the local server."""
    local = stack.rasa_url + url[len(PUBLIC):] if url.startswith(PUBLIC) else url
    assert local.startswith(stack.rasa_url), url
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature == "sign":
        signature = sign(url, params)
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    request = urllib.request.Request(
        local, data=urllib.parse.urlencode(params).encode(), headers=headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


class Call:
    """One phone call: keeps the CallSid and the URL Twilio will post the next turn to."""

    def __init__(self, stack: LiveStack, caller: str = CALLER) -> None:
        self.stack, self.caller = stack, caller
        self.sid = "CA" + uuid.uuid4().hex
        self.public = PUBLIC if stack.env.get("PUBLIC_URL") else stack.rasa_url
        self.next_url = self.public + "/webhooks/twilio_ivr/webhook"  # the number's Voice URL
        self.root: Optional[ET.Element] = None

    def url(self, href: str) -> str:
        """A URL from our TwiML as Twilio resolves it: relative to the document's URL."""
        return urllib.parse.urljoin(self.next_url, href)

    def params(self, **inputs: str) -> Dict[str, str]:
        return {
            "CallSid": self.sid, "AccountSid": "AC" + "0" * 32, "From": self.caller, "Caller": self.caller,
            "To": "+442071234567", "Called": "+442071234567", "CallStatus": "in-progress",
            "Direction": "inbound", "ApiVersion": "2010-04-01", **inputs,
        }

    def turn(self, **inputs: str) -> ET.Element:
        status, body = post(self.stack, self.next_url, self.params(**inputs))
        assert status == 200, body
        self.root = ET.fromstring(body)
        PROMPTS.record(self.root)
        gather = self.root.find("Gather")
        if gather is not None:
            self.next_url = self.url(gather.get("action"))
        return self.root

    def start(self) -> ET.Element:
        return self.turn(CallStatus="ringing")

    def say(self, text: str) -> ET.Element:
        return self.turn(SpeechResult=text, Confidence="0.91")

    def press(self, digits: str) -> ET.Element:
        return self.turn(Digits=digits)

    def silence(self) -> ET.Element:
        return self.turn()  # Gather's actionOnEmptyResult: neither SpeechResult nor Digits

    def hang_up(self, status: str = "completed") -> Tuple[int, str]:
        return post(self.stack, self.url("/webhooks/twilio_ivr/status"), self.params(CallStatus=status, CallDuration="42"))

    # -- what happened -------------------------------------------------------------
    def user_events(self) -> List[dict]:
        return [e for e in self.stack.tracker(self.sid)["events"] if e["event"] == "user"]

    def tickets(self) -> List[dict]:
        return self.stack.agent(f"/api/tickets?conversation_id={self.sid}")["tickets"]


def said(root: ET.Element) -> str:
    return " ".join(say.text or "" for say in root.iter("Say"))


def gather_of(root: ET.Element) -> ET.Element:
    gather = root.find("Gather")
    assert gather is not None, ET.tostring(root, encoding="unicode")
    return gather


def query_of(url: str) -> Dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


# ---- the call, turn by turn -----------------------------------------------------------
def test_call_start_the_assistant_speaks_first_inside_a_gather(ivr_stack):
    call = Call(ivr_stack)
    root = call.start()

    assert root.tag == "Response"
    gather = gather_of(root)
    assert gather.get("input") == "speech dtmf"
    assert gather.get("language") == "en-GB"
    assert gather.get("bargeIn") == "true"
    assert gather.get("actionOnEmptyResult") == "true"
    assert gather.get("speechTimeout") == "auto"
    assert gather.get("hints")
    action = urllib.parse.urlsplit(gather.get("action"))
    assert f"{action.scheme}://{action.netloc}{action.path}" == VOICE_URL
    assert query_of(gather.get("action")) == {"turn": "1"}
    # Everything is said inside the Gather, so the caller can interrupt.
    assert [e.tag for e in root] == ["Gather"]
    assert "complaints assistant" in said(gather)

    events = call.user_events()
    assert [e["text"] for e in events] == ["/greet"]
    assert events[0]["input_channel"] == "twilio_ivr"
    assert {k: events[0]["metadata"].get(k) for k in ("caller", "channel")} == {"caller": CALLER, "channel": "voice"}


def test_speech_complaint_gets_empathy_and_a_spoken_read_back(ivr_stack):
    call = Call(ivr_stack)
    call.start()
    root = call.say(COMPLAINT)

    text = said(root)
    assert "sorry" in text.lower(), text  # empathy first
    # The read-back is the voice variant: the order number in digit groups.
    assert "order four four zero, zero nine one eight" in text, text
    assert "4400918" not in text
    assert "washing machine" in text
    assert "press 1" in text.lower()
    gather = gather_of(root)
    assert gather.get("numDigits") == "1"  # a one-key menu is on offer
    assert query_of(gather.get("action")) == {"turn": "2"}
    assert call.user_events()[-1]["text"] == COMPLAINT


def test_keypad_digit_picks_the_button_and_the_conversation_moves_on(ivr_stack):
    call = Call(ivr_stack)
    call.start()
    call.say(COMPLAINT)

    root = call.press("1")  # 1 = "Yes, that's right"
    assert call.user_events()[-1]["text"] == "/affirm"
    text = said(root)
    assert "We will arrange a free collection" in text  # what we will do, said as a sentence
    # The remedy buttons, as a keypad menu.
    assert "Press 1 for Send a replacement, 2 for Full refund, or 3 for None of these." in text

    root = call.press("9")  # not on the menu: asked again, nothing sent to the assistant
    assert "isn't one of the options" in said(root)
    assert "Press 1 for Send a replacement" in said(root)
    assert call.user_events()[-1]["text"] == "/affirm"

    root = call.press("2")
    assert call.user_events()[-1]["text"] == '/inform{"remedy": "refund_full"}'  # the button's payload
    text = said(root)
    assert "Your complaint is recorded" in text
    ticket = call.tickets()[0]
    assert ticket["facts_confirmed"] is True
    assert ticket["remedy"]["chosen"] == "refund_full"
    assert ticket["channel"] == "voice"
    assert ticket["customer"]["phone"] == CALLER
    # The reference is read out in a form the caller can write down.
    assert "two zero" in text and ticket["ticket_id"] not in text


def test_digits_without_a_menu_are_sent_as_text(ivr_stack):
    call = Call(ivr_stack)
    call.start()
    root = call.say("my laptop arrived smashed, the box was crushed")
    assert "order number" in said(root)
    assert gather_of(root).get("numDigits") is None  # free-length keypad entry

    root = call.press("4400918#")
    assert call.user_events()[-1]["text"] == "4400918"
    assert "four four zero, zero nine one eight" in said(root)


def test_silence_is_reprompted_twice_then_a_person_takes_over(ivr_stack):
    call = Call(ivr_stack)
    greeting = said(call.start())

    for _ in range(2):
        root = call.silence()
        gather = gather_of(root)
        assert "didn't hear anything" in said(gather)
        assert greeting in said(gather)  # the last question, again
        assert gather.get("actionOnEmptyResult") == "true"
    assert [e["text"] for e in call.user_events()] == ["/greet"]  # silence never reached Rasa

    root = call.silence()
    assert root.find("Gather") is None
    enqueue = root.find("Enqueue")
    assert enqueue is not None and enqueue.text == "complaints"
    assert "colleague" in said(root)
    assert call.user_events()[-1]["text"] == "/request_human"
    [ticket] = call.tickets()
    assert ticket["status"] == "handed_off"
    assert query_of(enqueue.get("action"))["ticket_id"] == ticket["ticket_id"]


def test_hand_off_on_request_enqueues_the_caller_with_the_ticket_saved(ivr_stack):
    call = Call(ivr_stack)
    call.start()
    call.say(COMPLAINT)
    root = call.say("I want to speak to a person")

    assert root.find("Gather") is None
    assert [e.tag for e in root] == ["Say", "Enqueue"]  # the hand-off text, then the transfer
    enqueue = root.find("Enqueue")
    assert enqueue.text == "complaints"
    action = enqueue.get("action")
    assert action.startswith(f"{PUBLIC}/webhooks/twilio_ivr/transfer?")
    ticket_id = query_of(action)["ticket_id"]

    ticket = ivr_stack.agent(f"/api/tickets/{ticket_id}")
    assert ticket["status"] == "handed_off"
    assert ticket["channel"] == "voice"
    assert ticket["customer"]["phone"] == CALLER
    assert ticket["conversation_id"] == call.sid  # how an agent finds it from the queued call
    assert ticket["facts"]["order_id"] == "ORD-4400918"
    assert ticket_id in [t["ticket_id"] for t in ivr_stack.agent("/api/handoffs")["handoffs"]]

    # Nobody answered the queue: the caller is told, with the reference, and the call ends.
    status, body = post(ivr_stack, action, call.params(QueueResult="queue-full", QueueTime="0"))
    assert status == 200
    root = ET.fromstring(body)
    assert root.find("Hangup") is not None and "recorded" in said(root)
    # After a conversation with an agent, the call just ends.
    status, body = post(ivr_stack, action, call.params(QueueResult="bridged", QueueTime="35"))
    assert [e.tag for e in ET.fromstring(body)] == ["Hangup"]


def test_hand_off_by_dial_with_a_whisper_of_the_ticket_for_the_agent(ivr_dial_stack):
    call = Call(ivr_dial_stack)
    call.start()
    call.say(COMPLAINT)
    root = call.say("I want to speak to a person")

    dial = root.find("Dial")
    assert dial is not None and root.find("Enqueue") is None
    number = dial.find("Number")
    assert number.text == AGENT_NUMBER
    assert number.get("url").startswith("/webhooks/twilio_ivr/whisper?")  # no PUBLIC_URL: relative
    whisper = call.url(number.get("url"))
    ticket_id = query_of(whisper)["ticket_id"]
    ticket = ivr_dial_stack.agent(f"/api/tickets/{ticket_id}")
    assert ticket["status"] == "handed_off" and ticket["channel"] == "voice"
    assert ticket["customer"]["phone"] == CALLER

    # Twilio fetches the whisper when the agent answers: the agent hears the reference.
    agent_leg = call.params(CallSid="CA" + uuid.uuid4().hex, From=CALLER, To=AGENT_NUMBER, Direction="outbound-dial")
    status, body = post(ivr_dial_stack, whisper, agent_leg)
    assert status == 200
    heard = said(ET.fromstring(body))
    assert f"reference {speakable_order_id(ticket_id)}" in heard, heard
    assert post(ivr_dial_stack, whisper, agent_leg, signature=sign(whisper, agent_leg, "wrong"))[0] == 403

    status, body = post(ivr_dial_stack, call.url(dial.get("action")), call.params(DialCallStatus="no-answer"))
    assert status == 200 and ET.fromstring(body).find("Hangup") is not None


def test_forged_or_missing_signature_is_refused_and_nothing_reaches_the_assistant(ivr_stack):
    call = Call(ivr_stack)
    call.start()
    before = call.user_events()
    params = call.params(SpeechResult="my parcel never arrived", Confidence="0.9")

    forged = sign(call.next_url, params, token="not-the-auth-token")
    assert post(ivr_stack, call.next_url, params, signature=forged)[0] == 403
    # A genuine signature for other parameters (tampered body) is no better.
    genuine_for_other = sign(call.next_url, {**params, "SpeechResult": "hello"})
    assert post(ivr_stack, call.next_url, params, signature=genuine_for_other)[0] == 403
    # Nor a genuine signature for another URL (another turn).
    assert post(ivr_stack, call.next_url, params, signature=sign(VOICE_URL, params))[0] == 403
    assert post(ivr_stack, call.next_url, params, signature=None)[0] == 403
    assert post(ivr_stack, STATUS_URL, call.params(CallStatus="completed"), signature=None)[0] == 403

    assert call.user_events() == before
    # The call itself is unharmed: the genuine request is still answered.
    assert "sorry" in said(call.say("my parcel never arrived")).lower()


def test_a_signed_request_whose_callsid_is_no_call_sid_is_refused_and_nothing_is_stored(ivr_stack):
    """The CallSid becomes the conversation's id, stored as written: a card number in it (a
    fuzzed request did this) must never reach the tracker store."""
    call = Call(ivr_stack)
    call.sid = "card 4111 1111 1111 1111"
    params = call.params(SpeechResult="my parcel never arrived", Confidence="0.9")
    status, body = post(ivr_stack, call.next_url, params)
    assert status == 400 and "Twilio call SID" in body
    # (not through the tracker endpoint: reading an unknown conversation creates it)
    assert ivr_stack.agent(f"/api/tickets?conversation_id={urllib.parse.quote(call.sid)}")["tickets"] == []
    real = Call(ivr_stack)
    real.start()
    assert "sorry" in said(real.say("my parcel never arrived")).lower(), "a real call is still answered"


def test_a_retried_delivery_of_a_turn_is_processed_once(ivr_stack):
    call = Call(ivr_stack)
    call.start()
    url, params = call.next_url, call.params(SpeechResult=COMPLAINT, Confidence="0.9")

    first = post(ivr_stack, url, params)
    retry = post(ivr_stack, url, params)
    assert first[0] == retry[0] == 200
    assert ET.tostring(ET.fromstring(first[1])) == ET.tostring(ET.fromstring(retry[1]))
    assert [e["text"] for e in call.user_events()] == ["/greet", COMPLAINT]

    # Two deliveries of the next turn at the same moment: one is processed, both get its answer.
    call.next_url = ET.fromstring(first[1]).find("Gather").get("action")
    params = call.params(Digits="1")
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda _: post(ivr_stack, call.next_url, params), range(2)))
    assert answers[0] == answers[1] and answers[0][0] == 200
    assert [e["text"] for e in call.user_events()] == ["/greet", COMPLAINT, "/affirm"]


def test_a_retried_delivery_is_processed_once_across_redis(ivr_dial_stack):
    call = Call(ivr_dial_stack)
    call.start()
    params = call.params(SpeechResult=COMPLAINT, Confidence="0.9")
    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(lambda _: post(ivr_dial_stack, call.next_url, params), range(3)))
    assert len(set(answers)) == 1 and answers[0][0] == 200
    assert [e["text"] for e in call.user_events()] == ["/greet", COMPLAINT]
    # The per-call state lives in Redis too: the keypad picks the button offered.
    call.next_url = call.url(ET.fromstring(answers[0][1]).find("Gather").get("action"))
    call.press("1")
    assert call.user_events()[-1]["text"] == "/affirm"


def test_hang_up_ends_the_call_and_keeps_the_ticket(ivr_stack):
    call = Call(ivr_stack)
    call.start()
    call.say(COMPLAINT)
    [ticket] = call.tickets()

    status, body = call.hang_up("completed")
    assert status in (200, 204) and body == ""
    kept = ivr_stack.agent(f"/api/tickets/{ticket['ticket_id']}")
    assert kept["status"] == "open" and kept["facts"]["order_id"] == "ORD-4400918"
    # The call's IVR state is gone: a late keypad post no longer picks a button.
    call.press("1")
    assert call.user_events()[-1]["text"] == "1"
    assert call.hang_up("no-answer")[0] in (200, 204)


def test_two_calls_from_the_same_number_are_two_conversations(ivr_stack):
    first, second = Call(ivr_stack), Call(ivr_stack)
    for call in (first, second):
        call.start()
        call.say(COMPLAINT)
    [one], [two] = first.tickets(), second.tickets()
    assert one["ticket_id"] != two["ticket_id"]
    assert (one["conversation_id"], two["conversation_id"]) == (first.sid, second.sid)
    assert one["customer"]["phone"] == two["customer"]["phone"] == CALLER
    assert [e["text"] for e in first.user_events()] == ["/greet", COMPLAINT]
    assert [e["text"] for e in second.user_events()] == ["/greet", COMPLAINT]


def test_a_withheld_number_is_not_taken_as_the_callers_phone(ivr_stack):
    call = Call(ivr_stack, caller="anonymous")
    call.start()
    metadata = call.user_events()[0]["metadata"]
    assert metadata["channel"] == "voice" and "caller" not in metadata


def test_goodbye_ends_the_call(ivr_stack):
    call = Call(ivr_stack)
    call.start()
    root = call.say("goodbye")
    assert root.find("Gather") is None and root.find("Hangup") is not None
    assert said(root)


def test_without_an_auth_token_every_request_is_refused(live_stack):
    if os.environ.get("TWILIO_AUTH_TOKEN"):
        pytest.skip("TWILIO_AUTH_TOKEN is set in this shell, so the shared stack has one")
    sid = "CA" + uuid.uuid4().hex
    params = {"CallSid": sid, "From": CALLER, "To": "+442071234567", "CallStatus": "ringing"}
    url = f"{live_stack.rasa_url}/webhooks/twilio_ivr/webhook"
    for signature in (None, sign(url, params), sign(url, params, token="")):
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        request = urllib.request.Request(url, data=urllib.parse.urlencode(params).encode(), headers=headers)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 403
    assert [e for e in live_stack.tracker(sid)["events"] if e["event"] == "user"] == []


@pytest.fixture(scope="module")
def closed_ivr_stack(tmp_path_factory):
    """The same product while the contact centre is closed."""
    var = tmp_path_factory.mktemp("ivr-closed")
    stack = LiveStack(
        var,
        extra_env={**NEUTRAL_ENV, "TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_URL": PUBLIC,
                   "CATALOG_PATH": catalog_with_hours(var, NEVER_OPEN)},
    ).start()
    yield stack
    stack.stop()


def test_hand_off_while_closed_tells_the_caller_and_keeps_the_ticket_instead_of_queueing(closed_ivr_stack):
    call = Call(closed_ivr_stack)
    call.start()
    call.say(COMPLAINT)
    root = call.say("I want to speak to a person")

    assert root.find("Enqueue") is None and root.find("Dial") is None, "no queue when nobody can answer"
    assert root.find("Hangup") is not None
    (ticket,) = call.tickets()
    assert ticket["status"] == "handed_off" and ticket["channel"] == "voice"
    spoken = said(root)
    assert "closed right now" in spoken and "when we open" in spoken
    last_digits = speakable_digits(ticket["ticket_id"][-4:])
    assert last_digits in spoken, "the reference is read out digit by digit"


# ---- prompts made for the ear (issue 10) ----------------------------------------------
LABELS = re.compile(r"(?i)\b(?:what we will do|what you can do instead|what we can't do|why)\s*:")
SPELLED = re.compile(r"\bO,? R,? D\b")
MENU_WORDS = 25
PROMPT_WORDS = 35  # one idea: a catalog statement or a question, never a page


def prompts(root: ET.Element) -> List[str]:
    return [" ".join((say.text or "").split()) for say in root.iter("Say")]


def test_after_the_read_back_each_prompt_is_one_idea_and_the_menu_is_short(ivr_stack):
    call = Call(ivr_stack)
    call.start()
    call.say(COMPLAINT)
    root = call.press("1")  # the read-back is right

    said_now = prompts(gather_of(root))
    assert not [p for p in said_now if LABELS.search(p)], said_now  # no written labels read aloud
    assert "That's because the carrier's insurance claim needs the item" in said(root)  # "Why:" as speech
    menu = said_now[-1]
    assert menu.startswith("Which would you prefer? Press 1 for"), said_now
    assert word_count(menu) <= MENU_WORDS, menu
    assert all(word_count(p) <= PROMPT_WORDS for p in said_now), said_now
    # After silence only the question and its menu come again, not the whole explanation.
    repeat = prompts(gather_of(call.silence()))
    assert repeat[-1] == menu and sum(map(word_count, repeat)) <= MENU_WORDS + 10, repeat


def test_the_order_number_is_said_in_digit_groups_never_letter_by_letter(ivr_stack):
    call = Call(ivr_stack)
    call.start()
    root = call.say("my fridge arrived with a dented door, order ORD-4470918")
    text = said(root)
    assert "order four four seven, zero nine one eight" in text, text
    assert not SPELLED.search(text), text
    # The read-back's question is its own short prompt, after the facts.
    assert prompts(gather_of(root))[-1].startswith("Is that correct? Press 1"), prompts(root)


def closing_of(root: ET.Element, ticket_id: str) -> ET.Element:
    """The last prompt: the reference twice, then "press 1", then the goodbye and <Hangup>."""
    gather = gather_of(root)
    spoken = speakable_order_id(ticket_id)
    assert said(gather).count(spoken) == 2, said(gather)
    assert "press 1" in said(gather).lower()
    assert gather.get("numDigits") == "1"
    assert query_of(gather.get("action")) == {"ticket_id": ticket_id}
    tags = [e.tag for e in root]
    assert tags[tags.index("Gather"):] == ["Gather", "Say", "Hangup"], tags  # no key: goodbye
    assert "bye" in (root[-2].text or "").lower()
    return gather


def test_the_last_prompt_says_the_reference_twice_and_1_repeats_it(ivr_stack):
    call = Call(ivr_stack)
    call.start()
    call.say(COMPLAINT)
    call.press("1")
    call.press("2")
    [ticket] = call.tickets()
    root = call.say("goodbye")

    gather = closing_of(root, ticket["ticket_id"])
    action = call.url(gather.get("action"))
    status, body = post(ivr_stack, action, call.params(Digits="1"))
    assert status == 200
    again = ET.fromstring(body)
    PROMPTS.record(again)
    closing_of(again, ticket["ticket_id"])  # the reference again, and again the offer
    status, body = post(ivr_stack, action, call.params(Digits="5"))
    assert [e.tag for e in ET.fromstring(body)] == ["Say", "Hangup"]
    # The reference endpoint is Twilio's only, like every other.
    assert post(ivr_stack, action, call.params(Digits="1"), signature=sign(action, call.params(Digits="1"), "x"))[0] == 403


def test_a_failed_transfer_ends_with_the_reference_twice(ivr_stack):
    call = Call(ivr_stack)
    call.start()
    call.say(COMPLAINT)
    root = call.say("I want to speak to a person")
    action = root.find("Enqueue").get("action")
    status, body = post(ivr_stack, action, call.params(QueueResult="queue-full"))
    assert status == 200
    closing_of(ET.fromstring(body), query_of(action)["ticket_id"])


def test_while_closed_the_caller_hears_we_are_closed_once_and_the_reference_twice(closed_ivr_stack):
    call = Call(closed_ivr_stack)
    call.start()
    call.say(COMPLAINT)
    root = call.say("I want to speak to a person")

    about_closing = [twiml.about_closing(s) for p in prompts(root) for s in twiml.sentences(p)]
    assert about_closing.count(True) == 1, prompts(root)
    assert not any(a and b for a, b in zip(about_closing, about_closing[1:]))
    (ticket,) = call.tickets()
    closing_of(root, ticket["ticket_id"])


@pytest.mark.parametrize("heard", ["five five one two zero nine three", "5 5 1 2 0 9 3", "551 2093"])
def test_digits_said_one_by_one_are_understood_as_one_number(ivr_stack, heard):
    call = Call(ivr_stack)
    call.start()
    root = call.say("my laptop arrived smashed, the box was crushed")
    assert "order number" in said(root)
    root = call.say(heard)
    assert call.user_events()[-1]["text"] == "5512093"
    assert "five five one, two zero nine three" in said(root), said(root)


def test_a_reference_said_or_keyed_in_groups_reaches_the_assistant_whole(ivr_stack):
    call = Call(ivr_stack)
    call.start()
    call.say("cancel my callback, C 2026 1201 0015")
    assert call.user_events()[-1]["text"] == "cancel my callback, C-20261201-0015"
    call.say("see 2026 1201 0015")
    assert call.user_events()[-1]["text"] == "C-20261201-0015"
    call.say("the 15 3 2023")  # a date said as numbers is not a reference
    assert call.user_events()[-1]["text"] == "the 15 3 2023"
    call.press("202612010015#")  # keyed without its letter
    assert call.user_events()[-1]["text"] == "C-20261201-0015"


def test_a_caller_cancels_their_callback_by_phone(ivr_stack):
    """Book a callback on one call; on a later call from the same number, "cancel my
    callback" with the reference in groups cancels it, and no new complaint is opened."""
    first = Call(ivr_stack)
    first.start()
    first.say("I want to return my kettle for a refund, I bought it on the 1st of March 2025, "
              "order 5512093, it cost 30 pounds")
    for key in ("1", "2", "1", "1"):  # facts right; not happy; call me back; the first time
        first.press(key)
    [booked] = first.tickets()
    assert booked["callback"]["status"] == "opted_in", booked["callback"]
    ticket_id = booked["ticket_id"]

    second = Call(ivr_stack)
    second.start()
    groups = " ".join([ticket_id[2:6], ticket_id[6:10], ticket_id[11:]])
    root = second.say(f"cancel my callback, C {groups}")
    if "cancelled" not in said(root):  # asked to prove it is theirs: the caller keys their number
        root = second.press("07700900123#")
    assert "cancelled" in said(root), said(root)
    assert ivr_stack.agent(f"/api/tickets/{ticket_id}")["callback"]["status"] == "cancelled"
    assert second.tickets() == [], "the cancellation opened no new complaint"
