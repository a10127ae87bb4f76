"""Fuzzing the product's edges with hypothesis, against the really running servers:

- the REST channel: random texts (any unicode, control characters, lone surrogates, emoji,
  right-to-left and bidi controls, JSON-looking text, huge messages), random senders,
  metadata and extra fields, and random bytes as the body;
- the Twilio IVR webhook: random forms, signed and unsigned (and wrongly signed), weird
  encodings and content types, missing fields, random `turn` values;
- the agent API: random paths under /api/ (known routes with bad ids, random segments),
  methods and JSON / non-JSON bodies, with and without the token.

Nothing may answer 5xx, and every server must still be healthy afterwards. Bounded: a few
hundred examples per target, each a real request.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Dict, Optional, Tuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.catalog import load_catalog
from tests.support.edge_stack import PUBLIC, ivr_post, twilio_signature
from tests.support.live import took_fault_path


FUZZ = settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck),
                print_blob=True)


def request(url: str, method: str = "POST", body: Optional[bytes] = None,
            headers: Optional[Dict[str, str]] = None) -> Tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def assert_healthy(stack) -> None:
    for url in (f"{stack.rasa_url}/", f"{stack.action_url}/health", f"{stack.agent_url}/health"):
        assert request(url, "GET")[0] == 200, url


# ---- strategies ------------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
emoji = st.text(alphabet=st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF) | st.sampled_from("\u200d\ufe0f"), max_size=40)
rtl = st.text(alphabet=st.characters(min_codepoint=0x0590, max_codepoint=0x06FF) | st.sampled_from("\u202e\u202d\u2066\u2067\u2068\u2069\u200f "), max_size=60)
controls = st.text(alphabet=st.characters(max_codepoint=0x1F) | st.sampled_from("\x7f\u0085\u2028\u2029\ufeff"), max_size=40)
huge = st.tuples(st.text(min_size=1, max_size=12), st.integers(200, 3000)).map(lambda t: t[0] * t[1])
texts = st.one_of(
    st.text(max_size=300), emoji, rtl, controls, huge, json_values.map(json.dumps),
    st.sampled_from(["", " ", "/affirm", "/inform{\"remedy\": \"x\"}", "/request_human", "/greet{", "/\u0000",
                     "ORD-4400918", "card 4111 1111 1111 1111", "{{order_id}}", "%s%s%n", "' OR 1=1 --",
                     "<script>alert(1)</script>", "C-20261122-0001", "\ud83d", "a\ud800b"]),
)


@st.composite
def rest_bodies(draw) -> bytes:
    kind = draw(st.sampled_from(["normal", "normal", "normal", "odd", "raw"]))
    if kind == "raw":
        return draw(st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode())
                    | st.integers(1, 8000).map(lambda n: b'{"sender": "s", "message": ' + b"[" * n + b"]" * n + b"}"))
    body: Dict[str, Any] = {"sender": f"fuzz-{uuid.uuid4()}", "message": draw(texts)}
    if kind == "odd":
        body["sender"] = draw(st.one_of(st.text(max_size=300), st.integers(), json_values))
        body["message"] = draw(st.one_of(texts, json_values))
        if draw(st.booleans()):
            body["metadata"] = draw(json_values)
        body.update(draw(st.dictionaries(st.text(max_size=10), json_values, max_size=3)))
    elif draw(st.booleans()):
        body["metadata"] = draw(st.dictionaries(st.text(max_size=10), json_values, max_size=4))
    # Lone surrogates can only travel as JSON escapes.
    return json.dumps(body, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


def utf8(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")


TWILIO_FIELDS = ["CallSid", "AccountSid", "From", "To", "Caller", "Called", "CallStatus", "Direction",
                 "SpeechResult", "Confidence", "Digits", "ApiVersion", "CallDuration"]


@st.composite
def ivr_requests(draw) -> Dict[str, Any]:
    params = {"CallSid": "CA" + uuid.uuid4().hex, "From": "+447700900123", "To": "+442071234567",
              "CallStatus": draw(st.sampled_from(["ringing", "in-progress", "completed", "busy", "x"]))}
    for name in draw(st.lists(st.sampled_from(TWILIO_FIELDS), max_size=6)):
        params[name] = draw(st.one_of(texts.filter(lambda s: len(s) < 2000), st.sampled_from(["1", "9", "#", "*", "0.5", "-1"])))
    for name in draw(st.lists(st.sampled_from(["CallSid", "From", "CallStatus"]), max_size=2)):
        params.pop(name, None)  # missing fields
    params.update(draw(st.dictionaries(st.text(max_size=8), st.text(max_size=20), max_size=2)))
    path = draw(st.sampled_from(["/webhooks/twilio_ivr/webhook", "/webhooks/twilio_ivr/status",
                                 "/webhooks/twilio_ivr/whisper", "/webhooks/twilio_ivr/transfer"]))
    turn = draw(st.one_of(st.none(), st.integers(-5, 50).map(str), st.text(max_size=8)))
    url = PUBLIC + path + (f"?{urllib.parse.urlencode({'turn': turn})}" if turn is not None else "")
    return {
        # Twilio posts UTF-8 form values: no lone surrogates (they can't be encoded) or NULs;
        # blank values are signed like any other.
        "url": url, "params": {utf8(k): utf8(v).replace("\x00", "") for k, v in params.items()},
        "signing": draw(st.sampled_from(["signed"] * 4 + ["unsigned", "wrong"])),
        "encoding": draw(st.sampled_from(["form"] * 6 + ["latin-1", "json", "garbage", "multipart"])),
        "garbage": draw(st.binary(max_size=200)),
    }


AGENT_ROUTES = [
    "/api/tickets", "/api/tickets/{id}", "/api/tickets/{id}/claim", "/api/tickets/{id}/resolve",
    "/api/tickets/{id}/handback", "/api/tickets/{id}/notes", "/api/tickets/{id}/conversation", "/api/handoffs",
    "/api/callbacks", "/api/callbacks/{id}/done", "/api/callbacks/{id}/attempt", "/api/callbacks/{id}/call",
    "/api/conversations/{id}/messages", "/api/{id}", "/api/tickets/{id}/{id}",
]
bad_ids = st.one_of(
    st.text(max_size=40), st.sampled_from(["C-20261122-0001", "C-99999999-9999", "..", "%2e%2e", "%00", "'", "-1"]),
    st.integers().map(str),
)


@st.composite
def agent_requests(draw) -> Dict[str, Any]:
    route = draw(st.sampled_from(AGENT_ROUTES))
    path = route.replace("{id}", urllib.parse.quote(draw(bad_ids), safe=""), 1).replace(
        "{id}", urllib.parse.quote(draw(bad_ids), safe=""))
    query = draw(st.dictionaries(st.sampled_from(["conversation_id", "status", "limit", "x"]), st.text(max_size=20), max_size=3))
    if query:
        path += "?" + urllib.parse.urlencode(query)
    body_kind = draw(st.sampled_from(["none", "json", "json", "garbage"]))
    body = None if body_kind == "none" else (
        json.dumps(draw(json_values)).encode() if body_kind == "json" else draw(st.binary(max_size=200)))
    return {
        "path": path, "method": draw(st.sampled_from(["GET"] * 3 + ["POST"] * 3 + ["PUT", "DELETE"])),
        "body": body, "auth": draw(st.sampled_from(["token", "token", "none", "wrong"])),
    }


# ---- the targets -------------------------------------------------------------------------
def test_rest_channel_never_answers_5xx(edge_stack):
    """No 5xx, and no turn takes the fault path: a crash answered with the polite apology
    (200) is still a crash."""
    url = f"{edge_stack.rasa_url}/webhooks/rest/webhook"
    failed_before = edge_stack.failed_turns()

    @FUZZ
    @given(body=rest_bodies())
    def one(body: bytes) -> None:
        status, answer = request(url, body=body, headers={"Content-Type": "application/json"})
        assert status < 500, (status, answer[:300])
        assert status in (200, 400, 413, 429), status
        if status == 200:
            replies = json.loads(answer)
            assert isinstance(replies, list)
            assert not took_fault_path(replies), (body[:200], replies)

    one()
    assert_healthy(edge_stack)
    assert edge_stack.failed_turns() == failed_before, "some fuzzed turns failed inside the assistant"


def test_ivr_webhook_never_answers_5xx(edge_stack):
    """No 5xx, and no call transferred because the assistant failed (the IVR's fault path
    answers 200 with a transfer, so only the failed-turn count shows it)."""
    failed_before = edge_stack.failed_turns()

    @FUZZ
    @given(call=ivr_requests())
    def one(call: Dict[str, Any]) -> None:
        params, headers = call["params"], {}
        if call["signing"] == "signed":
            headers["X-Twilio-Signature"] = twilio_signature(call["url"], params)
        elif call["signing"] == "wrong":
            headers["X-Twilio-Signature"] = "c2lnbmVk"
        encoding = call["encoding"]
        content_type, body = "application/x-www-form-urlencoded", None
        if encoding == "latin-1":
            body = urllib.parse.urlencode(params, encoding="latin-1", errors="replace").encode()
        elif encoding == "json":
            content_type, body = "application/json", json.dumps(params).encode()
        elif encoding == "garbage":
            body = call["garbage"]
        elif encoding == "multipart":
            content_type, body = "multipart/form-data; boundary=xyz", b"--xyz\r\n" + call["garbage"]
        status, answer = ivr_post(edge_stack, call["url"], params, signed=False,
                                  signature=headers.get("X-Twilio-Signature"), body=body, content_type=content_type)
        assert status < 500, (status, answer[:300])
        assert load_catalog().phone_phrase("technical_transfer") not in answer, (call["params"], answer[:300])

    one()
    assert_healthy(edge_stack)
    assert edge_stack.failed_turns() == failed_before, "some fuzzed calls failed inside the assistant"


def test_agent_api_never_answers_5xx(edge_stack):
    token = edge_stack.env["AGENT_API_TOKEN"]

    @FUZZ
    @given(call=agent_requests())
    def one(call: Dict[str, Any]) -> None:
        headers = {"Content-Type": "application/json"}
        if call["auth"] == "token":
            headers["Authorization"] = f"Bearer {token}"
        elif call["auth"] == "wrong":
            headers["Authorization"] = "Bearer nope"
        status, answer = request(edge_stack.agent_url + call["path"], call["method"], call["body"], headers)
        assert status < 500, (status, call, answer[:300])
        if call["auth"] != "token" and call["path"].startswith("/api/"):
            assert status in (401, 403, 404, 405), (status, call)

    one()
    assert_healthy(edge_stack)


def test_a_signed_call_with_blank_parameters_is_accepted(edge_stack):
    params = {"CallSid": "CA" + uuid.uuid4().hex, "From": "+447700900123", "To": "+442071234567",
              "CallStatus": "ringing", "CallerZip": "", "CallerState": "", "CallerCountry": "GB"}
    status, _ = ivr_post(edge_stack, PUBLIC + "/webhooks/twilio_ivr/webhook", params)
    assert status == 200
