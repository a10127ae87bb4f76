"""bot.rasa_ext.stores.redis_tracker_store.RedisEventTrackerStore against a real redis-server, with the real domain,
compared with what Rasa's own InMemoryTrackerStore returns for the same conversation."""
from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any, Dict, Iterator, List, Optional

import pytest
import pytest_asyncio
import redis
from rasa.core.actions.action import ActionSessionStart
from rasa.core.tracker_store import InMemoryTrackerStore, TrackerStore, check_if_tracker_store_async
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, get_trackers_for_conversation_sessions
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config

import bot.rasa_ext.stores.redis_tracker_store as tracker_store_module
from bot.rasa_ext.stores.redis_tracker_store import RedisEventTrackerStore

THIRTY_DAYS = 2592000  # (async tests: pytest-asyncio in auto mode, pyproject.toml)


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load("domain.yml")


@pytest.fixture
def raw(redis_url: str, key_prefix: str):
    """A plain client to look at what the store wrote; deletes the test's keys afterwards."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    keys = list(client.scan_iter(match=f"{key_prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest_asyncio.fixture
async def store(redis_url: str, key_prefix: str, domain: Domain, raw):
    ours = RedisEventTrackerStore(domain, host=redis_url, key_prefix=key_prefix)
    yield ours
    await ours.close()


def sender() -> str:
    return f"conv-{uuid.uuid4().hex[:10]}"


def stamped(events: List[Event], clock: Optional[Iterator[int]]) -> List[Event]:
    """Deterministic timestamps, so that two stores can be given identical conversations."""
    if clock is not None:
        for event in events:
            event.timestamp = float(next(clock))
    return events


def turn(text: str, reply: str, clock: Optional[Iterator[int]] = None, **slots: Any) -> List[Event]:
    """One customer message and the assistant's answer, as the processor logs them."""
    events: List[Event] = [
        UserUttered(text, {"name": "inform", "confidence": 0.98}, [], message_id=f"m-{text}"),
        ActionExecuted("utter_ask_product"),
        BotUttered(reply, {"elements": None, "buttons": None}, {"utter_action": "utter_ask_product"}),
    ]
    events += [SlotSet(name, value) for name, value in slots.items()]
    events.append(ActionExecuted(ACTION_LISTEN_NAME))
    return stamped(events, clock)


async def start_session(
    tracker: DialogueStateTracker, domain: Domain, metadata: Optional[Dict] = None,
    clock: Optional[Iterator[int]] = None,
) -> None:
    """What the processor appends when it starts a session (_update_tracker_session): the
    metadata slot, then action_session_start logged before the events Rasa's own
    ActionSessionStart returns (SessionStarted, the carried-over slots, action_listen)."""
    if metadata:
        tracker.update(stamped([SlotSet("session_started_metadata", metadata)], clock)[0], domain)
    returned = await ActionSessionStart().run(None, None, tracker, domain)
    tracker.update(stamped([ActionExecuted(ACTION_SESSION_START_NAME)], clock)[0])
    add(tracker, stamped(returned, clock), domain)


def add(tracker: DialogueStateTracker, events: List[Event], domain: Domain) -> None:
    """`update_with_events`, keeping the events' own timestamps."""
    tracker.update_with_events(events, domain, override_timestamp=False)


def dicts(tracker: Optional[DialogueStateTracker]) -> List[Dict[str, Any]]:
    assert tracker is not None
    return [event.as_dict() for event in tracker.events]


def slot_values(tracker: DialogueStateTracker) -> Dict[str, Any]:
    return {name: slot.value for name, slot in tracker.slots.items()}


def events_key(prefix: str, sender_id: str) -> str:
    return f"{prefix.rstrip(':')}:events:{sender_id}"


def start_key(prefix: str, sender_id: str) -> str:
    return f"{prefix.rstrip(':')}:session_start:{sender_id}"


async def new_conversation(
    store: TrackerStore, domain: Domain, sender_id: str, clock: Optional[Iterator[int]] = None,
) -> DialogueStateTracker:
    """A conversation's first turn, as the processor runs it."""
    tracker = await store.get_or_create_tracker(sender_id, append_action_listen=False)
    await start_session(tracker, domain, clock=clock)
    add(
        tracker, turn("my fridge broke", "Which product?", clock, product="fridge", category="repair"), domain,
    )
    await store.save(tracker)
    return tracker


# ---- 1. round trip -------------------------------------------------------------------------
async def test_a_saved_tracker_comes_back_with_the_same_events_and_slots(store, domain):
    sender_id = sender()
    saved = await new_conversation(store, domain, sender_id)
    add(saved, [ActiveLoop("complaint_form"), SlotSet("requested_slot", "order_id")], domain)
    add(saved, turn("order 12345", "Thanks", order_id="12345", amount=[1, {"eur": 2.5}]), domain)
    await store.save(saved)

    found = await store.retrieve(sender_id)
    assert dicts(found) == dicts(saved)
    assert slot_values(found) == slot_values(saved)
    assert found.slots["product"].value == "fridge" and found.slots["amount"].value == [1, {"eur": 2.5}]
    assert found.active_loop_name == "complaint_form"
    assert found.latest_message.text == "order 12345"
    assert dicts(await store.retrieve_full_tracker(sender_id)) == dicts(saved)
    assert await store.exists(sender_id)


# ---- 2. only new events are appended ------------------------------------------------------
async def test_each_save_appends_only_the_events_not_stored_yet(store, domain, raw, key_prefix):
    sender_id = sender()
    tracker = await new_conversation(store, domain, sender_id)
    first = len(tracker.events)
    assert raw.llen(events_key(key_prefix, sender_id)) == first

    await store.save(tracker)  # nothing new: nothing written
    assert raw.llen(events_key(key_prefix, sender_id)) == first

    for number in range(3):
        tracker = await store.retrieve(sender_id)
        add(tracker, turn(f"message {number}", f"reply {number}"), domain)
        await store.save(tracker)
    full = await store.retrieve_full_tracker(sender_id)
    assert raw.llen(events_key(key_prefix, sender_id)) == len(full.events) == first + 3 * 4
    stored = [event["timestamp"] for event in dicts(full)]
    assert len(set(stored)) == len(stored), "no event stored twice"
    assert dicts(full) == dicts(tracker)


async def test_a_tracker_with_fewer_events_than_stored_writes_nothing(store, domain, raw, key_prefix):
    """As SQLTrackerStore: stored events are never replaced (e.g. PUT .../tracker/events)."""
    sender_id = sender()
    tracker = await new_conversation(store, domain, sender_id)
    before = raw.lrange(events_key(key_prefix, sender_id), 0, -1)

    shorter = DialogueStateTracker.from_events(sender_id, list(tracker.events)[:2], domain.slots)
    await store.save(shorter)
    assert raw.lrange(events_key(key_prefix, sender_id), 0, -1) == before


async def test_concurrent_saves_of_one_tracker_store_its_events_once(store, domain, raw, key_prefix):
    sender_id = sender()
    tracker = await new_conversation(store, domain, sender_id)
    add(tracker, turn("again", "yes"), domain)
    other = RedisEventTrackerStore(domain, host=store.host, key_prefix=key_prefix)
    try:
        await asyncio.gather(*(s.save(tracker) for s in (store, other, store, other)))
    finally:
        await other.close()
    assert raw.llen(events_key(key_prefix, sender_id)) == len(tracker.events)
    assert dicts(await store.retrieve(sender_id)) == dicts(tracker)


# ---- 3. sessions, and parity with Rasa's InMemoryTrackerStore ----------------------------
async def scripted_conversation(
    domain: Domain, sender_id: str, store: Optional[TrackerStore] = None,
) -> DialogueStateTracker:
    """Three sessions (the second one started with metadata), with the same events
    (timestamps included) each time it is played. With a store, each turn is saved and the
    next one continues from `retrieve` (the latest session), as the processor does; without,
    it is played on one tracker that keeps every session (what Rasa's InMemoryTrackerStore
    is given when a processor always saves the whole conversation)."""
    clock = itertools.count(1_700_000_000)

    async def saved(tracker: DialogueStateTracker) -> DialogueStateTracker:
        if store is None:
            return tracker
        await store.save(tracker)
        return await store.retrieve(sender_id)

    if store is None:
        tracker = DialogueStateTracker(sender_id, domain.slots)
        await start_session(tracker, domain, clock=clock)
        add(tracker, turn("my fridge broke", "Which product?", clock, product="fridge", category="repair"), domain)
    else:
        tracker = await saved(await new_conversation(store, domain, sender_id, clock))
    for session, metadata in enumerate([{"channel": "web"}, None]):
        add(tracker, turn(f"s{session} last", "bye", clock, ticket_id=f"C-{session}"), domain)
        tracker = await saved(tracker)
        await start_session(tracker, domain, metadata, clock)
        add(tracker, turn(f"s{session + 1} first", "hello again", clock), domain)
        tracker = await saved(tracker)
    return tracker


async def test_retrieve_returns_the_latest_session_with_its_carried_slots_as_rasa_does(store, domain, raw, key_prefix):
    sender_id = sender()
    await scripted_conversation(domain, sender_id, store)
    rasa_store = InMemoryTrackerStore(domain)
    await rasa_store.save(await scripted_conversation(domain, sender_id))

    ours, theirs = await store.retrieve(sender_id), await rasa_store.retrieve(sender_id)
    assert [e["event"] for e in dicts(ours)][:2] == ["action", "session_started"]
    assert dicts(ours)[0]["name"] == ACTION_SESSION_START_NAME
    assert dicts(ours) == dicts(theirs)
    assert slot_values(ours) == slot_values(theirs)
    assert ours.slots["product"].value == "fridge" and ours.slots["ticket_id"].value == "C-1", "carried over"
    assert [e.text for e in ours.events if isinstance(e, UserUttered)] == ["s2 first"]

    full_ours, full_theirs = await store.retrieve_full_tracker(sender_id), await rasa_store.retrieve_full_tracker(sender_id)
    assert dicts(full_ours) == dicts(full_theirs)
    assert slot_values(full_ours) == slot_values(full_theirs)
    assert [e.text for e in full_ours.events if isinstance(e, UserUttered)] == [
        "my fridge broke", "s0 last", "s1 first", "s1 last", "s2 first",
    ]
    # Split where Rasa splits: the metadata SlotSet stays in the session before.
    assert [dicts(t) for t in get_trackers_for_conversation_sessions(full_ours)] == [
        dicts(t) for t in get_trackers_for_conversation_sessions(full_theirs)
    ]
    assert raw.llen(events_key(key_prefix, sender_id)) == len(full_ours.events)
    assert int(raw.get(start_key(key_prefix, sender_id))) == len(full_ours.events) - len(ours.events)


# ---- 4. a session started in the middle of a turn ----------------------------------------
async def test_a_session_started_during_a_turn_is_split_where_it_starts(store, domain, raw, key_prefix):
    sender_id = sender()
    await new_conversation(store, domain, sender_id)
    tracker = await store.retrieve(sender_id)
    stored = raw.llen(events_key(key_prefix, sender_id))

    # One save: the old session's tail, then a new session and its first turn.
    add(tracker, turn("one more thing", "sure", ticket_id="C-9"), domain)
    tail = len(tracker.events)
    await start_session(tracker, domain)
    add(tracker, turn("new session", "hi"), domain)
    await store.save(tracker)

    assert int(raw.get(start_key(key_prefix, sender_id))) == tail
    latest = await store.retrieve(sender_id)
    assert dicts(latest) == [e.as_dict() for e in list(tracker.events)[tail:]]
    assert latest.slots["ticket_id"].value == "C-9" and latest.slots["product"].value == "fridge"
    assert dicts(await store.retrieve_full_tracker(sender_id)) == dicts(tracker)
    assert raw.llen(events_key(key_prefix, sender_id)) == len(tracker.events) > stored

    # ... and the next turn appends to the new session only.
    add(latest, turn("and then", "ok"), domain)
    await store.save(latest)
    assert dicts(await store.retrieve(sender_id)) == dicts(latest)
    assert raw.llen(events_key(key_prefix, sender_id)) == len(tracker.events) + 4


async def test_of_two_sessions_started_in_one_save_the_last_one_is_the_latest(store, domain, raw, key_prefix):
    sender_id = sender()
    tracker = await new_conversation(store, domain, sender_id)
    await start_session(tracker, domain)
    add(tracker, turn("short session", "ok", ticket_id="C-1"), domain)
    last = len(tracker.events)
    await start_session(tracker, domain)
    add(tracker, turn("latest session", "ok"), domain)
    await store.save(tracker)

    assert int(raw.get(start_key(key_prefix, sender_id))) == last
    latest = await store.retrieve(sender_id)
    assert dicts(latest) == [e.as_dict() for e in list(tracker.events)[last:]]
    assert latest.slots["ticket_id"].value == "C-1"
    assert len(get_trackers_for_conversation_sessions(await store.retrieve_full_tracker(sender_id))) == 3


async def test_a_first_session_started_after_an_initial_action_listen(store, domain):
    """create_tracker(append_action_listen=True) stores [action_listen] before any session."""
    sender_id = sender()
    tracker = await store.get_or_create_tracker(sender_id)  # saves [action_listen]
    assert dicts(await store.retrieve(sender_id)) == dicts(tracker)
    await start_session(tracker, domain)
    await store.save(tracker)
    rasa_store = InMemoryTrackerStore(domain)
    await rasa_store.save(tracker)
    assert dicts(await store.retrieve(sender_id)) == dicts(await rasa_store.retrieve(sender_id))
    assert dicts(await store.retrieve(sender_id))[0]["name"] == ACTION_SESSION_START_NAME


# ---- 5. expiry ----------------------------------------------------------------------------
async def test_record_exp_expires_every_key_of_the_conversation_and_each_save_renews_it(
    redis_url, key_prefix, domain, raw
):
    store = RedisEventTrackerStore(domain, host=redis_url, key_prefix=key_prefix, record_exp=600)
    try:
        sender_id = sender()
        tracker = await new_conversation(store, domain, sender_id)
        keys = [events_key(key_prefix, sender_id), start_key(key_prefix, sender_id)]
        for key in keys:
            assert 590 <= raw.ttl(key) <= 600
            raw.expire(key, 5)
        await store.save(tracker)  # even a save with nothing new renews the expiry
        for key in keys:
            assert raw.ttl(key) > 500
    finally:
        await store.close()


async def test_without_record_exp_nothing_expires(store, domain, raw, key_prefix):
    sender_id = sender()
    await new_conversation(store, domain, sender_id)
    assert raw.ttl(events_key(key_prefix, sender_id)) == -1
    assert raw.ttl(start_key(key_prefix, sender_id)) == -1


# ---- 6. keys, 7. unknown sender ----------------------------------------------------------
async def test_keys_are_the_sender_ids(store, domain):
    senders = {sender(), "caller:+44 20 7946 0958", "odd*[id]?\\x"}
    for sender_id in senders:
        await new_conversation(store, domain, sender_id)
    await store.get_or_create_tracker("no-events", append_action_listen=False)  # saves nothing
    keys = await store.keys()
    assert sorted(keys) == sorted(senders)
    for sender_id in keys:
        assert (await store.retrieve(sender_id)).sender_id == sender_id


async def test_an_unknown_sender_has_no_tracker(store):
    assert await store.retrieve("nobody") is None
    assert await store.retrieve_full_tracker("nobody") is None
    assert not await store.exists("nobody")
    assert list(await store.keys()) == []


# ---- 8. the cost of retrieve does not grow with old sessions -----------------------------
async def test_retrieve_reads_only_the_latest_session_however_many_came_before(store, domain, raw, key_prefix, monkeypatch):
    sender_id = sender()
    tracker = await store.get_or_create_tracker(sender_id, append_action_listen=False)
    for session in range(50):
        if session:
            tracker = await store.retrieve(sender_id)
        begins = len(tracker.events)
        await start_session(tracker, domain)
        while len(tracker.events) - begins < 20:
            tracker.update(BotUttered(f"session {session}, event {len(tracker.events) - begins}"), domain)
        await store.save(tracker)
        assert raw.llen(events_key(key_prefix, sender_id)) == 20 * (session + 1)
    assert raw.llen(events_key(key_prefix, sender_id)) == 50 * 20

    deserialised: List[int] = []
    original = DialogueStateTracker.from_dict.__func__

    def counting_from_dict(cls, sender_id, events_as_dict, *args, **kwargs):
        deserialised.append(len(events_as_dict))
        return original(cls, sender_id, events_as_dict, *args, **kwargs)

    monkeypatch.setattr(tracker_store_module.DialogueStateTracker, "from_dict", classmethod(counting_from_dict))
    latest = await store.retrieve(sender_id)
    assert len(latest.events) == 20 and deserialised == [20]
    assert latest.events[-1].text == "session 49, event 19"
    assert len((await store.retrieve_full_tracker(sender_id)).events) == 1000


# ---- 9. built by Rasa's own factory from endpoint values (strings) ------------------------
def port_of(redis_url: str) -> str:
    return redis_url.rsplit(":", 1)[1].split("/")[0]


async def test_rasa_builds_it_from_endpoint_strings(redis_url, key_prefix, domain, raw):
    config = EndpointConfig.from_dict({
        "type": "bot.rasa_ext.stores.redis_tracker_store.RedisEventTrackerStore",
        "url": "127.0.0.1", "port": port_of(redis_url), "db": "0", "password": "",
        "key_prefix": key_prefix, "record_exp": str(THIRTY_DAYS),
    })
    store = TrackerStore.create(config, domain=domain)
    try:
        # Rasa falls back to InMemoryTrackerStore on ImportError / AttributeError, and wraps
        # non-async stores in AwaitableTrackerStore: neither may happen.
        assert type(store) is RedisEventTrackerStore
        assert check_if_tracker_store_async(store)
        assert (store.port, store.db, store.password, store.record_exp) == (int(port_of(redis_url)), 0, None, THIRTY_DAYS)
        sender_id = sender()
        tracker = await new_conversation(store, domain, sender_id)
        assert dicts(await store.retrieve(sender_id)) == dicts(tracker)
        assert THIRTY_DAYS - 10 <= raw.ttl(events_key(key_prefix, sender_id)) <= THIRTY_DAYS
    finally:
        await store.close()


async def test_endpoints_redis_yml_configures_this_store(redis_url, domain, raw, monkeypatch):
    """The real endpoints.redis.yml, with the environment bot.runtime.launcher sets."""
    for name, value in {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": port_of(redis_url), "REDIS_DB": "0",
                        "REDIS_PASSWORD": "", "ACTION_ENDPOINT_URL": "http://localhost:1/webhook",
                        "ACTION_SERVER_TOKEN": "unused"}.items():
        monkeypatch.setenv(name, value)
    config = read_endpoint_config("endpoints.redis.yml", "tracker_store")
    store = TrackerStore.create(config, domain=domain)
    sender_id = sender()
    try:
        assert type(store) is RedisEventTrackerStore
        assert store.key_prefix == "complaints" and store.record_exp == THIRTY_DAYS
        tracker = await new_conversation(store, domain, sender_id)
        assert dicts(await store.retrieve(sender_id)) == dicts(tracker)
        assert raw.ttl(f"complaints:events:{sender_id}") > THIRTY_DAYS - 10
    finally:
        raw.delete(f"complaints:events:{sender_id}", f"complaints:session_start:{sender_id}")
        await store.close()


def test_a_store_built_outside_any_loop_works_in_each_loop_that_uses_it(redis_url, key_prefix, domain, raw):
    """Rasa may build the store before Sanic's loop runs; `rasa export` runs several loops."""
    store = RedisEventTrackerStore(domain, host="127.0.0.1", port=port_of(redis_url), key_prefix=key_prefix)
    sender_id = sender()

    async def first() -> None:
        await new_conversation(store, domain, sender_id)

    async def second() -> List[str]:
        try:
            return list(await store.keys())
        finally:
            await store.close()

    asyncio.run(first())
    assert asyncio.run(second()) == [sender_id]


async def test_events_stored_without_an_index_are_split_by_session(store, domain, raw, key_prefix):
    """If the index key is lost, the latest session is found among the events."""
    sender_id = sender()
    await scripted_conversation(domain, sender_id, store)
    expected = dicts(await store.retrieve(sender_id))
    raw.delete(start_key(key_prefix, sender_id))
    assert dicts(await store.retrieve(sender_id)) == expected

    tracker = await store.retrieve(sender_id)
    add(tracker, turn("after the loss", "fine"), domain)
    await store.save(tracker)
    assert dicts(await store.retrieve(sender_id)) == dicts(tracker)
    assert raw.llen(events_key(key_prefix, sender_id)) == len((await store.retrieve_full_tracker(sender_id)).events)
