"""Agent API configuration and the typed keys under which app state lives."""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, fields, replace
from typing import Any, Mapping, Optional, Tuple, Union

import aiohttp
from aiohttp import web

from bot.tickets import TicketStore


@dataclass(frozen=True)
class AgentApiConfig:
    token: Optional[str] = None            # AGENT_API_TOKEN; None/empty -> every /api call is 401
    rasa_url: str = "http://localhost:5005"
    rasa_token: Optional[str] = None       # RASA_TOKEN, sent as ?token= to Rasa's HTTP API
    rasa_timeout: float = 5.0
    redis_url: Optional[str] = None        # REDIS_URL -> Redis store, else SQLite
    sqlite_path: Optional[str] = None      # TICKETS_DB (open_store defaults to var/tickets.db)
    redis_key_prefix: Optional[str] = None  # REDIS_KEY_PREFIX (default "complaints:")
    ticket_prefix: str = "C-"
    # TRUSTED_PROXIES: reverse proxies whose X-Forwarded-For names the client (bot.agent_api.client).
    trusted_proxies: Tuple[Any, ...] = ()
    # An already-open store (tests, or embedding in another process). The app
    # then neither opens nor closes it: whoever made it owns its lifetime.
    store: Optional[TicketStore] = None
    # The web console's settings (bot.console.config.ConsoleConfig); None: from the environment.
    console: Optional[Any] = None
    # The web chat's settings (bot.webchat.config.WebchatConfig); None: from the environment.
    webchat: Optional[Any] = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "AgentApiConfig":
        return cls(
            token=env.get("AGENT_API_TOKEN") or None,
            rasa_url=env.get("RASA_URL") or cls.rasa_url,
            rasa_token=env.get("RASA_TOKEN") or None,
            redis_url=env.get("REDIS_URL") or None,
            sqlite_path=env.get("TICKETS_DB") or None,
            redis_key_prefix=env.get("REDIS_KEY_PREFIX") or None,
            trusted_proxies=parse_networks(env.get("TRUSTED_PROXIES")),
        )

    @classmethod
    def build(cls, config: Union["AgentApiConfig", Mapping[str, Any], None]) -> "AgentApiConfig":
        """Environment values, overridden by whatever the caller passed."""
        if isinstance(config, cls):
            return config
        overrides = dict(config or {})
        unknown = set(overrides) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"unknown agent API config keys: {sorted(unknown)}")
        if isinstance(overrides.get("trusted_proxies"), str):
            overrides["trusted_proxies"] = parse_networks(overrides["trusted_proxies"])
        return replace(cls.from_env(), **overrides)


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


CONFIG_KEY = web.AppKey("config", AgentApiConfig)
STORE_KEY = web.AppKey("store", TicketStore)
HTTP_KEY = web.AppKey("http", aiohttp.ClientSession)
