"""Faults, each injected for real into the running product (Redis configuration, processes
started with the launcher's environment and commands, tests/cluster.py):

- the action server is killed (SIGKILL) mid-conversation and started again;
- Redis (append-only file, fsync always) is killed and started again on the same port and
  directory, between turns and during one.

Nothing may be lost: the customer always gets an answer (an apology, never silence or an
error), the conversation continues where it was, and every ticket and callback is still
there, once. (A Twilio webhook delivered twice is processed once:
tests/test_twilio_ivr.py::test_a_retried_delivery_of_a_turn_is_processed_once.)
"""
from __future__ import annotations

import asyncio
import re
import signal
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from typing import Any, Dict, List

import pytest

from bot.channels.rest import TECHNICAL_PROBLEM
from bot.tickets.redis_store import RedisTicketStore
from tests.cluster import AGENT_TOKEN, Cluster, base_url, port_of, say, tracker
from tests.redis_server import RedisServer
from tests.live import buttons, texts

pytestmark = pytest.mark.live
TICKET = re.compile(r"C-\d{8}-\d{4}")
PREFIX = "faults:"


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis-aof"), appendonly=True).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, own_redis):
    var = tmp_path_factory.mktemp("faults")
    nodes = Cluster.on_redis(var, own_redis.url, PREFIX)
    actions = nodes.action_server("actions")
    rasa = nodes.rasa_server("rasa", port_of(actions))
    nodes.agent_api("agent-api", port_of(rasa))
    with nodes.running():
        yield nodes


def tickets_of(redis_url: str, conversation_id: str) -> List[Dict[str, Any]]:
    async def find() -> List[Dict[str, Any]]:
        store = RedisTicketStore(redis_url, key_prefix=PREFIX)
        try:
            return await store.find(conversation_id=conversation_id)
        finally:
            await store.close()

    return asyncio.run(find())


def agent_api(cluster: Cluster, path: str) -> Any:
    import json

    request = urllib.request.Request(
        f"{base_url(cluster.services['agent-api'])}{path}", headers={"Authorization": f"Bearer {AGENT_TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def metric(cluster: Cluster, name: str, **labels: str) -> float:
    with urllib.request.urlopen(f"{base_url(cluster.services['rasa'])}/metrics", timeout=10) as response:
        body = response.read().decode()
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in body.splitlines():
        if line.startswith(name + "{"):
            key, value = line.rsplit(" ", 1)
            got = ",".join(sorted(key[len(name) + 1:-1].split(",")))
            if got == wanted:
                return float(value)
    return 0.0


def assert_polite_apology(replies: List[Dict[str, Any]]) -> None:
    assert [r.get("text") for r in replies] == [TECHNICAL_PROBLEM]
    said = texts(replies).lower()
    assert "technical problem" in said and "again" in said and "error" not in said


def user_texts(events: List[Dict[str, Any]]) -> List[str]:
    return [e["text"] for e in events if e["event"] == "user"]


def test_action_server_killed_and_restarted_mid_conversation(cluster, own_redis):
    rasa, actions = cluster.services["rasa"], cluster.services["actions"]
    sender = f"fault-actions-{uuid.uuid4()}"
    complaint = "hello, my parcel ord 4400918 is 5 days late and nobody tells me anything"
    replies = say(rasa, sender, complaint)
    assert "order ORD-4400918" in texts(replies)
    errors_before = metric(cluster, "complaints_errors_total", channel="rest", kind="action_server")

    actions.kill(signal.SIGKILL)
    replies = say(rasa, sender, "/affirm")
    assert_polite_apology(replies)

    # Nothing is lost: the message and the apology are in the conversation, which is back
    # exactly where it was (the read-back question still open).
    state = tracker(rasa, sender)
    assert user_texts(state["events"]) == [complaint, "/affirm"]
    assert [e["text"] for e in state["events"] if e["event"] == "bot"][-1] == TECHNICAL_PROBLEM
    assert state["active_loop"]["name"] == "complaint_form"
    assert state["slots"]["requested_slot"] == "facts_confirmed" and state["slots"]["facts_confirmed"] is None
    assert metric(cluster, "complaints_errors_total", channel="rest", kind="action_server") == errors_before + 1

    actions.start().wait_ready()
    replies = say(rasa, sender, "/affirm")
    assert "What we will do:" in texts(replies), "the form goes on from the read-back"
    replies = say(rasa, sender, buttons(replies)[0]["payload"])
    ticket_id = TICKET.search(texts(replies)).group(0)

    found = tickets_of(own_redis.url, sender)
    assert [t["ticket_id"] for t in found] == [ticket_id], "one ticket, not lost, not duplicated"
    ticket = found[0]
    assert ticket["facts_confirmed"] is True and ticket["remedy"]["chosen"] == "refund_delivery_fee"
    assert TECHNICAL_PROBLEM in [line["text"] for line in ticket["transcript"] if line["role"] == "bot"]


def as_a_customer(rasa, sender: str, text: str, apologies: List[str]) -> List[Dict[str, Any]]:
    """One turn, sent again once if the assistant apologises and asks for it (as told)."""
    replies = say(rasa, sender, text)
    if [r.get("text") for r in replies] == [TECHNICAL_PROBLEM]:
        apologies.append(text)
        replies = say(rasa, sender, text)
    return replies


def as_an_agent(cluster: Cluster, path: str) -> Any:
    """An agent's screen: reloaded once if the first request after a Redis restart fails
    (see test_the_ticket_store_survives_a_redis_restart_without_an_error)."""
    try:
        return agent_api(cluster, path)
    except urllib.error.HTTPError as error:
        assert error.code >= 500
        return agent_api(cluster, path)


def test_redis_restarted_mid_conversation_loses_nothing(cluster, own_redis):
    rasa = cluster.services["rasa"]
    sender = f"fault-redis-{uuid.uuid4()}"
    said = [
        "you refused to repair my bosch fridge under warranty, bought 10 January 2023, I want it fixed for free",
        "/affirm", "None of these",
    ]
    replies = []
    for text in said:
        replies = say(rasa, sender, text)
    assert "will not change" in texts(replies), "the callback is offered"
    ticket_id = tickets_of(own_redis.url, sender)[0]["ticket_id"]

    own_redis.stop(signal.SIGKILL)  # a crash, not a clean shutdown
    # During the outage the customer is answered (and asked to try again), not left in silence.
    assert_polite_apology(say(rasa, sender, "/request_callback"))
    own_redis.start()

    # Conversation and ticket survived the crash.
    assert user_texts(tracker(rasa, sender)["events"]) == said
    assert tickets_of(own_redis.url, sender)[0]["callback"]["status"] == "offered"

    apologies: List[str] = []
    replies = as_a_customer(rasa, sender, "/request_callback", apologies)
    windows = buttons(replies)
    assert len(windows) == 4, texts(replies)
    assert "phone number" in texts(as_a_customer(rasa, sender, windows[1]["payload"], apologies))
    replies = as_a_customer(rasa, sender, "020 7946 0958", apologies)
    assert ticket_id in texts(replies)
    assert len(apologies) <= 1, f"at most one apology after a restart: {apologies}"
    said += [text for sent in ("/request_callback", windows[1]["payload"], "020 7946 0958")
             for text in [sent] * (2 if sent in apologies else 1)]

    own_redis.stop(signal.SIGKILL)
    own_redis.start()

    assert user_texts(tracker(rasa, sender)["events"]) == said, "every message kept, in order"
    found = tickets_of(own_redis.url, sender)
    assert [t["ticket_id"] for t in found] == [ticket_id], "one ticket, not lost, not duplicated"
    assert found[0]["callback"]["status"] == "opted_in" and found[0]["customer"]["phone"] == "+442079460958"
    assert ticket_id in [t["ticket_id"] for t in as_an_agent(cluster, "/api/callbacks")["callbacks"]]

    # ... and the conversation goes on.
    replies = as_a_customer(rasa, sender, "actually please cancel my callback", apologies)
    assert "cancelled the callback" in texts(replies)
    assert ticket_id not in [t["ticket_id"] for t in as_an_agent(cluster, "/api/callbacks")["callbacks"]]


def test_the_ticket_store_survives_a_redis_restart_without_an_error(own_redis):
    from bot.tickets.model import new_ticket

    async def scenario() -> None:
        store = RedisTicketStore(own_redis.url, key_prefix=f"reconnect-{uuid.uuid4().hex[:6]}:")
        try:
            ticket_id = await store.next_ticket_id(datetime.now(timezone.utc))
            await store.save(new_ticket(ticket_id, "conversation", "web"))
            await asyncio.get_running_loop().run_in_executor(None, restart)
            assert (await store.get(ticket_id))["ticket_id"] == ticket_id
        finally:
            await store.close()

    def restart() -> None:
        own_redis.stop(signal.SIGKILL)
        own_redis.start()

    asyncio.run(scenario())
