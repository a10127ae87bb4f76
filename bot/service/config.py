"""The agent service's settings: read from the environment once, at start-up, into typed
objects that are handed down (the console's and the web chat's are parts of this one; what
every process of the product shares, such as REDIS_URL, is parsed by bot/settings.py).

`python -m bot.service` reads the environment (bot/service/__main__.py); `create_app()`
without settings (tests, embedding) reads it here. No other module of the service reads
`os.environ`.
"""
from __future__ import annotations

import ipaddress
import logging
import os
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Mapping, Optional, Tuple, Union

from bot import settings
from bot.catalog import Catalog, load_catalog
from bot.service.console.config import ConsoleConfig
from bot.service.webchat.config import WebchatConfig
from bot.tickets import DEFAULT_KEY_PREFIX, TicketStore
from bot.tickets.ids import TicketIdFormat

log = logging.getLogger(__name__)

FALLBACK_MAX_CALLBACK_ATTEMPTS = 2


@dataclass(frozen=True)
class AgentApiConfig:
    token: Optional[str] = None            # AGENT_API_TOKEN; None/empty -> every /api call is 401
    rasa_url: str = "http://localhost:5005"
    rasa_token: Optional[str] = None       # RASA_TOKEN, sent as ?token= to Rasa's HTTP API
    rasa_timeout: float = 5.0
    redis_url: Optional[str] = None        # REDIS_URL -> Redis store, else SQLite
    sqlite_path: Optional[str] = None      # TICKETS_DB (default var/tickets.db)
    redis_key_prefix: Optional[str] = None  # REDIS_KEY_PREFIX (default bot.tickets.DEFAULT_KEY_PREFIX)
    # How a ticket reference looks (prefix, counter width): the catalog's business section,
    # read once here; every ticket id in a path or a query is checked against it.
    ticket_ids: TicketIdFormat = TicketIdFormat()
    # TRUSTED_PROXIES: reverse proxies whose X-Forwarded-For names the client (bot.service.client_address).
    trusted_proxies: Tuple[Any, ...] = ()
    # An already-open store (tests, or embedding in another process). The app
    # then neither opens nor closes it: whoever made it owns its lifetime.
    store: Optional[TicketStore] = None
    console: ConsoleConfig = field(default_factory=ConsoleConfig)
    webchat: WebchatConfig = field(default_factory=WebchatConfig)
    # Where `python -m bot.service` listens (AGENT_API_HOST, AGENT_API_PORT).
    host: str = "0.0.0.0"
    port: int = 8080

    @classmethod
    def from_env(cls, env: Mapping[str, str], **given: Any) -> "AgentApiConfig":
        """The settings in `env`; what the caller passes in `given` is used instead (and its
        part of `env` is not even read, so a setting given is never refused for its variable)."""
        unknown = set(given) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"unknown agent API config keys: {sorted(unknown)}")
        if isinstance(given.get("trusted_proxies"), str):
            given["trusted_proxies"] = parse_networks(given["trusted_proxies"])

        def pick(name: str, read: Callable[[], Any]) -> Any:
            return given[name] if name in given else read()

        for part in ("console", "webchat"):  # None given: that part's settings from `env` too
            if given.get(part, ...) is None:
                del given[part]

        shared = settings.current(env)
        console = pick("console", lambda: ConsoleConfig.from_env(env))
        return cls(
            token=pick("token", lambda: env.get("AGENT_API_TOKEN") or None),
            rasa_url=pick("rasa_url", lambda: env.get("RASA_URL") or cls.rasa_url),
            rasa_token=pick("rasa_token", lambda: env.get("RASA_TOKEN") or None),
            rasa_timeout=pick("rasa_timeout", lambda: cls.rasa_timeout),
            redis_url=pick("redis_url", lambda: shared.redis_url),
            sqlite_path=pick("sqlite_path", lambda: shared.tickets_db),
            redis_key_prefix=pick("redis_key_prefix", lambda: shared.redis_key_prefix),
            ticket_ids=pick("ticket_ids", lambda: ticket_ids_of(catalog_or_none(console.catalog_path))),
            trusted_proxies=pick("trusted_proxies", lambda: parse_networks(env.get("TRUSTED_PROXIES"))),
            store=given.get("store"),
            console=console,
            webchat=pick("webchat", lambda: WebchatConfig.from_env(env)),
            host=pick("host", lambda: env.get("AGENT_API_HOST") or cls.host),
            port=pick("port", lambda: parse_port(env.get("AGENT_API_PORT"))),
        )

    @classmethod
    def build(cls, config: Union["AgentApiConfig", Mapping[str, Any], None]) -> "AgentApiConfig":
        """For create_app: a config as is, or the environment's values overridden by a mapping."""
        if isinstance(config, cls):
            return config
        return cls.from_env(os.environ, **dict(config or {}))

    @property
    def key_prefix(self) -> str:
        """Where this service's Redis keys and channels live (console sessions, sign-in
        throttle, the chat hub), beside the tickets'."""
        return self.redis_key_prefix or DEFAULT_KEY_PREFIX

    def catalog(self) -> Optional[Catalog]:
        """The policy catalog as it is now (reloaded when its file changes), None if broken."""
        return catalog_or_none(self.console.catalog_path)


def parse_networks(value: Optional[str]) -> Tuple[Any, ...]:
    """``"127.0.0.1, 10.0.0.0/8, ::1"`` -> ip networks; ValueError names a bad entry."""
    networks = []
    for entry in (x.strip() for x in (value or "").split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"TRUSTED_PROXIES: {entry!r} is not an address or network") from None
    return tuple(networks)


def parse_port(value: Optional[str]) -> int:
    try:
        return int(value or AgentApiConfig.port)
    except ValueError:
        raise ValueError("AGENT_API_PORT must be an integer") from None


def catalog_or_none(path: Optional[str]) -> Optional[Catalog]:
    try:
        return load_catalog(path)
    except Exception:  # the service (the console above all) must keep working with a broken catalog file
        log.exception("agent service: the policy catalog could not be loaded")
        return None


def callback_max_attempts(catalog: Optional[Catalog]) -> int:
    """Calls a specialist makes on one callback: the catalog's; with the catalog unreadable,
    the shipped catalog's (policy/catalog.yml second_explanation.max_attempts)."""
    return catalog.callback_max_attempts if catalog is not None else FALLBACK_MAX_CALLBACK_ATTEMPTS


def ticket_ids_of(catalog: Optional[Catalog]) -> TicketIdFormat:
    return catalog.ticket_ids if catalog is not None else TicketIdFormat()
