"""Scale-out on Redis: two Rasa servers and two action servers, no sticky routing, one real
redis-server holding the trackers, the conversation locks (endpoints.redis.yml), the tickets
and the REST rate limits. Every process is started with the launcher's own environment and
command line (tests/support/cluster.py)."""
from __future__ import annotations

import json
import threading
import time
import urllib.error
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List

import pytest
import redis

from tests.support.cluster import Cluster, port_of, say, tracker
from tests.support.live import buttons, texts, user_texts
from tests.support.tickets import TICKET_ID


@pytest.fixture(scope="module")
def redis_prefix() -> str:
    return f"scale-{uuid.uuid4().hex[:8]}:"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, redis_url, redis_prefix):
    var = tmp_path_factory.mktemp("scale-out")
    nodes = Cluster.on_redis(var, redis_url, redis_prefix)
    actions_a, actions_b = nodes.action_server("actions-a"), nodes.action_server("actions-b")
    nodes.rasa_server("rasa-a", port_of(actions_a))
    nodes.rasa_server("rasa-b", port_of(actions_b))
    with nodes.running():
        yield nodes


def turns(events: List[Dict[str, Any]]) -> List[List[Dict[str, Any]]]:
    """The events split at each user message: [user, what the assistant did ...]."""
    out: List[List[Dict[str, Any]]] = []
    for event in events:
        if event["event"] == "user":
            out.append([event])
        elif out:
            out[-1].append(event)
    return out


def test_a_conversation_alternating_between_servers_keeps_every_message(cluster, redis_url, redis_prefix):
    rasa_a, rasa_b = cluster.services["rasa-a"], cluster.services["rasa-b"]
    assert cluster.services["rasa-a"].env["ACTION_ENDPOINT_URL"] != cluster.services["rasa-b"].env["ACTION_ENDPOINT_URL"]
    sender = f"scale-{uuid.uuid4()}"
    said = []

    def turn(server, text):
        said.append(text)
        return say(server, sender, text)

    assert "complaints assistant" in texts(turn(rasa_a, "hi"))
    replies = turn(rasa_b, "hello, my parcel ord 4400918 is 5 days late and nobody tells me anything")
    assert "order ORD-4400918" in texts(replies), "read back on the other server"
    replies = turn(rasa_a, "/affirm")
    assert "What we will do:" in texts(replies)
    assert [b["title"] for b in buttons(replies)] == ["Refund the delivery charge", "£10 voucher", "None of these"]
    replies = turn(rasa_b, buttons(replies)[0]["payload"])
    ticket_id = TICKET_ID.search(texts(replies)).group(0)
    assert turn(rasa_a, "no thanks")

    # Both servers see the same conversation: every message once, in order, each answered.
    for server in (rasa_a, rasa_b):
        events = tracker(server, sender)["events"]
        assert user_texts(events) == said
        for segment in turns(events):
            assert (segment[-1]["event"], segment[-1].get("name")) == ("action", "action_listen"), segment[0]["text"]
            assert any(e["event"] == "bot" for e in segment), f"no answer to {segment[0]['text']!r}"

    # The ticket is in Redis, once, complete.
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        assert client.zrange(f"{redis_prefix}conv:{sender}", 0, -1) == [ticket_id]
        ticket = json.loads(client.get(f"{redis_prefix}ticket:{ticket_id}"))
    finally:
        client.close()
    assert ticket["facts"]["order_id"] == "ORD-4400918" and ticket["facts_confirmed"] is True
    assert ticket["remedy"]["chosen"] == "refund_delivery_fee"
    assert [line["text"] for line in ticket["transcript"] if line["role"] == "customer"][:2] == [said[1], "Yes, that's right"]


def test_concurrent_turns_of_one_conversation_on_two_servers_are_serialised(cluster):
    rasa_a, rasa_b = cluster.services["rasa-a"], cluster.services["rasa-b"]
    for round_ in range(4):
        sender = f"race-{round_}-{uuid.uuid4()}"
        say(rasa_a, sender, "hi")
        start = threading.Barrier(2)
        messages = {
            "a": "I was charged twice for my order 4400918",
            "b": "and the parcel itself is two weeks late",
        }

        def send(which: str, start=start, sender=sender, messages=messages) -> List[Dict[str, Any]]:
            start.wait()
            return say(rasa_a if which == "a" else rasa_b, sender, messages[which])

        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = dict(zip("ab", pool.map(send, "ab")))

        events = tracker(rasa_a, sender)["events"]
        assert sorted(user_texts(events)[1:]) == sorted(messages.values()), "both processed, none lost"
        for segment in turns(events)[1:]:
            text = segment[0]["text"]
            which = "a" if text == messages["a"] else "b"
            # Each turn's events are contiguous: what the tracker holds between this message and
            # the next is exactly what this request answered, ending in action_listen.
            assert [e["text"] for e in segment if e["event"] == "bot"] == [r.get("text") for r in answers[which]]
            assert segment[-1]["event"] == "action" and segment[-1]["name"] == "action_listen"
            assert answers[which], f"no answer to {text!r}"
            assert "technical problem" not in texts(answers[which])


def test_the_rate_limit_is_shared_by_every_server(cluster):
    """One sender flooding both servers gets one bucket (in Redis), not one per server."""
    rasa_a, rasa_b = cluster.services["rasa-a"], cluster.services["rasa-b"]
    sender = f"flood-{uuid.uuid4()}"

    def send(index: int) -> int:
        try:
            say(rasa_a if index % 2 else rasa_b, sender, "hi")
            return 200
        except urllib.error.HTTPError as error:
            return error.code

    # All 40 at once: with a few workers each waiting for its turn (one conversation's turns
    # are serialised), a slow machine would send them slower than the buckets refill.
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(send, range(40)))
    elapsed = time.monotonic() - started
    assert set(statuses) <= {200, 429}
    # Burst 10 plus 5/s refill in total; two separate buckets would let through twice that.
    assert statuses.count(200) <= 10 + 5 * elapsed + 1, (statuses.count(200), elapsed)
    assert statuses.count(429) > 0
