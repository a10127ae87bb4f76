"""The Rasa hot-spot fixes give the same answers as Rasa's own code.

- action-server replies: accepted and refused exactly as Rasa does, with the same error,
  over every event type Rasa knows and thousands of mutations of them (and Hypothesis);
- action-server calls: one kept-alive connection instead of one per call, the same
  request on the wire and the same errors as Rasa's; a connection the server has closed
  (restart, idle timeout) never fails a call, and a call the server may have run is never
  sent twice;
- event types: the same class for every name.
"""
from __future__ import annotations

import asyncio
import copy
import json
import logging
import select
import socket
import struct
import threading
from pathlib import Path
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import aiohttp
import pytest
import pytest_asyncio
import rasa.core.run as run_module
import rasa.shared.utils.common as common
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import ValidationError, validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core import events as E
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils import endpoints as endpoints_module
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_ext import patches
from bot.rasa_ext.patches import action_validation, dialogue_states, keep_alive
from bot.rasa_ext.patches.patching import rasas

assert patches.install()
ORIGINAL_VALIDATE = rasas(RemoteAction, "_validate_action_result")
ORIGINAL_RESOLVE = rasas(Event, "resolve_by_type")
ORIGINAL_REQUEST = rasas(EndpointConfig, "request")
SPEC = RemoteAction.action_response_format_spec()
SCHEMA_EVENTS = [branch["properties"]["event"]["const"] for branch in SPEC["properties"]["events"]["items"]["oneOf"]]
ACTION = RemoteAction("action_test", None)


def test_the_fixes_are_applied():
    assert RemoteAction._validate_action_result is not ORIGINAL_VALIDATE
    assert EndpointConfig.request is not ORIGINAL_REQUEST
    assert run_module.close_resources is not rasas(run_module, "close_resources")
    assert keep_alive._get_is_patchable(), "aiohttp's pool lookup is the one the connector extends"


# ---- action-server replies -------------------------------------------------------------

ENTITY = {"entity": "order_id", "value": "ORD-1", "start": 0, "end": 5, "confidence": 0.9,
          "extractor": "RegexEntityExtractor", "role": None, "group": None}
PARSE_DATA = {
    "text": "where is ord 1",
    "intent": {"name": "order_status", "confidence": 0.93},
    "intent_ranking": [{"name": "order_status", "confidence": 0.93}, {"name": "greet", "confidence": 0.02}],
    "entities": [ENTITY],
    "response_selector": {
        "all_retrieval_intents": ["faq"],
        "faq": {
            "response": {"responses": [{"text": "a"}], "response_templates": [{"text": "a"}],
                         "confidence": 0.8, "intent_response_key": "faq/x", "utter_action": "utter_faq/x",
                         "template_name": "utter_faq/x"},
            "ranking": [{"id": 1, "confidence": 0.8, "intent_response_key": "faq/x"}],
        },
    },
}


def event_examples() -> List[Event]:
    """Valid events of every type Rasa knows, as actions send them."""
    return [
        E.UserUttered("where is ord 1", PARSE_DATA["intent"], [ENTITY], parse_data=PARSE_DATA,
                      input_channel="rest", message_id="m-1", metadata={"caller": "x"}),
        E.UserUttered(None),
        E.UserUttered("/affirm", {"name": "affirm", "confidence": 1.0}),
        E.SlotSet("order_id", "ORD-4400918"),
        E.SlotSet("facts_confirmed", None),
        E.SlotSet("remedy", {"chosen": "refund_delivery_fee", "options": [1, 2.5, True, None]}),
        E.SlotSet("count", 3, timestamp=1700000000.5, metadata={"source": "action"}),
        E.ReminderScheduled("EXTERNAL_reminder", datetime(2026, 1, 2, 3, 4, 5), entities=[ENTITY],
                            name="remind", kill_on_user_message=False),
        E.ReminderCancelled(name="remind", intent="EXTERNAL_reminder", entities=[ENTITY]),
        E.StoryExported("stories.yml"),
        E.FollowupAction("action_next"),
        E.ActionExecuted("action_listen", policy="RulePolicy", confidence=1.0, action_text=None, hide_rule_turn=True),
        E.ActionExecuted(action_text="hello"),
        E.ActiveLoop("complaint_form"),
        E.ActiveLoop(None),
        E.Restarted(),
        E.UserUtteranceReverted(),
        E.AllSlotsReset(),
        E.ActionReverted(),
        E.ConversationPaused(),
        E.ConversationResumed(),
        E.SessionStarted(metadata={"channel": "rest"}),
        E.DefinePrevUserUtteredFeaturization(True),
        E.EntitiesAdded([ENTITY, {"entity": "e", "value": None}]),
        E.BotUttered("So: order ORD-4400918, 5 days late. Is that right?",
                     {"buttons": [{"title": "Yes", "payload": "/affirm"}], "custom": None},
                     metadata={"utter_action": "utter_ask_facts_confirmed"}),
        E.BotUttered(None),
        E.AgentUttered("an agent says", {"x": 1}),
        E.LoopInterrupted(True),
        E.ActionExecutionRejected("action_x", "RulePolicy", 0.4),
        E.LegacyFormValidation(False),
        E.LegacyForm("old_form"),
    ]


def as_json(value: Any) -> Any:
    return json.loads(json.dumps(value))  # what the action server's reply is, once parsed


def valid_events() -> List[Dict[str, Any]]:
    # Rasa writes its legacy form events as active_loop / loop_interrupted; older SDKs send them.
    legacy = [{"event": "form", "name": "old_form", "timestamp": None},
              {"event": "form_validation", "validate": False, "timestamp": 1.5}]
    return [as_json(event.as_dict()) for event in event_examples()] + legacy


def test_the_examples_cover_every_event_type():
    names = {event["event"] for event in valid_events()}
    assert set(SCHEMA_EVENTS) <= names
    known = {cls.type_name for cls in common.all_subclasses(Event) if cls.__module__ == E.__name__}
    assert known <= names


ODD_VALUES = [None, True, False, 0, -1, 2.5, float("nan"), "", "x", [], [1], ["a"], {}, {"a": 1}, {"name": "x"}]


def paths(value: Any, prefix: Tuple = (), depth: int = 6) -> Iterator[Tuple]:
    if depth == 0:
        return
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield prefix + (key,)
        yield from paths(child, prefix + (key,), depth - 1)


def at(value: Any, path: Tuple) -> Any:
    for key in path:
        value = value[key]
    return value


def mutations(event: Dict[str, Any]) -> Iterator[Any]:
    """Every single change of one value, key or the event name."""
    for name in SCHEMA_EVENTS + ["nope", "", "SLOT", "user "]:
        yield {**event, "event": name}
    for path in paths(event):
        parent = at(event, path[:-1])
        for odd in ODD_VALUES:
            changed = copy.deepcopy(event)
            at(changed, path[:-1])[path[-1]] = odd
            yield changed
        if isinstance(parent, dict):
            changed = copy.deepcopy(event)
            del at(changed, path[:-1])[path[-1]]
            yield changed
    for path in [()] + list(paths(event)):
        node = at(event, path)
        if isinstance(node, dict):
            for extra in ({"extra": 1}, {"all_retrieval_intents": "x"}, {"faq/x": {"ranking": 1}}, {"/": {}}):
                changed = copy.deepcopy(event)
                at(changed, path).update(extra)
                yield changed
        if isinstance(node, list):
            for extra in (1, "x", None, {}):
                changed = copy.deepcopy(event)
                at(changed, path).append(extra)
                yield changed


def reply_corpus() -> List[Any]:
    events = valid_events()
    replies: List[Any] = [
        {"events": events, "responses": [{"text": "hi"}, {"response": "utter_x", "buttons": []}]},
        {"events": [], "responses": []}, {"events": events}, {"responses": [{"text": "hi"}]}, {},
        {"events": events, "extra": 1}, {"events": events, "responses": None},
    ]
    for odd in ODD_VALUES + [events[0]]:
        replies += [{"events": odd, "responses": []}, {"events": [], "responses": odd},
                    {"events": [], "responses": [odd]}, odd, [odd]]
    for event in events:
        replies.append({"events": [event], "responses": []})
        replies.extend({"events": [events[3], mutated], "responses": []} for mutated in mutations(event))
    return replies


def verdict(validate: Callable[[RemoteAction, Any], bool], reply: Any) -> Any:
    try:
        return validate(ACTION, reply)
    except ValidationError as error:
        return ("refused", error.message, list(error.path), list(error.schema_path), error.validator)


REFERENCE = validators.validator_for(SPEC)(SPEC)


def reference(_: RemoteAction, reply: Any) -> bool:
    """Rasa's check without re-checking its (constant) schema every time: jsonschema.validate
    is check_schema, then this. Compared with the real original on a sample below."""
    error = best_match(REFERENCE.iter_errors(reply))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response "
            "from the Action endpoint is valid. For more information about the format visit "
            "https://rasa.com/docs/rasa/custom-actions"
        )
        raise error
    return True


def fast(_: RemoteAction, reply: Any) -> bool:
    return ACTION._validate_action_result(reply)


def test_replies_are_judged_as_rasa_judges_them():
    corpus = reply_corpus()
    accepted = refused = 0
    for index, reply in enumerate(corpus):
        ours = verdict(fast, copy.deepcopy(reply))
        theirs = verdict(reference, copy.deepcopy(reply))
        assert ours == theirs, reply
        if index % 50 == 0:
            assert verdict(ORIGINAL_VALIDATE, copy.deepcopy(reply)) == theirs, reply
        accepted, refused = accepted + (ours is True), refused + (ours is not True)
    assert accepted > 2000 and refused > 1500, (accepted, refused)


def test_the_fast_checks_decide_most_replies_without_jsonschema(monkeypatch):
    calls = []
    monkeypatch.setattr(action_validation, "best_match", lambda errors: calls.append(1) or best_match(errors))
    for event in valid_events():
        assert ACTION._validate_action_result({"events": [event], "responses": []}) is True
    assert calls == [], "valid replies never reach jsonschema"
    with pytest.raises(ValidationError):
        ACTION._validate_action_result({"events": [{"event": "slot"}]})
    assert calls == [1]


def test_the_first_error_is_rasas_best_error_not_the_first_found():
    reply = {"events": [{"event": "slot", "name": 1, "value": 2}, "x"], "responses": "y"}
    assert verdict(fast, reply) == verdict(ORIGINAL_VALIDATE, reply)


def test_a_subclass_with_its_own_spec_is_judged_by_rasas_code():
    class Strict(RemoteAction):
        @staticmethod
        def action_response_format_spec() -> Dict[str, Any]:
            return {"type": "object", "required": ["events"]}

    with pytest.raises(ValidationError):
        Strict("x", None)._validate_action_result({"responses": []})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=True) | st.sampled_from(["", "x", "slot", "bot"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["name", "value", "text", "entity", "a", "x/y", "/"]), children, max_size=3),
    max_leaves=8,
)
field_names = sorted({key for event in valid_events() for key in event} | {"extra"})
random_event = st.one_of(
    st.sampled_from(valid_events()),
    st.builds(
        lambda name, fields: {"event": name, **fields},
        st.sampled_from(SCHEMA_EVENTS + ["nope"]) | json_values,
        st.dictionaries(st.sampled_from(field_names), json_values | st.sampled_from([ENTITY, PARSE_DATA, [ENTITY]]), max_size=4),
    ),
    json_values,
)
random_reply = st.one_of(
    st.fixed_dictionaries({}, optional={"events": st.lists(random_event, max_size=4) | json_values,
                                        "responses": st.lists(json_values, max_size=3) | json_values}),
    json_values,
)


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(random_reply)
def test_random_replies_are_judged_as_rasa_judges_them(reply):
    assert verdict(fast, copy.deepcopy(reply)) == verdict(reference, copy.deepcopy(reply))


# ---- action-server calls -------------------------------------------------------------------


@pytest_asyncio.fixture(autouse=True)
async def kept_alive_sessions_closed():
    yield
    await keep_alive.close_sessions()


def counting_app(log: List[Dict[str, Any]]) -> web.Application:
    async def webhook(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername")
        log.append({"peer": peer, "headers": dict(request.headers), "query": dict(request.query),
                    "method": request.method, "path": request.path, "body": await request.read()})
        if request.path.endswith("/fail"):
            return web.Response(status=500, text="boom")
        if request.path.endswith("/reject"):
            return web.json_response({"action_name": "action_test", "error": "not now"}, status=400)
        if request.path.endswith("/text"):
            return web.Response(text="not json")
        if request.path.endswith("/redirect"):
            response = web.HTTPFound("/webhook")
            response.set_cookie("visit", "1")
            raise response
        return web.json_response({"events": [{"event": "slot", "name": "n", "value": len(log)}],
                                  "responses": [{"text": "hi"}], "cookies": request.headers.get("Cookie")})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", webhook)
    return app


def connections(log: List[Dict[str, Any]]) -> int:
    return len({entry["peer"] for entry in log})


async def test_calls_share_one_connection(aiohttp_server):
    log: List[Dict[str, Any]] = []
    server = await aiohttp_server(counting_app(log))
    endpoint = EndpointConfig(f"http://localhost:{server.port}/webhook")
    for n in range(1, 21):
        reply = await endpoint.request(json={"n": n}, method="post", timeout=300)
        assert reply["events"][0]["value"] == n
    assert connections(log) == 1
    # Rasa's own request: one connection per call (what the counting measures).
    for _ in range(3):
        await ORIGINAL_REQUEST(endpoint, json={}, method="post")
    assert connections(log) == 4


async def test_concurrent_calls_are_not_capped(aiohttp_server):
    log: List[Dict[str, Any]] = []
    server = await aiohttp_server(counting_app(log))
    endpoint = EndpointConfig(f"http://127.0.0.1:{server.port}/webhook")
    replies = await asyncio.gather(*(endpoint.request(json={}, method="post") for _ in range(150)))
    assert len(replies) == 150 and connections(log) > 100


async def test_the_request_on_the_wire_is_rasas(aiohttp_server):
    log: List[Dict[str, Any]] = []
    server = await aiohttp_server(counting_app(log))
    endpoint = EndpointConfig(
        f"http://127.0.0.1:{server.port}/base", params={"a": "1"}, headers={"X-Key": "k", "Content-Type": "text/x"},
        basic_auth={"username": "u", "password": "p"}, token="tok", token_name="auth",
    )
    kwargs = dict(json={"x": [1]}, method="put", subpath="/webhook", params={"b": "2"}, headers={"X-Call": "c"})
    mine = await endpoint.request(**copy.deepcopy(kwargs))
    theirs = await ORIGINAL_REQUEST(endpoint, **copy.deepcopy(kwargs))
    assert mine.keys() == theirs.keys() and mine["responses"] == theirs["responses"]
    ours, rasas = log
    for entry in (ours, rasas):
        del entry["peer"]
    assert ours == rasas
    assert ours["query"] == {"a": "1", "auth": "tok", "b": "2"} and ours["headers"]["X-Key"] == "k"
    assert ours["headers"]["Authorization"].startswith("Basic ") and ours["method"] == "PUT"
    # Another login on the same endpoint: its own session, the new credentials.
    endpoint.basic_auth = {"username": "v", "password": "q"}
    await endpoint.request(json={})
    assert log[-1]["headers"]["Authorization"] == aiohttp.BasicAuth("v", "q").encode()
    endpoint.basic_auth = {}
    await endpoint.request(json={})
    assert "Authorization" not in log[-1]["headers"]
    assert await endpoint.request(method="get", subpath="/text") is None


async def test_errors_are_rasas(aiohttp_server):
    log: List[Dict[str, Any]] = []
    server = await aiohttp_server(counting_app(log))
    endpoint = EndpointConfig(f"http://127.0.0.1:{server.port}")
    for path in ("/fail", "/reject"):
        with pytest.raises(endpoints_module.ClientResponseError) as ours:
            await endpoint.request(json={}, subpath=path)
        with pytest.raises(endpoints_module.ClientResponseError) as theirs:
            await ORIGINAL_REQUEST(endpoint, json={}, subpath=path)
        assert (ours.value.status, ours.value.message, ours.value.text, str(ours.value)) == (
            theirs.value.status, theirs.value.message, theirs.value.text, str(theirs.value))


async def run_action(endpoint: EndpointConfig) -> List[Event]:
    tracker = DialogueStateTracker("sender", slots=[])
    return await RemoteAction("action_test", endpoint).run(
        CollectingOutputChannel(), TemplatedNaturalLanguageGenerator({}), tracker, Domain.empty(),
    )


async def test_a_remote_action_gets_what_it_got_from_rasas_request(aiohttp_server, monkeypatch):
    log: List[Dict[str, Any]] = []
    server = await aiohttp_server(counting_app(log))
    base = f"http://127.0.0.1:{server.port}"
    events = await run_action(EndpointConfig(f"{base}/webhook"))
    assert [type(e) for e in events] == [E.BotUttered, E.SlotSet]
    with pytest.raises(RasaException, match="Failed to execute custom action 'action_test'") as failed:
        await run_action(EndpointConfig(f"{base}/fail"))
    assert isinstance(failed.value.__cause__, endpoints_module.ClientResponseError)
    with pytest.raises(ActionExecutionRejection):
        await run_action(EndpointConfig(f"{base}/reject"))
    await server.close()
    with pytest.raises(RasaException, match="Couldn't connect"):
        await run_action(EndpointConfig(f"{base}/webhook"))


async def test_a_restarted_server_gets_the_next_call(aiohttp_server):
    log: List[Dict[str, Any]] = []
    server = await aiohttp_server(counting_app(log))
    port = server.port
    endpoint = EndpointConfig(f"http://localhost:{port}/webhook")
    await endpoint.request(json={})
    await endpoint.request(json={})
    await server.close()
    with pytest.raises(aiohttp.ClientConnectorError):  # down: as with Rasa, no retry
        await endpoint.request(json={})
    await aiohttp_server(counting_app(log), port=port)
    assert (await endpoint.request(json={}))["events"]
    assert connections(log) == 2 and len(log) == 3


async def test_cookies_last_one_call_as_with_a_session_per_call(aiohttp_server):
    log: List[Dict[str, Any]] = []
    server = await aiohttp_server(counting_app(log))
    endpoint = EndpointConfig(f"http://localhost:{server.port}")  # no cookies from an IP address
    first = await endpoint.request(method="get", subpath="/redirect")
    assert first["cookies"] == "visit=1", "kept through the call's redirect"
    second = await endpoint.request(method="get", subpath="/webhook")
    assert second["cookies"] is None, "not sent with the next call"
    rasas = await ORIGINAL_REQUEST(endpoint, method="get", subpath="/redirect")
    assert rasas["cookies"] == first["cookies"]


async def test_a_closed_session_is_replaced(aiohttp_server):
    log: List[Dict[str, Any]] = []
    server = await aiohttp_server(counting_app(log))
    endpoint = EndpointConfig(f"http://127.0.0.1:{server.port}/webhook")
    await endpoint.request(json={})
    await keep_alive.close_sessions()
    await endpoint.request(json={})
    for session in keep_alive._SESSIONS[asyncio.get_running_loop()].values():
        await session.close()
    await endpoint.request(json={})
    assert len(log) == 3 and connections(log) == 3


async def test_rasas_shutdown_closes_the_sessions(aiohttp_server):
    server = await aiohttp_server(counting_app([]))
    endpoint = EndpointConfig(f"http://127.0.0.1:{server.port}/webhook")
    await endpoint.request(json={})
    loop = asyncio.get_running_loop()
    sessions = list(keep_alive._SESSIONS[loop].values())
    await run_module.close_resources(SimpleNamespace(ctx=SimpleNamespace()), loop)
    assert loop not in keep_alive._SESSIONS and all(session.closed for session in sessions)


class RawServer:
    """A bare HTTP/1.1 server in its own thread, so that the test's event loop can be blocked
    while the server closes or resets connections. `plan(connection, request)` says what to
    do with a connection's n-th request (both counted from 0): "reply", "reset" (RST with
    the request unread), "vanish" (read it, then close without answering).
    `idle_close` closes a connection that stays idle that long after a reply."""

    def __init__(self, plan: Callable[[int, int], str] = lambda c, r: "reply", idle_close: Optional[float] = None):
        self.plan, self.idle_close = plan, idle_close
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.requests_read: List[bytes] = []
        self.stopped = False
        self.idle_closed = threading.Event()  # a connection was closed for being idle
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            index, self.connections = self.connections, self.connections + 1
            threading.Thread(target=self._serve, args=(conn, index), daemon=True).start()

    def _serve(self, conn: socket.socket, index: int) -> None:
        with conn:
            idle = self._exchange(conn, index)
        if idle:
            self.idle_closed.set()  # after close(): the FIN is sent

    def _exchange(self, conn: socket.socket, index: int) -> bool:
        """Serve the connection's requests as planned; True if it is to be closed as idle."""
        for number in range(1000):
            readable, _, _ = select.select([conn], [], [], self.idle_close if number else None)
            if not readable:
                return True  # idle: close (FIN)
            action = self.plan(index, number)
            if action == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return False
            request = self._read(conn)
            if request is None:
                return False
            self.requests_read.append(request)
            if action == "vanish":
                return False
            body = json.dumps({"events": [], "responses": [], "n": len(self.requests_read)}).encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(body), body))
        return False

    @staticmethod
    def _read(conn: socket.socket) -> Optional[bytes]:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            body += conn.recv(65536)
        return body

    def stop(self) -> None:
        self.stopped = True
        self.listener.close()


@pytest.fixture
def raw_server():
    servers: List[RawServer] = []

    def start(*args: Any, **kwargs: Any) -> RawServer:
        servers.append(RawServer(*args, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


async def test_a_connection_closed_while_the_loop_was_busy_is_not_used(raw_server, caplog):
    server = raw_server(idle_close=0.05)
    endpoint = EndpointConfig(f"http://127.0.0.1:{server.port}/webhook")
    await endpoint.request(json={"n": 1})
    # A busy event loop (blocked here, as by a long turn): the server's FIN is in, aiohttp
    # has not seen it.
    assert server.idle_closed.wait(10), "the server closed the idle connection"
    caplog.set_level(logging.DEBUG, logger=keep_alive.__name__)
    assert (await endpoint.request(json={"n": 2}))["n"] == 2
    assert server.connections == 2 and len(server.requests_read) == 2
    assert "sent again" not in caplog.text, "found before use, nothing to send again"


async def test_without_that_check_the_reset_is_retried_once(raw_server, caplog, monkeypatch):
    server = raw_server(idle_close=0.05)
    endpoint = EndpointConfig(f"http://127.0.0.1:{server.port}/webhook")
    await endpoint.request(json={"n": 1})
    monkeypatch.setattr(keep_alive, "_dropped", lambda proto: False)
    assert server.idle_closed.wait(10), "the server closed the idle connection (the loop blocked meanwhile)"
    caplog.set_level(logging.DEBUG, logger=keep_alive.__name__)
    assert (await endpoint.request(json={"n": 2}))["n"] == 2
    assert "sent again" in caplog.text
    assert [json.loads(body) for body in server.requests_read] == [{"n": 1}, {"n": 2}], "never read twice"


async def test_a_reset_of_an_unread_request_is_sent_again_once(raw_server, caplog):
    server = raw_server(plan=lambda connection, request: "reset" if (connection, request) == (0, 1) else "reply")
    endpoint = EndpointConfig(f"http://127.0.0.1:{server.port}/webhook")
    caplog.set_level(logging.DEBUG, logger=keep_alive.__name__)
    await endpoint.request(json={"n": 1})
    assert (await endpoint.request(json={"n": 2}))["n"] == 2
    assert "sent again" in caplog.text and server.connections == 2
    assert [json.loads(body) for body in server.requests_read] == [{"n": 1}, {"n": 2}]


async def test_a_reset_on_a_new_connection_is_not_retried(raw_server):
    server = raw_server(plan=lambda connection, request: "reset")
    endpoint = EndpointConfig(f"http://127.0.0.1:{server.port}/webhook")
    with pytest.raises(aiohttp.ClientOSError):
        await endpoint.request(json={})
    assert server.connections == 1


async def test_a_request_the_server_may_have_run_is_never_sent_twice(raw_server):
    # Read, then the connection closes without an answer: an action server that died while
    # running the action. Rasa's call fails with the same error; nothing is sent again.
    server = raw_server(plan=lambda connection, request: "vanish" if request == 1 else "reply")
    endpoint = EndpointConfig(f"http://127.0.0.1:{server.port}/webhook")
    await endpoint.request(json={"n": 1})
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await endpoint.request(json={"n": 2})
    assert [json.loads(body) for body in server.requests_read] == [{"n": 1}, {"n": 2}]
    vanishing = raw_server(plan=lambda connection, request: "vanish")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await ORIGINAL_REQUEST(EndpointConfig(f"http://127.0.0.1:{vanishing.port}/webhook"), json={})


def test_each_event_loop_has_its_own_session(raw_server):
    server = raw_server()
    endpoint = EndpointConfig(f"http://127.0.0.1:{server.port}/webhook")
    loops = []

    async def calls(close: bool) -> None:
        loops.append(asyncio.get_running_loop())
        for _ in range(3):
            await endpoint.request(json={})
        if close:
            await keep_alive.close_sessions()

    asyncio.run(calls(close=False))
    assert loops[0] in keep_alive._SESSIONS
    asyncio.run(calls(close=True))
    assert loops[0] not in keep_alive._SESSIONS, "a closed loop's session is let go"
    threads = [threading.Thread(target=asyncio.run, args=(calls(close=True),)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert server.connections == 5 and len(server.requests_read) == 15


# ---- event types -------------------------------------------------------------------------


def test_every_event_type_resolves_to_the_same_class():
    for cls in common.all_subclasses(Event):
        assert Event.resolve_by_type(cls.type_name) is ORIGINAL_RESOLVE(cls.type_name)
    assert Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError):
        Event.resolve_by_type("no-such-event")


# ---- dialogue states kept per tracker ------------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]
async def test_cached_states_give_rasas_predictions_along_real_conversations():
    from rasa.core.agent import Agent
    from rasa.core.channels import CollectingOutputChannel, UserMessage
    from rasa.core.featurizers.tracker_featurizers import TrackerFeaturizer

    assert patches.install()
    agent = Agent.load(str(ROOT / "models" / "complaints.tar.gz"))
    turns = ["hi", "my bosch fridge repair was refused, bought 10 January 2023", "/affirm", "None of these",
             "/decline_callback", "what is the status of my complaint", "this is useless", "I want to talk to a person"]
    seen = {}
    for name, create_states in (("rasa", rasas(TrackerFeaturizer, "_create_states")),
                                ("cached", dialogue_states._cached_create_states(rasas(TrackerFeaturizer, "_create_states")))):
        TrackerFeaturizer._create_states = staticmethod(create_states) if name == "rasa" else create_states
        sender, predictions = f"states-{name}", []
        for text in turns:
            tracker = await agent.processor.fetch_tracker_and_update_session(sender, CollectingOutputChannel())
            await agent.processor._handle_message_with_tracker(UserMessage(text, sender_id=sender), tracker)
            for _ in range(3):  # the same tracker asked again, as RulePolicy does
                p = agent.processor._predict_next_with_tracker(tracker)
                predictions.append((p.max_confidence_index, p.policy_name, p.max_confidence, tuple(p.probabilities)))
            await agent.processor.save_tracker(tracker)
        seen[name] = predictions
    TrackerFeaturizer._create_states = dialogue_states._cached_create_states(rasas(TrackerFeaturizer, "_create_states"))
    assert seen["cached"] == seen["rasa"]
    assert len({p[1] for p in seen["rasa"]}) >= 1


def test_cached_states_are_copies_the_caller_may_change():
    from rasa.core.featurizers.tracker_featurizers import TrackerFeaturizer
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    assert patches.install()
    domain = Domain.load(str(ROOT / "domain.yml"))
    tracker = DialogueStateTracker.from_events("copies", [
        ActionExecuted("action_listen"), UserUttered("hi", {"name": "greet", "confidence": 1.0}),
    ], domain.slots)
    first = TrackerFeaturizer._create_states(tracker, domain)
    first[-1]["user"].clear()  # as _choose_last_user_input deletes keys in place
    second = TrackerFeaturizer._create_states(tracker, domain)
    assert second == rasas(TrackerFeaturizer, "_create_states")(tracker, domain)
    assert second[-1]["user"], "the cached answer was not changed through an earlier copy"
    tracker.update(ActionExecuted("utter_greet"), domain)
    assert TrackerFeaturizer._create_states(tracker, domain) == rasas(TrackerFeaturizer, "_create_states")(tracker, domain)
