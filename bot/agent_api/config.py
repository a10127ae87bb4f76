"""Agent API configuration and the typed keys under which app state lives."""
from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Any, Mapping, Optional, Union

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
    # An already-open store (tests, or embedding in another process). The app
    # then neither opens nor closes it: whoever made it owns its lifetime.
    store: Optional[TicketStore] = None
    # The web console's settings (bot.console.config.ConsoleConfig); None: from the environment.
    console: Optional[Any] = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "AgentApiConfig":
        return cls(
            token=env.get("AGENT_API_TOKEN") or None,
            rasa_url=env.get("RASA_URL") or cls.rasa_url,
            rasa_token=env.get("RASA_TOKEN") or None,
            redis_url=env.get("REDIS_URL") or None,
            sqlite_path=env.get("TICKETS_DB") or None,
            redis_key_prefix=env.get("REDIS_KEY_PREFIX") or None,
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
        return replace(cls.from_env(), **overrides)


CONFIG_KEY = web.AppKey("config", AgentApiConfig)
STORE_KEY = web.AppKey("store", TicketStore)
HTTP_KEY = web.AppKey("http", aiohttp.ClientSession)
