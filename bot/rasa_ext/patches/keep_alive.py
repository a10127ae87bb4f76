"""Action-server calls on kept-alive connections instead of a new one per call.

`EndpointConfig.request` opened a new aiohttp session, and so a new TCP connection, for
every call (and the action server spent a third of its CPU accepting them); measured by
`make bench`: the action server's CPU per call halves. Now one session per event loop keeps
connections alive (`_shared_session`). The request is otherwise Rasa's: same headers, token
and params, basic auth, timeouts, a fresh cookie jar per call, same errors. Every
EndpointConfig.request caller gets this (here only the action endpoint uses it; an NLG or
callback endpoint would too). A kept-alive connection the server has since closed
(restarted, idle timeout) is found before it is used (`_KeepAliveConnector`), and a call is
sent again, once, only when the failure proves the server never read it (`_never_read`).
The sessions are closed by Rasa's own `after_server_stop` listener (`close_resources`,
wrapped here).

Replaces (Rasa 3.6.21): `rasa.utils.endpoints.EndpointConfig.request` and
`rasa.core.run.close_resources`; extends aiohttp 3.9's private `TCPConnector._get`.
Proven equal to Rasa's: tests/unit/test_rasa_speedups.py.
"""
from __future__ import annotations

import asyncio
import contextvars
import errno
import inspect
import logging
import select
from http.cookies import BaseCookie, SimpleCookie
from typing import Any, Callable, Dict, Iterator, Optional, Text, Tuple

import aiohttp
import rasa.core.run as run_module
from aiohttp.abc import AbstractCookieJar
from aiohttp.client_exceptions import ContentTypeError
from rasa.utils import endpoints as endpoints_module

from bot.rasa_ext.patches.patching import replace

logger = logging.getLogger(__name__)


# Below Sanic's KEEP_ALIVE_TIMEOUT (5 s, the action server's): the server never times out a
# connection this side would still reuse, so the two never race over an idle one.
CLIENT_KEEPALIVE_SECONDS = 2.0
_REUSED: contextvars.ContextVar[bool] = contextvars.ContextVar("keep_alive_reused", default=False)
_CALL_COOKIES: contextvars.ContextVar[Optional[aiohttp.CookieJar]] = contextvars.ContextVar(
    "keep_alive_cookies", default=None,
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


def install() -> None:
    replace(endpoints_module.EndpointConfig, "request", _kept_alive_request)
    # serve_application registers close_resources after the channels are built (which install this).
    replace(run_module, "close_resources", _closing_sessions)
