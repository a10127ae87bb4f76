"""Faults, each injected for real into the running product (Redis configuration, processes
started with the launcher's environment and commands, tests/support/cluster.py):

- the action server is killed (SIGKILL) mid-conversation and started again;
- Redis (append-only file, fsync always) is killed and started again on the same port and
  directory, between turns and during one;
- one action fails in the middle of a turn, after the turn's earlier action saved a ticket
  (tests/support/action_faults.py), and the customer sends the message again, as the apology asks.

Nothing may be lost: the customer always gets an answer (an apology, never silence or an
error), the conversation continues where it was, and every ticket and callback is still
there, once. (A Twilio webhook delivered twice is processed once:
tests/live/test_twilio_ivr.py::test_a_retried_delivery_of_a_turn_is_processed_once.)
"""
from __future__ import annotations

import asyncio
import json
import signal
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from typing import Any, Dict, List

import pytest

from bot.rasa_ext.channels.rest import TECHNICAL_PROBLEM
from bot.tickets.model import new_ticket
from bot.tickets.redis_store import RedisTicketStore
from bot.tickets.sqlite_store import SQLiteTicketStore
from tests.support.action_faults import ActionFaults
from tests.support.cluster import AGENT_TOKEN, Cluster, Service, base_url, port_of, say, scrape_metrics, tracker
from tests.support.redis_server import RedisServer
from tests.support.live import CLOSED_INSTANT, buttons, texts, took_fault_path, user_texts
from tests.support.tickets import TICKET_ID

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
    request = urllib.request.Request(
        f"{base_url(cluster.services['agent-api'])}{path}", headers={"Authorization": f"Bearer {AGENT_TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def metric(cluster: Cluster, name: str, **labels: str) -> float:
    body = scrape_metrics(cluster.services["rasa"])
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
    assert took_fault_path(replies), "the apology carries the fault marker"
    said = texts(replies).lower()
    assert "technical problem" in said and "again" in said and "error" not in said


def test_action_server_killed_and_restarted_mid_conversation(cluster, own_redis):
    rasa, actions = cluster.services["rasa"], cluster.services["actions"]
    sender = f"fault-actions-{uuid.uuid4()}"
    complaint = "hello, my parcel ord 4400918 is 5 days late and nobody tells me anything"
    replies = say(rasa, sender, complaint)
    assert "order ORD-4400918" in texts(replies)
    errors_before = metric(cluster, "complaints_errors_total", channel="rest", kind="action_server")

    actions.kill(signal.SIGKILL)
    replies = say(rasa, sender, "/affirm", fault_expected=True)
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
    ticket_id = TICKET_ID.search(texts(replies)).group(0)

    found = tickets_of(own_redis.url, sender)
    assert [t["ticket_id"] for t in found] == [ticket_id], "one ticket, not lost, not duplicated"
    ticket = found[0]
    assert ticket["facts_confirmed"] is True and ticket["remedy"]["chosen"] == "refund_delivery_fee"
    assert TECHNICAL_PROBLEM in [line["text"] for line in ticket["transcript"] if line["role"] == "bot"]


def as_a_customer(rasa, sender: str, text: str, apologies: List[str]) -> List[Dict[str, Any]]:
    """One turn, sent again once if the assistant apologises and asks for it (as told)."""
    replies = say(rasa, sender, text, fault_expected=True)  # the first turn after a restart may fail
    if [r.get("text") for r in replies] == [TECHNICAL_PROBLEM]:
        apologies.append(text)
        replies = say(rasa, sender, text)
    return replies


def as_an_agent(cluster: Cluster, path: str) -> Any:
    """An agent's screen after a Redis restart: it must load the first time (the ticket
    store reconnects, test_the_ticket_store_survives_a_redis_restart_without_an_error); an
    error page would be what the agent notices."""
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
    assert_polite_apology(say(rasa, sender, "/request_callback", fault_expected=True))
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


# ---- a fault in the middle of a turn --------------------------------------------------
@pytest.fixture(scope="module")
def mid_turn(tmp_path_factory):
    """A Rasa server whose action calls pass through ActionFaults, out of hours (so a web
    hand-off saves its ticket, then asks how to reach the customer: two actions, one turn)."""
    var = tmp_path_factory.mktemp("mid-turn")
    nodes = Cluster(var, {"CLOCK_START": CLOSED_INSTANT})
    actions = nodes.action_server("actions")
    with ActionFaults(base_url(actions)) as faults:
        nodes.rasa_server("rasa", faults.port)
        with nodes.running():
            yield nodes.services["rasa"], faults, str(var / "tickets.db")


def sqlite_tickets(path: str, conversation_id: str) -> List[Dict[str, Any]]:
    async def find() -> List[Dict[str, Any]]:
        store = SQLiteTicketStore(path)
        try:
            return await store.find(conversation_id=conversation_id)
        finally:
            await store.close()

    return asyncio.run(find())


def failed_mid_turn(rasa: Service, faults: ActionFaults, sender: str, text: str, failing: str) -> List[Dict[str, Any]]:
    faults.fail_once(failing)
    replies = say(rasa, sender, text, fault_expected=True)
    assert faults.fired, f"{failing} was not called in the turn of {text!r}: {faults.calls}"
    assert_polite_apology(replies)
    return replies


def test_a_retry_after_a_fault_mid_turn_continues_with_the_one_ticket(mid_turn):
    """The complaint's first turn opened ticket T (action_start_complaint saved it and set
    `ticket_id`), then the form's next action failed: the customer is asked to send the
    message again. The rewind undoes the turn but keeps `ticket_id` (bot/rasa_ext/channels/rest.py
    KEPT_SLOTS), so the retry goes on with T: no second ticket for the agents to find. (No
    order number here: a second complaint about the same order would join T anyway.)"""
    rasa, faults, tickets_db = mid_turn
    sender = f"mid-turn-complaint-{uuid.uuid4()}"
    complaint = "the delivery driver was really rude to me and threw my parcel at the door"
    failed_mid_turn(rasa, faults, sender, complaint, failing="validate_complaint_form")
    saved = sqlite_tickets(tickets_db, sender)
    assert len(saved) == 1, "the fault came after the turn had saved its ticket"
    ticket_id = saved[0]["ticket_id"]

    replies = say(rasa, sender, complaint)  # "send your last message again"
    assert "member of staff" in texts(replies), "the complaint is taken up as without the fault"
    while not TICKET_ID.search(texts(replies)):
        options = buttons(replies)
        assert options, f"the form asks with choices until the complaint is logged: {texts(replies)}"
        replies = say(rasa, sender, options[0]["payload"])
    assert TICKET_ID.search(texts(replies)).group(0) == ticket_id, "the customer is given the ticket the failed turn opened"
    found = sqlite_tickets(tickets_db, sender)
    assert [t["ticket_id"] for t in found] == [ticket_id], "the retry opened no second ticket"
    assert found[0]["category"] == "staff_conduct" and found[0]["remedy"]["chosen"], "the one ticket holds the whole complaint"
