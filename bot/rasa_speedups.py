"""Hot spots of Rasa 3.6's server, fixed in place (measured by `make bench`, README).

- Action-server replies: Rasa checks each one with `jsonschema.validate(result, spec)`,
  which re-checks the schema against its metaschema, builds a new resolver, and walks
  every event through a `oneOf` over all 23 event types (with an error object for each of
  the 22 that don't match): 17.8 ms of CPU per action call here at first, still ~1.5 ms
  with the validator built once. Now the spec is compiled once into plain Python checks
  that give jsonschema's own answer for the few keywords it uses, and each event's `oneOf`
  goes straight to the branch its `event` names (`_compile_schema` says why that is
  exact): ~17 us for a 6-event reply. Only a reply these checks accept is accepted
  without jsonschema; anything else (an invalid reply, or anything that surprises the
  checks) goes to jsonschema, which decides and raises exactly Rasa's error: the
  `best_match` of the errors, as `jsonschema.validate` picks it, with Rasa's hint appended.
- Action-server calls: `EndpointConfig.request` opened a new aiohttp session, and so a new
  TCP connection, for every call (and the action server spent a third of its CPU accepting
  them). Now one session per event loop keeps connections alive (`_shared_session`). The
  request is otherwise Rasa's: same headers, token and params, basic auth, timeouts, a
  fresh cookie jar per call, same errors. Every EndpointConfig.request caller gets this
  (here only the action endpoint uses it; an NLG or callback endpoint would too). A kept-alive connection the server has since
  closed (restarted, idle timeout) is found before it is used (`_KeepAliveConnector`),
  and a call is sent again, once, only when the failure proves the server never read it
  (`_never_read`).
- Dialogue states: RulePolicy replays the same tracker into states twice after each
  message; the last answer is kept per tracker (`_cached_create_states`).
- The model graph (NLU once, the policies 2-3 times a turn) is run in a cached order
  instead of through dask (`bot/graph_runner.py`).
- `Event.resolve_by_type` walks every Event subclass for each stored event, on every turn
  (the tracker store loads the whole session): 28 us per event. Now a dict, rebuilt on a
  miss, giving the same class ("first subclass found wins", as before).

Applied by the Rasa server when it loads our channels (bot/channels/rest.py); pinned to
the Rasa version it was measured on. The sessions are closed by Rasa's own
`after_server_stop` listener (`close_resources`, wrapped here).
"""
from __future__ import annotations

import asyncio
import copy
import contextvars
import errno
import inspect
import logging
import re
import select
from http.cookies import BaseCookie, SimpleCookie
from typing import Any, Callable, Dict, Iterator, List, Optional, Text, Tuple, Type

import aiohttp
import rasa
import rasa.shared.utils.common as common
from aiohttp.abc import AbstractCookieJar
from aiohttp.client_exceptions import ContentTypeError
from jsonschema import validators
from jsonschema.exceptions import UndefinedTypeCheck, best_match
from rasa.core.actions import action as action_module
from rasa.core.featurizers.tracker_featurizers import TrackerFeaturizer
from rasa.shared.core.events import Event
from rasa.utils import endpoints as endpoints_module

from bot import graph_runner

logger = logging.getLogger(__name__)
MEASURED_ON = "3.6."
_applied = False
# Rasa's own versions, kept for comparison (tests) before they are replaced.
ORIGINALS: Dict[str, Any] = {}

# ---- action-server replies -------------------------------------------------------------

Check = Callable[[Any], bool]


class _Unsupported(Exception):
    """The schema uses something the compiled checks don't do; jsonschema alone is used."""


def _always(_: Any) -> bool:
    return True


def _never(_: Any) -> bool:
    return False


_KEYWORDS = frozenset({"type", "const", "required", "properties", "patternProperties", "items", "oneOf"})


TypeTest = Callable[[str], Check]


def _type_tests(type_checker: Any) -> TypeTest:
    """For a type name, the test `type_checker.is_type(instance, name)` makes, looked up once.

    TypeChecker.is_type(instance, name) is `self._type_checkers[name](self, instance)`
    (jsonschema 4.17); the lookup in its persistent map was most of the checks' time.
    """

    def test_for(name: str) -> Check:
        try:
            type_checker.is_type(None, name)
        except UndefinedTypeCheck:
            raise _Unsupported(name) from None
        table = getattr(type_checker, "_type_checkers", None)
        try:
            fn = table[name]  # type: ignore[index]
        except Exception:  # noqa: BLE001 - another jsonschema: its public is_type
            return lambda instance: type_checker.is_type(instance, name)
        return lambda instance: fn(type_checker, instance)

    return test_for


def _compile_schema(schema: Any, type_test: TypeTest) -> Check:
    """A function giving jsonschema's (Draft 2020-12, jsonschema 4.17) verdict on a JSON document.

    Only the keywords Rasa's action-reply spec uses are done, each as jsonschema does it
    (jsonschema/_validators.py): `type` (any of the types, by the validator's own type
    checker), `const` (strings only: jsonschema's `equal` is `==` when one side is a
    string), `required`, `properties` and `patternProperties` (objects only; `re.search`),
    `items` (every item; there is no `prefixItems`), `oneOf` (exactly one branch). Any other
    keyword raises _Unsupported.

    `oneOf` whose branches all pin one property to a different string `const` (Rasa's
    events: `"event": {"const": "slot"}`, ...) is decided by that branch alone when the
    instance is an object holding a plain string there: every other branch applies its
    `properties` to that key and fails its `const`, so exactly one branch can be valid, and
    the `oneOf` is valid iff that one is. Otherwise every branch is counted, as jsonschema
    does.
    """
    if schema is True:
        return _always
    if schema is False:
        return _never
    if not isinstance(schema, dict) or not set(schema) <= _KEYWORDS:
        raise _Unsupported(schema)
    if not schema:
        return _always

    has_const = "const" in schema
    const = schema.get("const")
    if has_const and not isinstance(const, str):
        raise _Unsupported(schema)
    types: Optional[Tuple[Check, ...]] = None
    if "type" in schema:
        names = [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
        types = tuple(type_test(name) for name in names)
    is_object, is_array = type_test("object"), type_test("array")
    required = tuple(schema.get("required", ()))
    props = tuple(
        (name, _compile_schema(sub, type_test))
        for name, sub in schema.get("properties", {}).items()
        if sub is not True and sub != {}
    )
    patterns = tuple(
        (re.compile(pattern).search, _compile_schema(sub, type_test))
        for pattern, sub in schema.get("patternProperties", {}).items()
    )
    on_objects = bool(required or props or patterns)
    items = _compile_schema(schema["items"], type_test) if "items" in schema else None
    one_of = _compile_one_of(schema["oneOf"], type_test) if "oneOf" in schema else None

    def check(instance: Any) -> bool:
        if has_const and not instance == const:
            return False
        if types is not None:
            for is_type in types:
                if is_type(instance):
                    break
            else:
                return False
        if on_objects and is_object(instance):
            for name in required:
                if name not in instance:
                    return False
            for name, sub in props:
                if name in instance and not sub(instance[name]):
                    return False
            for search, sub in patterns:
                for key, value in instance.items():
                    if search(key) and not sub(value):
                        return False
        if items is not None and is_array(instance):
            for item in instance:
                if not items(item):
                    return False
        if one_of is not None and not one_of(instance):
            return False
        return True

    return check


def _compile_one_of(branches: Any, type_test: TypeTest) -> Check:
    if not isinstance(branches, list) or not branches:
        raise _Unsupported(branches)
    compiled = [_compile_schema(branch, type_test) for branch in branches]
    is_object = type_test("object")

    def count(instance: Any) -> bool:
        valid = 0
        for branch in compiled:
            if branch(instance):
                valid += 1
                if valid > 1:
                    return False
        return valid == 1

    found = _discriminator(branches)
    if found is None:
        return count
    key, consts = found
    by_const = dict(zip(consts, compiled))

    def by_discriminator(instance: Any) -> bool:
        if is_object(instance) and key in instance:
            value = instance[key]
            if type(value) is str:
                branch = by_const.get(value)
                return branch is not None and branch(instance)
        return count(instance)

    return by_discriminator


def _discriminator(branches: Any) -> Optional[Tuple[str, list]]:
    """A property every branch pins to its own string `const`, with those constants."""

    def pinned(branch: Any, key: str) -> Any:
        props = branch.get("properties") if isinstance(branch, dict) else None
        sub = props.get(key) if isinstance(props, dict) else None
        return sub.get("const") if isinstance(sub, dict) else None

    first = branches[0].get("properties") if isinstance(branches[0], dict) else None
    for key in first if isinstance(first, dict) else ():
        consts = []
        for branch in branches:
            const = pinned(branch, key)
            if not isinstance(const, str):
                break
            consts.append(const)
        else:
            if len(set(consts)) == len(consts):
                return key, consts
    return None


def _compiled_action_validation(original: Callable[..., bool]) -> Any:
    spec_of = action_module.RemoteAction.action_response_format_spec
    spec = spec_of()
    checker_class = validators.validator_for(spec)
    checker_class.check_schema(spec)
    checker = checker_class(spec)
    try:
        accepts: Optional[Check] = _compile_schema(spec, _type_tests(checker_class.TYPE_CHECKER))
    except Exception as unsupported:  # noqa: BLE001 - another Rasa's spec: jsonschema alone, as Rasa
        logger.warning("action reply spec not compiled (%r); jsonschema checks every reply", unsupported)
        accepts = None
    docs = getattr(action_module, "DOCS_BASE_URL", "https://rasa.com/docs/rasa")
    hint = (
        ". Failed to validate Action server response from API, make sure your response "
        "from the Action endpoint is valid. For more information about the format visit "
        f"{docs}/custom-actions"
    )

    def _validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
        if type(self).action_response_format_spec is not spec_of:
            return original(self, result)  # a subclass with its own spec
        if accepts is not None:
            try:  # replies are parsed JSON (string keys), what the checks are exact for
                if accepts(result):
                    return True
            except Exception:  # noqa: BLE001 - jsonschema decides, and raises what Rasa raises
                pass
        # What jsonschema.validate does once the schema is checked: the best error.
        error = best_match(checker.iter_errors(result))
        if error is None:
            return True
        error.message += hint
        raise error

    return _validate_action_result


# ---- action-server calls: kept-alive connections -----------------------------------------

# Below Sanic's KEEP_ALIVE_TIMEOUT (5 s, the action server's): the server never times out a
# connection this side would still reuse, so the two never race over an idle one.
CLIENT_KEEPALIVE_SECONDS = 2.0
_REUSED: contextvars.ContextVar[bool] = contextvars.ContextVar("rasa_speedups_reused", default=False)
_CALL_COOKIES: contextvars.ContextVar[Optional[aiohttp.CookieJar]] = contextvars.ContextVar(
    "rasa_speedups_cookies", default=None,
)
# event loop -> (basic auth login, password) or None -> session
_SESSIONS: Dict[asyncio.AbstractEventLoop, Dict[Optional[Tuple[Any, Any]], aiohttp.ClientSession]] = {}


def _dropped(proto: Any) -> bool:
    """Has the server closed (or written to) this idle pooled connection?

    An idle HTTP/1.1 connection has nothing to read; if its socket is readable the server
    has sent FIN or RST (or stray bytes). aiohttp only notices once the event loop has
    handled that, which a busy loop may not have done yet (urllib3 makes the same check).
    """
    transport = getattr(proto, "transport", None)
    if transport is None or transport.is_closing():
        return True
    sock = transport.get_extra_info("socket")
    if sock is None:
        return False
    try:
        fd = sock.fileno()
        if fd < 0:
            return True
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(fd, select.POLLIN | select.POLLPRI)
            return bool(poller.poll(0))
        readable, _, _ = select.select([fd], [], [], 0)
        return bool(readable)
    except (OSError, ValueError):
        return True


def _get_is_patchable() -> bool:
    get = getattr(aiohttp.TCPConnector, "_get", None)
    if get is None or inspect.iscoroutinefunction(get):
        return False
    return list(inspect.signature(get).parameters) == ["self", "key"]


class _KeepAliveConnector(aiohttp.TCPConnector):
    """aiohttp's connector, which also drops a pooled connection the server has closed."""

    def _get(self, key: Any) -> Any:  # aiohttp 3.9: the pool lookup in connect()
        while True:
            proto = super()._get(key)
            if proto is None:
                return None
            if not _dropped(proto):
                _REUSED.set(True)
                return proto
            proto.close()  # what aiohttp does with a connection it knows is closed


class _PerCallCookieJar(AbstractCookieJar):
    """A fresh cookie jar for every call (and its redirects), as Rasa's session per call had."""

    def _jar(self) -> Optional[aiohttp.CookieJar]:
        return _CALL_COOKIES.get()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._jar() or ())

    def __len__(self) -> int:
        return len(self._jar() or ())

    def clear(self, predicate: Any = None) -> None:
        jar = self._jar()
        if jar is not None:
            jar.clear(predicate)

    def clear_domain(self, domain: str) -> None:
        jar = self._jar()
        if jar is not None:
            jar.clear_domain(domain)

    def update_cookies(self, cookies: Any, response_url: Any = None) -> None:
        if not cookies:
            return
        jar = self._jar()
        if jar is None:
            jar = aiohttp.CookieJar()
            _CALL_COOKIES.set(jar)
        if response_url is None:
            jar.update_cookies(cookies)
        else:
            jar.update_cookies(cookies, response_url)

    def filter_cookies(self, request_url: Any) -> "BaseCookie[str]":
        jar = self._jar()
        return jar.filter_cookies(request_url) if jar is not None else SimpleCookie()


def _shared_session(endpoint: Any) -> aiohttp.ClientSession:
    """This loop's session for this basic auth, configured as EndpointConfig.session() does."""
    if endpoint.basic_auth:
        auth_key: Optional[Tuple[Any, Any]] = (endpoint.basic_auth["username"], endpoint.basic_auth["password"])
    else:
        auth_key = None
    loop = asyncio.get_running_loop()
    per_auth = _SESSIONS.get(loop)
    if per_auth is None:
        _forget_closed_loops()
        per_auth = _SESSIONS[loop] = {}
    session = per_auth.get(auth_key)
    if session is None or session.closed:
        connector_class = _KeepAliveConnector if _get_is_patchable() else aiohttp.TCPConnector
        session = aiohttp.ClientSession(
            # Headers need no session default: request() sends endpoint.headers with every call.
            auth=aiohttp.BasicAuth(*auth_key) if auth_key is not None else None,
            timeout=aiohttp.ClientTimeout(total=endpoints_module.DEFAULT_REQUEST_TIMEOUT),
            # limit=0: no cap on concurrent calls, as with a connector per call.
            connector=connector_class(limit=0, keepalive_timeout=CLIENT_KEEPALIVE_SECONDS),
            cookie_jar=_PerCallCookieJar(),
        )
        per_auth[auth_key] = session
    return session


def _forget_closed_loops() -> None:
    for loop in list(_SESSIONS):  # list(): another thread's loop may add its own meanwhile
        if not loop.is_closed():
            continue
        for session in _SESSIONS.pop(loop, {}).values():
            connector = session.connector
            close = getattr(connector, "_close", None)  # sync in aiohttp 3.9; a no-op on a closed loop
            if close is not None:
                close()


async def close_sessions() -> None:
    """Close this event loop's kept-alive sessions (Rasa's after_server_stop; tests)."""
    for session in _SESSIONS.pop(asyncio.get_running_loop(), {}).values():
        await session.close()


def _never_read(error: BaseException, reused: bool, kwargs: Dict[Text, Any]) -> bool:
    """May this failed call be sent again? Only if the server provably never read it whole.

    Action calls are not idempotent (they open tickets), so a call the server may have run
    is never sent twice. On a kept-alive connection, two failures prove it was not run:
    - the request body could not be written (aiohttp's "Can not write request body"): the
      server never had the whole request, and Sanic runs a handler only once it has;
    - a reset (ECONNRESET) or broken pipe (EPIPE): the server's socket was closed with our
      request unread, or before it arrived. A server that had read the whole request and
      then died while running it closes with FIN, not RST, which aiohttp reports as
      ServerDisconnectedError: never retried (Rasa, too, would have failed that call).
    Failures on a new connection (refused, reset...) are not retried: Rasa did not.
    """
    if not reused or not isinstance(error, aiohttp.ClientOSError):
        return False
    if isinstance(error, aiohttp.ClientConnectorError):
        return False
    unwritten = str(error.strerror or "").startswith("Can not write request body")
    if not unwritten and error.errno not in (errno.ECONNRESET, errno.EPIPE):
        return False
    data = kwargs.get("data")
    return data is None or isinstance(data, (bytes, str, dict))  # a body that can be sent again


def _kept_alive_request(original: Callable[..., Any]) -> Any:
    async def request(
        self: Any,
        method: Text = "post",
        subpath: Optional[Text] = None,
        content_type: Optional[Text] = "application/json",
        compress: bool = False,
        **kwargs: Any,
    ) -> Optional[Any]:
        if self.cafile or type(self).session is not endpoints_module.EndpointConfig.session:
            # An SSL context per call (Rasa's) would key a new pool per call anyway.
            return await original(self, method, subpath, content_type, compress, **kwargs)
        as_given = dict(kwargs)
        # From here to the response: EndpointConfig.request, with the session kept.
        headers = {}
        if content_type:
            headers["Content-Type"] = content_type
        if "headers" in kwargs:
            headers.update(kwargs["headers"])
            del kwargs["headers"]
        if self.headers:
            headers.update(self.headers)
        url = endpoints_module.concat_url(self.url, subpath)
        session = _shared_session(self)

        reused_token = _REUSED.set(False)
        cookies_token = _CALL_COOKIES.set(None)
        try:
            try:
                response = await session.request(
                    method,
                    url,
                    headers=headers,
                    params=self.combine_parameters(kwargs),
                    compress=compress,
                    ssl=None,
                    **kwargs,
                )
            except aiohttp.ClientError as error:
                if not _never_read(error, _REUSED.get(), as_given):
                    raise
                logger.debug("%s: kept-alive connection reset before the request was read; sent again", url)
                # Rasa's own request: a new session, a new connection.
                return await original(self, method, subpath, content_type, compress, **as_given)
            async with response:
                if response.status >= 400:
                    raise endpoints_module.ClientResponseError(
                        response.status,
                        response.reason,
                        await response.content.read(),
                    )
                try:
                    return await response.json()
                except ContentTypeError:
                    return None
        finally:
            _CALL_COOKIES.reset(cookies_token)
            _REUSED.reset(reused_token)

    return request


def _closing_sessions(original: Callable[..., Any]) -> Any:
    async def close_resources(app: Any, loop: Any) -> None:
        try:
            await original(app, loop)
        finally:
            await close_sessions()

    return close_resources


# ---- dialogue states -----------------------------------------------------------------------
_STATES = "_complaints_states_cache"


def _copy_states(states: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    # A state is {part: {key: str or tuple}}: copying two levels makes it independent
    # (the featurizer deletes keys of the last state's user part in place).
    return [{part: dict(sub) if isinstance(sub, dict) else sub for part, sub in state.items()} for state in states]


def _cached_create_states(original: Any) -> Any:
    """`TrackerFeaturizer._create_states` replays the whole tracker once per prediction and
    per policy; RulePolicy asks twice for the same tracker after each message (with and
    without its text). The states are a function of the tracker's events and the
    arguments: the last answer is kept on the tracker, keyed by how many events it had,
    its last event (the same object) and the arguments, and handed out as a copy."""

    def _create_states(tracker: Any, domain: Any, omit_unset_slots: bool = False,
                       ignore_rule_only_turns: bool = False, rule_only_data: Optional[Dict[str, Any]] = None) -> Any:
        events = tracker.events
        last = events[-1] if events else None
        key = (len(events), omit_unset_slots, ignore_rule_only_turns)
        cached = tracker.__dict__.get(_STATES)
        if (cached is not None and cached[0] == key and cached[1] is last and cached[2] is domain
                and cached[3] == rule_only_data):
            return _copy_states(cached[4])
        states = original(tracker, domain, omit_unset_slots=omit_unset_slots,
                          ignore_rule_only_turns=ignore_rule_only_turns, rule_only_data=rule_only_data)
        tracker.__dict__[_STATES] = (key, last, domain, copy.deepcopy(rule_only_data), _copy_states(states))
        return states

    return staticmethod(_create_states)


# ---- event types -------------------------------------------------------------------------


def _cached_event_lookup() -> Any:
    original = Event.resolve_by_type
    by_name: Dict[Text, Type[Event]] = {}

    def resolve_by_type(type_name: Text, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
        found = by_name.get(type_name)
        if found is None:
            for candidate in common.all_subclasses(Event):
                by_name.setdefault(candidate.type_name, candidate)
            found = by_name.get(type_name)
        return found if found is not None else original(type_name, default)

    return resolve_by_type


def apply() -> bool:
    """Patch once; refuse on a Rasa version these fixes were not measured on."""
    global _applied
    if _applied:
        return True
    if not rasa.__version__.startswith(MEASURED_ON):
        logger.warning("rasa %s: speed-ups measured on %sx not applied", rasa.__version__, MEASURED_ON)
        return False
    import rasa.core.run as run_module  # serve_application registers close_resources after this runs

    ORIGINALS["validate_action_result"] = action_module.RemoteAction._validate_action_result
    ORIGINALS["resolve_by_type"] = Event.resolve_by_type
    ORIGINALS["endpoint_request"] = endpoints_module.EndpointConfig.request
    ORIGINALS["close_resources"] = run_module.close_resources
    ORIGINALS["create_states"] = TrackerFeaturizer._create_states
    TrackerFeaturizer._create_states = _cached_create_states(ORIGINALS["create_states"])
    action_module.RemoteAction._validate_action_result = _compiled_action_validation(
        ORIGINALS["validate_action_result"]
    )
    Event.resolve_by_type = staticmethod(_cached_event_lookup())
    endpoints_module.EndpointConfig.request = _kept_alive_request(ORIGINALS["endpoint_request"])
    run_module.close_resources = _closing_sessions(ORIGINALS["close_resources"])
    graph_runner.install()
    _applied = True
    return True
