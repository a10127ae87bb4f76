"""The REST channel's edges (bot/rasa_ext/channels/rest.py) against the really started product:
body limit (413), validation (400), per-conversation rate limit (429 + Retry-After, a flood
slows only its own sender); plus the token bucket itself."""
from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Tuple
from urllib.parse import urlparse

import pytest

from tests.support.live import texts, took_fault_path

LIMIT = 16 * 1024


def post_raw(stack, body: bytes, headers: Dict[str, str] = None) -> Tuple[int, Dict[str, str], Any]:
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/rest/webhook", data=body,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = raw
        return error.code, dict(error.headers), payload


def post(stack, payload: Any) -> Tuple[int, Dict[str, str], Any]:
    return post_raw(stack, json.dumps(payload).encode())


def sender() -> str:
    return f"rest-{uuid.uuid4()}"


# ---- body limit ---------------------------------------------------------------------------
def test_a_body_over_16_kb_is_refused_with_413(live_stack):
    body = json.dumps({"sender": sender(), "message": "a" * LIMIT}).encode()
    assert len(body) > LIMIT
    status, _, payload = post_raw(live_stack, body)
    assert status == 413
    assert payload["max_bytes"] == LIMIT and "larger" in payload["error"]


def test_a_body_just_under_the_limit_is_a_normal_turn(live_stack):
    text = "My kettle from order ORD-4400918 stopped working. " + "It just stopped. " * 900
    body = json.dumps({"sender": sender(), "message": text}).encode()
    assert 15_000 < len(body) <= LIMIT
    status, _, replies = post_raw(live_stack, body)
    assert status == 200 and texts(replies).strip()


def test_a_chunked_body_over_the_limit_is_refused_too(live_stack):
    """No Content-Length to trust: the limit applies to what is actually read."""
    url = urlparse(live_stack.rasa_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    chunks = (json.dumps({"sender": sender(), "message": "b" * 40_000})[i:i + 4096].encode() for i in range(0, 40_100, 4096))
    try:
        connection.request("POST", "/webhooks/rest/webhook", body=chunks, headers={"Content-Type": "application/json"},
                           encode_chunked=True)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered 413 and closed before the rest was sent: the point
    response = connection.getresponse()
    assert response.status == 413
    connection.close()


# ---- validation ---------------------------------------------------------------------------
@pytest.mark.parametrize("body", [
    b"not json", b"[1, 2]", b'"text"', b"{}",
    json.dumps({"message": "hi"}).encode(),
    json.dumps({"sender": "", "message": "hi"}).encode(),
    json.dumps({"sender": "a\nb", "message": "hi"}).encode(),
    json.dumps({"sender": "x" * 300, "message": "hi"}).encode(),
    json.dumps({"sender": "s", "message": None}).encode(),
    json.dumps({"sender": "s", "message": ["hi"]}).encode(),
    json.dumps({"sender": "s", "message": "hi", "metadata": "x"}).encode(),
    b"\xff\xfe\x00garbage",
    b"[" * 8000 + b"]" * 8000,
    b'{"sender": "s", "message": ' + b"[" * 8000 + b"]" * 8000 + b"}",
])
def test_malformed_requests_get_400_with_a_json_error(live_stack, body):
    status, _, payload = post_raw(live_stack, body)
    assert status == 400, payload
    assert isinstance(payload, dict) and payload["error"]


def test_a_client_cannot_choose_the_input_channel(live_stack):
    who = sender()
    status, _, replies = post(live_stack, {"sender": who, "message": "hi", "input_channel": "made_up"})
    assert status == 200 and replies and not took_fault_path(replies), replies
    assert live_stack.tracker(who)["latest_input_channel"] == "rest"


# ---- rate limit ---------------------------------------------------------------------------
def test_a_flood_from_one_sender_slows_only_that_sender(live_stack):
    flooder, customer = sender(), sender()

    def flood(_: int) -> Tuple[int, Dict[str, str], Any]:
        return post(live_stack, {"sender": flooder, "message": "hello?"})

    # All 60 at once: how fast they arrive must not depend on how long a turn takes (with a
    # few workers, each waiting for its turn, a slow machine would send them slower than
    # the bucket refills and nothing would be refused).
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=60) as pool:
        flooding = pool.map(flood, range(60))
        # Meanwhile another customer's conversation goes on normally.
        replies = live_stack.say(customer, "hi")
        assert "complaints assistant" in texts(replies)
        replies = live_stack.say(customer, "my parcel ord 4400918 is 5 days late")
        assert "ORD-4400918" in texts(replies)
        results = list(flooding)
    elapsed = time.monotonic() - started

    statuses = [status for status, _, _ in results]
    assert statuses.count(429) >= 20, statuses
    assert set(statuses) <= {200, 429}, statuses
    # At most the burst (10) plus what refills (5/s) while the flood lasted gets through: a
    # limiter that let every request pass would exceed this unless the flood took 10 s.
    assert statuses.count(200) <= 10 + 5 * elapsed + 1, (statuses.count(200), elapsed)
    limited = next((headers, payload) for status, headers, payload in results if status == 429)
    headers, payload = limited
    assert int(headers["Retry-After"]) >= 1 and payload["retry_after"] > 0 and "slow down" in payload["error"]

    # The flooded conversation is told when to come back, and then it can.
    time.sleep(int(headers["Retry-After"]))
    status, _, replies = post(live_stack, {"sender": flooder, "message": "hi"})
    assert status == 200 and "complaints assistant" in texts(replies)
    # ... and the customer's conversation never noticed.
    assert live_stack.say(customer, "/affirm")
